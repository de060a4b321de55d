package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.cachedRddIds;
import static io.fastembedding.spark.FitFailures.fitError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A fit that diverges (NaN or infinite loss, tables or head) stops with an error naming the round,
 * the loss and the params behind the likely causes, instead of "succeeding" with a NaN model; the
 * failOnDivergence param lets it keep going.
 */
class DivergenceTest {
  private static SparkSession spark;
  /** The synthetic rows with a regression label 250 * a: 0 to 4750. */
  private static Dataset<Row> large;
  private static java.util.Set<Integer> cachedBefore;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    large = SparkTestSession.synthetic(spark, 2000, 17)
        .withColumn("label", functions.col("a").multiply(250.0)).cache();
    large.count();
    cachedBefore = cachedRddIds(spark);
  }

  @AfterEach
  void nothingLeftBehind() {
    assertEquals(cachedBefore, cachedRddIds(spark), "a failed fit must unpersist its blocks");
  }

  private static MultiEmbedding squared() {
    return new MultiEmbedding().setInputCols("a", "b", "c").setEmbeddingDim(4).setMaxIter(3)
        .setLoss("squared").setNumWorkers(2).setBatchSize(64).setSeed(5);
  }

  @Test
  void squaredLossOnLargeLabelsWithSgdIsAnError() {
    String m = fitError(squared().setOptimizer("sgd").setStepSize(0.1), large);
    assertMentions(m, "training diverged in round ", "the training loss is ", "stepSize 0.1000 "
        + "with optimizer 'sgd'", "or optimizer 'adagrad'",
        "the squared loss on labels from 0 to 4750 of label column 'label'", "initStd 0.01000",
        "failOnDivergence = false");
  }

  /**
   * The sharded path checks the rows it merges on the executors as the broadcast path checks them
   * on the driver: the same diverging fit (the two paths train the same model) stops in the same
   * round with the same message, counts of NaN or infinite merged values included.
   */
  @Test
  void shardedTablesAreCheckedLikeBroadcastTables() {
    MultiEmbedding e = squared().setOptimizer("sgd").setStepSize(0.1);
    String broadcast = fitError(e.setTablePlacement("broadcast"), large);
    String sharded = fitError(e.setTablePlacement("sharded"), large);
    assertMentions(broadcast, "the merged tables hold ");
    String first = broadcast.substring(broadcast.indexOf("MultiEmbedding "),
        broadcast.indexOf(" | "));
    assertMentions(sharded, first);
  }

  @Test
  void hugeStepOrInitIsAnError() {
    Dataset<Row> binary = SparkTestSession.synthetic(spark, 2000, 17);
    assertMentions(fitError(squared().setLoss("logistic").setStepSize(1e30), binary),
        "training diverged in round", "stepSize 1.000e+30");
    assertMentions(fitError(squared().setLoss("logistic").setInitStd(1e30), binary),
        "training diverged in round 1 of 3", "initStd 1.000e+30");
  }

  @Test
  void failOnDivergenceFalseKeepsGoing() {
    MultiEmbeddingModel m = squared().setOptimizer("sgd").setFailOnDivergence(false).fit(large);
    assertEquals(3, m.summary().rounds().size(), "every round ran");
    boolean nonFinite = !Double.isFinite(m.summary().rounds().get(2).loss());
    for (int f = 0; f < 3 && !nonFinite; f++) {
      for (float x : m.getTable(f)) {
        nonFinite |= !Float.isFinite(x);
      }
    }
    assertTrue(nonFinite, "this fit diverges: the model it kept holds NaN or infinity");
  }

  @Test
  void aStableFitIsNotFlagged() {
    // the same labels scaled to [0, 0.95] train with the same params
    squared().setOptimizer("sgd").fit(large.withColumn("label",
        functions.col("label").divide(5000.0)));
  }
}
