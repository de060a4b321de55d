package io.fastembedding.spark.merge;

import java.io.Serializable;

/**
 * The merged rows of one shard: every row at least one partition touched, with its mean over those
 * partitions. Layout as in {@link ShardPiece}; {@code partitions[i]} is how many partitions touched
 * row {@code rows[i]} and {@code counts[i]} the total of their touch counts.
 */
public final class MergedShard implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int shard;
  public final long[] rows;
  public final int[] partitions;
  public final long[] counts;
  public final float[] values;
  public final float[] firstOrder;
  public final float[] accum;
  public final float[] firstOrderAccum;

  MergedShard(int shard, long[] rows, int[] partitions, long[] counts, float[] values,
      float[] firstOrder, float[] accum, float[] firstOrderAccum) {
    this.shard = shard;
    this.rows = rows;
    this.partitions = partitions;
    this.counts = counts;
    this.values = values;
    this.firstOrder = firstOrder;
    this.accum = accum;
    this.firstOrderAccum = firstOrderAccum;
  }
}
