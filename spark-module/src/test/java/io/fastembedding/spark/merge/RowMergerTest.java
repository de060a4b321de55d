package io.fastembedding.spark.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The merge against a hand computation: two partitions touching overlapping rows. */
class RowMergerTest {
  // field 0: 4 rows of dim 2; field 1: 3 rows of dim 1 (global rows 4..6)
  private static final ModelSpec SPEC = ModelSpec.builder(new int[] {4, 3}, new int[] {2, 1})
      .head(HeadType.LINEAR).optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.1f, 0f)).build();

  /** Partition 0: field 0 rows 1 and 2, field 1 row 0. */
  private static TouchedRows p0() {
    return new TouchedRows(SPEC,
        new int[][] {{1, 2}, {0}},
        new int[][] {{3, 1}, {2}},
        new float[][] {{1f, 2f, 10f, 20f}, {5f}},
        null,
        new float[][] {{0.1f, 0.2f, 1f, 2f}, {0.5f}},
        null,
        new float[] {1f, 1f, 1f, 1f},
        new float[] {2f, 2f, 2f, 2f});
  }

  /** Partition 1: field 0 rows 2 and 3, field 1 rows 0 and 2. */
  private static TouchedRows p1() {
    return new TouchedRows(SPEC,
        new int[][] {{2, 3}, {0, 2}},
        new int[][] {{4, 1}, {1, 7}},
        new float[][] {{30f, 40f, 7f, 8f}, {9f, -1f}},
        null,
        new float[][] {{3f, 4f, 0.7f, 0.8f}, {1.5f, 0.25f}},
        null,
        new float[] {3f, 5f, -1f, 0f},
        new float[] {4f, 0f, 2f, 6f});
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 7})
  void meanOverTouchingPartitionsOnly(int shards) {
    ModelState base = ModelState.initial(SPEC);
    ShardPlan plan = new ShardPlan(SPEC.layout(), shards);
    Map<Integer, List<ShardPiece>> byShard = new TreeMap<>();
    // arrival order must not matter: partition 1 first
    for (ShardPiece p : ShardPiece.split(p1(), plan, 1)) {
      byShard.computeIfAbsent(p.shard, s -> new ArrayList<>()).add(p);
    }
    for (ShardPiece p : ShardPiece.split(p0(), plan, 0)) {
      byShard.computeIfAbsent(p.shard, s -> new ArrayList<>()).add(p);
    }
    List<MergedShard> merged = new ArrayList<>();
    byShard.forEach((s, ps) -> merged.add(RowMerger.mergeShard(plan, SPEC.optimizer(), s, ps)));
    HeadPiece head = RowMerger.mergeHeads(List.of(
        new HeadPiece(1, p1().head, p1().headAccum), new HeadPiece(0, p0().head, p0().headAccum)));
    ModelState next = RowMerger.apply(base, plan, merged, head);

    // field 0, row 0: untouched, keeps the broadcast value and state
    assertArrayEquals(base.row(0, 0), next.row(0, 0));
    assertEquals(0f, next.tableAccum[0]);
    // row 1: only partition 0 touched it: its value whole, not halved
    assertArrayEquals(new float[] {1f, 2f}, next.row(0, 1));
    // row 2: both: (10 + 30) / 2, (20 + 40) / 2; state (1 + 3) / 2, (2 + 4) / 2
    assertArrayEquals(new float[] {20f, 30f}, next.row(0, 2));
    int off2 = (int) SPEC.layout().offset(0) + 2 * 2;
    assertEquals(2f, next.tableAccum[off2]);
    assertEquals(3f, next.tableAccum[off2 + 1]);
    // row 3: only partition 1
    assertArrayEquals(new float[] {7f, 8f}, next.row(0, 3));
    // field 1: row 0 both (5 + 9) / 2 = 7, state (0.5 + 1.5) / 2 = 1; row 1 untouched; row 2 only p1
    assertArrayEquals(new float[] {7f}, next.row(1, 0));
    assertArrayEquals(base.row(1, 1), next.row(1, 1));
    assertArrayEquals(new float[] {-1f}, next.row(1, 2));
    int f1 = (int) SPEC.layout().offset(1);
    assertEquals(1f, next.tableAccum[f1]);
    assertEquals(0f, next.tableAccum[f1 + 1]);
    assertEquals(0.25f, next.tableAccum[f1 + 2]);
    // head: mean of both partitions
    assertArrayEquals(new float[] {2f, 3f, 0f, 0.5f}, next.head);
    assertArrayEquals(new float[] {3f, 1f, 2f, 4f}, next.headAccum);
    // the base is left alone
    assertArrayEquals(ModelState.initial(SPEC).tables, base.tables);

    // touch bookkeeping: global row 2 (field 0, row 2) touched by 2 partitions, 4 + 1 times
    MergedShard withRow2 = merged.stream().filter(m -> m.rows.find(2) >= 0).findFirst().get();
    int i = withRow2.rows.find(2);
    assertEquals(2, withRow2.partitions[i]);
    assertEquals(5L, withRow2.rows.counts[i]);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3})
  void fmFirstOrderAndRowwiseStateAreMergedLikeRows(int shards) {
    ModelSpec spec = ModelSpec.builder(new int[] {3, 2}, new int[] {2, 2}).head(HeadType.FM)
        .optimizer(OptimizerSpec.of(OptimizerType.ROWWISE_ADAGRAD, 0.1f, 0f)).build();
    TouchedRows a = new TouchedRows(spec, new int[][] {{0}, {1}}, new int[][] {{1}, {1}},
        new float[][] {{1f, 1f}, {2f, 2f}}, new float[][] {{0.5f}, {1f}},
        new float[][] {{4f}, {8f}}, new float[][] {{1f}, {3f}}, new float[] {1f}, new float[] {1f});
    TouchedRows b = new TouchedRows(spec, new int[][] {{0}, {}}, new int[][] {{2}, {}},
        new float[][] {{3f, 5f}, {}}, new float[][] {{1.5f}, {}},
        new float[][] {{6f}, {}}, new float[][] {{5f}, {}}, new float[] {3f}, new float[] {5f});
    ShardPlan plan = new ShardPlan(spec.layout(), shards);
    List<ShardPiece> all = new ArrayList<>(ShardPiece.split(a, plan, 0));
    all.addAll(ShardPiece.split(b, plan, 1));
    Collections.reverse(all);
    Map<Integer, List<ShardPiece>> byShard = new TreeMap<>();
    all.forEach(p -> byShard.computeIfAbsent(p.shard, s -> new ArrayList<>()).add(p));
    List<MergedShard> merged = new ArrayList<>();
    byShard.forEach((s, ps) -> merged.add(RowMerger.mergeShard(plan, spec.optimizer(), s, ps)));
    ModelState base = ModelState.initial(spec);
    ModelState next = RowMerger.apply(base, plan, merged, RowMerger.mergeHeads(
        List.of(new HeadPiece(0, a.head, a.headAccum), new HeadPiece(1, b.head, b.headAccum))));
    assertArrayEquals(new float[] {2f, 3f}, next.row(0, 0));
    assertEquals(1f, next.firstOrder[0]);
    assertEquals(5f, next.tableAccum[0]);
    assertEquals(3f, next.firstOrderAccum[0]);
    // field 1 row 1 = global row 4: only partition 0
    assertArrayEquals(new float[] {2f, 2f}, next.row(1, 1));
    assertEquals(1f, next.firstOrder[4]);
    assertEquals(8f, next.tableAccum[4]);
    assertEquals(3f, next.firstOrderAccum[4]);
    assertArrayEquals(base.row(0, 1), next.row(0, 1));
    assertEquals(2f, next.head[0]);
    assertEquals(3f, next.headAccum[0]);
  }

  /**
   * Row-wise Adam's state, [m_0, m_1, v, t] per row of dim 2, merges as the mean over the partitions that
   * touched the row and lands at its packed place: table offset + 2 x row id (field 1 starts at float 8,
   * the tables' 16-byte alignment, so its row 1 = global row 4 keeps its state at 8 + 2 + 8 = 18).
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 3})
  void rowwiseAdamStateIsMergedAsTheMeanAtItsPackedPlace(int shards) {
    ModelSpec spec = ModelSpec.builder(new int[] {3, 2}, new int[] {2, 2}).head(HeadType.LINEAR)
        .optimizer(OptimizerSpec.of(OptimizerType.ROWWISE_ADAM, 0.1f, 0f)).build();
    float[] head = new float[spec.headSize()];
    TouchedRows a = new TouchedRows(spec, new int[][] {{0}, {1}}, new int[][] {{1}, {1}},
        new float[][] {{1f, 1f}, {2f, 2f}}, null,
        new float[][] {{1f, 2f, 3f, 4f}, {5f, 6f, 7f, 8f}}, null, head, head);
    TouchedRows b = new TouchedRows(spec, new int[][] {{0}, {}}, new int[][] {{2}, {}},
        new float[][] {{3f, 5f}, {}}, null, new float[][] {{3f, 4f, 5f, 7f}, {}}, null, head, head);
    ShardPlan plan = new ShardPlan(spec.layout(), shards);
    List<ShardPiece> all = new ArrayList<>(ShardPiece.split(a, plan, 0));
    all.addAll(ShardPiece.split(b, plan, 1));
    Map<Integer, List<ShardPiece>> byShard = new TreeMap<>();
    all.forEach(p -> byShard.computeIfAbsent(p.shard, s -> new ArrayList<>()).add(p));
    List<MergedShard> merged = new ArrayList<>();
    byShard.forEach((s, ps) -> merged.add(RowMerger.mergeShard(plan, spec.optimizer(), s, ps)));
    ModelState base = ModelState.initial(spec);
    ModelState next = RowMerger.apply(base, plan, merged, RowMerger.mergeHeads(
        List.of(new HeadPiece(0, a.head, a.headAccum), new HeadPiece(1, b.head, b.headAccum))));
    assertEquals(8 + 2 * 2 + 2 * 5, next.tableAccum.length);
    float[] expected = new float[next.tableAccum.length];
    System.arraycopy(new float[] {2f, 3f, 4f, 5.5f}, 0, expected, 0, 4);
    System.arraycopy(new float[] {5f, 6f, 7f, 8f}, 0, expected, 18, 4);
    assertArrayEquals(expected, next.tableAccum);
    assertArrayEquals(new float[] {2f, 3f}, next.row(0, 0));
    assertArrayEquals(new float[] {2f, 2f}, next.row(1, 1));
  }

  private static boolean contains(long[] a, long v) {
    return indexOf(a, v) >= 0;
  }

  private static int indexOf(long[] a, long v) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] == v) {
        return i;
      }
    }
    return -1;
  }
}
