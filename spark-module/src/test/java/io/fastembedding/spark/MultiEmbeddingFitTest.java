package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MultiEmbeddingFitTest {
  private static SparkSession spark;
  private static Dataset<Row> data;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSession.get();
    data = SparkTestSession.synthetic(spark, 4000, 7).cache();
  }

  @Test
  void fitLearnsAndTransformLooksUpTheTables() {
    MultiEmbeddingModel model = new MultiEmbedding().setInputCols("a", "b", "c")
        .setOutputCol("emb").setEmbeddingDim(4).setMaxIter(4).setSeed(3).fit(data);
    TrainingSummary s = model.summary();
    assertEquals(4, s.totalRounds());
    double[] loss = s.lossHistory();
    assertTrue(loss[3] < loss[0] - 0.02, "loss should fall: " + java.util.Arrays.toString(loss));
    assertEquals(2, s.rounds().get(0).tasks().size());
    assertArrayEquals(new int[] {20, 10, 5}, model.tableSizes());

    List<Row> rows = model.transform(data).select("a", "b", "c", "emb").limit(50).collectAsList();
    float[][] t = {model.getTable(0), model.getTable(1), model.getTable(2)};
    for (Row r : rows) {
      Vector v = r.getAs("emb");
      assertEquals(12, v.size());
      for (int f = 0; f < 3; f++) {
        int x = r.getInt(f);
        for (int k = 0; k < 4; k++) {
          assertEquals(t[f][x * 4 + k], (float) v.apply(f * 4 + k));
        }
      }
    }
  }
}
