package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The params shared by the estimator and the model: the model carries the training params it was
 * fit with, Spark's reflection sees each param once, and a model saved before the model carried
 * them (its metadata holds only the transform params) still loads.
 */
class StageParamsTest {
  /** The params a model's metadata held before the model carried the training params. */
  private static final Set<String> OLD_MODEL_PARAMS = Set.of("inputCols", "outputCol",
      "outputCols", "predictionCol", "handleInvalid", "withFirstOrder", "numericCol",
      "probabilityCol");

  private static SparkSession spark;
  private static Dataset<Row> data;

  @TempDir
  Path tmp;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    data = SparkTestSession.synthetic(spark, 1000, 3)
        .withColumn("id", functions.monotonically_increasing_id()).cache();
  }

  private static MultiEmbedding stage() {
    return new MultiEmbedding().setInputCols("a", "b", "c").setOutputCol("emb")
        .setPredictionCol("p").setEmbeddingDim(3).setMaxIter(2).setStepSize(0.2)
        .setHead("linear").setBatchSize(64).setSeed(9).setNumWorkers(2);
  }

  private static Set<String> names(Param<?>[] params) {
    Set<String> out = new TreeSet<>();
    for (Param<?> p : params) {
      assertTrue(out.add(p.name()), "param " + p.name() + " is listed twice");
    }
    return out;
  }

  @Test
  void everyParamIsSeenOnceAndTheModelSharesAllButTheTwoTableParams() {
    MultiEmbedding est = stage();
    MultiEmbeddingModel model = new MultiEmbeddingModel(est.uid());
    Set<String> estimator = names(est.params());
    Set<String> shared = names(model.params());
    Set<String> estimatorOnly = new TreeSet<>(estimator);
    estimatorOnly.removeAll(shared);
    assertEquals(Set.of("numCategories", "embeddingDims"), estimatorOnly);
    assertTrue(estimator.containsAll(shared));
    // every param ParamDefs defines is found by Spark's reflection on the estimator
    Set<String> defined = new TreeSet<>();
    for (Method m : ParamDefs.class.getDeclaredMethods()) {
      if (Modifier.isStatic(m.getModifiers()) && Param.class.isAssignableFrom(m.getReturnType())) {
        defined.add(m.getName());
      }
    }
    assertEquals(defined, estimator);
    String explained = est.explainParams();
    for (String name : estimator) {
      assertTrue(explained.contains(name + ":"), name + " is not explained: " + explained);
    }
    for (String name : shared) {
      // one definition: the same doc on both
      assertEquals(est.getParam(name).doc(), model.getParam(name).doc(), name);
      assertEquals(est.hasDefault(est.getParam(name)), model.hasDefault(model.getParam(name)),
          name);
    }
  }

  @Test
  void theModelCarriesTheTrainingParamsThroughCopySaveAndLoad() throws IOException {
    MultiEmbedding est = stage();
    MultiEmbeddingModel model = est.fit(data);
    assertEquals(2, model.getMaxIter());
    assertEquals(2, model.getOrDefault(model.getParam("maxIter")));
    assertEquals(0.2, model.getStepSize());
    assertEquals("linear", model.getHead());
    assertEquals(64, model.getBatchSize());
    assertEquals(9L, model.getSeed());
    assertTrue(model.isSet(model.maxIter()));
    // a default that fit did not set stays a default on the model
    assertFalse(model.isSet(model.regParam()));
    assertEquals(est.getRegParam(), model.getRegParam());

    MultiEmbeddingModel copy = model.copy(new ParamMap().put(model.outputCol().w("other")));
    assertEquals("other", copy.getOutputCol());
    assertEquals(2, copy.getMaxIter());

    String path = tmp.resolve("model").toString();
    model.write().save(path);
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);
    for (Param<?> p : model.params()) {
      assertEquals(model.isSet(p), loaded.isSet(loaded.getParam(p.name())), p.name());
      if (model.isDefined(p)) {
        @SuppressWarnings("unchecked")
        Param<Object> param = (Param<Object>) p;
        assertEquals(param.jsonEncode(model.getOrDefault(param)),
            param.jsonEncode(loaded.getOrDefault(loaded.getParam(p.name()))), p.name());
      }
    }
  }

  @Test
  void aModelSavedWithOnlyTheTransformParamsStillLoads() throws IOException {
    MultiEmbeddingModel model = stage().setHandleInvalid("keep").fit(data);
    String path = tmp.resolve("old").toString();
    model.write().save(path);
    rewriteMetadataAsBeforeTheSharedParams(Path.of(path, "metadata"));

    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);
    assertEquals(model.uid(), loaded.uid());
    assertArrayEquals(model.getInputCols(), loaded.getInputCols());
    assertEquals("keep", loaded.getHandleInvalid());
    assertEquals("p", loaded.getPredictionCol());
    // the training params were not saved: they read as the defaults
    assertFalse(loaded.isSet(loaded.maxIter()));
    assertEquals(new MultiEmbedding().getMaxIter(), loaded.getMaxIter());
    for (int f = 0; f < 3; f++) {
      assertArrayEquals(model.getTable(f), loaded.getTable(f));
    }
    List<Row> a = model.transform(data).select("id", "emb", "p").orderBy("id").collectAsList();
    List<Row> b = loaded.transform(data).select("id", "emb", "p").orderBy("id").collectAsList();
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(((Vector) a.get(i).get(1)).toArray(), ((Vector) b.get(i).get(1)).toArray());
      assertEquals(a.get(i).getDouble(2), b.get(i).getDouble(2));
    }
  }

  /**
   * Drops from the params metadata every param the model did not have before it shared the
   * estimator's (paramMap and defaultParamMap), as the earlier writer left it.
   */
  private static void rewriteMetadataAsBeforeTheSharedParams(Path metadata) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<Path> parts;
    try (Stream<Path> s = Files.list(metadata)) {
      parts = s.filter(p -> p.getFileName().toString().startsWith("part-")).toList();
    }
    assertEquals(1, parts.size(), "one metadata file: " + parts);
    Path part = parts.get(0);
    ObjectNode meta = (ObjectNode) json.readTree(Files.readString(part).trim());
    int dropped = 0;
    for (String map : List.of("paramMap", "defaultParamMap")) {
      ObjectNode m = (ObjectNode) meta.get(map);
      for (Iterator<String> it = m.fieldNames(); it.hasNext(); ) {
        if (!OLD_MODEL_PARAMS.contains(it.next())) {
          it.remove();
          dropped++;
        }
      }
    }
    assertTrue(dropped > 0, "the metadata held training params to drop");
    Files.writeString(part, json.writeValueAsString(meta) + "\n");
    // the checksum files no longer match: Hadoop's local file system would refuse the part
    try (Stream<Path> s = Files.list(metadata)) {
      for (Path crc : s.filter(p -> p.getFileName().toString().endsWith(".crc")).toList()) {
        Files.delete(crc);
      }
    }
    assertFalse(Arrays.stream(metadata.toFile().list()).anyMatch(n -> n.endsWith(".crc")));
  }
}
