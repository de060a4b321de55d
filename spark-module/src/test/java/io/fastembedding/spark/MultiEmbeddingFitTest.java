package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.ServiceLoader;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MultiEmbeddingFitTest {
  private static SparkSession spark;
  private static Dataset<Row> data;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    data = SparkTestSession.synthetic(spark, 4000, 7).cache();
  }

  @Test
  void fitLearnsAndTransformLooksUpTheTables() {
    MultiEmbeddingModel model = new MultiEmbedding().setInputCols("a", "b", "c")
        .setOutputCol("emb").setEmbeddingDim(4).setMaxIter(4).setSeed(3).fit(data);
    TrainingSummary s = model.summary();
    assertEquals(4, s.totalRounds());
    double[] loss = s.lossHistory();
    assertTrue(loss[3] < loss[0] - 0.02, "loss should fall: " + java.util.Arrays.toString(loss));
    assertEquals(2, s.rounds().get(0).tasks().size());
    assertArrayEquals(new int[] {20, 10, 5}, model.tableSizes());

    List<Row> rows = model.transform(data).select("a", "b", "c", "emb").limit(50).collectAsList();
    float[][] t = {model.getTable(0), model.getTable(1), model.getTable(2)};
    for (Row r : rows) {
      Vector v = r.getAs("emb");
      assertEquals(12, v.size());
      for (int f = 0; f < 3; f++) {
        int x = r.getInt(f);
        for (int k = 0; k < 4; k++) {
          assertEquals(t[f][x * 4 + k], (float) v.apply(f * 4 + k));
        }
      }
    }
  }

  @Test
  void moreColumnsThanAJavaUdfTakesGoThroughAStruct() {
    int n = 12;
    Column[] cols = new Column[n + 1];
    String[] names = new String[n];
    for (int f = 0; f < n; f++) {
      names[f] = "f" + f;
      cols[f] = functions.col(f % 2 == 0 ? "a" : "b").plus(f).mod(7).as(names[f]);
    }
    cols[n] = functions.col("label");
    Dataset<Row> wide = data.select(cols);
    MultiEmbeddingModel m = new MultiEmbedding().setInputCols(names).setOutputCol("emb")
        .setPredictionCol("p").setEmbeddingDim(2).setMaxIter(1).fit(wide);
    List<Row> rows = m.transform(wide).limit(20).collectAsList();
    for (Row r : rows) {
      Vector v = r.getAs("emb");
      assertEquals(2 * n, v.size());
      for (int f = 0; f < n; f++) {
        float[] t = m.getTable(f);
        int x = r.getInt(f);
        assertEquals(t[x * 2], (float) v.apply(f * 2));
        assertEquals(t[x * 2 + 1], (float) v.apply(f * 2 + 1));
      }
      double p = r.getAs("p");
      assertTrue(p > 0 && p < 1, "probability " + p);
    }
  }

  @Test
  void deterministicFitsAreBitIdentical() {
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b", "c").setEmbeddingDim(3)
        .setMaxIter(2).setDeterministic(true).setSeed(77).setNumWorkers(2);
    MultiEmbeddingModel m1 = e.fit(data);
    MultiEmbeddingModel m2 = e.fit(data);
    for (int f = 0; f < 3; f++) {
      assertArrayEquals(m1.getTable(f), m2.getTable(f));
      assertArrayEquals(m1.getFirstOrderWeights(f), m2.getFirstOrderWeights(f));
    }
    assertArrayEquals(m1.getHeadWeights(), m2.getHeadWeights());
    MultiEmbeddingModel other = e.copy(new org.apache.spark.ml.param.ParamMap()).setSeed(78)
        .fit(data);
    assertTrue(!java.util.Arrays.equals(m1.getTable(0), other.getTable(0)));
  }

  @Test
  void epochsPerMergeMakesFewerLongerRoundsAndJobsNameThem() throws Exception {
    List<String> descriptions = Collections.synchronizedList(new ArrayList<>());
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart job) {
        String d = job.properties().getProperty("spark.job.description");
        if (d != null) {
          descriptions.add(d);
        }
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      // every row trains (early stopping off), so a round's rows are the epochs' rows
      MultiEmbeddingModel m = new MultiEmbedding().setInputCols("a", "b", "c").setMaxIter(5)
          .setEpochsPerMerge(2).setEmbeddingDim(2).setEarlyStopping("off").fit(data);
      TrainingSummary s = m.summary();
      assertEquals(3, s.totalRounds());
      assertEquals(List.of(2, 2, 1), s.rounds().stream().map(TrainingSummary.Round::epochs)
          .toList());
      // 2 epochs over the partitions' rows per round, 1 in the last
      assertEquals(2 * data.count(), s.rounds().get(0).rows());
      assertEquals(data.count(), s.rounds().get(2).rows());
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertTrue(descriptions.stream().anyMatch(d -> d.contains("round 1/3 (epochs 1-2)")),
          descriptions.toString());
      assertTrue(descriptions.stream().anyMatch(d -> d.contains("round 3/3 (epoch 5)")),
          descriptions.toString());
      assertTrue(descriptions.stream().anyMatch(d -> d.contains("converting rows")),
          descriptions.toString());
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
  }

  @Test
  void rowWeightsAreUsed() {
    // the same rows twice: once as they are, once with flipped labels; only the weights say which
    Dataset<Row> clean = data.withColumn("w", functions.lit(1.0));
    Dataset<Row> flipped = data.withColumn("label", functions.lit(1.0).minus(functions.col("label")))
        .withColumn("w", functions.lit(0.0));
    Dataset<Row> both = clean.union(flipped);
    BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator().setRawPredictionCol("p");
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b", "c").setPredictionCol("p")
        .setEmbeddingDim(4).setMaxIter(5).setSeed(1);
    Dataset<Row> withWeights = e.copy(new org.apache.spark.ml.param.ParamMap())
        .setWeightCol("w").fit(both).transform(data).cache();
    Dataset<Row> withoutWeights = e.fit(both).transform(data).cache();
    double weighted = auc.evaluate(withWeights);
    assertTrue(weighted > 0.72, "with weights " + weighted);
    // without weights every row comes with its flipped copy: the labels say nothing, and the
    // model's predictions stay near the base rate. Their AUC only orders the leftover SGD noise
    // (0.60 with balanced blocks and this seed, against 0.80 weighted), so the spread of the
    // predictions shows the weights were ignored: std 0.004 against 0.22 weighted when written
    double spreadWeighted = withWeights.agg(functions.stddev("p")).first().getDouble(0);
    double spreadUnweighted = withoutWeights.agg(functions.stddev("p")).first().getDouble(0);
    System.out.printf("rowWeightsAreUsed: AUC %.4f / %.4f, std of p %.5f / %.5f%n", weighted,
        auc.evaluate(withoutWeights), spreadWeighted, spreadUnweighted);
    assertTrue(spreadUnweighted < 0.25 * spreadWeighted, "the predictions' std without weights "
        + spreadUnweighted + ", with weights " + spreadWeighted);
  }

  @Test
  void stagesAreRegisteredForSparkConnect() throws Exception {
    List<String> estimators = ServiceLoader.load(Estimator.class).stream()
        .map(p -> p.type().getName()).toList();
    List<String> transformers = ServiceLoader.load(Transformer.class).stream()
        .map(p -> p.type().getName()).toList();
    assertTrue(estimators.contains(MultiEmbedding.class.getName()), estimators.toString());
    assertTrue(transformers.contains(MultiEmbeddingModel.class.getName()));
    // what Spark Connect calls: the (uid) constructor and a static load(path)
    assertEquals("u1", MultiEmbedding.class.getConstructor(String.class).newInstance("u1").uid());
    assertEquals("u2", MultiEmbeddingModel.class.getConstructor(String.class).newInstance("u2")
        .uid());
    MultiEmbeddingModel.class.getMethod("load", String.class);
    MultiEmbedding.class.getMethod("load", String.class);
  }
}
