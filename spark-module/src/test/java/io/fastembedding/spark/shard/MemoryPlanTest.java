package io.fastembedding.spark.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.merge.ShardPlan;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The memory plan's numbers against hand computations. */
class MemoryPlanTest {
  private static final long MIB = 1L << 20;

  /** One field of 1 M rows of dim 16, fm, row-wise Adagrad: 16 + 1 + 1 + 1 floats per row. */
  private static ModelSpec spec(OptimizerType opt) {
    return ModelSpec.builder(new int[] {1_000_000}, new int[] {16}).head(HeadType.FM)
        .optimizer(OptimizerSpec.of(opt, 0.1f, 0f)).build();
  }

  @Test
  void bytesFollowDimsAndOptimizer() {
    assertEquals(4L * 1_000_000 * 19, MemoryPlan.tableBytes(spec(OptimizerType.ROWWISE_ADAGRAD)));
    assertEquals(4L * 1_000_000 * (16 + 1 + 16 + 1),
        MemoryPlan.tableBytes(spec(OptimizerType.ADAGRAD)));
    assertEquals(4L * 1_000_000 * 17, MemoryPlan.tableBytes(spec(OptimizerType.SGD)));
    ModelSpec s = spec(OptimizerType.SGD);
    ShardPlan plan = new ShardPlan(s.layout(), 4);
    assertEquals(4L * 250_000 * 17, MemoryPlan.shardBytes(s, plan, 3));
  }

  @Test
  void crossFittingCountsItsFoldModelsOnTheDriver() {
    ModelSpec s = spec(OptimizerType.SGD);
    // a fold model: 1 M rows x 16 floats, 1 M first-order weights, the fm head's bias
    long fold = 4L * (16_000_000 + 1_000_000 + 1);
    assertEquals(fold, MemoryPlan.foldModelBytes(s));
    long model = MemoryPlan.modelBytes(s);
    assertEquals(4L * 1_000_000 * 17 + 4, model);
    // executors elsewhere: the driver holds 4 broadcast copies, the full model and k fold models.
    // A driver budget of 600 000 000 bytes ((heap - 300 MiB) x 0.4) takes 2 folds
    // (4 x 68 000 004 + 68 000 004 + 2 x 68 000 004 = 476 000 028) but not 5 (680 000 040)
    long heap = 1_500_000_000L + (300L << 20);
    MemoryPlan.Memory m = new MemoryPlan.Memory(4L << 30, 1, 0.6, heap, false);
    assertEquals(600_000_000L, m.driverBudget());
    MemoryPlan.checkCrossFit(s, m, 2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryPlan.checkCrossFit(s, m, 5));
    assertTrue(e.getMessage().contains("crossFitFolds 5"), e.getMessage());
    assertTrue(e.getMessage().contains(MemoryPlan.mib(4 * model + model + 5 * fold)), e.getMessage());
    assertTrue(e.getMessage().contains("spark.driver.memory"), e.getMessage());
  }

  @Test
  void memoryFromTheMaster() {
    SparkConf c = new SparkConf();
    MemoryPlan.Memory lc = MemoryPlan.of(c, "local-cluster[2,2,1024]", 3L << 30);
    assertEquals(1024 * MIB, lc.executorHeap());
    assertEquals(2, lc.tasksPerExecutor());
    // (1024 - 300) MiB x 0.4 / 2 tasks
    assertEquals((long) (724 * MIB * 0.4 / 2), lc.taskBudget());
    MemoryPlan.Memory local = MemoryPlan.of(c, "local[2]", 2048 * MIB);
    assertTrue(local.local());
    assertEquals(2, local.tasksPerExecutor());
    MemoryPlan.Memory cluster = MemoryPlan.of(new SparkConf().set("spark.executor.memory", "6g")
        .set("spark.executor.cores", "4").set("spark.task.cpus", "2"), "spark://h:7077", MIB);
    assertEquals(6L << 30, cluster.executorHeap());
    assertEquals(2, cluster.tasksPerExecutor());
  }

