package io.fastembedding.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ProbabilityBlend against hand-computed blends, its errors, and its persistence in a pipeline. */
class ProbabilityBlendTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSpark.start("probability-blend-test");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Rows (id, gbt probability vector, head probability as a double). */
  private static Dataset<Row> data() {
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("probability", SQLDataTypes.VectorType()).add("head_score", DataTypes.DoubleType);
    return spark.createDataFrame(List.of(
        RowFactory.create(0, Vectors.dense(0.2, 0.8), 0.6),
        RowFactory.create(1, Vectors.dense(0.9, 0.1), 0.5),
        RowFactory.create(2, Vectors.dense(1.0, 0.0), 1.0)), schema);
  }

  private static double[] blended(ProbabilityBlend b, Dataset<Row> df) {
    List<Row> rows = b.transform(df).orderBy("id").select(b.getOutputCol()).collectAsList();
    double[] p = new double[rows.size()];
    for (int i = 0; i < p.length; i++) {
      Vector v = rows.get(i).getAs(0);
      assertEquals(2, v.size());
      assertEquals(1.0, v.apply(0) + v.apply(1), 1e-15, "row " + i + ": [1 - p, p]");
      p[i] = v.apply(1);
    }
    return p;
  }

  @Test
  void averagesProbabilitiesWithEqualAndGivenWeights() {
    ProbabilityBlend b = new ProbabilityBlend().setInputCols("probability", "head_score");
    // (0.8 + 0.6) / 2, (0.1 + 0.5) / 2, (0 + 1) / 2
    assertArrayEquals(new double[] {0.7, 0.3, 0.5}, blended(b, data()), 1e-15);
    // weights 1 and 3, normalised to 0.25 and 0.75
    b.setWeights(1, 3);
    assertArrayEquals(new double[] {0.25 * 0.8 + 0.75 * 0.6, 0.25 * 0.1 + 0.75 * 0.5,
        0.75}, blended(b, data()), 1e-15);
  }

  @Test
  void averagesLogits() {
    ProbabilityBlend b = new ProbabilityBlend().setInputCols("probability", "head_score")
        .setMethod("logit");
    double[] p = blended(b, data());
    // the logistic of the mean logit is the odds' geometric mean turned back into a probability:
    // odds 4 and 1.5 give sqrt(6) / (1 + sqrt(6)); odds 1/9 and 1 give (1/3) / (4/3) = 1/4
    assertEquals(Math.sqrt(6) / (1 + Math.sqrt(6)), p[0], 1e-12);
    assertEquals(0.25, p[1], 1e-12);
    // probabilities 0 and 1 are clipped symmetrically, so their mean logit is 0
    assertEquals(0.5, p[2], 1e-12);
    // weights 3 and 1: odds 4^0.75 * 1.5^0.25
    double odds = Math.pow(4, 0.75) * Math.pow(1.5, 0.25);
    assertEquals(odds / (1 + odds), blended(b.setWeights(3, 1), data())[0], 1e-12);
  }

  @Test
  void rejectsBadInputsNamingThem() {
    ProbabilityBlend b = new ProbabilityBlend().setInputCols("probability", "missing");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.transform(data()))
        .getMessage().contains("'missing'"));
    b.setInputCols("probability", "head_score").setWeights(1, 2, 3);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.transform(data()))
        .getMessage().contains("3 weights for 2 inputCols"));
    b.setWeights(0, 0);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.transform(data()))
        .getMessage().contains("all zero"));
    b.setWeights(-1, 2);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.transform(data()))
        .getMessage().contains("non-negative"));
    b.setWeights(1, 1).setOutputCol("id");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.transform(data()))
        .getMessage().contains("'id' already exists"));
    ProbabilityBlend s = new ProbabilityBlend().setInputCols("id", "probability");
    Dataset<Row> text = data().withColumn("id", org.apache.spark.sql.functions.lit("x"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> s.transform(text))
        .getMessage().contains("'id' must be"));
    assertThrows(IllegalArgumentException.class, () -> new ProbabilityBlend().setMethod("rank"));
  }

  @Test
  void persistsItsParamsAloneAndInAPipeline(@TempDir Path dir) throws Exception {
    ProbabilityBlend b = new ProbabilityBlend().setInputCols("probability", "head_score")
        .setWeights(2, 1).setMethod("logit").setOutputCol("blend");
    b.write().save(dir.resolve("blend").toString());
    ProbabilityBlend loaded = ProbabilityBlend.load(dir.resolve("blend").toString());
    assertEquals(b.uid(), loaded.uid());
    assertArrayEquals(b.getInputCols(), loaded.getInputCols());
    assertEquals("logit", loaded.getMethod());
    assertEquals("blend", loaded.getOutputCol());
    assertArrayEquals(blended(b, data()), blended(loaded, data()), 0);

    PipelineModel m = new Pipeline().setStages(new PipelineStage[] {b}).fit(data());
    m.write().save(dir.resolve("pipeline").toString());
    PipelineModel back = PipelineModel.load(dir.resolve("pipeline").toString());
    assertTrue(Files.exists(dir.resolve("pipeline")));
    assertArrayEquals(blended(b, data()), blended((ProbabilityBlend) back.stages()[0], data()), 0);
  }
}
