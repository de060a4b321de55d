package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Early stopping by default, as scikit-learn's HistGradientBoosting: on ('auto') when the training
 * data has more than 10 000 rows, holding validationFraction (0.1) out; at 10 000 rows and below
 * the held-out tenth only chooses the number of epochs and the model is refitted on every row
 * (issue 13's measurements: docs/quality.md). Also the metric it watches and the refit.
 */
class EarlyStoppingDefaultsTest {
  private static SparkSession spark;
  private static Dataset<Row> rows10001;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    rows10001 = SparkTestSession.synthetic(spark, 10_001, 4).repartition(2).cache();
    rows10001.count();
  }

  private static MultiEmbedding stage() {
    return new MultiEmbedding().setInputCols("a", "b", "c").setMaxIter(3).setSeed(3)
        .setNumWorkers(2);
  }

  @Test
  void theDefaultsAreAutoWithATenthHeldOutAndEnoughEpochsToStop() {
    MultiEmbedding e = new MultiEmbedding();
    assertEquals("auto", e.getEarlyStopping());
    assertEquals(0.1, e.getValidationFraction());
    assertEquals("loss", e.getValidationMetric());
    assertFalse(e.getRefitOnAllRows());
    assertEquals(50, e.getMaxIter());
  }

  @Test
  void onAboveTenThousandRows() {
    MultiEmbeddingModel m = stage().fit(rows10001);
    TrainingSummary.Round r = m.summary().rounds().get(0);
    assertTrue(Double.isFinite(r.validationLoss()), "validation on above 10 000 rows: " + r);
    // binomial(10 001, 0.9): mean 9 001, sd 30
    assertTrue(Math.abs(r.rows() - 9001) < 150, "training rows " + r.rows());
  }

  @Test
  void atTenThousandRowsAndBelowTheHeldOutRowsChooseTheEpochsAndTheModelIsRefittedOnEveryRow() {
    Dataset<Row> d = rows10001.limit(10_000).repartition(2).cache();
    MultiEmbedding e = stage().setMaxIter(6).setStepSize(0.5).setDeterministic(true);
    MultiEmbeddingModel m = e.fit(d);
    TrainingSummary s = m.summary();
    double[] valid = s.validationLossHistory();
    // the rounds ran on nine tenths of the rows and scored the tenth held out
    assertTrue(Double.isFinite(valid[0]), "validation at 10 000 rows");
    assertTrue(Math.abs(s.rounds().get(0).rows() - 9000) < 150, "rows " + s.rounds().get(0));
    // the kept epochs are those of the lowest validation loss, and the refit ran that many
    int argmin = 0;
    for (int i = 1; i < valid.length; i++) {
      if (valid[i] < valid[argmin]) {
        argmin = i;
      }
    }
    assertEquals(argmin + 1, s.bestRound(), Arrays.toString(valid));
    assertEquals(s.bestRound(), s.refitEpochs());
    // it is earlyStopping 'on' with refitOnAllRows, to the bit
    MultiEmbeddingModel on = e.copy(new org.apache.spark.ml.param.ParamMap())
        .setEarlyStopping("on").setRefitOnAllRows(true).fit(d);
    assertEquals(s.refitEpochs(), on.summary().refitEpochs());
    for (int f = 0; f < 3; f++) {
      assertArrayEquals(on.getTable(f), m.getTable(f), "table " + f);
    }
    assertArrayEquals(on.getHeadWeights(), m.getHeadWeights());
    // above the threshold 'auto' keeps the best round of the rounds on nine tenths: no refit
    assertEquals(0, stage().fit(rows10001).summary().refitEpochs());
    d.unpersist();
  }

  @Test
  void aValidationFractionOfZeroTurnsAutoOff() {
    TrainingSummary s = stage().setValidationFraction(0).fit(rows10001.limit(5_000)).summary();
    assertTrue(Double.isNaN(s.validationLossHistory()[0]), "no validation");
    assertEquals(5_000, s.rounds().get(0).rows());
    assertEquals(3, s.totalRounds());
    assertEquals(3, s.bestRound());
    assertEquals(0, s.refitEpochs());
  }

  @Test
  void onAndOffOverrideTheRowCount() {
    TrainingSummary on = stage().setEarlyStopping("on").fit(rows10001.limit(5_000)).summary();
    assertTrue(Double.isFinite(on.validationLossHistory()[0]));
    TrainingSummary off = stage().setEarlyStopping("off").fit(rows10001).summary();
    assertEquals(0, off.refitEpochs());
    assertTrue(Double.isNaN(off.validationLossHistory()[0]));
    assertEquals(10_001, off.rounds().get(0).rows());
    // on with nothing to hold out is a contradiction, named as such
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> stage()
        .setEarlyStopping("on").setValidationFraction(0).fit(rows10001));
    assertTrue(e.getMessage().contains("validationFraction"), e.getMessage());
  }

  @Test
  void anIndicatorColumnStillChoosesTheValidationRowsWhateverTheRowCount() {
    Dataset<Row> d = rows10001.limit(3_000).withColumn("v", functions.rand(1).lt(0.25));
    TrainingSummary s = stage().setValidationIndicatorCol("v").setValidationFraction(0)
        .fit(d).summary();
    assertTrue(Double.isFinite(s.validationLossHistory()[0]));
  }

  @Test
  void theAucMetricKeepsTheRoundOfTheBestValidationAuc() {
    MultiEmbedding e = stage().setEarlyStopping("on").setValidationMetric("auc").setMaxIter(12)
        .setPatience(3).setStepSize(0.5).setEmbeddingDim(8).setRegParam(0);
    TrainingSummary s = e.fit(rows10001.limit(4_000)).summary();
    double[] auc = s.validationAucHistory();
    int argmax = 0;
    for (int i = 1; i < auc.length; i++) {
      if (auc[i] > auc[argmax]) {
        argmax = i;
      }
    }
    assertEquals(argmax + 1, s.bestRound(), Arrays.toString(auc));
    if (s.stoppedEarly()) {
      assertEquals(s.bestRound() + 3, s.totalRounds(), Arrays.toString(auc));
    }
  }

  @Test
  void theRefitTrainsTheBestRoundsEpochsOnEveryRow() {
    // ids 1000+ appear only in held-out rows: without the refit their table rows keep their
    // initial values, with it they are trained
    Dataset<Row> d = rows10001.withColumn("v", functions.rand(2).lt(0.2))
        .withColumn("a", functions.when(functions.col("v"), functions.col("a").plus(1000))
            .otherwise(functions.col("a")));
    MultiEmbedding e = stage().setValidationIndicatorCol("v").setValidationFraction(0)
        .setNumCategories(1020, 10, 5).setEmbeddingDim(4).setDeterministic(true);
    MultiEmbeddingModel plain = e.fit(d);
    MultiEmbeddingModel refit = e.copy(new org.apache.spark.ml.param.ParamMap())
        .setRefitOnAllRows(true).fit(d);
    float[] init = io.fastembedding.model.ModelState.initial(plain.modelSpec()).tables;
    float[] p = plain.getTable(0);
    float[] r = refit.getTable(0);
    int dim = 4;
    assertArrayEquals(Arrays.copyOfRange(init, 1000 * dim, 1020 * dim),
        Arrays.copyOfRange(p, 1000 * dim, 1020 * dim), "held-out ids untrained without refit");
    boolean trained = false;
    for (int i = 1000 * dim; i < 1020 * dim; i++) {
      trained |= r[i] != init[i];
    }
    assertTrue(trained, "the refit trains the held-out ids");
    TrainingSummary s = refit.summary();
    assertEquals(plain.summary().bestRound(), s.bestRound());
    assertEquals(s.bestRound(), s.refitEpochs());
  }
}
