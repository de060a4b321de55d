package io.fastembedding.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * One local[2] session for the whole test JVM: starting Spark costs seconds, so test classes share
 * it. The local-cluster test stops it to run its own, and the next caller starts a fresh one.
 */
final class SparkTestSession {
  private static SparkSession spark;

  private SparkTestSession() {}

  static synchronized SparkSession get() {
    if (spark == null || spark.sparkContext().isStopped()) {
      spark = SparkSession.builder().master("local[2]").appName("fast-embedding-tests")
          .config("spark.ui.enabled", "false")
          .config("spark.sql.shuffle.partitions", "4")
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.sql.adaptive.enabled", "false")
          .getOrCreate();
      spark.sparkContext().setLogLevel("WARN");
    }
    return spark;
  }

  static synchronized void stop() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }

  /**
   * Rows (a, b, c, label) with a in [0, 20), b in [0, 10), c in [0, 5) as ints; the label's log-odds
   * are an additive effect of a and b plus an a-c interaction, so both heads have something to learn.
   */
  static Dataset<Row> synthetic(SparkSession spark, int rows, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] ea = new double[20];
    double[] eb = new double[10];
    for (int i = 0; i < ea.length; i++) {
      ea[i] = (i % 4) - 1.5;
    }
    for (int i = 0; i < eb.length; i++) {
      eb[i] = i % 2 == 0 ? 1.0 : -1.0;
    }
    List<Row> out = new ArrayList<>(rows);
    for (int r = 0; r < rows; r++) {
      int a = rnd.nextInt(20);
      int b = rnd.nextInt(10);
      int c = rnd.nextInt(5);
      double z = ea[a] + eb[b] + ((a + c) % 2 == 0 ? 0.8 : -0.8);
      double p = 1 / (1 + Math.exp(-z));
      out.add(RowFactory.create(a, b, c, rnd.nextDouble() < p ? 1.0 : 0.0));
    }
    StructType schema = new StructType()
        .add("a", DataTypes.IntegerType, true)
        .add("b", DataTypes.IntegerType, true)
        .add("c", DataTypes.IntegerType, true)
        .add("label", DataTypes.DoubleType, true);
    return spark.createDataFrame(out, schema);
  }
}
