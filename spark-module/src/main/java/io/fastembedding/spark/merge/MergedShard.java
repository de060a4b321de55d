package io.fastembedding.spark.merge;

import io.fastembedding.model.RowColumns;
import java.io.Serializable;

/**
 * The merged rows of one shard: every row at least one partition touched, with its mean over those
 * partitions; {@code rows.counts[i]} is the total of their touch counts and {@code partitions[i]} how
 * many partitions touched entry i.
 */
public final class MergedShard implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int shard;
  public final RowColumns rows;
  public final int[] partitions;

  MergedShard(int shard, RowColumns rows, int[] partitions) {
    this.shard = shard;
    this.rows = rows;
    this.partitions = partitions;
  }
}
