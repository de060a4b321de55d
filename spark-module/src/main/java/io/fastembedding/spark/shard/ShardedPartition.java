package io.fastembedding.spark.shard;

import io.fastembedding.spark.data.PartitionData;
import java.io.Serializable;

/**
 * A training partition of the sharded path: its blocks renumbered to the rows of its local model,
 * and which table rows those are. Cached for the whole fit: the rows a partition uses do not change
 * between rounds.
 */
public final class ShardedPartition implements Serializable {
  private static final long serialVersionUID = 1L;

  public final PartitionData data;
  public final PartitionRows rows;

  public ShardedPartition(PartitionData data, PartitionRows rows) {
    this.data = data;
    this.rows = rows;
  }

  /** {@code pd} with its rows found and its blocks renumbered. */
  public static ShardedPartition of(PartitionData pd, int numFields) {
    PartitionRows rows = PartitionRows.of(pd, numFields);
    return new ShardedPartition(rows.remap(pd), rows);
  }
}
