package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.data.BlockStats;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.device.DeviceChoice;
import io.fastembedding.spark.device.DeviceChooser;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergePiece;
import io.fastembedding.spark.merge.MergedShard;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.train.TaskReport;
import io.fastembedding.spark.train.TrainRound;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.CollectionAccumulator;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * A task that holds several GPU addresses trains on all of them: one backend and one share of the
 * partition's rows per address, merged like partitions. Checked with a backend whose effect is
 * countable by hand ({@link FakeBackend}: +1 per occurrence).
 */
class SeveralGpusPerTaskTest {
  private static final DeviceRequest AUTO = new DeviceRequest("auto", "gpu", false);

  @Test
  void everyAddressOfTheTaskBecomesADevice() {
    Map<String, ResourceInformation> two = Map.of("gpu",
        new ResourceInformation("gpu", new String[] {"3", "1"}));
    List<DeviceChoice> cs = DeviceChooser.chooseAll(AUTO, 0, two, () -> 4, () -> null);
    assertEquals(2, cs.size());
    assertTrue(cs.get(0).cuda() && cs.get(0).ordinal() == 3, cs.toString());
    assertTrue(cs.get(1).cuda() && cs.get(1).ordinal() == 1, cs.toString());
    assertEquals(List.of("cuda:3", "cuda:1"), List.of(cs.get(0).key(), cs.get(1).key()));
    // device = cpu, or no CUDA here: one CPU choice; without CUDA it is a marked fallback
    assertEquals(List.of(DeviceChoice.cpu("device = cpu")),
        DeviceChooser.chooseAll(new DeviceRequest("cpu", "gpu", false), 0, two, () -> 4, () -> null));
    List<DeviceChoice> none = DeviceChooser.chooseAll(AUTO, 0, two, () -> 0, () -> "no driver");
    assertEquals(1, none.size());
    assertFalse(none.get(0).cuda());
    assertTrue(none.get(0).fallback() && none.get(0).why().contains("no driver"), none.toString());
    // one address: the single choice of choose()
    Map<String, ResourceInformation> one = Map.of("gpu",
        new ResourceInformation("gpu", new String[] {"2"}));
    assertEquals(List.of(DeviceChooser.choose(AUTO, 0, one, () -> 4, () -> null)),
        DeviceChooser.chooseAll(AUTO, 0, one, () -> 4, () -> null));
  }

  @Test
  void sharesTrainOnTheirOwnDeviceAndMergeLikePartitions() throws Exception {
    ModelSpec spec = ModelSpec.builder(new int[] {4, 2}, new int[] {2, 2}).head(HeadType.LINEAR)
        .optimizer(OptimizerSpec.of(OptimizerType.SGD, 0.1f, 0f)).build();
    ModelState base = ModelState.initial(spec);
    // rows 0-3 go to the first device's share, rows 4-7 to the second's
    int[] idx = {0, 0, 0, 1, 0, 0, 1, 1, /* | */ 1, 0, 1, 1, 2, 1, 1, 0};
    float[] labels = {1, 0, 1, 0, 1, 0, 1, 0};
    PartitionData pd = new PartitionData(7, new RowBlock(2, 0, 8, idx, null, labels, null),
        new BlockStats(2), 8);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
    Broadcast<ModelState> bc = jsc.broadcast(base);
    CollectionAccumulator<TaskReport> reports = jsc.sc().collectionAccumulator();
    ShardPlan plan = new ShardPlan(spec.layout(), 2);
    List<String> opened = Collections.synchronizedList(new ArrayList<>());
    TrainRound round = new TrainRound("fit-several", bc, plan, 2, 1, 0, 1, false, AUTO,
        (s, options, choice) -> {
          opened.add(choice.key());
          return new FakeBackend(s);
        }, reports);
    List<DeviceChoice> devices = List.of(DeviceChoice.gpu(0, "address 0"),
        DeviceChoice.gpu(1, "address 1"));
    List<Tuple2<Integer, MergePiece>> out = new ArrayList<>();
    round.train(pd, devices, 1).forEachRemaining(out::add);

    assertEquals(List.of("cuda:0", "cuda:1"), opened.stream().sorted().toList());
    List<List<ShardPiece>> byShard = List.of(new ArrayList<>(), new ArrayList<>());
    List<HeadPiece> heads = new ArrayList<>();
    for (Tuple2<Integer, MergePiece> t : out) {
      if (t._2() instanceof MergePiece.Head h) {
        heads.add(h.head());
      } else if (t._2() instanceof MergePiece.ShardRows r) {
        byShard.get(t._1()).add(r.rows());
      }
    }
    assertEquals(2, heads.size(), "one head per device share");
    List<MergedShard> merged = new ArrayList<>();
    for (int s = 0; s < plan.numShards(); s++) {
      merged.add(RowMerger.mergeShard(plan, spec.optimizer(), s, byShard.get(s)));
    }
    ModelState m = RowMerger.apply(base, plan, merged, RowMerger.mergeHeads(heads));
    // field a: row 0 only in share 1 (3 occurrences): +3 whole; row 1: share 1 once, share 2 three
    // times: mean +2; row 2: share 2 once: +1; row 3: untouched
    assertRow(base, m, 0, 0, 3f);
    assertRow(base, m, 0, 1, 2f);
    assertRow(base, m, 0, 2, 1f);
    assertRow(base, m, 0, 3, 0f);
    // field b: row 0 twice in each share, row 1 twice in each share
    assertRow(base, m, 1, 0, 2f);
    assertRow(base, m, 1, 1, 2f);
    // each share ran 2 steps of 2 rows: the head moves by the mean, +2
    assertEquals(base.head[0] + 2f, m.head[0], 1e-6);
    List<TaskReport> rs = reports.value();
    assertEquals(1, rs.size(), "one report for the task");
    assertEquals("fake + fake", rs.get(0).device());
    assertEquals(8, rs.get(0).rows());
    bc.destroy();
  }

  private static void assertRow(ModelState base, ModelState merged, int field, int row, float d) {
    float[] before = base.row(field, row);
    float[] after = merged.row(field, row);
    for (int k = 0; k < before.length; k++) {
      assertEquals(before[k] + d, after[k], 1e-6, "field " + field + " row " + row);
    }
  }
}
