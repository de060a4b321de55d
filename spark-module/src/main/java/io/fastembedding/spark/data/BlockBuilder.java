package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.Initializer;
import java.util.Arrays;
import java.util.Iterator;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;

/**
 * Converts a partition's rows, once, into primitive {@link RowBlock}s: a training block and, when the
 * fit holds rows out, a validation block. The columns are those {@link BlockColumns} lists. Invalid
 * indices become {@link IndexRules#INVALID} and are counted in the stats, as are bad labels, weights
 * and numeric vectors; the driver then fails, drops or remaps them ({@link #remap}) once it knows
 * every table's size, and standardises the numeric features ({@link #standardize}) once it knows
 * their moments.
 */
public final class BlockBuilder {
  /** The {@link Initializer} stream of the random validation split. */
  static final long VALIDATION_STREAM = 3;

  private BlockBuilder() {}

  /** A growing block of rows, in primitive arrays. */
  private static final class Growing {
    final int n;
    final int k;
    final boolean hasWeight;
    int rows;
    int[] idx;
    float[] numeric;
    float[] labels;
    float[] weights;
    double weightSum;

    Growing(int n, int k, boolean hasWeight, int cap) {
      this.n = n;
      this.k = k;
      this.hasWeight = hasWeight;
      idx = new int[cap * n];
      numeric = new float[cap * k];
      labels = new float[cap];
      weights = hasWeight ? new float[cap] : null;
    }

    /** Room for one more row; returns its position. */
    int next() {
      if (rows == labels.length) {
        int cap = Math.multiplyExact(labels.length, 2);
        idx = Arrays.copyOf(idx, Math.multiplyExact(cap, n));
        numeric = Arrays.copyOf(numeric, Math.multiplyExact(cap, k));
        labels = Arrays.copyOf(labels, cap);
        if (hasWeight) {
          weights = Arrays.copyOf(weights, cap);
        }
      }
      return rows++;
    }

    RowBlock block() {
      return new RowBlock(n, k, rows, Arrays.copyOf(idx, rows * n),
          k > 0 ? Arrays.copyOf(numeric, rows * k) : null, Arrays.copyOf(labels, rows),
          hasWeight ? Arrays.copyOf(weights, rows) : null);
    }
  }

  /** Converts rows of a plain fit: indices, label and optional weight, all for training. */
  public static PartitionData build(int partition, Iterator<Row> rows, int[] validCounts,
      boolean hasWeight) {
    return build(partition, rows, BlockColumns.plain(validCounts, hasWeight));
  }

