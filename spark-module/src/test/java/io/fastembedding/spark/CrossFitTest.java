package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.spark.data.CrossFitFolds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cross-fitted output (crossFitFolds), as scikit-learn's TargetEncoder.fit_transform: a training
 * row's score comes from the fold model that did not see it, every other row's from the model
 * fitted on all rows. With crossFitVectors (the fm head, these tests) the fold models' vectors,
 * rotated into the full model's basis, and their first-order weights are a training row's too.
 * The data overfits by construction (600 ids seen about five times, a label that is a coin flip
 * whatever the id), so in-sample outputs look informative and honest ones do not.
 */
class CrossFitTest {
  private static final int FOLDS = 4;
  private static SparkSession spark;
  private static Dataset<Row> train;
  private static Dataset<Row> fresh;

  private static Dataset<Row> coinFlips(int rows, long seed, int idOffset) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Row> out = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      out.add(RowFactory.create(idOffset + rnd.nextInt(600), rnd.nextInt(4),
          rnd.nextDouble() < 0.3 ? 1.0 : 0.0));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("g", DataTypes.IntegerType).add("label", DataTypes.DoubleType);
    return spark.createDataFrame(out, schema).repartition(2);
  }

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    train = coinFlips(3000, 1, 0).cache();
    train.count();
    // new rows: (id, g) pairs the training rows do not have, in the same tables
    // (a condition, not a Seq of names: the same code compiles against Scala 2.12 and 2.13)
    Dataset<Row> seen = train.select("id", "g").distinct().alias("seen");
    Dataset<Row> candidates = coinFlips(20_000, 2, 0).alias("c");
    fresh = candidates.join(seen, functions.col("c.id").equalTo(functions.col("seen.id"))
        .and(functions.col("c.g").equalTo(functions.col("seen.g"))), "left_anti")
        .limit(1000).cache();
    fresh.count();
  }

  private static MultiEmbedding stage() {
    return new MultiEmbedding().setInputCols("id", "g").setNumCategories(600, 4)
        .setEmbeddingDim(4).setStepSize(0.5).setRegParam(0).setInitStd(0.1).setBatchSize(64)
        .setMaxIter(6).setEarlyStopping("off").setDeterministic(true).setNumWorkers(2).setSeed(9)
        .setOutputCol("emb").setPredictionCol("score");
  }

  private static double auc(Dataset<Row> scored) {
    return new BinaryClassificationEvaluator().setRawPredictionCol("score").evaluate(scored);
  }

  /** The fold of each row, computed as the model does: the hash of the row as the head reads it. */
  private static Dataset<Row> withFold(Dataset<Row> d, long seed) {
    var fold = functions.udf((UDF2<Integer, Integer, Integer>) (id, g) -> CrossFitFolds.fold(
        CrossFitFolds.contentHash(seed, new RowBlock(2, 0, 1, new int[] {id, g}, null, null, null),
            0), FOLDS), DataTypes.IntegerType);
    return d.withColumn("fold", fold.apply(d.col("id"), d.col("g")));
  }

  @Test
  void newRowsGetThePlainOutputAndTrainingRowsTheFoldModelsThatDidNotSeeThem() {
    MultiEmbeddingModel plain = stage().fit(train);
    MultiEmbeddingModel cross = stage().setCrossFitFolds(FOLDS).setCrossFitVectors(true)
        .fit(train);
    assertEquals(FOLDS, cross.getCrossFitFolds());
    assertTrue(cross.getCrossFitVectors());

    // new rows: identical outputs
    List<Row> a = plain.transform(fresh).select("emb", "score").collectAsList();
    List<Row> b = cross.transform(fresh).select("emb", "score").collectAsList();
    assertEquals(a, b);

    // training rows: the plain model's scores overfit, the cross-fitted ones do not
    double inSample = auc(plain.transform(train));
    double crossFitted = auc(cross.transform(train));
    double onNew = auc(plain.transform(fresh));
    System.out.printf("coin flips: in-sample AUC %.4f, cross-fitted %.4f, new rows %.4f%n",
        inSample, crossFitted, onNew);
    assertTrue(inSample > 0.65, "the case overfits: in-sample AUC " + inSample);
    // the label is a coin flip: an honest score has AUC 0.5 +- 0.012 (sd of the AUC of 3 000
    // rows with 30 % positives); 0.56 is five sd
    assertTrue(Math.abs(crossFitted - 0.5) < 0.06, "cross-fitted AUC " + crossFitted);

    // each training row's outputs are those of a model fitted on the other folds' rows alone, its
    // vectors rotated into the full model's basis: the same dot products (so the same scores, up to
    // float rounding), and closer to the full model's vectors than the fold model's own
    Dataset<Row> folded = withFold(train, 9).cache();
    double alignedGap = 0;
    double ownGap = 0;
    for (int f = 0; f < FOLDS; f++) {
      MultiEmbeddingModel ref = stage().fit(folded.where("fold != " + f).drop("fold"));
      Dataset<Row> rows = folded.where("fold = " + f).drop("fold");
      List<Row> want = ref.transform(rows).select("emb", "score").collectAsList();
      List<Row> got = cross.transform(rows).select("emb", "score").collectAsList();
      List<Row> full = plain.transform(rows).select("emb").collectAsList();
      assertEquals(want.size(), got.size());
      // without crossFitVectors (the default) the same model gives every row the full model's
      // vectors, and the same cross-fitted scores
      List<Row> plainVectors = cross.copy(new org.apache.spark.ml.param.ParamMap())
          .setCrossFitVectors(false).transform(rows).select("emb", "score").collectAsList();
      for (int i = 0; i < want.size(); i++) {
        assertEquals(full.get(i).get(0), plainVectors.get(i).get(0), "fold " + f + " row " + i);
        assertEquals(got.get(i).getDouble(1), plainVectors.get(i).getDouble(1), 0);
      }
      double[] firstWant = ((Vector) want.get(0).get(0)).toArray();
      double[] firstGot = ((Vector) got.get(0).get(0)).toArray();
      for (int i = 0; i < want.size(); i++) {
        String where = "fold " + f + " row " + i;
        double[] w = ((Vector) want.get(i).get(0)).toArray();
        double[] g = ((Vector) got.get(i).get(0)).toArray();
        double[] p = ((Vector) full.get(i).get(0)).toArray();
        // the dot products of the row's two vectors, and with the fold's first row's, as floats
        // rotated in double and rounded: a few float ulps of the products' size
        for (int[] pair : new int[][] {{0, 0}, {0, 4}, {4, 4}}) {
          assertDot(dot(w, pair[0], w, pair[1]), dot(g, pair[0], g, pair[1]), where);
          assertDot(dot(w, pair[0], firstWant, pair[1]), dot(g, pair[0], firstGot, pair[1]), where);
        }
        // a score is a logistic of the fm's dot products: within float rounding of the fold model's
        assertEquals(want.get(i).getDouble(1), got.get(i).getDouble(1), 1e-5, where + ": score");
        for (int j = 0; j < p.length; j++) {
          alignedGap += (g[j] - p[j]) * (g[j] - p[j]);
          ownGap += (w[j] - p[j]) * (w[j] - p[j]);
        }
      }
    }
    System.out.printf("squared distance to the full model's vectors: aligned %.4f, unaligned %.4f%n",
        alignedGap, ownGap);
    assertTrue(alignedGap < ownGap, "aligned " + alignedGap + ", unaligned " + ownGap);
    folded.unpersist();
  }

  private static double dot(double[] a, int ai, double[] b, int bi) {
    double s = 0;
    for (int k = 0; k < 4; k++) {
      s += a[ai + k] * b[bi + k];
    }
    return s;
  }

  private static void assertDot(double want, double got, String where) {
    // the vectors are floats of size about 1 rotated by a 4 x 4 rotation in double: each element
    // is off by a float rounding (6e-8 relative), a dot product of 4 such by well under 1e-5
    assertEquals(want, got, 1e-5 * Math.max(1, Math.abs(want)), where + ": dot product");
  }

  /**
   * What cross-fitting is for: a model fitted next on the stage's outputs for the training rows.
   * The label is a coin flip, so an honest feature has nothing to give it; the full model's
   * outputs, fitted on those rows' labels, carry them (an id's first-order weight is about its
   * rows' mean label), and LogisticRegression on them fits noise.
   */
  @Test
  void aDownstreamModelOnCrossFittedOutputsFitsNoNoise() {
    MultiEmbeddingModel cross = stage().setWithFirstOrder(true).setCrossFitFolds(FOLDS)
        .setCrossFitVectors(true).fit(train);
    double crossFitted = downstreamAuc(cross.transform(train));
    double inSample = downstreamAuc(cross.setCrossFitVectors(false).transform(train));
    System.out.printf("LogisticRegression on the outputs, on its own training rows: full model's "
        + "%.4f, cross-fitted %.4f%n", inSample, crossFitted);
    assertTrue(inSample > 0.6, "the case overfits: " + inSample);
    // honest features: AUC 0.5 +- 0.012 (3 000 rows, 30 % positives); 0.56 is five sd
    assertTrue(Math.abs(crossFitted - 0.5) < 0.06, "cross-fitted: " + crossFitted);
  }

  private static double downstreamAuc(Dataset<Row> rows) {
    var lr = new org.apache.spark.ml.classification.LogisticRegression().setFeaturesCol("emb")
        .setPredictionCol("lr_prediction").setRawPredictionCol("lr_raw")
        .setProbabilityCol("lr_probability");
    return new BinaryClassificationEvaluator().setRawPredictionCol("lr_raw")
        .evaluate(lr.fit(rows).transform(rows));
  }

  /**
   * withFirstOrder: a training row's first-order weights are its fold model's, next to that model's
   * (rotated) vectors. A fold model splits a category's main effect between its first-order weight
   * and its vector its own way, so weights and vectors must come from one model (fold models'
   * weights next to the full model's vectors made a downstream LogisticRegression worse on all four
   * datasets measured, docs/quality.md, run F). The fold models' weights do differ from the full
   * model's, so the comparison below would catch a mix.
   */
  @Test
  void trainingRowsGetTheirFoldModelsFirstOrderWeightsNextToItsVectors() {
    MultiEmbeddingModel plain = stage().setWithFirstOrder(true).fit(train);
    MultiEmbeddingModel cross = stage().setWithFirstOrder(true).setCrossFitFolds(FOLDS)
        .setCrossFitVectors(true).fit(train);
    cross.setOutputCols("id_out", "g_out");
    plain.setOutputCols("id_out", "g_out");
    assertEquals(plain.transform(fresh).select("emb", "id_out", "g_out", "score").collectAsList(),
        cross.transform(fresh).select("emb", "id_out", "g_out", "score").collectAsList());

    // the slice of each field: its first-order weight, then its dim-4 vector
    int slice = 5;
    Dataset<Row> folded = withFold(train, 9).cache();
    int differ = 0;
    int weights = 0;
    for (int f = 0; f < FOLDS; f++) {
      MultiEmbeddingModel ref = stage().setWithFirstOrder(true)
          .fit(folded.where("fold != " + f).drop("fold"));
      Dataset<Row> in = folded.where("fold = " + f).drop("fold");
      List<Row> fold = ref.transform(in).select("emb", "score").collectAsList();
      List<Row> full = plain.transform(in).select("emb", "id_out", "g_out").collectAsList();
      List<Row> got = cross.transform(in).select("emb", "id_out", "g_out", "score")
          .collectAsList();
      assertEquals(fold.size(), got.size());
      for (int i = 0; i < got.size(); i++) {
        String where = "fold " + f + " row " + i;
        double[] w = ((Vector) fold.get(i).get(0)).toArray();
        double[] p = ((Vector) full.get(i).get(0)).toArray();
        double[] g = ((Vector) got.get(i).get(0)).toArray();
        assertEquals(fold.get(i).getDouble(1), got.get(i).getDouble(3), 1e-5, where + ": score");
        for (int field = 0; field < 2; field++) {
          // first-order weights are not rotated: the fold model's, exactly
          assertEquals(w[field * slice], g[field * slice], 0, where + ": first-order weight");
          // each column's own vector (outputCols) is its slice of the concatenated one
          double[] own = ((Vector) got.get(i).get(1 + field)).toArray();
          assertArrayEquals(Arrays.copyOfRange(g, field * slice, (field + 1) * slice), own, 0,
              where + " column " + field);
          differ += w[field * slice] != p[field * slice] ? 1 : 0;
          weights++;
        }
      }
    }
    assertTrue(differ > weights / 2, "first-order weights of the fold models that differ from "
        + "the full model's: " + differ + " of " + weights);
    folded.unpersist();
  }

  @Test
  void crossFitVectorsNeedsFoldModelsInTheFullModelsBasis() {
    var noFolds = assertThrows(IllegalArgumentException.class,
        () -> stage().setCrossFitVectors(true).fit(train));
    assertTrue(noFolds.getMessage().contains("crossFitFolds >= 2"), noFolds.getMessage());
    var linear = assertThrows(IllegalArgumentException.class,
        () -> stage().setHead("linear").setCrossFitFolds(FOLDS).setCrossFitVectors(true)
            .fit(train));
    assertTrue(linear.getMessage().contains("needs the fm or fwfm head"), linear.getMessage());
    MultiEmbeddingModel plain = stage().fit(train).setCrossFitVectors(true);
    var model = assertThrows(IllegalArgumentException.class, () -> plain.transform(train));
    assertTrue(model.getMessage().contains("fitted without crossFitFolds"), model.getMessage());
  }

  @Test
  void foldModelsAndTrainingRowsSurviveSaveAndLoad() throws Exception {
    MultiEmbeddingModel cross = stage().setCrossFitFolds(FOLDS).setCrossFitVectors(true)
        .fit(train);
    Path dir = Files.createTempDirectory("crossfit");
    cross.write().save(dir.resolve("m").toString());
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(dir.resolve("m").toString());
    assertEquals(FOLDS, loaded.getCrossFitFolds());
    assertTrue(loaded.getCrossFitVectors());
    assertEquals(cross.transform(train).select("emb", "score").collectAsList(),
        loaded.transform(train).select("emb", "score").collectAsList());
    assertEquals(cross.transform(fresh).select("emb", "score").collectAsList(),
        loaded.transform(fresh).select("emb", "score").collectAsList());

    // a model saved before the fold models' vectors were aligned has no such column in its
    // cross-fitting metadata: it loads, gives the scores as before, and refuses crossFitVectors
    String old = dir.resolve("old").toString();
    cross.write().save(old);
    Dataset<Row> meta = spark.read().parquet(old + "/data/crossfit/meta");
    List<Row> before = meta.select("folds", "seed").collectAsList();
    spark.createDataFrame(before, meta.select("folds", "seed").schema()).repartition(1).write()
        .mode("overwrite").parquet(old + "/data/crossfit/meta");
    MultiEmbeddingModel unaligned = MultiEmbeddingModel.load(old);
    var refused = assertThrows(IllegalArgumentException.class, () -> unaligned.transform(train));
    assertTrue(refused.getMessage().contains("saved before they were aligned"),
        refused.getMessage());
    assertEquals(cross.transform(train).select("score").collectAsList(),
        unaligned.setCrossFitVectors(false).transform(train).select("score").collectAsList());
  }
}
