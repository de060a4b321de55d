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

  /**
   * The numeric column's problems: null vectors, a size other than the fit's, NaN or infinite
   * values; each message names the column and an offending value.
   */
  public static void checkNumeric(BlockStats s, String numericCol, int k, String sizeSource) {
    if (s.numericNulls > 0) {
      throw new IllegalArgumentException("numeric column '" + numericCol + "' has "
          + s.numericNulls + " null vector" + (s.numericNulls == 1 ? "" : "s")
          + "; every row needs its numeric features (impute them first, e.g. with Imputer)");
    }
    if (s.numericWrongSize > 0) {
      throw new IllegalArgumentException("numeric column '" + numericCol + "' has a vector of size "
          + s.exampleNumericSize + " (" + s.numericWrongSize + " row"
          + (s.numericWrongSize == 1 ? "" : "s") + " of a size other than " + k + "), but every "
          + "row must have " + k + " numeric features (" + sizeSource + ")");
    }
    if (s.numericNonFinite > 0) {
      throw new IllegalArgumentException("numeric column '" + numericCol + "' has the value "
          + s.exampleNumericNonFinite + " at feature " + s.exampleNumericFeature + " ("
          + s.numericNonFinite + " row" + (s.numericNonFinite == 1 ? "" : "s")
          + " with NaN or infinite values); numeric features must be finite (impute or drop "
          + "them first, e.g. with Imputer)");
    }
  }

  /**
   * The split between training and validation rows: a null indicator, no validation rows left, or
   * no training rows left (after 'skip' drops rows with invalid indices).
   *
   * @param how the validation setting, for messages, e.g. "validationFraction 0.1"
   */
  public static void checkSplit(BlockStats s, String how, boolean validation, boolean skip) {
    if (s.indicatorNulls > 0) {
      throw new IllegalArgumentException(how + " has " + s.indicatorNulls + " null value"
          + (s.indicatorNulls == 1 ? "" : "s") + "; every row must be marked true (validation) or "
          + "false (training)");
    }
    long trainInvalid = s.invalidRows - s.validationInvalidRows;
    long train = s.trainRows() - (skip ? trainInvalid : 0);
    long valid = s.validationRows - (skip ? s.validationInvalidRows : 0);
    if (validation && valid == 0) {
      throw new IllegalArgumentException(how + " leaves no validation rows (of " + s.rows
          + " rows" + (skip && s.validationRows > 0 ? ", after 'skip' dropped "
          + s.validationInvalidRows + " with invalid indices" : "") + "); hold some rows out, or "
          + "turn validation off");
    }
    if (train == 0) {
      throw new IllegalArgumentException((validation ? how + " leaves no training rows"
          : "no rows left to train on") + " (of " + s.rows + " rows"
          + (skip && trainInvalid > 0 ? ", after 'skip' dropped " + trainInvalid
          + " with invalid indices" : "") + ")");
    }
  }
}
