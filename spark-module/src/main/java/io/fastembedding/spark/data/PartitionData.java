package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;
import java.io.Serializable;

/** One training partition: its rows as a primitive block (cached across rounds) and what it saw. */
public final class PartitionData implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int partition;
  public final RowBlock block;
  public final BlockStats stats;
  /** Sum of the row weights (the rows when unweighted): turns mean losses back into sums. */
  public final double weightSum;

  public PartitionData(int partition, RowBlock block, BlockStats stats, double weightSum) {
    this.partition = partition;
    this.block = block;
    this.stats = stats;
    this.weightSum = weightSum;
  }
}
