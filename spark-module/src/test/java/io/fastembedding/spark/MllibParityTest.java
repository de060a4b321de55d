package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** Details where MLlib's own stages set the expectation: labelled vectors, readable params. */
class MllibParityTest {
  private static Dataset<Row> colours(SparkSession spark) {
    String[] values = {"red", "green", "blue", "red", "red", "green", "violet", "blue", "red"};
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 180; i++) {
      String c = values[i % values.length];
      rows.add(RowFactory.create(c, i % 7, c.equals("red") ? 1.0 : (i % 3 == 0 ? 1.0 : 0.0)));
    }
    return spark.createDataFrame(rows, new StructType()
        .add("colour", DataTypes.StringType).add("n", DataTypes.IntegerType)
        .add("label", DataTypes.DoubleType));
  }

  @Test
  void getVectorsNamesTheCategoriesOfAnIndexedColumnAndKeepsThemThroughSaveAndLoad()
      throws Exception {
    SparkSession spark = SparkTestSession.get();
    StringIndexerModel indexer = new StringIndexer().setInputCol("colour")
        .setOutputCol("colour_idx").fit(colours(spark));
    Dataset<Row> indexed = indexer.transform(colours(spark));
    // colour_idx has StringIndexer's nominal metadata; n is a plain int column without any
    MultiEmbeddingModel model = new MultiEmbedding().setInputCols("colour_idx", "n")
        .setHandleInvalid("keep").setMaxIter(1).setSeed(3).fit(indexed);

    String[] expected = indexer.labelsArray()[0];
    checkLabels(model.getVectors("colour_idx"), expected);
    assertEquals(List.of("index", "vector"), List.of(model.getVectors("n").columns()),
        "a column without nominal metadata has no label column");

    String path = Files.createTempDirectory("labels").resolve("m").toString();
    model.write().overwrite().save(path);
    MultiEmbeddingModel loaded = MultiEmbeddingModel.load(path);
    checkLabels(loaded.getVectors("colour_idx"), expected);
    checkLabels(loaded.copy(new org.apache.spark.ml.param.ParamMap()).getVectors("colour_idx"),
        expected);
  }

  private static void checkLabels(Dataset<Row> vectors, String[] expected) {
    assertEquals(List.of("index", "vector", "label"), List.of(vectors.columns()));
    List<Row> rows = vectors.orderBy("index").collectAsList();
    // the categories, then the reserved row of handleInvalid = keep
    assertEquals(expected.length + 1, rows.size());
    String[] got = new String[expected.length];
    for (int i = 0; i < expected.length; i++) {
      assertEquals(i, rows.get(i).getInt(0));
      got[i] = rows.get(i).getString(2);
    }
    assertArrayEquals(expected, got);
    assertNull(rows.get(expected.length).get(2), "the reserved row names no category");
  }

  @Test
  void explainParamsWritesArraysOut() {
    MultiEmbedding est = new MultiEmbedding().setInputCols("a", "b").setHiddenLayers(16, 8);
    String text = est.explainParams();
    assertFalse(text.contains("[I@") || text.contains("[Ljava"), text);
    assertTrue(text.contains("hiddenLayers: ") && text.contains("(default: [64,32], current: [16,8])"),
        text);
    assertTrue(text.contains("inputCols: ") && text.contains("current: [\"a\",\"b\"]"), text);
    // the other values as Spark writes them
    assertTrue(text.contains("maxIter: number of epochs over the data (>= 1) (default: 50)"), text);
    assertTrue(est.explainParam(est.weightCol()).startsWith("weightCol: "),
        est.explainParam(est.weightCol()));
  }
}
