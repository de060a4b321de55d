package io.fastembedding.spark;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/** UCI Bank Marketing (bank-full.csv, fetched by the build), without the leaking duration column. */
final class BankData {
  static final String[] CATEGORICAL = {"job", "marital", "education", "default", "housing", "loan",
      "contact", "month", "poutcome"};
  static final String[] NUMERIC = {"age", "balance", "day", "campaign", "pdays", "previous"};

  private BankData() {}

  static Dataset<Row> load(SparkSession spark) {
    String path = System.getProperty("bank.csv", "target/data/bank-full.csv");
    assumeTrue(Files.exists(Path.of(path)), "bank-full.csv not found at " + path
        + " (the build unpacks it from org.apache.mahout:mahout-examples:0.13.0)");
    return spark.read().option("header", "true").option("sep", ";").option("inferSchema", "true")
        .csv(path)
        .drop("duration")
        .withColumn("label", functions.when(functions.col("y").equalTo("yes"), 1.0).otherwise(0.0))
        .drop("y");
  }
}
