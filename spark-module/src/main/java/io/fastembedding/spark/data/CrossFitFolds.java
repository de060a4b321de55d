package io.fastembedding.spark.data;

/**
 * The fold of a row for cross-fitted output, from what the model reads of it (its category indices
 * and numeric values) and the seed, never from its position: the fold is the same when the
 * training rows come back in another order or partitioning, and rows with equal inputs share a fold,
 * so a duplicated row never trains the model that scores its twin.
 */
public final class CrossFitFolds {
  private CrossFitFolds() {}

  /** A 64-bit hash of the row's inputs: {@code idx} (as read, before resolution) and numeric. */
  public static long contentHash(long seed, double[] idx, double[] numeric) {
    long h = mix(seed ^ 0x5DEECE66DL);
    for (double v : idx) {
      h = mix(h ^ bits(v));
    }
    if (numeric != null) {
      h = mix(h ^ 0x9E3779B97F4A7C15L);
      for (double v : numeric) {
        h = mix(h ^ bits(v));
      }
    }
    return h;
  }

  /** The fold in [0, k) of a row with this content hash. */
  public static int fold(long contentHash, int k) {
    if (k < 2) {
      throw new IllegalArgumentException("cross-fitting needs at least 2 folds, got " + k);
    }
    // the high bits are the best mixed; Math.floorMod keeps the result non-negative
    return (int) Math.floorMod(contentHash >>> 11, (long) k);
  }

  private static long bits(double v) {
    // -0.0 and 0.0 are the same input; all NaNs the same
    return v == 0 ? 0L : Double.doubleToLongBits(v);
  }

  /** SplitMix64's finaliser: every input bit moves every output bit. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
