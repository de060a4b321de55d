package io.fastembedding.spark.merge;

import java.io.Serializable;

/** What one reduce task of the merge returns to the driver: a merged shard, or the merged head. */
public sealed interface MergeResult extends Serializable
    permits MergeResult.Shard, MergeResult.Head {

  /** One shard's rows, each the mean over the partitions that touched it. */
  record Shard(MergedShard shard) implements MergeResult {}

  /** The partitions' heads, averaged. */
  record Head(HeadPiece head) implements MergeResult {}
}
