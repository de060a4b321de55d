package io.fastembedding.spark.data;

import java.io.Serializable;

/**
 * What converting rows into a block saw, per partition, merged on the driver: enough to infer table
 * sizes by a scan and to report the first bad value of each kind, naming its column, without a second
 * pass over the data.
 */
public final class BlockStats implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Invalid indices of one field, by kind, with one example value each. */
  public static final class FieldStats implements Serializable {
    private static final long serialVersionUID = 1L;

    public long nulls;
    public long negatives;
    public double exampleNegative;
    public long nonIntegers;
    public double exampleNonInteger;
    public long tooLarge;
    public double exampleTooLarge;
    /** Largest valid index seen, -1 when none. */
    public int maxValid = -1;

    public long invalid() {
      return nulls + negatives + nonIntegers + tooLarge;
    }

    void merge(FieldStats o) {
      if (negatives == 0) {
        exampleNegative = o.exampleNegative;
      }
      if (nonIntegers == 0) {
        exampleNonInteger = o.exampleNonInteger;
      }
      if (tooLarge == 0) {
        exampleTooLarge = o.exampleTooLarge;
      }
      nulls += o.nulls;
      negatives += o.negatives;
      nonIntegers += o.nonIntegers;
      tooLarge += o.tooLarge;
      maxValid = Math.max(maxValid, o.maxValid);
    }
  }

  public final FieldStats[] fields;
  public long rows;
  /** Rows with at least one invalid index. */
  public long invalidRows;
  public long labelNulls;
  public long labelNonFinite;
  public double exampleLabelNonFinite;
  /** Labels other than 0 and 1 (a problem only for the logistic loss). */
  public long labelNonBinary;
  public double exampleLabelNonBinary;
  public long weightNulls;
  public long weightInvalid;
  public double exampleWeightInvalid;
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
