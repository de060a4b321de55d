package io.fastembedding.spark.data;

import java.io.Serializable;

/**
 * What converting rows into a block saw, per partition, merged on the driver: enough to infer table
 * sizes by a scan and to report the first bad value of each kind, naming its column, without a second
 * pass over the data.
 */
public final class BlockStats implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * Invalid indices of one field, by kind, each with one example value and the row (counted from 0
   * within the partition's input) where it was first seen.
   */
  public static final class FieldStats implements Serializable {
    private static final long serialVersionUID = 2L;

    public long nulls;
    public long nullRow = -1;
    public long negatives;
    public double exampleNegative;
    public long negativeRow = -1;
    public long nonIntegers;
    public double exampleNonInteger;
    public long nonIntegerRow = -1;
    public long tooLarge;
    public double exampleTooLarge;
    public long tooLargeRow = -1;
    /** Largest valid index seen, -1 when none, and the row where it was first seen. */
    public int maxValid = -1;
    public long maxValidRow = -1;

    public long invalid() {
      return nulls + negatives + nonIntegers + tooLarge;
    }

    void merge(FieldStats o) {
      if (nulls == 0) {
        nullRow = o.nullRow;
      }
      if (negatives == 0) {
        exampleNegative = o.exampleNegative;
        negativeRow = o.negativeRow;
      }
      if (nonIntegers == 0) {
        exampleNonInteger = o.exampleNonInteger;
        nonIntegerRow = o.nonIntegerRow;
      }
      if (tooLarge == 0) {
        exampleTooLarge = o.exampleTooLarge;
        tooLargeRow = o.tooLargeRow;
      }
      nulls += o.nulls;
      negatives += o.negatives;
      nonIntegers += o.nonIntegers;
      tooLarge += o.tooLarge;
      if (o.maxValid > maxValid) {
        maxValid = o.maxValid;
        maxValidRow = o.maxValidRow;
      }
    }
  }

  /**
   * Label and weight problems of a set of rows, with one example value each. A value that is finite
   * as a double but not as a float (beyond +-3.4e38) counts as non-finite: training runs in float.
   */
  public static final class TargetStats implements Serializable {
    private static final long serialVersionUID = 1L;

    public long labelNulls;
    public long labelNonFinite;
    public double exampleLabelNonFinite;
    /** Labels other than 0 and 1 (a problem only for the logistic loss). */
    public long labelNonBinary;
    public double exampleLabelNonBinary;
    public long weightNulls;
    public long weightInvalid;
    public double exampleWeightInvalid;
    /** Training rows (not validation rows) whose weight is above 0; every row when unweighted. */
    public long positiveWeightTrainRows;
    /** The smallest and largest finite label (+inf and -inf when none). */
    public double labelMin = Double.POSITIVE_INFINITY;
    public double labelMax = Double.NEGATIVE_INFINITY;

    /** This and {@code o} together, in a new object. */
    public TargetStats plus(TargetStats o) {
      TargetStats t = new TargetStats();
      t.merge(this);
      t.merge(o);
      return t;
    }

    void merge(TargetStats o) {
      if (labelNonFinite == 0) {
        exampleLabelNonFinite = o.exampleLabelNonFinite;
      }
      if (labelNonBinary == 0) {
        exampleLabelNonBinary = o.exampleLabelNonBinary;
      }
      if (weightInvalid == 0) {
        exampleWeightInvalid = o.exampleWeightInvalid;
      }
      labelNulls += o.labelNulls;
      labelNonFinite += o.labelNonFinite;
      labelNonBinary += o.labelNonBinary;
      weightNulls += o.weightNulls;
      weightInvalid += o.weightInvalid;
      positiveWeightTrainRows += o.positiveWeightTrainRows;
      labelMin = Math.min(labelMin, o.labelMin);
      labelMax = Math.max(labelMax, o.labelMax);
    }
  }

  public final FieldStats[] fields;
  public long rows;
  /** Rows with at least one invalid index. */
  public long invalidRows;
  /** Labels and weights of the rows whose indices are all valid. */
  public final TargetStats targets = new TargetStats();
  /**
   * Labels and weights of the rows with an invalid index: they count unless handleInvalid = skip
   * drops those rows.
   */
  public final TargetStats targetsOfInvalidRows = new TargetStats();
  /** Rows whose numeric vector is null. */
  public long numericNulls;
  /** Rows whose numeric vector has another size than the fit expects, with one example size. */
  public long numericWrongSize;
  public int exampleNumericSize;
  /** Rows with a NaN or infinite numeric feature, with one example value and its feature index. */
  public long numericNonFinite;
  public double exampleNumericNonFinite;
  public int exampleNumericFeature;
  /** Moments of the numeric features over the training rows (null without numeric features). */
  public NumericMoments numericMoments;
  /** Rows held out for validation, and those of them with an invalid index. */
  public long validationRows;
  public long validationInvalidRows;
  /** Rows whose validation indicator is null. */
  public long indicatorNulls;

  public BlockStats(int numFields) {
    this(numFields, 0);
  }

  public BlockStats(int numFields, int numNumeric) {
    fields = new FieldStats[numFields];
    for (int i = 0; i < numFields; i++) {
      fields[i] = new FieldStats();
    }
    numericMoments = numNumeric > 0 ? new NumericMoments(numNumeric) : null;
  }

  /** Rows used for training: all rows but the validation ones. */
  public long trainRows() {
    return rows - validationRows;
  }

  public BlockStats merge(BlockStats o) {
    for (int i = 0; i < fields.length; i++) {
      fields[i].merge(o.fields[i]);
    }
    rows += o.rows;
    invalidRows += o.invalidRows;
    targets.merge(o.targets);
    targetsOfInvalidRows.merge(o.targetsOfInvalidRows);
    if (numericWrongSize == 0) {
      exampleNumericSize = o.exampleNumericSize;
    }
    if (numericNonFinite == 0) {
      exampleNumericNonFinite = o.exampleNumericNonFinite;
      exampleNumericFeature = o.exampleNumericFeature;
    }
    numericNulls += o.numericNulls;
    numericWrongSize += o.numericWrongSize;
    numericNonFinite += o.numericNonFinite;
    if (numericMoments != null && o.numericMoments != null) {
      numericMoments.merge(o.numericMoments);
    } else if (numericMoments == null) {
      numericMoments = o.numericMoments;
    }
    validationRows += o.validationRows;
    validationInvalidRows += o.validationInvalidRows;
    indicatorNulls += o.indicatorNulls;
    return this;
  }
}
