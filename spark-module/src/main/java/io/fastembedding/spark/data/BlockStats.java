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

  public BlockStats(int numFields) {
    fields = new FieldStats[numFields];
    for (int i = 0; i < numFields; i++) {
      fields[i] = new FieldStats();
    }
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
    return this;
  }
}
