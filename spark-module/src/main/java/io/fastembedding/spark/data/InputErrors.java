package io.fastembedding.spark.data;

/**
 * Turns the merged {@link BlockStats} into the first error to report, in a fixed order (indices by
 * column, then labels, then weights), so that a bad fit fails on the driver with a message naming the
 * column and an offending value. {@link BlockBuilder#resolve} runs the same checks on each block
 * Spark builds, so a block rebuilt from changed input fails with the same message, plus its row.
 */
public final class InputErrors {
  private InputErrors() {}

  public static void check(BlockStats s, String[] cols, TableSizes sizes, String handleInvalid,
      boolean logistic, String labelCol, String weightCol) {
    if (s.rows == 0) {
      throw new IllegalArgumentException("the training data is empty: there are no rows to fit on");
    }
    boolean skip = "skip".equals(handleInvalid);
    if ("error".equals(handleInvalid)) {
      checkIndices(s, cols, sizes, null);
    }
    checkTargets(s, skip, logistic, labelCol, weightCol);
    if (skip && s.invalidRows == s.rows) {
      throw new IllegalArgumentException("no rows left to train on: handleInvalid = 'skip' dropped "
          + "all " + s.rows + " rows, each of which has an invalid index");
    }
    BlockStats.TargetStats t = skip ? s.targets : s.targets.plus(s.targetsOfInvalidRows);
    long trainRows = s.trainRows() - (skip ? s.invalidRows - s.validationInvalidRows : 0);
    if (!weightCol.isEmpty() && t.positiveWeightTrainRows == 0 && trainRows > 0) {
      throw new IllegalArgumentException("weight column '" + weightCol + "' is 0 on every "
          + "training row (" + trainRows + " row" + (trainRows == 1 ? "" : "s")
          + (skip && s.invalidRows > 0 ? " left after 'skip'" : "") + "), so there is nothing "
          + "to learn from; give some rows a weight above 0");
    }
  }

  /**
   * With handleInvalid = error: the first column with an invalid index (null, negative, not an
   * integer, or outside the column's categories), naming the column, a value and the counts.
   *
   * @param where null on the driver (the merged stats of every partition); in a task the
   *     partition, e.g. "partition 3", whose rows the stats describe: the message then names the
   *     row too
   */
  public static void checkIndices(BlockStats s, String[] cols, TableSizes sizes, String where) {
    for (int f = 0; f < cols.length; f++) {
      BlockStats.FieldStats fs = s.fields[f];
      int count = sizes.validCounts[f];
      // blocks built before a scan inferred the count hold indices above it as valid ones
      boolean aboveCount = count >= 0 && fs.maxValid >= count;
      if (fs.invalid() == 0 && !aboveCount) {
        continue;
      }
      String what;
      long row;
      if (fs.nulls > 0) {
        what = IndexRules.describe(cols[f], null, -1, null);
        row = fs.nullRow;
      } else if (fs.negatives > 0) {
        what = IndexRules.describe(cols[f], fs.exampleNegative, -1, null);
        row = fs.negativeRow;
      } else if (fs.nonIntegers > 0) {
        what = IndexRules.describe(cols[f], fs.exampleNonInteger, -1, null);
        row = fs.nonIntegerRow;
      } else if (fs.tooLarge > 0) {
        what = IndexRules.describe(cols[f], fs.exampleTooLarge, count, sizes.sources[f]);
        row = fs.tooLargeRow;
      } else {
        what = IndexRules.describe(cols[f], (double) fs.maxValid, count, sizes.sources[f]);
        row = fs.maxValidRow;
      }
      String counts = aboveCount && fs.invalid() == 0 ? ""
          : " (" + fs.invalid() + " invalid value" + (fs.invalid() == 1 ? "" : "s")
              + " in this column: " + fs.nulls + " null, " + fs.negatives + " negative, "
              + fs.nonIntegers + " non-integer, " + fs.tooLarge + " too large)";
      throw new IllegalArgumentException(what + (where == null || row < 0 ? ""
          : ", at row " + row + " of " + where) + counts + ". Fix the data, or set "
          + "handleInvalid to 'skip' (drop such rows) or 'keep' (map them to a reserved row)");
    }
  }

  /**
   * Labels and weights: nulls, values that are not finite (as a float: training runs in float),
   * labels other than 0 and 1 for the logistic loss, negative weights. With {@code skip}, the rows
   * that 'skip' drops (an invalid index) are not checked.
   */
  public static void checkTargets(BlockStats s, boolean skip, boolean logistic, String labelCol,
      String weightCol) {
    BlockStats.TargetStats t = skip ? s.targets : s.targets.plus(s.targetsOfInvalidRows);
    if (t.labelNulls > 0) {
      throw new IllegalArgumentException("label column '" + labelCol + "' has " + t.labelNulls
          + " null value" + (t.labelNulls == 1 ? "" : "s") + "; every training row needs a label"
          + (skip ? " (rows that 'skip' drops for an invalid index are not counted)" : ""));
    }
    if (t.labelNonFinite > 0) {
      throw new IllegalArgumentException("label column '" + labelCol + "' has the value "
          + t.exampleLabelNonFinite + " (" + t.labelNonFinite + " such row"
          + (t.labelNonFinite == 1 ? "" : "s") + "); labels must be finite numbers "
          + FLOAT_RANGE);
    }
    if (logistic && t.labelNonBinary > 0) {
      throw new IllegalArgumentException("label column '" + labelCol + "' has the value "
          + t.exampleLabelNonBinary + " (" + t.labelNonBinary + " rows other than 0 or 1), but the "
          + "logistic loss needs labels 0 or 1; use loss = 'squared' for regression");
    }
    if (t.weightNulls > 0) {
      throw new IllegalArgumentException("weight column '" + weightCol + "' has " + t.weightNulls
          + " null value" + (t.weightNulls == 1 ? "" : "s"));
    }
    if (t.weightInvalid > 0) {
      throw new IllegalArgumentException("weight column '" + weightCol + "' has the value "
          + t.exampleWeightInvalid + " (" + t.weightInvalid + " such row"
          + (t.weightInvalid == 1 ? "" : "s") + "); weights must be >= 0 and finite "
          + FLOAT_RANGE);
    }
  }

  /** Training runs in float: a double beyond float range would train as infinity. */
  static final String FLOAT_RANGE = "within float range (magnitude at most " + Float.MAX_VALUE
      + "), as training runs in float";

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
