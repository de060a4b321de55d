package io.fastembedding.spark.train;

import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergePiece;
import io.fastembedding.spark.merge.MergeResult;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.function.Function;
import scala.Tuple2;

/**
 * The reduce side of the merge: one reduce task's pieces, from every partition, into one merged
 * result. A task holds one shard's rows or the heads, never both; the pieces' types say which.
 */
public final class MergeShards
    implements Function<Tuple2<Integer, Iterable<MergePiece>>, MergeResult> {
  private static final long serialVersionUID = 1L;

  private final ShardPlan plan;
  private final OptimizerSpec optimizer;

  public MergeShards(ShardPlan plan, OptimizerSpec optimizer) {
    this.plan = plan;
    this.optimizer = optimizer;
  }

  @Override
  public MergeResult call(Tuple2<Integer, Iterable<MergePiece>> kv) {
    List<ShardPiece> rows = new ArrayList<>();
    List<HeadPiece> heads = new ArrayList<>();
    for (MergePiece p : kv._2()) {
      if (p instanceof MergePiece.ShardRows r) {
        rows.add(r.rows());
      } else if (p instanceof MergePiece.Head h) {
        heads.add(h.head());
      }
    }
    if (!rows.isEmpty() && !heads.isEmpty()) {
      throw new IllegalStateException("merge task " + kv._1() + " got shard rows and heads");
    }
    if (!heads.isEmpty()) {
      return new MergeResult.Head(RowMerger.mergeHeads(heads));
    }
    return new MergeResult.Shard(RowMerger.mergeShard(plan, optimizer, rows.get(0).shard, rows));
  }
}
