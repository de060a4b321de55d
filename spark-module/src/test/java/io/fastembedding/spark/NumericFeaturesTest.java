package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Numeric features through the stage: a label that only a numeric feature explains is learned by
 * every head; fit's standardisation statistics are the data's; transform standardises a row as fit
 * did and runs the same head; the model saves and loads with them.
 */
class NumericFeaturesTest {
  private static SparkSession spark;
  private static Dataset<Row> data;
  private static double[][] numericValues;

  /**
   * Rows (a, b, label, z): a and b are categories with no bearing on the label; z = [x, noise] where
   * the label's log-odds are 3 * (x - 5000) / 1000, so only z[0] explains the label, and its raw
   * scale (mean 5000, std 1000) would swamp an unstandardised head.
   */
  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    SplittableRandom rnd = new SplittableRandom(11);
    int n = 3000;
    List<Row> rows = new ArrayList<>(n);
    numericValues = new double[n][];
    for (int r = 0; r < n; r++) {
      double x = 5000 + 1000 * gaussian(rnd);
      double noise = -20 + 0.5 * gaussian(rnd);
      double p = 1 / (1 + Math.exp(-3 * (x - 5000) / 1000));
      numericValues[r] = new double[] {x, noise};
      rows.add(RowFactory.create(rnd.nextInt(7), rnd.nextInt(5),
          rnd.nextDouble() < p ? 1.0 : 0.0, Vectors.dense(x, noise)));
    }
    StructType schema = new StructType().add("a", DataTypes.IntegerType)
        .add("b", DataTypes.IntegerType).add("label", DataTypes.DoubleType)
        .add("z", SQLDataTypes.VectorType());
    data = spark.createDataFrame(rows, schema).cache();
    data.count();
  }

  static double gaussian(SplittableRandom r) {
    return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  // 4 epochs of 3 000 rows are a dozen steps per worker: step 0.1 (the default's 0.03 is chosen
  // for fits of 50 epochs) so that every head gets there
  /** The values themselves reach the head ('linear'); NumericEncodingTest covers the encodings. */
  private static MultiEmbedding stage(String head) {
    return new MultiEmbedding().setInputCols("a", "b").setNumericCol("z").setHead(head)
        .setNumericEncoding("linear")
        .setHiddenLayers(8).setEmbeddingDim(2).setMaxIter(4).setStepSize(0.1).setSeed(5)
        .setOutputCol("emb")
        .setProbabilityCol("prob").setPredictionCol("p");
  }

  private static double auc(Dataset<Row> scored) {
    return new BinaryClassificationEvaluator().setRawPredictionCol("prob").evaluate(scored);
  }

  @ParameterizedTest
  @ValueSource(strings = {"fm", "fwfm", "linear", "mlp"})
  void aLabelThatOnlyANumericFeatureExplainsIsLearned(String head) {
    MultiEmbeddingModel with = stage(head).fit(data);
    double learned = auc(with.transform(data));
    // the same rows without the numeric column: the categories carry nothing
    MultiEmbeddingModel without = stage(head).setNumericCol("").fit(data);
    double blind = auc(without.setProbabilityCol("prob").transform(data));
    // the best possible AUC here, scoring by the true x, is about 0.90
    assertTrue(learned > 0.85, head + ": AUC with the numeric feature " + learned);
    assertTrue(blind < 0.6, head + ": AUC without it " + blind);
    assertEquals(2, with.modelSpec().numNumeric());
  }

  @Test
  void standardisationStatisticsAreTheTrainingData() {
    // every row trains (no validation rows held out): the statistics are of all of them
    MultiEmbeddingModel m = stage("fm").setMaxIter(1).setEarlyStopping("off").fit(data);
    int n = numericValues.length;
    for (int j = 0; j < 2; j++) {
      double mean = 0;
      for (double[] v : numericValues) {
        mean += v[j];
      }
      mean /= n;
      double ss = 0;
      for (double[] v : numericValues) {
        ss += (v[j] - mean) * (v[j] - mean);
      }
      double std = Math.sqrt(ss / (n - 1));
      assertEquals(mean, m.numericMean()[j], Math.abs(mean) * 1e-6, "mean of feature " + j);
      assertEquals(std, m.numericStd()[j], std * 1e-5, "std of feature " + j);
    }
    MultiEmbeddingModel raw = stage("fm").setMaxIter(1).setStandardization(false).fit(data);
    assertArrayEquals(new float[] {0f, 0f}, raw.numericMean());
    assertArrayEquals(new float[] {1f, 1f}, raw.numericStd());
  }

  @Test
  void transformStandardisesARowAsFitDidAndRunsTheHead() {
    MultiEmbeddingModel m = stage("linear").fit(data);
    float[] a = m.getHeadWeights();
    float[] ta = m.getTable(0);
    float[] tb = m.getTable(1);
    float[] mean = m.numericMean();
    float[] std = m.numericStd();
    for (Row r : m.transform(data).limit(40).collectAsList()) {
      int x = r.getAs("a");
      int y = r.getAs("b");
      Vector z = r.getAs("z");
      // linear head over h = [T_a[x] (2), T_b[y] (2), standardised z (2)], bias last
      double out = a[6];
      for (int k = 0; k < 2; k++) {
        out += a[k] * ta[x * 2 + k] + a[2 + k] * tb[y * 2 + k];
        out += a[4 + k] * ((z.apply(k) - mean[k]) / std[k]);
      }
      double p = 1 / (1 + Math.exp(-out));
      assertEquals(p, (double) r.getAs("p"), 1e-5);
      Vector prob = r.getAs("prob");
      assertEquals(2, prob.size());
      assertEquals(p, prob.apply(1), 1e-5);
      assertEquals(1 - p, prob.apply(0), 1e-5);
    }
  }

  @Test
  void aModelWithNumericFeaturesSavesAndLoads(@TempDir Path tmp) throws Exception {
    MultiEmbeddingModel m = stage("fm").setMaxIter(2).fit(data);
    String path = tmp.resolve("numeric").toString();
    m.write().save(path);
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);
    assertArrayEquals(m.numericMean(), loaded.numericMean());
    assertArrayEquals(m.numericStd(), loaded.numericStd());
    assertEquals("z", loaded.getNumericCol());
    List<Row> before = m.transform(data).select("p").limit(30).collectAsList();
    List<Row> after = loaded.transform(data).select("p").limit(30).collectAsList();
    assertEquals(before, after);
  }

  @Test
  void sparseNumericVectorsReadAsTheirDenseValues() {
    List<Row> rows = new ArrayList<>();
    for (Row r : data.collectAsList()) {
      // a zero in the sparse form, so that the gaps are read as zeros
      Vector v = (Vector) r.get(3);
      rows.add(RowFactory.create(r.get(0), r.get(1), r.get(2),
          Vectors.sparse(2, new int[] {0}, new double[] {v.apply(0)})));
    }
    Dataset<Row> sparse = spark.createDataFrame(rows, data.schema());
    Dataset<Row> dense = spark.createDataFrame(rows.stream().map(r -> RowFactory.create(r.get(0),
        r.get(1), r.get(2), ((Vector) r.get(3)).toDense())).toList(), data.schema());
    MultiEmbedding e = stage("fm").setMaxIter(1).setDeterministic(true).setNumWorkers(2);
    // local relations of the same rows split into the same two partitions (a repartition would
    // not: it sorts rows by their binary form first, which differs between sparse and dense)
    assertEquals(2, dense.rdd().getNumPartitions());
    MultiEmbeddingModel fromDense = e.fit(dense);
    MultiEmbeddingModel fromSparse = e.fit(sparse);
    assertEquals(0f, fromSparse.numericMean()[1]);
    assertArrayEquals(fromDense.numericMean(), fromSparse.numericMean());
    assertArrayEquals(fromDense.getHeadWeights(), fromSparse.getHeadWeights());
  }
}
