package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;

/** Puts a partition's validation rows back with its training rows, for the refit on all rows. */
public final class HeldOutRows {
  private HeldOutRows() {}

  /** One training block of the partition's training rows followed by its validation rows. */
  public static PartitionData rejoined(PartitionData pd) {
    if (pd.validation == null || pd.validation.rows == 0) {
      return new PartitionData(pd.partition, pd.block, pd.stats, pd.weightSum);
    }
    RowBlock a = pd.block;
    RowBlock v = pd.validation;
    RowBlock out = RowBlock.allocate(a.numFields, a.numNumeric, a.rows + v.rows,
        a.weights != null);
    for (int r = 0; r < a.rows; r++) {
      a.copyRow(r, out, r);
    }
    for (int r = 0; r < v.rows; r++) {
      v.copyRow(r, out, a.rows + r);
    }
    return new PartitionData(pd.partition, out, pd.stats, pd.weightSum + pd.validationWeightSum);
  }
}
