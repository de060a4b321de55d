package io.fastembedding.spark.data;

/**
 * Turns the merged {@link BlockStats} into the first error to report, in a fixed order (indices by
 * column, then labels, then weights), so that a bad fit fails on the driver with a message naming the
 * column and an offending value.
 */
public final class InputErrors {
  private InputErrors() {}

  public static void check(BlockStats s, String[] cols, TableSizes sizes, String handleInvalid,
      boolean logistic, String labelCol, String weightCol) {
    if (s.rows == 0) {
      throw new IllegalArgumentException("the training data is empty: there are no rows to fit on");
    }
    if ("error".equals(handleInvalid)) {
      for (int f = 0; f < cols.length; f++) {
        BlockStats.FieldStats fs = s.fields[f];
        if (fs.invalid() == 0) {
          continue;
        }
        String what;
        if (fs.nulls > 0) {
          what = IndexRules.describe(cols[f], null, -1, null);
        } else if (fs.negatives > 0) {
          what = IndexRules.describe(cols[f], fs.exampleNegative, -1, null);
        } else if (fs.nonIntegers > 0) {
          what = IndexRules.describe(cols[f], fs.exampleNonInteger, -1, null);
        } else {
          what = IndexRules.describe(cols[f], fs.exampleTooLarge, sizes.validCounts[f],
              sizes.sources[f]);
        }
        throw new IllegalArgumentException(what + " (" + fs.invalid() + " invalid value"
            + (fs.invalid() == 1 ? "" : "s") + " in this column: " + fs.nulls + " null, "
            + fs.negatives + " negative, " + fs.nonIntegers + " non-integer, " + fs.tooLarge
            + " too large). Fix the data, or set handleInvalid to 'skip' (drop such rows) or "
            + "'keep' (map them to a reserved row)");
      }
    }
    if (s.labelNulls > 0) {
      throw new IllegalArgumentException("label column '" + labelCol + "' has " + s.labelNulls
          + " null value" + (s.labelNulls == 1 ? "" : "s") + "; every training row needs a label");
    }
    if (s.labelNonFinite > 0) {
      throw new IllegalArgumentException("label column '" + labelCol + "' has the value "
          + s.exampleLabelNonFinite + " (" + s.labelNonFinite + " such rows); labels must be finite");
    }
    if (logistic && s.labelNonBinary > 0) {
      throw new IllegalArgumentException("label column '" + labelCol + "' has the value "
          + s.exampleLabelNonBinary + " (" + s.labelNonBinary + " rows other than 0 or 1), but the "
          + "logistic loss needs labels 0 or 1; use loss = 'squared' for regression");
    }
    if (s.weightNulls > 0) {
      throw new IllegalArgumentException("weight column '" + weightCol + "' has " + s.weightNulls
          + " null value" + (s.weightNulls == 1 ? "" : "s"));
    }
    if (s.weightInvalid > 0) {
      throw new IllegalArgumentException("weight column '" + weightCol + "' has the value "
          + s.exampleWeightInvalid + " (" + s.weightInvalid + " such rows); weights must be finite "
          + "and >= 0");
    }
    if ("skip".equals(handleInvalid) && s.invalidRows == s.rows) {
      throw new IllegalArgumentException("no rows left to train on: handleInvalid = 'skip' dropped "
          + "all " + s.rows + " rows, each of which has an invalid index");
    }
  }
}
