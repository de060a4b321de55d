package io.fastembedding.spark.data;

import java.io.Serializable;

/**
 * What a training block must satisfy once the driver knows every table's size, and how to resolve
 * its invalid indices: everything {@link BlockBuilder#resolve} needs to check a block whenever Spark
 * builds it, the first time or again after losing it, and to report a bad value the way the driver
 * does (the column named, and the value).
 *
 * @param cols the input columns, one table each
 * @param sizes the valid categories per table and where each count came from
 * @param handleInvalid error, skip or keep
 * @param logistic whether the loss needs labels 0 or 1
 * @param labelCol the label column, for messages
 * @param weightCol the weight column ("" when none), for messages
 * @param numericCol the numeric vector column ("" when none), for messages
 * @param numNumeric the size of the numeric vectors (0: none)
 * @param numericSizeSource where that size came from, for messages
 * @param mean per numeric feature, the mean to subtract; null: no standardisation
 * @param invStd per numeric feature, the factor after subtracting the mean; null with {@code mean}
 */
public record BlockRules(String[] cols, TableSizes sizes, String handleInvalid, boolean logistic,
    String labelCol, String weightCol, String numericCol, int numNumeric,
    String numericSizeSource, float[] mean, float[] invStd) implements Serializable {

  public boolean keep() {
    return "keep".equals(handleInvalid);
  }

  public boolean skip() {
    return "skip".equals(handleInvalid);
  }

  public boolean error() {
    return !keep() && !skip();
  }

  /** These rules, standardising the numeric features as well. */
  public BlockRules withStandardization(float[] mean, float[] invStd) {
    return new BlockRules(cols, sizes, handleInvalid, logistic, labelCol, weightCol, numericCol,
        numNumeric, numericSizeSource, mean, invStd);
  }

  /** Rows of each table: the valid categories, plus the reserved row with keep. */
  public int[] tableSizes() {
    return sizes.tableSizes(keep());
  }
}
