package io.fastembedding.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.spark.MultiEmbeddingModel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * QualityBenchmark's head-gbt-blend and heads-gbt-blend pipelines: K stages that differ only in
 * their seed, each head at weight w / K next to GBT's 1 - w, checked row by row against the
 * weighted average computed here from the fitted pipeline's own columns.
 */
class HeadGbtBlendTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSpark.start("head-gbt-blend-test");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Rows (a, b, x, label): the label depends on a and x, so every model has something to learn. */
  private static Dataset<Row> rows(long seed, int n) {
    System.out.println("HeadGbtBlendTest data seed " + seed);
    Random r = new Random(seed);
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int a = r.nextInt(6);
      int b = r.nextInt(4);
      double x = r.nextGaussian();
      double logit = (a - 2.5) * 0.6 + x;
      double label = r.nextDouble() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
      out.add(RowFactory.create("a" + a, "b" + b, x, label));
    }
    StructType schema = new StructType().add("a", DataTypes.StringType)
        .add("b", DataTypes.StringType).add("x", DataTypes.DoubleType)
        .add("label", DataTypes.DoubleType);
    return spark.createDataFrame(out, schema);
  }

  private static Map<String, String> options(double weight) {
    Map<String, String> a = new HashMap<>();
    for (String k : QualityBenchmark.STAGE_OPTIONS) {
      a.put(k, "");
    }
    a.put("epochs", "3");
    a.put("blend-gbt-drop", "b");
    a.put("blend-method", "probability");
    a.put("blend-weight", String.valueOf(weight));
    a.put("blend-gbt-trees", "5");
    a.put("blend-gbt-step", "0.1");
    a.put("blend-gbt-subsample", "0.8");
    return a;
  }

  private static double p1(Row row, String col) {
    return ((Vector) row.getAs(col)).apply(1);
  }

  @Test
  void threeHeadsShareTheHeadsWeight() {
    QualityBenchmark.Data d = new QualityBenchmark.Data("t", rows(5, 600), rows(6, 200),
        new String[] {"a", "b"}, new String[] {"x"});
    double w = 0.6;
    PipelineModel m = QualityBenchmark.headGbtBlend(d, options(w), new String[] {"x"}, 3, 3,
        List.of()).fit(d.train());
    List<Long> seeds = new ArrayList<>();
    for (Transformer t : m.stages()) {
      if (t instanceof MultiEmbeddingModel e) {
        seeds.add(e.getSeed());
      }
    }
    assertEquals(List.of(42L, 43L, 44L), seeds);
    List<Row> out = m.transform(d.test()).collectAsList();
    assertEquals(200, out.size());
    int headsDiffer = 0;
    for (Row row : out) {
      double h0 = p1(row, "head_probability");
      double h1 = p1(row, "head_probability_1");
      double h2 = p1(row, "head_probability_2");
      double g = p1(row, "probability");
      // the reference: each head at w / 3, GBT at 1 - w
      double expected = w * (h0 + h1 + h2) / 3 + (1 - w) * g;
      Vector blend = row.getAs("blend_probability");
      // a few ulps of the sum of four products
      assertEquals(expected, blend.apply(1), 1e-12);
      assertEquals(1 - expected, blend.apply(0), 1e-12);
      if (Math.abs(h0 - h1) > 1e-9 || Math.abs(h0 - h2) > 1e-9) {
        headsDiffer++;
      }
    }
    // the seeds give different heads (else averaging them would be pointless)
    assertTrue(headsDiffer > 0, "the three heads gave the same probability on every row");
  }

  @Test
  void stackedThreeWayBlendAveragesAThirdEach() {
    QualityBenchmark.Data d = new QualityBenchmark.Data("t", rows(9, 600), rows(10, 200),
        new String[] {"a", "b"}, new String[] {"x"});
    // GBT on a and x only; the stacked GBT on a, x and the first head's cross-fitted b vectors
    PipelineModel m = QualityBenchmark.headGbtBlend(d, options(0.5), new String[] {"x"}, 3, 2,
        List.of("b")).fit(d.train());
    List<MultiEmbeddingModel> heads = new ArrayList<>();
    int stackFeatures = -1;
    for (Transformer t : m.stages()) {
      if (t instanceof MultiEmbeddingModel e) {
        heads.add(e);
      }
      if (t instanceof org.apache.spark.ml.classification.GBTClassificationModel g
          && g.getFeaturesCol().equals("stack_features")) {
        stackFeatures = g.numFeatures();
      }
    }
    assertEquals(2, heads.size());
    // only the first head cross-fits (its vectors feed the stacked GBT)
    assertEquals(5, heads.get(0).getCrossFitFolds());
    assertTrue(heads.get(0).getCrossFitVectors());
    assertEquals(0, heads.get(1).getCrossFitFolds());
    int dimB = heads.get(0).embeddingDims()[1];
    // a's index and x, then b's vector
    assertEquals(2 + dimB, stackFeatures);
    for (Row row : m.transform(d.test()).collectAsList()) {
      double expected = (p1(row, "head_probability") + p1(row, "head_probability_1")) / 2 / 3
          + p1(row, "probability") / 3 + p1(row, "stack_probability") / 3;
      assertEquals(expected, ((Vector) row.getAs("blend_probability")).apply(1), 1e-12);
    }
  }

  @Test
  void oneHeadIsTheSessionFivePipeline() {
    QualityBenchmark.Data d = new QualityBenchmark.Data("t", rows(7, 400), rows(8, 100),
        new String[] {"a", "b"}, new String[] {"x"});
    PipelineModel m = QualityBenchmark.headGbtBlend(d, options(0.5), new String[] {"x"}, 3, 1,
        List.of()).fit(d.train());
    for (Row row : m.transform(d.test()).collectAsList()) {
      double expected = 0.5 * p1(row, "head_probability") + 0.5 * p1(row, "probability");
      assertEquals(expected, ((Vector) row.getAs("blend_probability")).apply(1), 1e-12);
    }
    assertThrows(IllegalArgumentException.class, () -> QualityBenchmark.headGbtBlend(d,
        options(0.5), new String[] {"x"}, 3, 0, List.of()));
  }
}
