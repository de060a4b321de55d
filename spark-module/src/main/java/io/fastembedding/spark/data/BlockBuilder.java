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
 * and numeric vectors. Once the driver knows every table's size and the numeric features' moments,
 * {@link #resolve} checks each block against them (again whenever Spark rebuilds it), fails, drops
 * or remaps the invalid indices, and standardises the numeric features.
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
          if (fs.nulls++ == 0) {
            fs.nullRow = rowNumber;
          }
          x = IndexRules.INVALID;
        } else {
          double v = row.getDouble(f);
          x = IndexRules.classify(v, c.validCounts()[f]);
          switch (x) {
            case IndexRules.NEGATIVE -> {
              if (fs.negatives++ == 0) {
                fs.exampleNegative = v;
                fs.negativeRow = rowNumber;
              }
            }
            case IndexRules.NON_INTEGER -> {
              if (fs.nonIntegers++ == 0) {
                fs.exampleNonInteger = v;
                fs.nonIntegerRow = rowNumber;
              }
            }
            case IndexRules.TOO_LARGE -> {
              if (fs.tooLarge++ == 0) {
                fs.exampleTooLarge = v;
                fs.tooLargeRow = rowNumber;
              }
            }
            default -> {
              if (x > fs.maxValid) {
                fs.maxValid = x;
                fs.maxValidRow = rowNumber;
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
      // a row that 'skip' will drop does not need a good label or weight
      BlockStats.TargetStats t = bad ? stats.targetsOfInvalidRows : stats.targets;
      float label;
      if (row.isNullAt(labelPos)) {
        t.labelNulls++;
        label = Float.NaN;
      } else {
        double y = row.getDouble(labelPos);
        label = (float) y;
        if (!Float.isFinite(label)) {
          // also a double beyond float range: it trains as Infinity
          if (t.labelNonFinite++ == 0) {
            t.exampleLabelNonFinite = y;
          }
        } else {
          t.labelMin = Math.min(t.labelMin, y);
          t.labelMax = Math.max(t.labelMax, y);
          if (y != 0.0 && y != 1.0 && t.labelNonBinary++ == 0) {
            t.exampleLabelNonBinary = y;
          }
        }
      }
      g.labels[r] = label;
      float w = 1f;
      if (c.hasWeight()) {
        if (row.isNullAt(weightPos)) {
          t.weightNulls++;
          w = 0f;
        } else {
          double wd = row.getDouble(weightPos);
          w = (float) wd;
          if (!(wd >= 0) || Float.isInfinite(w)) {
            if (t.weightInvalid++ == 0) {
              t.exampleWeightInvalid = wd;
            }
            w = 0f;
          }
        }
        g.weights[r] = w;
      }
      g.weightSum += w;
      if (!toValidation && w > 0) {
        t.positiveWeightTrainRows++;
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
  public static boolean readNumeric(Row row, int pos, int k, float[] out, int at,
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
   * The block as training uses it, checked against the table sizes the driver settled on: every
   * index inside its own table, or resolved by handleInvalid (keep maps it to the table's reserved
   * last row, skip drops the row), and the numeric features standardised. Spark calls this whenever
   * it builds the block, the first time or again after losing a cached copy, so a block rebuilt from
   * input that changed since the driver checked it fails its task with the driver's message (column,
   * value, and here the row), and never trains one table's updates into another's rows.
   *
   * @throws IllegalArgumentException naming the column, value, row and partition of a bad value
   */
  public static PartitionData resolve(PartitionData pd, BlockRules rules) {
    checkRebuilt(pd, rules);
    int[] validCounts = rules.sizes().validCounts;
    Resolved train = resolve(pd.block, pd.weightSum, pd, validCounts, rules);
    Resolved valid = pd.validation == null ? null
        : resolve(pd.validation, pd.validationWeightSum, pd, validCounts, rules);
    PartitionData out = train == null && valid == null ? pd
        : new PartitionData(pd.partition, train == null ? pd.block : train.block, pd.stats,
            train == null ? pd.weightSum : train.weightSum,
            valid == null ? pd.validation : valid.block,
            valid == null ? pd.validationWeightSum : valid.weightSum);
    return rules.mean() == null ? out : standardize(out, rules.mean(), rules.invStd());
  }

  /**
   * The driver's checks, on this partition's own stats: they passed on the driver for the block
   * first built, so a failure here means Spark built the block again from changed input.
   */
  private static void checkRebuilt(PartitionData pd, BlockRules rules) {
    String where = "partition " + pd.partition;
    try {
      BlockStats s = pd.stats;
      String[] cols = rules.cols();
      if (rules.error()) {
        InputErrors.checkIndices(s, cols, rules.sizes(), where);
      }
      InputErrors.checkTargets(s, rules.skip(), rules.logistic(), rules.labelCol(),
          rules.weightCol());
      if (rules.numNumeric() > 0) {
        InputErrors.checkNumeric(s, rules.numericCol(), rules.numNumeric(),
            rules.numericSizeSource());
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage() + REBUILT, e);
    }
  }

  /** Why a check that passed on the driver can fail in a task, and what to do. */
  static final String REBUILT = ". The fit checked its input on a first pass; this training block "
      + "was built again (Spark rebuilds a lost block from its input) from input that has changed "
      + "since. Make the fit's input deterministic, e.g. write it out or checkpoint it first";

  private record Resolved(RowBlock block, double weightSum) {}

  /** The block with its invalid indices resolved, or null when it has none. */
  private static Resolved resolve(RowBlock b, double weightSum, PartitionData pd,
      int[] validCounts, BlockRules rules) {
    int n = b.numFields;
    int k = b.numNumeric;
    int bad = 0;
    for (int r = 0; r < b.rows; r++) {
      if (!valid(b, r, validCounts)) {
        if (bad++ == 0 && rules.error()) {
          // the stats check names the value; this catches what the stats cannot show
          int f = firstInvalidField(b, r, validCounts);
          int v = b.indices[r * n + f];
          throw new IllegalArgumentException((v < 0 ? "input column '" + rules.cols()[f]
              + "' has an invalid index" : IndexRules.describe(rules.cols()[f], (double) v,
              validCounts[f], rules.sizes().sources[f])) + ", at row " + r + " of the training "
              + "block of partition " + pd.partition + REBUILT);
        }
      }
    }
    if (bad == 0) {
      return null;
    }
    if (rules.keep()) {
      int[] idx = b.indices.clone();
      for (int r = 0; r < b.rows; r++) {
        for (int f = 0; f < n; f++) {
          int x = idx[r * n + f];
          if (x < 0 || x >= validCounts[f]) {
            idx[r * n + f] = validCounts[f]; // the reserved row
          }
        }
      }
      return new Resolved(new RowBlock(n, k, b.rows, idx, b.numeric, b.labels, b.weights),
          weightSum);
    }
    RowBlock out = RowBlock.allocate(n, k, b.rows - bad, b.weights != null);
    double kept = 0;
    int o = 0;
    for (int r = 0; r < b.rows; r++) {
      if (valid(b, r, validCounts)) {
        b.copyRow(r, out, o);
        kept += out.weight(o);
        o++;
      }
    }
    return new Resolved(out, kept);
  }

  private static boolean valid(RowBlock b, int r, int[] validCounts) {
    return firstInvalidField(b, r, validCounts) < 0;
  }

  /** The first field of row r whose index is outside its table's valid categories, or -1. */
  private static int firstInvalidField(RowBlock b, int r, int[] validCounts) {
    int n = b.numFields;
    for (int f = 0; f < n; f++) {
      int x = b.indices[r * n + f];
      if (x < 0 || x >= validCounts[f]) {
        return f;
      }
    }
    return -1;
  }

  /**
   * The blocks with every numeric feature j mapped to {@code (x - mean[j]) * invStd[j]} (invStd 0
   * for a constant feature), in new arrays: the raw blocks may still be cached by Spark.
   */
  static PartitionData standardize(PartitionData pd, float[] mean, float[] invStd) {
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
