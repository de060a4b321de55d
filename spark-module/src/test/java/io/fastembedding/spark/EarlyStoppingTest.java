package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Validation rows and early stopping. The data overfits by construction: 600 ids seen about four
 * times each and a label that is a coin flip (p = 0.3) whatever the id, so any id-specific weight is
 * noise; with a large step the training loss keeps falling while the validation loss rises after
 * the first rounds.
 */
class EarlyStoppingTest {
  private static SparkSession spark;
  private static Dataset<Row> data;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    SplittableRandom rnd = new SplittableRandom(3);
    List<Row> rows = new ArrayList<>();
    for (int r = 0; r < 3000; r++) {
      rows.add(RowFactory.create(rnd.nextInt(600), rnd.nextInt(4),
          rnd.nextDouble() < 0.3 ? 1.0 : 0.0, r % 4 == 0));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("g", DataTypes.IntegerType).add("label", DataTypes.DoubleType)
        .add("holdout", DataTypes.BooleanType);
    // a fixed partitioning, so that deterministic fits are bit-identical
    data = spark.createDataFrame(rows, schema).repartition(2).cache();
    data.count();
  }

  private static MultiEmbedding overfitting() {
    return new MultiEmbedding().setInputCols("id", "g").setEmbeddingDim(4).setStepSize(0.5)
        .setRegParam(0).setInitStd(0.1).setBatchSize(64).setMaxIter(20).setPatience(2)
        .setValidationIndicatorCol("holdout").setDeterministic(true).setNumWorkers(2).setSeed(9)
        .setProbabilityCol("prob");
  }

  @Test
  void stopsWhenTheValidationLossStopsImprovingAndKeepsTheBestRound() {
    MultiEmbeddingModel m = overfitting().fit(data);
    TrainingSummary s = m.summary();
    double[] valid = s.validationLossHistory();
    double[] train = s.lossHistory();
    assertTrue(s.stoppedEarly(), "no early stop: validation " + Arrays.toString(valid));
    assertTrue(s.totalRounds() < 20);
    int argmin = 0;
    for (int i = 1; i < valid.length; i++) {
      if (valid[i] < valid[argmin]) {
        argmin = i;
      }
    }
    assertEquals(argmin + 1, s.bestRound(), "validation " + Arrays.toString(valid));
    // it stopped exactly `patience` rounds after the best one
    assertEquals(s.bestRound() + 2, s.totalRounds());
    // the case does overfit: the training loss fell on while the validation loss rose
    assertTrue(train[train.length - 1] < train[s.bestRound() - 1]);
    assertTrue(valid[valid.length - 1] > valid[s.bestRound() - 1]);

    // the kept weights are the best round's: a fit stopped there by maxIter has the same tables
    MultiEmbeddingModel toBest = overfitting().setMaxIter(s.bestRound()).setPatience(100).fit(data);
    for (int f = 0; f < 2; f++) {
      assertArrayEquals(toBest.getTable(f), m.getTable(f), "table " + f);
      assertArrayEquals(toBest.getFirstOrderWeights(f), m.getFirstOrderWeights(f));
    }
    assertArrayEquals(toBest.getHeadWeights(), m.getHeadWeights());

    // and the summary's validation loss of that round is the kept model's, scored by transform
    double loss = 0;
    int n = 0;
    for (Row r : m.transform(data.where("holdout")).select("label", "prob").collectAsList()) {
      double p = ((Vector) r.get(1)).apply(1);
      double t = r.getDouble(0);
      loss -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
      n++;
    }
    assertEquals(750, n);
    assertEquals(loss / n, valid[s.bestRound() - 1], 1e-5);
  }

  @Test
  void theSummaryRecordsTrainAndValidationMetricsPerRound() {
    MultiEmbeddingModel m = overfitting().setMaxIter(3).setPatience(10).fit(data);
    TrainingSummary s = m.summary();
    assertEquals(3, s.totalRounds());
    for (TrainingSummary.Round r : s.rounds()) {
      assertTrue(r.validationLoss() > 0 && r.trainLoss() > 0, r.toString());
      assertTrue(r.validationAuc() > 0 && r.validationAuc() < 1, r.toString());
      assertTrue(r.trainAuc() > 0.5, "the model fits its training rows: " + r);
      // 2250 training rows (every fourth row is held out), one epoch per round
      assertEquals(2250, r.rows());
    }
    assertFalse(s.stoppedEarly());
    // the merged model fits the training rows better than the held-out ones
    int last = s.totalRounds() - 1;
    assertTrue(s.trainAucHistory()[last] > s.validationAucHistory()[last]);
  }

