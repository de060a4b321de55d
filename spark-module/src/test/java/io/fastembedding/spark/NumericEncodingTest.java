package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Numeric features that can express thresholds. The planted label is a band of the numeric value
 * x ~ U(0, 1): positive when 0.3 <= x < 0.7 (5 % of labels flipped), whatever the categorical
 * column, which is noise. A head linear in x ranks rows by x (or by -x), and no order of x
 * separates a band: its AUC stays near 0.5. A step function of x's bucket separates it (AUC near
 * the 0.95 that the flips allow).
 */
class NumericEncodingTest {
  private static SparkSession spark;
  private static Dataset<Row> train;
  private static Dataset<Row> test;

  private static Dataset<Row> band(int rows, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Row> out = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      double x = rnd.nextDouble();
      boolean in = x >= 0.3 && x < 0.7;
      boolean flip = rnd.nextDouble() < 0.05;
      out.add(RowFactory.create(rnd.nextInt(5), Vectors.dense(x, rnd.nextGaussian()),
          in != flip ? 1.0 : 0.0));
    }
    StructType schema = new StructType().add("c", DataTypes.IntegerType)
        .add("num", SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
    return spark.createDataFrame(out, schema).repartition(2);
  }

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    train = band(6000, 21).cache();
    test = band(3000, 22).cache();
    train.count();
    test.count();
  }

  private static MultiEmbedding stage() {
    return new MultiEmbedding().setInputCols("c").setNumericCol("num").setProbabilityCol("p")
        .setEmbeddingDim(4).setMaxIter(10).setEarlyStopping("off").setSeed(5)
        .setDeterministic(true).setNumWorkers(2);
  }

  private static double auc(MultiEmbeddingModel m, Dataset<Row> d) {
    return new BinaryClassificationEvaluator().setRawPredictionCol("p").evaluate(m.transform(d));
  }

  @Test
  void bucketsAndPiecewiseLinearLearnAThresholdThatTheLinearTermCannot() {
    double linear = auc(stage().setNumericEncoding("linear").fit(train), test);
    MultiEmbeddingModel bucket = stage().setNumericEncoding("bucket").setNumBuckets(10).fit(train);
    double bucketed = auc(bucket, test);
    double ple = auc(stage().setNumericEncoding("ple").setNumBuckets(10).fit(train), test);
    System.out.printf("planted band: AUC linear %.4f, bucket %.4f, ple %.4f%n", linear, bucketed,
        ple);
    assertTrue(linear < 0.7, "linear " + linear);
    assertTrue(bucketed > 0.9, "bucket " + bucketed);
    assertTrue(ple > 0.9, "ple " + ple);
    // the edges are the deciles of U(0, 1) within the approximate quantiles' rank error
    double[] cuts = bucket.getNumericBucketCuts(0);
    assertEquals(9, cuts.length);
    for (int b = 0; b < 9; b++) {
      assertEquals((b + 1) / 10.0, cuts[b], 0.02, "cut " + b);
    }
  }

  /**
   * The default 'auto' is 'ple' on at most ParamDefs.EARLY_STOPPING_ROWS training rows (6 000 here;
   * the band is learned) and 'linear' on more (12 000: the band is not), or without a numeric
   * column; the fitted model holds what 'auto' chose, and keeps it through save and load.
   */
  @Test
  void autoIsPiecewiseLinearOnSmallDataAndLinearAbove() throws Exception {
    assertEquals("auto", new MultiEmbedding().getNumericEncoding());
    MultiEmbeddingModel small = stage().fit(train);
    assertEquals("ple", small.getNumericEncoding());
    assertEquals(9, small.getNumericBucketCuts(0).length);
    double smallAuc = auc(small, test);
    assertTrue(smallAuc > 0.9, "auto on 6 000 rows: AUC " + smallAuc);
    Path dir = Files.createTempDirectory("numeric-auto");
    small.write().save(dir.resolve("m").toString());
    assertEquals("ple", MultiEmbeddingModel.load(dir.resolve("m").toString()).getNumericEncoding());

    Dataset<Row> twice = train.union(band(6000, 23));
    assertTrue(twice.count() > ParamDefs.EARLY_STOPPING_ROWS);
    MultiEmbeddingModel large = stage().fit(twice);
    assertEquals("linear", large.getNumericEncoding());
    double largeAuc = auc(large, test);
    assertTrue(largeAuc < 0.7, "auto on 12 000 rows is linear in x: AUC " + largeAuc);
    assertEquals("linear", new MultiEmbedding().setInputCols("c").setMaxIter(1).setNumWorkers(2)
        .fit(train).getNumericEncoding());
  }

  @Test
  void theOutputColumnHoldsTheInputColumnsEmbeddingsOnly() {
    MultiEmbeddingModel m = stage().setOutputCol("emb").setNumericEncoding("bucket").fit(train);
    Vector v = (Vector) m.transform(test).select("emb").first().get(0);
    assertEquals(4, v.size());
  }

  @Test
  void edgesAndEncodingSurviveSaveAndLoad() throws Exception {
    Path dir = Files.createTempDirectory("numeric-encoding");
    for (String enc : new String[] {"bucket", "ple"}) {
      MultiEmbedding est = stage().setNumericEncoding(enc).setNumBuckets(7);
      String estPath = dir.resolve("est-" + enc).toString();
      est.write().save(estPath);
      MultiEmbedding e2 = MultiEmbedding.load(estPath);
      assertEquals(enc, e2.getNumericEncoding());
      assertEquals(7, e2.getNumBuckets());
      MultiEmbeddingModel m = est.fit(train);
      String path = dir.resolve("model-" + enc).toString();
      m.write().save(path);
      MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);
      assertEquals(enc, loaded.getNumericEncoding());
      for (int j = 0; j < 2; j++) {
        assertArrayEquals(m.getNumericBucketCuts(j), loaded.getNumericBucketCuts(j));
      }
      List<Row> a = m.transform(test).select("p").collectAsList();
      List<Row> b = loaded.transform(test).select("p").collectAsList();
      assertEquals(a, b, enc);
    }
  }

  @Test
  void badParamsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> stage().setNumericEncoding("spline"));
    assertThrows(IllegalArgumentException.class, () -> stage().setNumBuckets(1));
    // an encoding without numeric features says so
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> stage()
        .setNumericCol("").setNumericEncoding("bucket").fit(train));
    assertTrue(e.getMessage().contains("numericCol"), e.getMessage());
  }
}
