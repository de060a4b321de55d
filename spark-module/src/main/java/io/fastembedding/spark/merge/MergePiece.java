package io.fastembedding.spark.merge;

import java.io.Serializable;

/**
 * What a training task sends to the merge: one shard's touched rows, or its dense head. The reduce
 * side tells them apart by type; the shuffle key ({@link #reduceTask}) only routes them.
 */
public sealed interface MergePiece extends Serializable
    permits MergePiece.ShardRows, MergePiece.Head {

  /** The reduce task that merges this piece: shard s's rows go to task s, every head to the last. */
  int reduceTask(ShardPlan plan);

  /** The number of reduce tasks of a merge: one per shard and one for the heads. */
  static int reduceTasks(ShardPlan plan) {
    return plan.numShards() + 1;
  }

  /** One shard's rows that one partition touched. */
  record ShardRows(ShardPiece rows) implements MergePiece {
    @Override
    public int reduceTask(ShardPlan plan) {
      return rows.shard;
    }
  }

  /** One partition's head after its local training. */
  record Head(HeadPiece head) implements MergePiece {
    @Override
    public int reduceTask(ShardPlan plan) {
      return plan.numShards();
    }
  }
}
