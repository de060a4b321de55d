package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Save and load of the stages alone, in a Pipeline with StringIndexer, and under CrossValidator. */
class PersistenceAndPipelineTest {
  private static SparkSession spark;
  private static Dataset<Row> data;

  @TempDir
  Path tmp;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    data = SparkTestSession.synthetic(spark, 3000, 11)
        .withColumn("id", functions.monotonically_increasing_id()).cache();
  }

  private static MultiEmbedding stage() {
    return new MultiEmbedding().setInputCols("a", "b", "c").setOutputCol("emb")
        .setOutputCols("a_vec", "b_vec", "c_vec").setPredictionCol("p").setEmbeddingDim(3)
        .setMaxIter(2).setSeed(5);
  }

  @Test
  void fitSaveLoadTransformGivesIdenticalVectors() throws Exception {
    MultiEmbeddingModel model = stage().setHandleInvalid("keep").setWithFirstOrder(true).fit(data);
    String path = tmp.resolve("model").toString();
    model.write().save(path);
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);

    assertEquals(model.uid(), loaded.uid());
    assertArrayEquals(model.getInputCols(), loaded.getInputCols());
    assertEquals("keep", loaded.getHandleInvalid());
    assertTrue(loaded.getWithFirstOrder());
    assertArrayEquals(model.tableSizes(), loaded.tableSizes());
    assertEquals(model.modelSpec(), loaded.modelSpec());
    for (int f = 0; f < 3; f++) {
      assertArrayEquals(model.getTable(f), loaded.getTable(f));
      assertArrayEquals(model.getFirstOrderWeights(f), loaded.getFirstOrderWeights(f));
    }
    assertArrayEquals(model.getHeadWeights(), loaded.getHeadWeights());
    assertTrue(model.hasSummary());
    assertFalse(loaded.hasSummary());

    String[] out = {"id", "emb", "a_vec", "b_vec", "c_vec", "p"};
    List<Row> a = model.transform(data).select(out[0], out[1], out[2], out[3], out[4], out[5])
        .orderBy("id").collectAsList();
    List<Row> b = loaded.transform(data).select(out[0], out[1], out[2], out[3], out[4], out[5])
        .orderBy("id").collectAsList();
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      for (int c = 1; c <= 4; c++) {
        assertArrayEquals(((Vector) a.get(i).get(c)).toArray(), ((Vector) b.get(i).get(c)).toArray());
      }
      assertEquals(a.get(i).getDouble(5), b.get(i).getDouble(5));
    }
    // each field's slice is [first-order weight, embedding]; the per-field vectors are those slices
    Row r = a.get(0);
    double[] emb = ((Vector) r.get(1)).toArray();
    assertEquals(12, emb.length);
    double[] aVec = ((Vector) r.get(2)).toArray();
    assertArrayEquals(java.util.Arrays.copyOfRange(emb, 0, 4), aVec);

    // overwrite works, a plain save onto an existing path does not
    model.write().overwrite().save(path);
    assertThrows(java.io.IOException.class, () -> model.write().save(path));
  }

  @Test
  void anFwfmModelKeepsItsPairWeightsThroughSaveAndLoad() throws Exception {
    MultiEmbeddingModel model = stage().setHead("fwfm").fit(data);
    io.fastembedding.model.ModelSpec spec = model.modelSpec();
    assertEquals(io.fastembedding.model.HeadType.FWFM, spec.head());
    // three fields, no numeric feature: pairs (a, b), (a, c), (b, c), each initialised to 1
    assertEquals(3, spec.fwfmPairs());
    float[] head = model.getHeadWeights();
    assertEquals(spec.fwfmPairOffset() + 3, head.length);
    for (int p = 0; p < 3; p++) {
      assertTrue(head[spec.fwfmPairOffset() + p] != 1f, "pair weight " + p + " never moved from 1");
    }
    String path = tmp.resolve("fwfm").toString();
    model.write().save(path);
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);
    assertEquals(spec, loaded.modelSpec());
    assertArrayEquals(head, loaded.getHeadWeights());
    List<Row> a = model.transform(data).select("id", "p").orderBy("id").collectAsList();
    List<Row> b = loaded.transform(data).select("id", "p").orderBy("id").collectAsList();
    assertEquals(a, b);
  }

  @Test
  void estimatorParamsSurviveSaveAndLoad() throws Exception {
    MultiEmbedding est = stage().setHead("mlp").setHiddenLayers(7, 3).setEmbeddingDims(2, 3, 4)
        .setNumCategories(20, 10, 5).setDevice("cpu").setDeterministic(true).setStepSize(0.2)
        .setTol(2e-3);
    String path = tmp.resolve("est").toString();
    est.write().save(path);
    MultiEmbedding loaded = MultiEmbedding.load(path);
    assertEquals(est.uid(), loaded.uid());
    assertEquals("mlp", loaded.getHead());
    assertArrayEquals(new int[] {7, 3}, loaded.getHiddenLayers());
    assertArrayEquals(new int[] {2, 3, 4}, loaded.getEmbeddingDims());
    assertArrayEquals(new int[] {20, 10, 5}, loaded.getNumCategories());
    assertEquals("cpu", loaded.getDevice());
    assertTrue(loaded.getDeterministic());
    assertEquals(0.2, loaded.getStepSize());
    assertEquals(2e-3, loaded.getTol());
    for (var p : est.params()) {
      assertEquals(est.isSet(p), loaded.isSet(p), p.name());
      if (est.isDefined(p)) {
        @SuppressWarnings("unchecked")
        var param = (org.apache.spark.ml.param.Param<Object>) p;
        assertEquals(param.jsonEncode(est.getOrDefault(param)),
            param.jsonEncode(loaded.getOrDefault(loaded.getParam(p.name()))), p.name());
      }
    }
  }

  @Test
  void pipelineWithStringIndexerFitsSavesLoadsAndScoresTheSame() throws Exception {
    Dataset<Row> strings = data.select(
        functions.concat(functions.lit("job-"), functions.col("a").cast("string")).as("job"),
        functions.concat(functions.lit("city-"), functions.col("b").cast("string")).as("city"),
        functions.col("c").cast("double").as("amount"), functions.col("label"),
        functions.col("id"));
    String[] cats = {"job", "city"};
    String[] idx = {"job_idx", "city_idx"};
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new StringIndexer().setInputCols(cats).setOutputCols(idx).setHandleInvalid("keep"),
        new MultiEmbedding().setInputCols(idx).setLabelCol("label").setEmbeddingDim(4)
            .setOutputCol("emb").setMaxIter(3),
        new VectorAssembler().setInputCols(new String[] {"emb", "amount"}).setOutputCol("features"),
        new LogisticRegression()});
    PipelineModel model = pipeline.fit(strings);
    MultiEmbeddingModel emb = (MultiEmbeddingModel) model.stages()[1];
    // sizes from StringIndexer's metadata: its labels plus its own "__unknown" slot
    assertArrayEquals(new int[] {21, 11}, emb.numCategories());

    String path = tmp.resolve("pipeline").toString();
    model.write().overwrite().save(path);
    PipelineModel loaded = PipelineModel.load(path);
    List<Row> a = model.transform(strings).select("id", "probability").orderBy("id").collectAsList();
    List<Row> b = loaded.transform(strings).select("id", "probability").orderBy("id")
        .collectAsList();
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(((Vector) a.get(i).get(1)).toArray(), ((Vector) b.get(i).get(1)).toArray());
    }
    double auc = new BinaryClassificationEvaluator().evaluate(loaded.transform(strings));
    assertTrue(auc > 0.7, "the pipeline should have learned the synthetic signal, AUC " + auc);

    // a category the indexer never saw maps to its unknown slot, scored without error
    StructType schema = new StructType().add("job", DataTypes.StringType).add("city",
        DataTypes.StringType).add("amount", DataTypes.DoubleType);
    Dataset<Row> unseen = spark.createDataFrame(List.of(RowFactory.create("job-new", "city-3", 1.0)),
        schema);
    assertEquals(1, loaded.transform(unseen).count());
  }

  @Test
  void crossValidatorTunesTheStageAndSavesItsModel() throws Exception {
    MultiEmbedding me = new MultiEmbedding().setInputCols("a", "b", "c").setOutputCol("emb")
        .setMaxIter(2);
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {me,
        new VectorAssembler().setInputCols(new String[] {"emb"}).setOutputCol("features"),
        new LogisticRegression().setMaxIter(20)});
    ParamMap[] grid = new ParamGridBuilder().addGrid(me.embeddingDim(), new int[] {2, 4}).build();
    CrossValidator cv = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
        .setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2).setSeed(1);
    CrossValidatorModel cvModel = cv.fit(data);
    assertEquals(2, cvModel.avgMetrics().length);
    for (double m : cvModel.avgMetrics()) {
      assertTrue(m > 0.6, "fold AUC " + m);
    }
    String path = tmp.resolve("cv").toString();
    cvModel.write().save(path);
    CrossValidatorModel loaded = CrossValidatorModel.load(path);
    PipelineModel best = (PipelineModel) loaded.bestModel();
    MultiEmbeddingModel bestEmb = (MultiEmbeddingModel) best.stages()[0];
    int bestDim = bestEmb.embeddingDims()[0];
    assertTrue(bestDim == 2 || bestDim == 4);
    assertEquals(cvModel.transform(data).count(), loaded.transform(data).count());
  }

  @Test
  void aModelOfAnUnknownLayoutVersionFailsToLoadClearly() throws Exception {
    MultiEmbeddingModel model = stage().setMaxIter(1).fit(data);
    String path = tmp.resolve("versioned").toString();
    model.write().save(path);
    Dataset<Row> spec = spark.read().parquet(path + "/data/spec");
    List<Row> rows = new ArrayList<>(spec.collectAsList());
    Object[] values = new Object[rows.get(0).length()];
    for (int i = 0; i < values.length; i++) {
      values[i] = rows.get(0).get(i);
    }
    values[0] = 99;
    spark.createDataFrame(List.of(RowFactory.create(values)), spec.schema()).write()
        .mode(SaveMode.Overwrite).parquet(path + "/data/spec2");
    Path dir = Path.of(path, "data");
    deleteTree(dir.resolve("spec"));
    Files.move(dir.resolve("spec2"), dir.resolve("spec"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MultiEmbeddingModel.load(path));
    assertTrue(e.getMessage().contains("layout version 99"), e.getMessage());
    assertTrue(e.getMessage().contains("reads layout versions 1 to 4"), e.getMessage());

    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> MultiEmbeddingModel.load(tmp.resolve("nothing-here").toString()));
    assertTrue(missing.getMessage().contains("no MultiEmbeddingModel"), missing.getMessage());
  }

  @Test
  void getVectorsListsEveryRowOfATable() {
    MultiEmbeddingModel model = stage().setMaxIter(1).setHandleInvalid("keep").fit(data);
    List<Row> rows = model.getVectors("b").orderBy("index").collectAsList();
    // 10 categories + the reserved row
    assertEquals(11, rows.size());
    float[] t = model.getTable(1);
    for (Row r : rows) {
      int x = r.getInt(0);
      double[] v = ((Vector) r.get(1)).toArray();
      for (int k = 0; k < 3; k++) {
        assertEquals(t[x * 3 + k], (float) v[k]);
      }
    }
    assertThrows(IllegalArgumentException.class, () -> model.getVectors("nope"));
  }

  private static void deleteTree(Path p) throws java.io.IOException {
    try (var s = Files.walk(p)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
    }
  }
}
