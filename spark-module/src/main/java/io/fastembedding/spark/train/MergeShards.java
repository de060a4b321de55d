package io.fastembedding.spark.train;

import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.function.Function;
import scala.Tuple2;

/** The reduce side of the merge: one key's pieces, from every partition, into one merged result. */
public final class MergeShards
    implements Function<Tuple2<Integer, Iterable<Serializable>>, Serializable> {
  private static final long serialVersionUID = 1L;

  private final ShardPlan plan;
  private final OptimizerSpec optimizer;

  public MergeShards(ShardPlan plan, OptimizerSpec optimizer) {
    this.plan = plan;
    this.optimizer = optimizer;
  }

  @Override
  public Serializable call(Tuple2<Integer, Iterable<Serializable>> kv) {
    int key = kv._1();
    if (key == plan.numShards()) {
      List<HeadPiece> heads = new ArrayList<>();
      kv._2().forEach(p -> heads.add((HeadPiece) p));
      return RowMerger.mergeHeads(heads);
    }
    List<ShardPiece> pieces = new ArrayList<>();
    kv._2().forEach(p -> pieces.add((ShardPiece) p));
    return RowMerger.mergeShard(plan, optimizer, key, pieces);
  }
}
