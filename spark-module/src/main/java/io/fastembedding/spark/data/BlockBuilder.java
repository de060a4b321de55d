package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;
import java.util.Arrays;
import java.util.Iterator;
import org.apache.spark.sql.Row;

/**
 * Converts a partition's rows, once, into a {@link RowBlock}: the index columns, the label and the
 * optional weight, all selected as doubles (columns 0..n-1, n, n+1). Invalid indices become
 * {@link IndexRules#INVALID} and are counted in the stats; the driver then fails, drops or remaps them
 * ({@link #remap}) once it knows every table's size.
 */
public final class BlockBuilder {
  private BlockBuilder() {}

  /**
   * @param validCounts per field the number of valid categories, or -1 where the driver infers it
   *     from the largest index afterwards
   */
  public static PartitionData build(int partition, Iterator<Row> rows, int[] validCounts,
      boolean hasWeight) {
    int n = validCounts.length;
    BlockStats stats = new BlockStats(n);
    int cap = 1024;
    int[] idx = new int[cap * n];
    float[] labels = new float[cap];
    float[] weights = hasWeight ? new float[cap] : null;
    int r = 0;
    double weightSum = 0;
    while (rows.hasNext()) {
      Row row = rows.next();
      if (r == cap) {
        cap = Math.multiplyExact(cap, 2);
        idx = Arrays.copyOf(idx, Math.multiplyExact(cap, n));
        labels = Arrays.copyOf(labels, cap);
        if (hasWeight) {
          weights = Arrays.copyOf(weights, cap);
        }
      }
      boolean bad = false;
      for (int f = 0; f < n; f++) {
        BlockStats.FieldStats fs = stats.fields[f];
        int x;
        if (row.isNullAt(f)) {
          fs.nulls++;
          x = IndexRules.INVALID;
        } else {
          double v = row.getDouble(f);
          x = IndexRules.classify(v, validCounts[f]);
          switch (x) {
            case IndexRules.NEGATIVE -> {
              if (fs.negatives++ == 0) {
                fs.exampleNegative = v;
              }
            }
            case IndexRules.NON_INTEGER -> {
              if (fs.nonIntegers++ == 0) {
                fs.exampleNonInteger = v;
              }
            }
            case IndexRules.TOO_LARGE -> {
              if (fs.tooLarge++ == 0) {
                fs.exampleTooLarge = v;
              }
            }
            default -> {
              if (x > fs.maxValid) {
                fs.maxValid = x;
              }
            }
          }
          if (x < 0) {
            x = IndexRules.INVALID;
          }
        }
        bad |= x < 0;
        idx[r * n + f] = x;
      }
      if (bad) {
        stats.invalidRows++;
      }
      float label;
      if (row.isNullAt(n)) {
        stats.labelNulls++;
        label = Float.NaN;
      } else {
        double y = row.getDouble(n);
        label = (float) y;
        if (!Double.isFinite(y)) {
          if (stats.labelNonFinite++ == 0) {
            stats.exampleLabelNonFinite = y;
          }
        } else if (y != 0.0 && y != 1.0) {
          if (stats.labelNonBinary++ == 0) {
            stats.exampleLabelNonBinary = y;
          }
        }
      }
      labels[r] = label;
      if (hasWeight) {
        float w;
        if (row.isNullAt(n + 1)) {
          stats.weightNulls++;
          w = 0f;
        } else {
          double wd = row.getDouble(n + 1);
          if (!(wd >= 0) || Double.isInfinite(wd)) {
            if (stats.weightInvalid++ == 0) {
              stats.exampleWeightInvalid = wd;
            }
            w = 0f;
          } else {
            w = (float) wd;
          }
        }
        weights[r] = w;
        weightSum += w;
      } else {
        weightSum += 1;
      }
      r++;
    }
    stats.rows = r;
    RowBlock block = new RowBlock(n, 0, r, Arrays.copyOf(idx, r * n), null,
        Arrays.copyOf(labels, r), hasWeight ? Arrays.copyOf(weights, r) : null);
    return new PartitionData(partition, block, stats, weightSum);
  }

  /**
   * Resolves the invalid markers of a block: {@code keep} maps them to each table's reserved last row
   * ({@code sizes[f] - 1}); otherwise ({@code skip}) rows with any invalid index are dropped.
   */
  public static PartitionData remap(PartitionData pd, int[] sizes, boolean keep) {
    RowBlock b = pd.block;
    int n = b.numFields;
    if (pd.stats.invalidRows == 0) {
      return pd;
    }
    if (keep) {
      int[] idx = b.indices.clone();
      for (int r = 0; r < b.rows; r++) {
        for (int f = 0; f < n; f++) {
          if (idx[r * n + f] < 0) {
            idx[r * n + f] = sizes[f] - 1;
          }
        }
      }
      return new PartitionData(pd.partition,
          new RowBlock(n, 0, b.rows, idx, null, b.labels, b.weights), pd.stats, pd.weightSum);
    }
    int kept = (int) (b.rows - pd.stats.invalidRows);
    int[] idx = new int[kept * n];
    float[] labels = new float[kept];
    float[] weights = b.weights != null ? new float[kept] : null;
    double weightSum = 0;
    int o = 0;
    for (int r = 0; r < b.rows; r++) {
      boolean bad = false;
      for (int f = 0; f < n; f++) {
        bad |= b.indices[r * n + f] < 0;
      }
      if (bad) {
        continue;
      }
      System.arraycopy(b.indices, r * n, idx, o * n, n);
      labels[o] = b.labels[r];
      if (weights != null) {
        weights[o] = b.weights[r];
        weightSum += weights[o];
      } else {
        weightSum += 1;
      }
      o++;
    }
    return new PartitionData(pd.partition, new RowBlock(n, 0, kept, idx, null, labels, weights),
        pd.stats, weightSum);
  }
}
