package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.messages;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.spark.FaultInjectingBackends.Fault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a cluster does to a fit, in {@code local-cluster[2,1,1024]} (separate executor JVMs): a
 * training task that fails once, an executor killed mid-fit (its cached blocks lost and rebuilt
 * elsewhere) and a FetchFailed retry of the merge each give a model bit-identical to the
 * fault-free fit's. A lost block rebuilt from input that changed meanwhile fails the fit with the
 * column, value and row, instead of training one table's updates into another's rows.
 */
class FaultToleranceClusterTest {
  @TempDir
  static Path tmp;
  private static SparkSession cluster;
  private static Dataset<Row> data;
  private static MultiEmbeddingModel reference;
  private static int faultRuns;
  /** The end reasons of the cluster's tasks, by class name (Success, FetchFailed, ...). */
  private static final Set<String> FAILURES = ConcurrentHashMap.newKeySet();

  /** The task end reasons seen since the last call. */
  private static Set<String> taskEnds() throws Exception {
    cluster.sparkContext().listenerBus().waitUntilEmpty(10_000);
    Set<String> seen = new TreeSet<>(FAILURES);
    FAILURES.clear();
    return seen;
  }

  @BeforeAll
  static void startCluster() throws Exception {
    SparkTestSession.stop();
    String classpath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    cluster = SparkSession.builder().master("local-cluster[2,1,1024]")
        .appName("fast-embedding-faults")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.executor.extraClassPath", classpath)
        .config("spark.executor.extraJavaOptions", System.getProperty("spark.test.jvm.flags", ""))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.adaptive.enabled", "false")
        // no waiting for a dead executor's locality, and two attempts per task are enough here
        .config("spark.locality.wait", "0")
        .config("spark.task.maxFailures", "2")
        .getOrCreate();
    cluster.sparkContext().setLogLevel("ERROR");
    cluster.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        FAILURES.add(end.reason().getClass().getSimpleName());
      }
    });
    // two input partitions (the cluster's default parallelism) for the two training partitions:
    // a lost block is rebuilt from its input partition directly, rows in the same order. (After a
    // shuffle, such as repartition, a rebuilt partition may hold its rows in another order, and
    // a fit on it differs: Spark recomputes, it does not replay.)
    data = SparkTestSession.synthetic(cluster, 1000, 11).cache();
    data.count();
    assertEquals(2, data.rdd().getNumPartitions());
    reference = stage(null).fit(data);
    taskEnds();
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.stop();
    }
    SparkTestSession.stop();
  }

  /** The fit every test runs: 2 rounds, the faults in round 2's training (the fit is not done). */
  private static MultiEmbedding stage(FaultInjectingBackends backends) {
    // early stopping off: one fit over every row, whose tasks the faults target by partition
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b", "c").setEmbeddingDim(4)
        .setMaxIter(2).setNumWorkers(2).setBatchSize(256).setSeed(3).setDeterministic(true)
        .setDevice("cpu").setEarlyStopping("off");
    return backends == null ? e : e.setBackendFactory(backends);
  }

  private static FaultInjectingBackends inject(Fault fault, int partition) throws Exception {
    Path markers = Files.createDirectory(tmp.resolve("markers-" + faultRuns++));
    return new FaultInjectingBackends(fault, markers, 2, partition);
  }

  private static void assertSameModel(MultiEmbeddingModel m) {
    for (int f = 0; f < 3; f++) {
      assertArrayEquals(reference.getTable(f), m.getTable(f), "table " + f);
      assertArrayEquals(reference.getFirstOrderWeights(f), m.getFirstOrderWeights(f));
    }
    assertArrayEquals(reference.getHeadWeights(), m.getHeadWeights(), "head");
  }

  @Test
  void aTrainingTaskThatFailsOnce() throws Exception {
    FaultInjectingBackends b = inject(Fault.FAIL_ONCE, 1);
    assertSameModel(stage(b).fit(data));
    assertTrue(taskEnds().contains("ExceptionFailure"), "a task failed");
  }

  @Test
  void anExecutorKilledMidFit() throws Exception {
    FaultInjectingBackends b = inject(Fault.KILL_EXECUTOR, 0);
    assertSameModel(stage(b).fit(data));
    assertTrue(taskEnds().contains("ExecutorLostFailure"), "an executor was lost");
  }

  @Test
  void aFetchFailedRetryOfTheMerge() throws Exception {
    FaultInjectingBackends b = inject(Fault.DELETE_SHUFFLE_OUTPUT, 1);
    assertSameModel(stage(b).fit(data));
    assertTrue(taskEnds().contains("FetchFailed"), "a reduce task of the merge failed to fetch");
  }

  @Test
  void aBlockRebuiltFromChangedInputFailsNamingColumnValueAndRow() throws Exception {
    FaultInjectingBackends b = inject(Fault.KILL_EXECUTOR, 0);
    // column a reads +10 once the executor has died: a rebuilt block sees indices 10 to 29 in a
    // table the first pass sized to 20 rows
    String shift = tmp.resolve("markers-" + (faultRuns - 1)).resolve("shift").toString();
    UDF1<Integer, Integer> shifted = a -> Files.exists(Paths.get(shift)) ? a + 10 : a;
    Dataset<Row> changing = data.withColumn("a",
        functions.udf(shifted, DataTypes.IntegerType).asNondeterministic().apply(
            functions.col("a")));
    String m = messages(assertThrows(Exception.class, () -> stage(b).fit(changing)));
    // the killed executor may have held both partitions' blocks, so either rebuilt block may be the
    // first to fail: the message must name a row and its partition, not a particular one
    assertMentions(m, "input column 'a' has the index 29, but there are 20 categories (from the "
        + "largest index in the data), so valid indices are 0 to 19, at row ", " of partition ",
        "built again");
    assertTrue(Files.exists(Paths.get(shift)), "the executor was killed");
    taskEnds();
  }
}
