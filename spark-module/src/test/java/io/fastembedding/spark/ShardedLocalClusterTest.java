package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.model.Initializer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * A model larger than each executor's memory fits: in {@code local-cluster[2,1,512]} (two executor
 * JVMs of 512 MiB heap), one table of 2.1 M rows of dim 64 (546 MB of floats with its first-order
 * weights) trains sharded (auto chooses it), its shards initialised, merged and looked up on the
 * executors, spilling to their disks, with no table on the driver.
 */
class ShardedLocalClusterTest {
  static final int ROWS = 2_100_000;
  static final int DIM = 64;

  @Test
  void aModelLargerThanEachExecutorTrainsSharded() {
    SparkTestSession.stop();
    String classpath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    SparkSession cluster = SparkSession.builder().master("local-cluster[2,1,512]")
        .appName("fast-embedding-sharded-local-cluster")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.executor.memory", "512m")
        .config("spark.executor.extraClassPath", classpath)
        .config("spark.executor.extraJavaOptions", System.getProperty("spark.test.jvm.flags", ""))
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate();
    try {
      List<Row> rows = new ArrayList<>();
      SplittableRandom rnd = new SplittableRandom(12);
      for (int i = 0; i < 8000; i++) {
        // 400 values spread over the whole table, each seen about 20 times per epoch
        int a = rnd.nextInt(400) * 5171;
        int b = rnd.nextInt(10);
        double z = (a / 5171 % 2 == 0 ? 1.5 : -1.5) + (b % 2 == 0 ? 0.5 : -0.5);
        rows.add(RowFactory.create(a, b, rnd.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1.0 : 0.0));
      }
      StructType schema = new StructType().add("a", DataTypes.IntegerType, false)
          .add("b", DataTypes.IntegerType, false).add("label", DataTypes.DoubleType, false);
      Dataset<Row> data = cluster.createDataFrame(rows, schema);
      MultiEmbeddingModel m = new MultiEmbedding().setInputCols("a", "b")
          .setNumCategories(ROWS, 10).setEmbeddingDim(DIM).setOptimizer("sgd").setStepSize(2.0).setBatchSize(32)
          .setMaxIter(2).setNumWorkers(2).setSeed(6).setPredictionCol("p").fit(data);
      assertTrue(m.isSharded(), "auto placed a 546 MB model in shards");
      assertEquals(2, m.summary().rounds().size());
      TrainingSummary.Round r = m.summary().rounds().get(1);
      // each partition pulls only its rows: far less than the model
      assertTrue(r.pulledBytes() > 0 && r.pulledBytes() < 20_000_000L, r.toString());

      double auc = new org.apache.spark.ml.evaluation.BinaryClassificationEvaluator()
          .setRawPredictionCol("p").evaluate(m.transform(data));
      assertTrue(auc > 0.7, "training AUC " + auc);

      // a row no partition touched still holds its initial value, computed on an executor
      int untouched = ROWS - 3;
      Dataset<Row> probe = cluster.createDataFrame(List.of(RowFactory.create(untouched, 0, 0.0)),
          schema);
      Vector v = m.transform(probe).first().getAs(m.getOutputCol());
      long offset = (long) untouched * DIM;
      for (int k = 0; k < DIM; k++) {
        assertEquals(Initializer.tableValue(6, 0.01f, offset + k), (float) v.apply(k), 0f,
            "component " + k);
      }
    } finally {
      cluster.stop();
      SparkTestSession.stop();
    }
  }
}
