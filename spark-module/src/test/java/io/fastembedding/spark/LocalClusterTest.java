package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.spark.train.TaskReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same fit in separate executor JVMs ({@code local-cluster[2,1,1024]}: closures, broadcasts,
 * cached blocks and the merge's shuffle all cross process boundaries) gives a model of the same
 * quality as in local mode. The cluster also schedules a (fake) GPU to every task, so the tasks take
 * their device from {@code TaskContext} resources, and with no CUDA here fall back to the CPU.
 */
class LocalClusterTest {
  @TempDir
  Path tmp;

  private static double fitAndScore(SparkSession spark) {
    Dataset<Row> all = SparkTestSession.synthetic(spark, 20_000, 21);
    Dataset<Row>[] split = all.randomSplit(new double[] {0.8, 0.2}, 42);
    MultiEmbeddingModel m = new MultiEmbedding().setInputCols("a", "b", "c").setEmbeddingDim(4)
        .setMaxIter(4).setNumWorkers(2).setPredictionCol("p").setSeed(9).fit(split[0]);
    lastSummary = m.summary();
    return new BinaryClassificationEvaluator().setRawPredictionCol("p")
        .evaluate(m.transform(split[1]));
  }

  private static TrainingSummary lastSummary;

  @Test
  void multiExecutorFitMatchesLocalQuality() throws Exception {
    double localAuc = fitAndScore(SparkTestSession.get());
    SparkTestSession.stop();

    Path script = tmp.resolve("gpus.sh");
    Files.writeString(script, "#!/usr/bin/env bash\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    String classpath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    SparkSession cluster = SparkSession.builder().master("local-cluster[2,1,1024]")
        .appName("fast-embedding-local-cluster")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.executor.extraClassPath", classpath)
        .config("spark.executor.extraJavaOptions", System.getProperty("spark.test.jvm.flags", ""))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.worker.resource.gpu.amount", "1")
        .config("spark.worker.resource.gpu.discoveryScript", script.toString())
        .config("spark.executor.resource.gpu.amount", "1")
        .config("spark.task.resource.gpu.amount", "0.5")
        .getOrCreate();
    double clusterAuc;
    try {
      clusterAuc = fitAndScore(cluster);
    } finally {
      cluster.stop();
      SparkTestSession.stop();
    }
    assertTrue(localAuc > 0.72, "local AUC " + localAuc);
    assertEquals(localAuc, clusterAuc, 0.01, "local-cluster AUC vs local AUC");

    Set<String> executors = new TreeSet<>();
    for (TaskReport t : lastSummary.rounds().get(0).tasks()) {
      executors.add(t.executorId());
      assertTrue(t.deviceReason().contains("'gpu' address 0")
          || t.deviceReason().contains("CUDA unusable"), t.deviceReason());
    }
    assertEquals(Set.of("0", "1"), executors, "both executor JVMs trained");
  }
}