  @Test
  void aValidationFractionHoldsOutAboutThatShareOfTheRows() {
    MultiEmbeddingModel m = overfitting().setValidationIndicatorCol("").setValidationFraction(0.3)
        .setMaxIter(2).setPatience(10).fit(data);
    TrainingSummary.Round r = m.summary().rounds().get(0);
    // binomial(3000, 0.7): mean 2100, sd 25
    assertTrue(Math.abs(r.rows() - 2100) < 100, "training rows " + r.rows());
    assertTrue(Double.isFinite(r.validationLoss()) && Double.isFinite(r.validationAuc()));
    // the split is a function of the seed: the same fit holds out the same rows
    MultiEmbeddingModel again = overfitting().setValidationIndicatorCol("")
        .setValidationFraction(0.3).setMaxIter(2).setPatience(10).fit(data);
    assertEquals(r.rows(), again.summary().rounds().get(0).rows());
    assertArrayEquals(m.getTable(0), again.getTable(0));
  }

  @Test
  void withoutValidationTheSummaryHasNoValidationMetricsAndKeepsTheLastRound() {
    MultiEmbeddingModel m = overfitting().setValidationIndicatorCol("").setEarlyStopping("off")
        .setMaxIter(2).fit(data);
    TrainingSummary s = m.summary();
    assertEquals(2, s.bestRound());
    assertFalse(s.stoppedEarly());
    assertTrue(Double.isNaN(s.validationLossHistory()[0]));
    assertTrue(Double.isNaN(s.trainAucHistory()[0]));
    assertEquals(3000, s.rounds().get(0).rows());
  }

  @Test
  void validationRowsAreNotTrainedOn() {
    // the held-out rows carry ids no training row has: their table rows must keep the initial values
    Dataset<Row> shifted = data.withColumn("id", functions.when(functions.col("holdout"),
        functions.col("id").plus(1000)).otherwise(functions.col("id")));
    MultiEmbeddingModel m = overfitting().setNumCategories(1600, 4).setMaxIter(2).fit(shifted);
    float[] t = m.getTable(0);
    float[] init = io.fastembedding.model.ModelState.initial(m.modelSpec()).tables;
    assertTrue(!Arrays.equals(Arrays.copyOf(init, 600 * 4), Arrays.copyOf(t, 600 * 4)),
        "the training rows' ids were trained");
    for (int x = 1000; x < 1600; x++) {
      for (int k = 0; k < 4; k++) {
        assertEquals(init[x * 4 + k], t[x * 4 + k], "row " + x + " was trained");
      }
    }
  }

  /**
   * tol: a round restarts patience's count only when its validation loss beats that of the last
   * round that did by more than tol. On a signal learned slowly (the label's rate depends on g
   * alone, small step) the loss falls every round by less and less: with tol 0 the fit runs all
   * its rounds; with tol it stops where the rule, replayed on the tol-0 fit's own history (the fits
   * are deterministic, so their rounds are the same), says, and keeps the best round even when
   * that round's gain was below tol.
   */
  @Test
  void tolStopsWhenTheGainsFallBelowItAndKeepsTheBestRound() {
    SplittableRandom rnd = new SplittableRandom(5);
    double[] rate = {0.1, 0.3, 0.5, 0.7};
    List<Row> rows = new ArrayList<>();
    for (int r = 0; r < 3000; r++) {
      int g = rnd.nextInt(4);
      rows.add(RowFactory.create(rnd.nextInt(600), g, rnd.nextDouble() < rate[g] ? 1.0 : 0.0,
          r % 4 == 0));
    }
    Dataset<Row> slow = spark.createDataFrame(rows, data.schema()).repartition(2).cache();
    MultiEmbedding e = overfitting().setInputCols("g").setStepSize(0.02).setMaxIter(20)
        .setPatience(3);
    TrainingSummary all = e.copy(new org.apache.spark.ml.param.ParamMap()).setTol(0).fit(slow)
        .summary();
    double[] loss = all.validationLossHistory();
    assertEquals(20, all.totalRounds(), "tol 0: " + Arrays.toString(loss));
    for (int i = 1; i < loss.length; i++) {
      assertTrue(loss[i] < loss[i - 1], "the loss falls every round " + Arrays.toString(loss));
    }
    // a tol above the average gain of the 20 rounds: the later, smaller gains fall below it
    double tol = (loss[0] - loss[19]) / 8;
    int lastGain = 1;
    int stop = 0;
    for (int r = 2; r <= 20 && stop == 0; r++) {
      if (loss[r - 1] < loss[lastGain - 1] - tol) {
        lastGain = r;
      } else if (r - lastGain >= 3 && r < 20) {
        stop = r;
      }
    }
    assertTrue(stop > 0 && stop < 20, "the replayed rule stops: tol " + tol + ", "
        + Arrays.toString(loss));
    TrainingSummary s = e.copy(new org.apache.spark.ml.param.ParamMap()).setTol(tol).fit(slow)
        .summary();
    System.out.println("tol " + tol + ": stopped after round " + s.totalRounds() + " (replayed "
        + stop + "), kept " + s.bestRound() + "; tol 0's losses " + Arrays.toString(loss));
    assertTrue(s.stoppedEarly());
    assertEquals(stop, s.totalRounds());
    assertArrayEquals(Arrays.copyOf(loss, stop), s.validationLossHistory(), 0.0);
    // the loss still fell in the rounds after the last gain above tol: the last round is kept
    assertEquals(stop, s.bestRound());
    assertTrue(lastGain < stop);
    slow.unpersist();
  }
}