  @Test
  void autoShardsWhatDoesNotBroadcast() {
    ModelSpec big = spec(OptimizerType.ADAGRAD); // 136 MB with state
    MemoryPlan.Memory small = new MemoryPlan.Memory(1024 * MIB, 2, 0.6, 1024 * MIB, true);
    assertFalse(MemoryPlan.broadcastFits(big, small));
    assertTrue(MemoryPlan.sharded(big, small, "auto"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryPlan.sharded(big, small, "broadcast"));
    assertTrue(e.getMessage().contains("does not fit the broadcast path")
        && e.getMessage().contains("tablePlacement"), e.getMessage());
    ModelSpec tiny = ModelSpec.builder(new int[] {1000}, new int[] {8}).build();
    assertFalse(MemoryPlan.sharded(tiny, small, "auto"));
    assertTrue(MemoryPlan.sharded(tiny, small, "sharded"));
  }

  @Test
  void shardedCheckNamesTheTaskAndTheKnobs() {
    ModelSpec s = spec(OptimizerType.ROWWISE_ADAGRAD); // 76 MB
    MemoryPlan.Memory m = new MemoryPlan.Memory(1024 * MIB, 1, 0.6, 1024 * MIB, false);
    int shards = MemoryPlan.numShards(s, m, 2);
    // budget (1024 - 300) x 0.4 = 289.6 MiB; a quarter of it per shard: 76 MB needs 2 shards
    assertEquals(2, shards);
    ShardPlan plan = new ShardPlan(s.layout(), shards);
    long row = 4L * 19;
    MemoryPlan.checkSharded(s, plan, new long[] {100_000 * row, 200_000 * row},
        new long[] {300_000 * row, 0}, m);
    long tooMany = 700_000 * row; // 6 x 53 MB > 289.6 MiB
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryPlan.checkSharded(s, plan, new long[] {100_000 * row, tooMany},
            new long[] {300_000 * row, 0}, m));
    String msg = e.getMessage();
    assertTrue(msg.contains("training partition 1 needs") && msg.contains("numWorkers")
        && msg.contains("spark.executor.memory") && msg.contains("embeddingDim"), msg);
  }

  @Test
  void trainingTasksHoldingAWholeGpuShareTheExecutorWithFewerTasks() {
    ModelSpec s = spec(OptimizerType.ROWWISE_ADAGRAD); // 76 MB
    // executors of 4 GiB and 8 cores: (4096 - 300) x 0.4 / 8 = 189.8 MiB per task
    MemoryPlan.Memory m = new MemoryPlan.Memory(4096 * MIB, 8, 0.6, 1024 * MIB, false);
    ShardPlan plan = new ShardPlan(s.layout(), 4);
    long row = 4L * 19;
    long local = 500_000 * row; // 36.2 MiB; 6 copies 217 MiB: more than 189.8 MiB
    long[] locals = {local, local};
    long[] pushed = {100_000 * row, 100_000 * row, 0, 0};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryPlan.checkSharded(s, plan, locals, pushed, m));
    assertTrue(e.getMessage().contains("training partition 0 needs"), e.getMessage());
    // one training task per executor (one GPU each): 1518.4 MiB for it, the merge still at 8
    MemoryPlan.Memory oneGpu = m.withTasksAtMost(1);
    assertEquals(1, oneGpu.tasksPerExecutor());
    assertEquals(8 * m.taskBudget(), oneGpu.taskBudget(), 8);
    MemoryPlan.checkSharded(s, plan, locals, pushed, m, oneGpu);
    assertEquals(8, m.withTasksAtMost(16).tasksPerExecutor(), "never more tasks than cores");
    // a local model too large even for one task per executor names the training budget
    long huge = 4_000_000 * row;
    IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
        () -> MemoryPlan.checkSharded(s, plan, new long[] {huge, local}, pushed, m, oneGpu));
    assertTrue(e2.getMessage().contains("1 training tasks at once per executor, one per GPU"),
        e2.getMessage());
  }
}
