package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** What the bad-input tests check of a failed fit: its message, and that it left nothing cached. */
final class FitFailures {
  private FitFailures() {}

  /** The ids of the RDDs Spark holds cached now. */
  static Set<Integer> cachedRddIds(SparkSession spark) {
    Set<Integer> ids = new TreeSet<>();
    spark.sparkContext().getPersistentRDDs().keys().foreach(k -> ids.add((Integer) k));
    return ids;
  }

  /** The fit's error message, from the driver-side exception and its causes. */
  static String fitError(MultiEmbedding e, Dataset<Row> d) {
    return messages(assertThrows(Exception.class, () -> e.fit(d)));
  }

  /** The messages of an exception and its causes: a task's error reaches the driver wrapped. */
  static String messages(Throwable ex) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = ex; t != null; t = t.getCause()) {
      sb.append(t.getMessage()).append(" | ");
    }
    return sb.toString();
  }

  static void assertMentions(String message, String... parts) {
    for (String p : parts) {
      assertTrue(message.contains(p), "expected '" + p + "' in: " + message);
    }
  }
}
