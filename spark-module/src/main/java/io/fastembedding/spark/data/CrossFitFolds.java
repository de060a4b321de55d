package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;
import java.util.Arrays;

/**
 * Cross-fitting's row bookkeeping. A row's fold comes from what the head reads of it (its resolved
 * table rows and its numeric inputs as the head gets them) and the seed, never from its position:
 * the fold is the same when the training rows come back in another order or partitioning, the model
 * recognises its training rows in transform by the same hash, and rows with equal inputs share a
 * fold, so a duplicated row never trains the model that scores its twin.
 */
public final class CrossFitFolds {
  private CrossFitFolds() {}

  /** A 64-bit hash of row r of the block: its indices and numeric inputs, and the seed. */
  public static long contentHash(long seed, RowBlock b, int r) {
    long h = mix(seed ^ 0x5DEECE66DL);
    int n = b.numFields;
    for (int f = 0; f < n; f++) {
      h = mix(h ^ b.indices[r * n + f]);
    }
    int k = b.numNumeric;
    for (int j = 0; j < k; j++) {
      float v = b.numeric[r * k + j];
      // -0 and 0 are the same input
      h = mix(h ^ 0x9E3779B97F4A7C15L ^ (v == 0 ? 0 : Float.floatToIntBits(v)));
    }
    return h;
  }

  /** The fold in [0, k) of a row with this content hash. */
  public static int fold(long contentHash, int k) {
    if (k < 2) {
      throw new IllegalArgumentException("cross-fitting needs at least 2 folds, got " + k);
    }
    // the high bits are the best mixed
    return (int) Math.floorMod(contentHash >>> 11, (long) k);
  }

  /** The rows of {@code b} outside fold {@code f} of k, as a new block (labels, weights kept). */
  public static RowBlock withoutFold(RowBlock b, long seed, int k, int f) {
    int kept = 0;
    boolean[] keep = new boolean[b.rows];
    for (int r = 0; r < b.rows; r++) {
      keep[r] = fold(contentHash(seed, b, r), k) != f;
      if (keep[r]) {
        kept++;
      }
    }
    RowBlock out = RowBlock.allocate(b.numFields, b.numNumeric, kept, b.weights != null);
    int o = 0;
    for (int r = 0; r < b.rows; r++) {
      if (keep[r]) {
        b.copyRow(r, out, o++);
      }
    }
    return out;
  }

  /** The training partition without fold f: for the fold's model (no validation rows). */
  public static PartitionData withoutFold(PartitionData pd, long seed, int k, int f) {
    RowBlock b = withoutFold(pd.block, seed, k, f);
    double w = 0;
    for (int r = 0; r < b.rows; r++) {
      w += b.weight(r);
    }
    return new PartitionData(pd.partition, b, pd.stats, w);
  }

  /** The sorted distinct content hashes of the block's rows. */
  public static long[] hashes(RowBlock b, long seed) {
    long[] h = new long[b.rows];
    for (int r = 0; r < b.rows; r++) {
      h[r] = contentHash(seed, b, r);
    }
    return distinctSorted(h);
  }

  /** {@code h} sorted, duplicates dropped (a new array). */
  public static long[] distinctSorted(long[] h) {
    long[] s = h.clone();
    Arrays.sort(s);
    int m = 0;
    for (int i = 0; i < s.length; i++) {
      if (i == 0 || s[i] != s[m - 1]) {
        s[m++] = s[i];
      }
    }
    return Arrays.copyOf(s, m);
  }

  /** Whether the sorted array holds h. */
  public static boolean contains(long[] sorted, long h) {
    return Arrays.binarySearch(sorted, h) >= 0;
  }

  /** SplitMix64's finaliser: every input bit moves every output bit. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