  public static PartitionData build(int partition, Iterator<Row> rows, BlockColumns c) {
    int n = c.numFields();
    int k = c.numNumeric();
    BlockStats stats = new BlockStats(n, k);
    boolean holdOut = c.validation() != BlockColumns.Validation.NONE;
    Growing train = new Growing(n, k, c.hasWeight(), 1024);
    Growing valid = holdOut ? new Growing(n, k, c.hasWeight(), 256) : null;
    int labelPos = c.labelPos();
    int weightPos = c.weightPos();
    int numericPos = c.numericPos();
    int indicatorPos = c.indicatorPos();
    long seen = 0;
    while (rows.hasNext()) {
      Row row = rows.next();
      long rowNumber = seen++;
      boolean toValidation = false;
      if (c.validation() == BlockColumns.Validation.INDICATOR) {
        if (row.isNullAt(indicatorPos)) {
          stats.indicatorNulls++;
        } else {
          toValidation = row.getBoolean(indicatorPos);
        }
      } else if (c.validation() == BlockColumns.Validation.FRACTION) {
        toValidation = Initializer.uniform(c.seed(), VALIDATION_STREAM,
            ((long) partition << 40) + rowNumber) < c.validationFraction();
      }
      Growing g = toValidation ? valid : train;
      int r = g.next();
      boolean bad = false;
      for (int f = 0; f < n; f++) {
        BlockStats.FieldStats fs = stats.fields[f];
        int x;
        if (row.isNullAt(f)) {
          fs.nulls++;
          x = IndexRules.INVALID;
        } else {
          double v = row.getDouble(f);
          x = IndexRules.classify(v, c.validCounts()[f]);
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
        g.idx[r * n + f] = x;
      }
      if (bad) {
        stats.invalidRows++;
        if (toValidation) {
          stats.validationInvalidRows++;
        }
      }
      if (toValidation) {
        stats.validationRows++;
      }
      float label;
      if (row.isNullAt(labelPos)) {
        stats.labelNulls++;
        label = Float.NaN;
      } else {
        double y = row.getDouble(labelPos);
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
      g.labels[r] = label;
      if (c.hasWeight()) {
        float w;
        if (row.isNullAt(weightPos)) {
          stats.weightNulls++;
          w = 0f;
        } else {
          double wd = row.getDouble(weightPos);
          if (!(wd >= 0) || Double.isInfinite(wd)) {
            if (stats.weightInvalid++ == 0) {
              stats.exampleWeightInvalid = wd;
            }
            w = 0f;
          } else {
            w = (float) wd;
          }
        }
        g.weights[r] = w;
        g.weightSum += w;
      } else {
        g.weightSum += 1;
      }
      if (k > 0 && readNumeric(row, numericPos, k, g.numeric, r * k, stats) && !toValidation) {
        stats.numericMoments.add(g.numeric, r * k);
      }
    }
    stats.rows = seen;
    return new PartitionData(partition, train.block(), stats, train.weightSum,
        holdOut ? valid.block() : null, holdOut ? valid.weightSum : 0);
  }

  /**
   * Copies a row's numeric vector into {@code out[at, at + k)}; records a null vector, a wrong size
   * or a non-finite value in the stats (leaving zeros) and returns whether the row's vector is good.
   */
  private static boolean readNumeric(Row row, int pos, int k, float[] out, int at,
      BlockStats stats) {
    if (row.isNullAt(pos)) {
      stats.numericNulls++;
      return false;
    }
    Vector v = (Vector) row.get(pos);
    if (v.size() != k) {
      if (stats.numericWrongSize++ == 0) {
        stats.exampleNumericSize = v.size();
      }
      return false;
    }
    if (v instanceof DenseVector d) {
      double[] a = d.values();
      for (int j = 0; j < k; j++) {
        out[at + j] = (float) a[j];
      }
    } else {
      SparseVector s = (SparseVector) v;
      int[] ix = s.indices();
      double[] a = s.values();
      for (int i = 0; i < ix.length; i++) {
        out[at + ix[i]] = (float) a[i];
      }
    }
    for (int j = 0; j < k; j++) {
      float x = out[at + j];
      if (!Float.isFinite(x)) {
        if (stats.numericNonFinite++ == 0) {
          // the double, not its float: a double beyond float range shows as itself, not Infinity
          stats.exampleNumericNonFinite = v.apply(j);
          stats.exampleNumericFeature = j;
        }
        Arrays.fill(out, at, at + k, 0f);
        return false;
      }
    }
    return true;
  }

  /**
   * Resolves the invalid markers of both blocks: {@code keep} maps them to each table's reserved last
   * row ({@code sizes[f] - 1}); otherwise ({@code skip}) rows with any invalid index are dropped.
   */
  public static PartitionData remap(PartitionData pd, int[] sizes, boolean keep) {
    if (pd.stats.invalidRows == 0) {
      return pd;
    }
    Resolved train = remap(pd.block, sizes, keep);
    Resolved valid = pd.validation == null ? null : remap(pd.validation, sizes, keep);
    return new PartitionData(pd.partition, train.block, pd.stats,
        keep ? pd.weightSum : train.weightSum, valid == null ? null : valid.block,
        valid == null ? 0 : keep ? pd.validationWeightSum : valid.weightSum);
  }

  private record Resolved(RowBlock block, double weightSum) {}

  private static Resolved remap(RowBlock b, int[] sizes, boolean keep) {
    int n = b.numFields;
    int k = b.numNumeric;
    if (keep) {
      int[] idx = b.indices.clone();
      for (int r = 0; r < b.rows; r++) {
        for (int f = 0; f < n; f++) {
          if (idx[r * n + f] < 0) {
            idx[r * n + f] = sizes[f] - 1;
          }
        }
      }
      return new Resolved(new RowBlock(n, k, b.rows, idx, b.numeric, b.labels, b.weights), 0);
    }
    int kept = 0;
    for (int r = 0; r < b.rows; r++) {
      if (valid(b, r)) {
        kept++;
      }
    }
    RowBlock out = RowBlock.allocate(n, k, kept, b.weights != null);
    double weightSum = 0;
    int o = 0;
    for (int r = 0; r < b.rows; r++) {
      if (valid(b, r)) {
        b.copyRow(r, out, o);
        weightSum += out.weight(o);
        o++;
      }
    }
    return new Resolved(out, weightSum);
  }

  private static boolean valid(RowBlock b, int r) {
    int n = b.numFields;
    for (int f = 0; f < n; f++) {
      if (b.indices[r * n + f] < 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * The blocks with every numeric feature j mapped to {@code (x - mean[j]) * invStd[j]} (invStd 0
   * for a constant feature), in new arrays: the raw blocks may still be cached by Spark.
   */
  public static PartitionData standardize(PartitionData pd, float[] mean, float[] invStd) {
    return new PartitionData(pd.partition, standardize(pd.block, mean, invStd), pd.stats,
        pd.weightSum, pd.validation == null ? null : standardize(pd.validation, mean, invStd),
        pd.validationWeightSum);
  }

  private static RowBlock standardize(RowBlock b, float[] mean, float[] invStd) {
    int k = b.numNumeric;
    if (k == 0) {
      return b;
    }
    float[] z = new float[b.rows * k];
    for (int r = 0; r < b.rows; r++) {
      for (int j = 0; j < k; j++) {
        z[r * k + j] = (b.numeric[r * k + j] - mean[j]) * invStd[j];
      }
    }
    return new RowBlock(b.numFields, k, b.rows, b.indices, z, b.labels, b.weights);
  }
}
