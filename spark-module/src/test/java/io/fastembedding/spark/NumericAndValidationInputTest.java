package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.cachedRddIds;
import static io.fastembedding.spark.FitFailures.fitError;
import static io.fastembedding.spark.FitFailures.messages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
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
 * Bad numeric features and bad validation settings fail with a message naming the column and the
 * value, and leave nothing cached.
 */
class NumericAndValidationInputTest {
  private static final StructType SCHEMA = new StructType().add("a", DataTypes.IntegerType)
      .add("label", DataTypes.DoubleType).add("z", SQLDataTypes.VectorType())
      .add("holdout", DataTypes.BooleanType);

  private static SparkSession spark;
  private static Dataset<Row> good;
  private static java.util.Set<Integer> cachedBefore;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    List<Object[]> rows = new ArrayList<>();
    for (int r = 0; r < 40; r++) {
      rows.add(new Object[] {r % 5, (double) (r % 2), Vectors.dense(r, -r), r % 4 == 0});
    }
    good = rows(rows.toArray(new Object[0][])).cache();
    good.count();
    cachedBefore = cachedRddIds(spark);
  }

  @AfterEach
  void nothingLeftBehind() {
    assertEquals(cachedBefore, cachedRddIds(spark), "a failed fit must unpersist its blocks");
    assertEquals(null, spark.sparkContext().getLocalProperty("spark.job.description"));
  }

  private static Dataset<Row> rows(Object[]... values) {
    List<Row> rs = new ArrayList<>();
    for (Object[] v : values) {
      rs.add(RowFactory.create(v));
    }
    return spark.createDataFrame(rs, SCHEMA);
  }

  private static MultiEmbedding est() {
    return new MultiEmbedding().setInputCols("a").setNumericCol("z").setMaxIter(1)
        .setEmbeddingDim(2);
  }

  @Test
  void aNumericColumnThatIsNotAVector() {
    Dataset<Row> d = good.withColumn("z", functions.lit(1.5));
    assertMentions(fitError(est(), d), "numeric column 'z' must be a Vector column",
        "VectorAssembler", "double");
    assertMentions(fitError(est().setNumericCol("nope"), good),
        "numeric column 'nope' does not exist");
  }

  /** Every encoding: small data takes 'ple' by default ('auto'), whose encoded column is hidden. */
  private static final String[] ENCODINGS = {"auto", "linear", "bucket", "ple"};

  @Test
  void aNumericVectorOfTheWrongSize() {
    Dataset<Row> d = rows(new Object[] {0, 1.0, Vectors.dense(1, 2), false},
        new Object[] {1, 0.0, Vectors.dense(1, 2), false},
        new Object[] {2, 0.0, Vectors.dense(1, 2, 3), false});
    for (String enc : ENCODINGS) {
      assertMentions(fitError(est().setNumericEncoding(enc), d),
          "numeric column 'z' has a vector of size 3", "1 row of a size other than 2", "first row");
      assertMentions(fitError(est().setNumericEncoding(enc), d.limit(0)), "the training data is empty");
    }
  }

  @Test
  void nanAndNullNumericFeatures() {
    Dataset<Row> nan = rows(new Object[] {0, 1.0, Vectors.dense(1, 2), false},
        new Object[] {1, 0.0, Vectors.dense(1, Double.NaN), false});
    Dataset<Row> inf = rows(new Object[] {0, 1.0, Vectors.dense(1, 2), false},
        new Object[] {1, 0.0, Vectors.dense(Double.NEGATIVE_INFINITY, 2), false});
    Dataset<Row> nul = rows(new Object[] {0, 1.0, Vectors.dense(1, 2), false},
        new Object[] {1, 0.0, null, false});
    Dataset<Row> allNull = rows(new Object[] {0, 1.0, null, false});
    for (String enc : ENCODINGS) {
      assertMentions(fitError(est().setNumericEncoding(enc), nan),
          "numeric column 'z' has the value NaN at feature 1", "finite");
      assertMentions(fitError(est().setNumericEncoding(enc), inf),
          "numeric column 'z' has the value -Infinity at feature 0");
      assertMentions(fitError(est().setNumericEncoding(enc), nul),
          "numeric column 'z' has 1 null vector");
      assertMentions(fitError(est().setNumericEncoding(enc), allNull),
          "numeric column 'z' has only null vectors");
    }
  }

  @Test
  void transformChecksTheNumericColumnToo() {
    for (String enc : ENCODINGS) {
      transformChecksTheNumericColumn(est().setNumericEncoding(enc));
    }
  }

  private void transformChecksTheNumericColumn(MultiEmbedding est) {
    MultiEmbeddingModel m = est.setPredictionCol("p").fit(good);
    Dataset<Row> nan = rows(new Object[] {0, 1.0, Vectors.dense(1, Double.NaN), false});
    assertMentions(messages(assertThrows(Exception.class, () -> m.transform(nan).collect())),
        "numeric column 'z' has the value NaN at feature 1");
    Dataset<Row> wide = rows(new Object[] {0, 1.0, Vectors.dense(1, 2, 3), false});
    assertMentions(messages(assertThrows(Exception.class, () -> m.transform(wide).collect())),
        "numeric column 'z' has a vector of size 3",
        "fit with 2 numeric features");
    assertMentions(assertThrows(IllegalArgumentException.class,
        () -> m.copy(new org.apache.spark.ml.param.ParamMap()).setNumericCol("")
            .transform(good)).getMessage(), "reads 2 numeric features", "numericCol");
    // the embeddings alone need no numeric column
    assertEquals(40, m.copy(new org.apache.spark.ml.param.ParamMap()).setNumericCol("")
        .setPredictionCol("").transform(good.drop("z")).count());
  }

  @Test
  void aValidationSplitThatLeavesNoValidationRows() {
    Dataset<Row> none = good.withColumn("holdout", functions.lit(false));
    assertMentions(fitError(est().setValidationIndicatorCol("holdout"), none),
        "validationIndicatorCol 'holdout' leaves no validation rows (of 40 rows)");
    assertMentions(fitError(est().setValidationFraction(1e-9), good),
        "validationFraction 1.0E-9 leaves no validation rows (of 40 rows)");
    Dataset<Row> all = good.withColumn("holdout", functions.lit(true));
    assertMentions(fitError(est().setValidationIndicatorCol("holdout"), all),
        "validationIndicatorCol 'holdout' leaves no training rows (of 40 rows)");
  }

  @Test
  void badValidationIndicators() {
    assertMentions(fitError(est().setValidationIndicatorCol("label"), good),
        "validationIndicatorCol 'label' must be boolean", "double");
    assertMentions(fitError(est().setValidationIndicatorCol("nope"), good),
        "validationIndicatorCol 'nope' does not exist");
    Dataset<Row> nul = rows(new Object[] {0, 1.0, Vectors.dense(1, 2), true},
        new Object[] {1, 0.0, Vectors.dense(1, 2), null});
    assertMentions(fitError(est().setValidationIndicatorCol("holdout"), nul),
        "validationIndicatorCol 'holdout' has 1 null value");
    assertMentions(fitError(est().setValidationIndicatorCol("holdout")
        .setValidationFraction(0.2), good), "are both set");
    assertThrows(IllegalArgumentException.class, () -> est().setValidationFraction(1.0));
    assertThrows(IllegalArgumentException.class, () -> est().setPatience(0));
    IllegalArgumentException tol = assertThrows(IllegalArgumentException.class,
        () -> est().setTol(-1e-3));
    assertMentions(tol.getMessage(), "tol given invalid value");
  }

  @Test
  void probabilitiesNeedTheLogisticLoss() {
    assertMentions(fitError(est().setLoss("squared").setProbabilityCol("prob"), good),
        "probabilityCol ('prob') needs the logistic loss");
  }
}
