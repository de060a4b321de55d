package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;
import java.io.Serializable;

/**
 * One training partition: its rows as primitive blocks (cached across rounds) and what it saw. The
 * training block is what a round trains on; the validation block, when the fit holds rows out, is
 * only scored.
 */
public final class PartitionData implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int partition;
  public final RowBlock block;
  public final BlockStats stats;
  /** Sum of the row weights (the rows when unweighted): turns mean losses back into sums. */
  public final double weightSum;
  /** The held-out rows, or null when the fit has no validation. */
  public final RowBlock validation;
  public final double validationWeightSum;

  public PartitionData(int partition, RowBlock block, BlockStats stats, double weightSum) {
    this(partition, block, stats, weightSum, null, 0);
  }

  public PartitionData(int partition, RowBlock block, BlockStats stats, double weightSum,
      RowBlock validation, double validationWeightSum) {
    this.partition = partition;
    this.block = block;
    this.stats = stats;
    this.weightSum = weightSum;
    this.validation = validation;
    this.validationWeightSum = validationWeightSum;
  }
}
