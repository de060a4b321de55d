package io.fastembedding.spark;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** The shared local[2] test session, for tests outside this package. */
public final class SparkTestSessions {
  private SparkTestSessions() {}

  public static SparkSession get() {
    return SparkTestSession.get();
  }

  public static JavaSparkContext jsc() {
    return JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
  }
}
