package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.cachedRddIds;
import static io.fastembedding.spark.FitFailures.fitError;
import static io.fastembedding.spark.FitFailures.messages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fastembedding.backend.Backends;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every bad input gets an error that names the column (and the value), and a failed fit leaves
 * nothing behind: no cached blocks, no changed job description.
 */
class ValidationTest {
  private static SparkSession spark;
  private static Dataset<Row> good;
  private static java.util.Set<Integer> cachedBefore;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    good = SparkTestSession.synthetic(spark, 400, 3).cache();
    good.count();
    cachedBefore = cachedRddIds(spark);
  }

  @AfterEach
  void nothingLeftBehind() {
    assertEquals(cachedBefore, cachedRddIds(spark),
        "a fit must unpersist its training blocks, failed or not");
    assertEquals(null, spark.sparkContext().getLocalProperty("spark.job.description"));
  }

  private static MultiEmbedding est() {
    return new MultiEmbedding().setInputCols("a", "b", "c").setMaxIter(1).setEmbeddingDim(2);
  }

  private static Dataset<Row> rows(StructType schema, Object[]... values) {
    List<Row> rs = new ArrayList<>();
    for (Object[] v : values) {
      rs.add(RowFactory.create(v));
    }
    return spark.createDataFrame(rs, schema);
  }

  private static final StructType DOUBLES = new StructType()
      .add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
      .add("c", DataTypes.DoubleType).add("label", DataTypes.DoubleType)
      .add("w", DataTypes.DoubleType);

  @Test
  void missingInputColumn() {
    String m = fitError(new MultiEmbedding().setInputCols("a", "zz"), good);
    assertMentions(m, "input column 'zz' does not exist", "[a, b, c, label]");
  }

  @Test
  void inputColumnsNotSet() {
    assertMentions(fitError(new MultiEmbedding(), good), "inputCols is not set");
  }

  @Test
  void stringIndexColumn() {
    Dataset<Row> d = good.withColumn("a", functions.col("a").cast("string"));
    assertMentions(fitError(est(), d), "input column 'a' has type string", "StringIndexer");
  }

  @Test
  void nonIntegerIndexValue() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.5, 0.0, 0.0, 0.0, 1.0});
    assertMentions(fitError(est(), d), "input column 'a' has the value 1.5",
        "not an integer category index");
  }

  @Test
  void negativeIndex() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, -3.0, 0.0, 0.0, 1.0});
    assertMentions(fitError(est(), d), "input column 'b' has the negative index -3", "'skip'",
        "'keep'");
  }

  @Test
  void indexTooLargeForNumCategories() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, 7.0, 0.0, 1.0});
    String m = fitError(est().setNumCategories(2, 2, 5), d);
    assertMentions(m, "input column 'c' has the index 7", "there are 5 categories",
        "numCategories param", "valid indices are 0 to 4");
  }

  @Test
  void indexTooLargeForTheIndexersMetadata() {
    // metadata says 3 categories (as StringIndexer would write), the data has index 3
    var meta = org.apache.spark.ml.attribute.NominalAttribute.defaultAttr().withName("a")
        .withValues(new String[] {"x", "y", "z"}).toMetadata();
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {3.0, 0.0, 1.0, 0.0, 1.0}).withColumn("a", functions.col("a").as("a", meta));
    assertMentions(fitError(est(), d), "input column 'a' has the index 3", "there are 3 categories",
        "NominalAttribute metadata");
  }

  @Test
  void nullIndex() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, null, 0.0, 1.0});
    assertMentions(fitError(est(), d), "input column 'c' has a null index", "1 null");
  }

  @Test
  void missingLabelColumn() {
    assertMentions(fitError(est().setLabelCol("y"), good), "label column 'y' does not exist");
  }

  @Test
  void labelOfTheWrongType() {
    Dataset<Row> d = good.withColumn("label", functions.col("label").cast("string"));
    assertMentions(fitError(est(), d), "label column 'label' must be numeric", "string");
  }

  @Test
  void labelNotZeroOrOneForTheLogisticLoss() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, 1.0, 2.0, 1.0});
    assertMentions(fitError(est(), d), "label column 'label' has the value 2.0", "0 or 1",
        "squared");
    // the squared loss takes it
    est().setLoss("squared").fit(d);
  }

  @Test
  void nullAndNonFiniteLabels() {
    Dataset<Row> nulls = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, 1.0, null, 1.0});
    assertMentions(fitError(est(), nulls), "label column 'label' has 1 null value");
    Dataset<Row> nan = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, 1.0, Double.NaN, 1.0});
    assertMentions(fitError(est().setLoss("squared"), nan), "label column 'label' has the value NaN",
        "finite");
  }

  @Test
  void badWeights() {
    Dataset<Row> neg = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, 1.0, 0.0, -2.0});
    assertMentions(fitError(est().setWeightCol("w"), neg), "weight column 'w' has the value -2.0");
    Dataset<Row> str = good.withColumn("w", functions.lit("heavy"));
    assertMentions(fitError(est().setWeightCol("w"), str), "weight column 'w' must be numeric");
    Dataset<Row> nul = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, null});
    assertMentions(fitError(est().setWeightCol("w"), nul), "weight column 'w' has 1 null value");
  }

  @Test
  void perFieldParamsOfTheWrongLength() {
    assertMentions(fitError(est().setEmbeddingDims(2, 2), good),
        "embeddingDims has 2 entries, but there are 3 input columns");
    assertMentions(fitError(est().setNumCategories(20, 10), good),
        "numCategories has 2 entries, but there are 3 input columns");
    assertMentions(fitError(est().setOutputCols("x"), good),
        "outputCols has 1 entries, but there are 3 input columns");
  }

  @Test
  void fmWithDifferentDims() {
    assertMentions(fitError(est().setEmbeddingDims(2, 3, 2), good), "head 'fm' needs one embedding",
        "[2, 3, 2]");
    est().setEmbeddingDims(2, 3, 2).setHead("linear").fit(good);
  }

  @Test
  void outputColumnThatExists() {
    assertMentions(fitError(est().setOutputCol("label"), good),
        "output column 'label' already exists");
  }

  @Test
  void invalidParamValuesAreRejectedWhenSet() {
    assertThrows(IllegalArgumentException.class, () -> est().setHead("tree"));
    assertThrows(IllegalArgumentException.class, () -> est().setHandleInvalid("ignore"));
    assertThrows(IllegalArgumentException.class, () -> est().setEmbeddingDim(-1));
    assertThrows(IllegalArgumentException.class, () -> est().setStepSize(-1));
    assertThrows(IllegalArgumentException.class, () -> est().setDevice("tpu"));
    assertThrows(IllegalArgumentException.class, () -> est().setInputCols("a", "a"));
    assertThrows(IllegalArgumentException.class, () -> est().setHiddenLayers(4, 0));
  }

  @Test
  void emptyInput() {
    assertMentions(fitError(est(), good.limit(0)), "the training data is empty");
  }

  @Test
  void skipThatDropsEveryRow() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {-1.0, 1.0, 0.0, 1.0, 1.0});
    assertMentions(fitError(est().setHandleInvalid("skip").setNumCategories(2, 2, 2), d),
        "no rows left to train on", "'skip' dropped all 1 rows");
  }

  @Test
  void deviceGpuWithoutAGpu() {
    assumeTrue(Backends.cudaDeviceCount() == 0, "this machine has a CUDA device");
    assertMentions(fitError(est().setDevice("gpu"), good), "device = gpu",
        "no CUDA device is usable", "device = auto");
  }

  @Test
  void transformWithAnInvalidIndexNamesColumnAndValue() {
    MultiEmbeddingModel m = est().setOutputCol("emb").fit(good);
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 99.0, 0.0, 1.0, 1.0});
    Exception ex = assertThrows(Exception.class, () -> m.transform(d).collect());
    String all = messages(ex);
    assertMentions(all, "input column 'b' has the index 99", "there are 10 categories");
    // skip drops the row, keep needs a model fit with keep
    assertEquals(0, m.setHandleInvalid("skip").transform(d).count());
    assertMentions(assertThrows(IllegalArgumentException.class,
        () -> m.setHandleInvalid("keep").transform(d)).getMessage(), "reserved row");
  }

  @Test
  void keepMapsInvalidAndNullToTheReservedRow() {
    Dataset<Row> d = rows(DOUBLES, new Object[] {0.0, 1.0, 0.0, 1.0, 1.0},
        new Object[] {1.0, 0.0, 1.0, 0.0, 1.0},
        new Object[] {null, -4.0, 2.5, 1.0, 1.0});
    MultiEmbeddingModel m = est().setHandleInvalid("keep").setOutputCol("emb").fit(d);
    // scanned sizes: a 2, b 2, c 2 valid categories, + 1 reserved row each
    assertEquals(Arrays.toString(new int[] {3, 3, 3}), Arrays.toString(m.tableSizes()));
    Row last = m.transform(d).select("emb").collectAsList().get(2);
    double[] v = ((org.apache.spark.ml.linalg.Vector) last.get(0)).toArray();
    for (int f = 0; f < 3; f++) {
      float[] t = m.getTable(f);
      assertEquals(t[2 * 2], (float) v[f * 2]);
      assertEquals(t[2 * 2 + 1], (float) v[f * 2 + 1]);
    }
  }
}
