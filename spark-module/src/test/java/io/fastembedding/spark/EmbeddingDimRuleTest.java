package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedding dim by cardinality, used when neither embeddingDim nor embeddingDims is given. */
class EmbeddingDimRuleTest {
  private static SparkSession spark;
  private static Dataset<Row> data;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    data = SparkTestSession.synthetic(spark, 300, 5).cache();
  }

  @Test
  void twiceTheCubeRootToAMultipleOfFourBetweenFourAndSixtyFour() {
    // 2 * cbrt(c), hand-computed: 2, 4.3, 6.0, 10.0, 20.0, 30.07, 40.0, 200
    long[] categories = {1, 10, 27, 125, 1000, 3397, 8000, 1_000_000};
    int[] expected = {4, 4, 8, 12, 20, 32, 40, 64};
    for (int i = 0; i < categories.length; i++) {
      assertEquals(expected[i], MultiEmbedding.dimForCardinality(categories[i]),
          categories[i] + " categories");
    }
  }

  @Test
  void theRuleCountsAFieldAsAtMostItsTrainingRowsOverFiveHundredCategories() {
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b", "c");
    MultiEmbedding linear = e.copy(new org.apache.spark.ml.param.ParamMap()).setHead("linear");
    int[] counts = {3397, 27, 5};
    // rows enough for every category: the cardinality rule per field, fm takes the largest
    assertArrayEquals(new int[] {32, 8, 4}, linear.fieldDims(counts, 2_000_000));
    assertArrayEquals(new int[] {32, 32, 32}, e.fieldDims(counts, 2_000_000));
    // 60 000 rows support 120 categories: 3 397 counts as 120 (2 * cbrt(120) = 9.9 -> 8)
    assertArrayEquals(new int[] {8, 8, 4}, linear.fieldDims(counts, 60_000));
    assertArrayEquals(new int[] {8, 8, 8}, e.fieldDims(counts, 60_000));
    // a few thousand rows: every field counts as at most 12 categories -> 4
    assertArrayEquals(new int[] {4, 4, 4}, e.fieldDims(counts, 6_000));
    // unknown rows (before a fit) or counts: unknown dims; explicit dims need neither
    assertEquals(null, e.fieldDims(counts, -1));
    assertEquals(null, e.fieldDims(new int[] {-1, 27, 5}, 2_000_000));
    assertArrayEquals(new int[] {6, 6, 6}, e.copy(new org.apache.spark.ml.param.ParamMap())
        .setEmbeddingDim(6).fieldDims(counts, -1));
  }

  @Test
  void fitUsesTheRuleOnItsTrainingRows() {
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b", "c").setMaxIter(1)
        .setNumCategories(3397, 27, 5);
    // 300 rows support one category per field: 4 everywhere
    assertArrayEquals(new int[] {4, 4, 4}, e.copy(new org.apache.spark.ml.param.ParamMap())
        .setHead("linear").fit(data).embeddingDims());
    assertArrayEquals(new int[] {6, 6, 6}, e.setEmbeddingDim(6).fit(data).embeddingDims());
  }

  @Test
  void theEstimatorsOutputSchemaKnowsTheSizeOnlyWhenTheDimsAreGiven() {
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b", "c").setOutputCol("emb")
        .setNumCategories(20, 10, 5);
    // the rule needs the training rows, known only in the fit: a vector of unknown size
    assertEquals(-1, AttributeGroup.fromStructField(e.transformSchema(data.schema()).apply("emb"))
        .size());
    e.setEmbeddingDim(4);
    assertEquals(12, AttributeGroup.fromStructField(e.transformSchema(data.schema()).apply("emb"))
        .size());
  }
}
