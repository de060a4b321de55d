package io.fastembedding.spark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergePiece;
import io.fastembedding.spark.merge.MergeResult;
import io.fastembedding.spark.merge.MergedShard;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * The merge's reduce side reads a piece's type, not its key: pieces routed as the training tasks
 * route them merge as RowMerger merges them directly, and heads merge as heads under any key.
 */
class MergeShardsTest {
  // field 0: 4 rows of dim 2; field 1: 3 rows of dim 1
  private static final ModelSpec SPEC = ModelSpec.builder(new int[] {4, 3}, new int[] {2, 1})
      .head(HeadType.LINEAR).optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.1f, 0f)).build();

  private static TouchedRows partition0() {
    return new TouchedRows(SPEC, new int[][] {{1, 2}, {0}}, new int[][] {{3, 1}, {2}},
        new float[][] {{1f, 2f, 10f, 20f}, {5f}}, null,
        new float[][] {{0.1f, 0.2f, 1f, 2f}, {0.5f}}, null,
        new float[] {1f, 1f, 1f, 1f}, new float[] {2f, 2f, 2f, 2f});
  }

  private static TouchedRows partition1() {
    return new TouchedRows(SPEC, new int[][] {{2, 3}, {0, 2}}, new int[][] {{4, 1}, {1, 7}},
        new float[][] {{30f, 40f, 7f, 8f}, {9f, -1f}}, null,
        new float[][] {{3f, 4f, 0.7f, 0.8f}, {1.5f, 0.25f}}, null,
        new float[] {3f, 5f, -1f, 0f}, new float[] {4f, 0f, 2f, 6f});
  }

  @Test
  void routedPiecesMergeAsRowMergerDoes() {
    ShardPlan plan = new ShardPlan(SPEC.layout(), 3);
    List<TouchedRows> parts = List.of(partition0(), partition1());
    Map<Integer, List<MergePiece>> byTask = new TreeMap<>();
    Map<Integer, List<ShardPiece>> byShard = new TreeMap<>();
    List<HeadPiece> heads = new ArrayList<>();
    for (int p = 0; p < parts.size(); p++) {
      TouchedRows t = parts.get(p);
      List<MergePiece> pieces = new ArrayList<>();
      for (ShardPiece s : ShardPiece.split(t, plan, p)) {
        pieces.add(new MergePiece.ShardRows(s));
        byShard.computeIfAbsent(s.shard, x -> new ArrayList<>()).add(s);
      }
      HeadPiece h = new HeadPiece(p, t.head, t.headAccum);
      heads.add(h);
      pieces.add(new MergePiece.Head(h));
      for (MergePiece m : pieces) {
        byTask.computeIfAbsent(m.reduceTask(plan), x -> new ArrayList<>()).add(m);
      }
    }
    assertEquals(MergePiece.reduceTasks(plan), byShard.size() + 1,
        "every shard is touched here, and the heads take one task more");
    MergeShards merge = new MergeShards(plan, SPEC.optimizer());
    for (var e : byTask.entrySet()) {
      MergeResult r = merge.call(new Tuple2<>(e.getKey(), e.getValue()));
      if (e.getKey() == plan.numShards()) {
        HeadPiece got = assertInstanceOf(MergeResult.Head.class, r).head();
        HeadPiece want = RowMerger.mergeHeads(heads);
        assertArrayEquals(want.head, got.head);
        assertArrayEquals(want.headAccum, got.headAccum);
      } else {
        MergedShard got = assertInstanceOf(MergeResult.Shard.class, r).shard();
        MergedShard want = RowMerger.mergeShard(plan, SPEC.optimizer(), e.getKey(),
            byShard.get(e.getKey()));
        assertEquals(want.shard, got.shard);
        assertArrayEquals(want.rows, got.rows);
        assertArrayEquals(want.counts, got.counts);
        assertArrayEquals(want.values, got.values);
        assertArrayEquals(want.accum, got.accum);
      }
    }
  }

  @Test
  void headsMergeAsHeadsWhateverTheirKey() {
    ShardPlan plan = new ShardPlan(SPEC.layout(), 3);
    TouchedRows a = partition0();
    TouchedRows b = partition1();
    List<MergePiece> heads = List.of(new MergePiece.Head(new HeadPiece(0, a.head, a.headAccum)),
        new MergePiece.Head(new HeadPiece(1, b.head, b.headAccum)));
    MergeResult r = new MergeShards(plan, SPEC.optimizer()).call(new Tuple2<>(0, heads));
    // the mean of the two heads, by hand
    assertArrayEquals(new float[] {2f, 3f, 0f, 0.5f},
        assertInstanceOf(MergeResult.Head.class, r).head().head);
  }
}
