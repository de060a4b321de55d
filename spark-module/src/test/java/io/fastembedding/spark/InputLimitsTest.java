package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.cachedRddIds;
import static io.fastembedding.spark.FitFailures.fitError;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Inputs at the limits that used to pass the driver and fail late, or fail with a bare exception:
 * each now fails on the driver naming the column or param, or (skip) trains as documented.
 */
class InputLimitsTest {
  private static SparkSession spark;
  private static java.util.Set<Integer> cachedBefore;

  private static final StructType DOUBLES = new StructType()
      .add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
      .add("label", DataTypes.DoubleType).add("w", DataTypes.DoubleType);

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    cachedBefore = cachedRddIds(spark);
  }

  @AfterEach
  void nothingLeftBehind() {
    assertEquals(cachedBefore, cachedRddIds(spark), "a failed fit must unpersist its blocks");
  }

  /** Early stopping off: these tests count the rows that train, none held out for validation. */
  private static MultiEmbedding est() {
    return new MultiEmbedding().setInputCols("a", "b").setMaxIter(1).setEmbeddingDim(2)
        .setEarlyStopping("off");
  }

  /** 40 good rows, then the given ones. */
  private static Dataset<Row> rows(Object[]... extra) {
    List<Row> rs = new ArrayList<>();
    for (int r = 0; r < 40; r++) {
      rs.add(RowFactory.create((double) (r % 4), (double) (r % 3), (double) (r % 2), 1.0));
    }
    for (Object[] v : extra) {
      rs.add(RowFactory.create(v));
    }
    return spark.createDataFrame(rs, DOUBLES);
  }

  @Test
  void labelOrWeightBeyondFloatRangeIsNamedOnTheDriver() {
    // 1e39 is a finite double but infinite as a float, which training uses
    String label = fitError(est().setLoss("squared"), rows(new Object[] {1.0, 1.0, 1e39, 1.0}));
    assertMentions(label, "label column 'label' has the value 1.0E39 (1 such row)",
        "within float range");
    String weight = fitError(est().setWeightCol("w"), rows(new Object[] {1.0, 1.0, 1.0, -1e39},
        new Object[] {1.0, 1.0, 1.0, 1e39}));
    assertMentions(weight, "weight column 'w' has the value -1.0E39 (2 such rows)",
        "within float range");
  }

  @Test
  void skipDropsRowsWithNullLabelsLikeRowsWithInvalidIndices() {
    // the null labels sit only on rows that skip drops for a negative index
    Dataset<Row> d = rows(new Object[] {-1.0, 1.0, null, 1.0}, new Object[] {2.0, -5.0, null, 1.0},
        new Object[] {null, 0.0, null, 1.0});
    MultiEmbeddingModel m = est().setHandleInvalid("skip").fit(d);
    assertEquals(40, m.summary().rounds().get(0).rows(), "the 40 good rows trained");
    // a null label on a row skip keeps is still an error, and error mode names the index first
    assertMentions(fitError(est().setHandleInvalid("skip"), rows(new Object[] {1.0, 1.0, null,
        1.0})), "label column 'label' has 1 null value", "rows that 'skip' drops");
    assertMentions(fitError(est(), d), "input column 'a'");
  }

  @Test
  void allWeightsZeroIsAnError() {
    List<Row> rs = new ArrayList<>();
    for (int r = 0; r < 10; r++) {
      rs.add(RowFactory.create((double) (r % 4), (double) (r % 3), (double) (r % 2), 0.0));
    }
    assertMentions(fitError(est().setWeightCol("w"), spark.createDataFrame(rs, DOUBLES)),
        "weight column 'w' is 0 on every training row (10 rows)", "nothing to learn");
  }

  @Test
  void tableSizeBeyondIntWithKeepNamesTheColumn() {
    String m = fitError(est().setHandleInvalid("keep").setNumCategories(Integer.MAX_VALUE, 3),
        rows());
    assertMentions(m, "input column 'a' has 2147483647 categories (from the numCategories param)",
        "'keep' adds a reserved row: 2147483648 rows", "more than a table can hold");
  }

  @Test
  void mlpHeadBeyondAnArrayNamesHiddenLayers() {
    String m = fitError(est().setHead("mlp").setHiddenLayers(50_000, 50_000), rows());
    assertMentions(m, "the mlp head needs 2500350001", "hiddenLayers [50000, 50000]",
        "use smaller hidden layers");
  }
}
