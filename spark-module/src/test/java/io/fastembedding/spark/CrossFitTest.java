package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * fitted on all rows; the embedding vectors are the full model's for every row. The data overfits by construction (600 ids seen about five times, a label
 * that is a coin flip whatever the id), so in-sample scores look informative and honest ones do not.
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
    MultiEmbeddingModel cross = stage().setCrossFitFolds(FOLDS).fit(train);
    assertEquals(FOLDS, cross.getCrossFitFolds());

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

    // each training row's score is that of a model fitted on the other folds' rows alone; its
    // embedding vector stays the full model's (fold models' vectors live in different bases)
    Dataset<Row> folded = withFold(train, 9).cache();
    for (int f = 0; f < FOLDS; f++) {
      MultiEmbeddingModel ref = stage().fit(folded.where("fold != " + f).drop("fold"));
      Dataset<Row> rows = folded.where("fold = " + f).drop("fold");
      List<Row> want = ref.transform(rows).select("score").collectAsList();
      List<Row> got = cross.transform(rows).select("emb", "score").collectAsList();
      List<Row> full = plain.transform(rows).select("emb").collectAsList();
      assertEquals(want.size(), got.size());
      for (int i = 0; i < want.size(); i++) {
        assertArrayEquals(((Vector) full.get(i).get(0)).toArray(),
            ((Vector) got.get(i).get(0)).toArray(), 0, "fold " + f + " row " + i);
        assertEquals(want.get(i).getDouble(0), got.get(i).getDouble(1), 0);
      }
    }
    folded.unpersist();
  }

  /**
   * withFirstOrder: a training row's score is the fold model's, but its whole output vector, the
   * first-order weights included, stays the full model's. Fold models split a category's main
   * effect between its first-order weight and its vector differently; their weights next to the
   * full model's vectors made a downstream LogisticRegression worse on all four datasets measured
   * (docs/quality.md, run F). The fold models' weights do differ from the full model's, so the
   * comparison below would catch a mix.
   */
  @Test
  void trainingRowsKeepTheFullModelsFirstOrderWeightsNextToItsVectors() {
    MultiEmbeddingModel plain = stage().setWithFirstOrder(true).fit(train);
    MultiEmbeddingModel cross = stage().setWithFirstOrder(true).setCrossFitFolds(FOLDS)
        .fit(train);
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
        for (int col = 0; col < 3; col++) {
          assertArrayEquals(((Vector) full.get(i).get(col)).toArray(),
              ((Vector) got.get(i).get(col)).toArray(), 0, where + " column " + col);
        }
        assertEquals(fold.get(i).getDouble(1), got.get(i).getDouble(3), 0, where + ": score");
        double[] w = ((Vector) fold.get(i).get(0)).toArray();
        double[] p = ((Vector) full.get(i).get(0)).toArray();
        for (int field = 0; field < 2; field++) {
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
  void foldModelsAndTrainingRowsSurviveSaveAndLoad() throws Exception {
    MultiEmbeddingModel cross = stage().setCrossFitFolds(FOLDS).fit(train);
    Path dir = Files.createTempDirectory("crossfit");
    cross.write().save(dir.resolve("m").toString());
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(dir.resolve("m").toString());
    assertEquals(FOLDS, loaded.getCrossFitFolds());
    assertEquals(cross.transform(train).select("emb", "score").collectAsList(),
        loaded.transform(train).select("emb", "score").collectAsList());
    assertEquals(cross.transform(fresh).select("emb", "score").collectAsList(),
        loaded.transform(fresh).select("emb", "score").collectAsList());
  }
}
