package io.fastembedding.examples;

import org.apache.spark.sql.SparkSession;

/** The local Spark session of the examples' tests: one core, no UI, one shuffle partition. */
final class TestSpark {
  private TestSpark() {}

  static SparkSession start(String app) {
    SparkSession spark = SparkSession.builder().master("local[1]").appName(app)
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1").getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    return spark;
  }
}
