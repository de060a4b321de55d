package io.fastembedding.spark.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.SparkTestSessions;
import io.fastembedding.spark.data.BlockStats;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergeResult;
import io.fastembedding.spark.merge.MergedShard;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.train.DefaultBackendFactory;
import io.fastembedding.spark.train.EvaluateRound;
import io.fastembedding.spark.train.MergeShards;
import io.fastembedding.spark.train.TaskReport;
import io.fastembedding.spark.train.TrainRound;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The sharded path against the broadcast path, in local[2]: shards initialised on the executors
 * equal the driver's initial model bit for bit, and rounds of pull, train and merge give the same
 * model, bit for bit, as rounds that broadcast the whole model (deterministic CPU training: the local
 * model trains its rows exactly as the whole model would).
 */
class ShardedTrainingTest {
  private static ModelSpec spec(OptimizerType opt, HeadType head) {
    return ModelSpec.builder(new int[] {50, 7, 300}, new int[] {4, 4, 4})
        .fieldNames("a", "b", "c").head(head).hiddenLayers(8).optimizer(OptimizerSpec.of(opt,
            0.1f, 1e-3f)).seed(17).build();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 7})
  void shardsInitialisedOnExecutorsEqualTheDriversInit(int shards) {
    JavaSparkContext jsc = SparkTestSessions.jsc();
    for (OptimizerType opt : OptimizerType.values()) {
      ModelSpec spec = spec(opt, HeadType.FM);
      ShardStore store = ShardStore.initial(jsc, spec, new ShardPlan(spec.layout(), shards));
      ModelState driver = ModelState.initial(spec);
      ModelState sharded = store.collect(driver.head, driver.headAccum);
      assertTrue(driver.bitEquals(sharded), "optimizer " + opt + ", " + shards + " shards");
      store.unpersist();
    }
  }

  /** Partition p's block: rows drawn with a skew so that the partitions use different rows. */
  static List<PartitionData> blocks(ModelSpec spec, long seed, boolean validation) {
    System.out.println("ShardedTrainingTest seed " + seed);
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = spec.numFields();
    List<PartitionData> out = new ArrayList<>();
    int[] rowsPer = {400, 250};
    for (int p = 0; p < 2; p++) {
      out.add(new PartitionData(p, block(spec, rnd, rowsPer[p], p), new BlockStats(n),
          rowsPer[p], validation ? block(spec, rnd, 60, p) : null, validation ? 60 : 0));
    }
    return out;
  }

  private static RowBlock block(ModelSpec spec, SplittableRandom rnd, int rows, int p) {
    int n = spec.numFields();
    int[] idx = new int[rows * n];
    float[] labels = new float[rows];
    for (int r = 0; r < rows; r++) {
      for (int f = 0; f < n; f++) {
        int size = spec.layout().size(f);
        // partition 1 draws only from the first half of each table
        int bound = p == 1 ? Math.max(1, size / 2) : size;
        idx[r * n + f] = (int) Math.floor(Math.pow(rnd.nextDouble(), 2) * bound);
      }
      labels[r] = (idx[r * n] + idx[r * n + 2]) % 3 == 0 ? 1f : 0f;
    }
    return new RowBlock(n, 0, rows, idx, null, labels, null);
  }

  private static TrainRound round(String fitId, Broadcast<ModelState> bc, ShardPlan plan,
      int firstEpoch, CollectionAccumulator<TaskReport> reports) {
    return new TrainRound(fitId, bc, plan, 32, 1, firstEpoch, 5, true,
        new DeviceRequest("cpu", "gpu", true), new DefaultBackendFactory(), reports);
  }

  @Test
  void shardedRoundsEqualBroadcastRoundsBitForBit() {
    // every optimizer (each has its own state columns), both kinds of head (fm has first-order
    // weights, mlp a large head)
    sameModel(spec(OptimizerType.ADAGRAD, HeadType.FM), 3);
    sameModel(spec(OptimizerType.ROWWISE_ADAGRAD, HeadType.MLP), 3);
    sameModel(spec(OptimizerType.SGD, HeadType.FM), 2);
  }

  private void sameModel(ModelSpec spec, int numRounds) {
    JavaSparkContext jsc = SparkTestSessions.jsc();
    JavaRDD<PartitionData> blocks = jsc.parallelize(blocks(spec, 11, true), 2).cache();
    ShardPlan plan = new ShardPlan(spec.layout(), 3);
    String fit = java.util.UUID.randomUUID().toString();
    CollectionAccumulator<TaskReport> reports = jsc.sc().collectionAccumulator();

    ModelState state = ModelState.initial(spec);
    for (int r = 0; r < numRounds; r++) {
      Broadcast<ModelState> bc = jsc.broadcast(state);
      List<MergeResult> merged = blocks.mapPartitionsToPair(round(fit + "b", bc, plan, r,
          reports)).groupByKey(plan.numShards() + 1).map(new MergeShards(plan, spec.optimizer()))
          .collect();
      List<MergedShard> shards = new ArrayList<>();
      HeadPiece h = null;
      for (MergeResult m : merged) {
        if (m instanceof MergeResult.Head hp) {
          h = hp.head();
        } else {
          shards.add(((MergeResult.Shard) m).shard());
        }
      }
      state = RowMerger.apply(state, plan, shards, h);
      bc.destroy();
    }

    try (ShardedTraining st = ShardedTraining.start(jsc, blocks, spec, plan)) {
      long[] local = st.rowsPerPartition();
      assertTrue(local[1] < local[0], "partition 1 uses fewer rows: " + local[0] + ", " + local[1]);
      long pulledFirst = -1;
      for (int r = 0; r < numRounds; r++) {
        ShardedTraining.Traffic t = st.round(round(fit + "s", null, plan, r, reports), r);
        assertTrue(t.pulledBytes() > 0 && t.pushedBytes() > 0, t.toString());
        if (r == 0) {
          pulledFirst = t.pulledBytes();
        } else {
          assertEquals(pulledFirst, t.pulledBytes(), "the same rows are pulled every round");
        }
      }
      ModelState sharded = st.collect();
      assertTrue(state.bitEquals(sharded), "sharded = broadcast for " + spec.optimizer().type()
          + ", " + spec.head());

      // evaluation from the shards equals evaluation from the whole model
      List<EvaluateRound.Piece> fromShards = st.evaluate(100, 100);
      for (EvaluateRound.Piece p : fromShards) {
        PartitionData pd = blocks.collect().get(p.partition());
        EvaluateRound.Piece whole = EvaluateRound.evaluate(pd, state, 100, 100);
        assertEquals(whole.validation().lossSum(), p.validation().lossSum(), 1e-9);
        assertArrayEquals(whole.train().scores(), p.train().scores());
      }
      st.closeAll();
    }
    blocks.unpersist();
  }
}
