package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fastembedding.model.ModelState;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * The whole round trip of a round (blocks, training tasks, shard pieces, the keyed reduce, the
 * driver's update) with a backend whose effect is countable, against a hand computation: a row gets
 * the mean over the partitions that touched it of (its value there), a row touched by one partition
 * is not diluted, an untouched row keeps its value, and the head is the mean over partitions.
 */
class MergeInSparkTest {
  @Test
  void oneRoundMatchesTheHandComputation() {
    SparkSession spark = SparkTestSession.get();
    StructType schema = new StructType().add("a", DataTypes.IntegerType)
        .add("b", DataTypes.IntegerType).add("label", DataTypes.DoubleType);
    // partition 0: a=0 three times, a=1 once; partition 1: a=1 three times, a=2 (rare) once;
    // a=3 never. b=0: twice in each; b=1: twice in each.
    List<Row> p0 = List.of(RowFactory.create(0, 0, 1.0), RowFactory.create(0, 1, 0.0),
        RowFactory.create(0, 0, 1.0), RowFactory.create(1, 1, 0.0));
    List<Row> p1 = List.of(RowFactory.create(1, 0, 1.0), RowFactory.create(1, 1, 0.0),
        RowFactory.create(2, 1, 1.0), RowFactory.create(1, 0, 0.0));
    List<Row> all = new ArrayList<>(p0);
    all.addAll(p1);
    // parallelize cuts the 8 rows into [0, 4) and [4, 8): exactly p0 and p1
    var rdd = new org.apache.spark.api.java.JavaSparkContext(spark.sparkContext())
        .parallelize(all, 2);
    Dataset<Row> data = spark.createDataFrame(rdd, schema);
    assertEquals(List.of(p0, p1), rdd.glom().collect());

    MultiEmbeddingModel m = new MultiEmbedding().setInputCols("a", "b").setNumCategories(4, 2)
        .setEmbeddingDim(2).setHead("linear").setOptimizer("sgd").setMaxIter(1)
        .setBatchSize(2).setNumWorkers(2)
        .setBackendFactory((spec, options, choice) -> new FakeBackend(spec)).fit(data);

    ModelState base = ModelState.initial(m.modelSpec());
    float[] a = m.getTable(0);
    float[] b = m.getTable(1);
    // field a: row 0 only in p0 (3 occurrences): +3, not diluted to 1.5
    assertRow(base, 0, 0, a, 3f);
    // row 1: p0 once, p1 three times: mean of +1 and +3
    assertRow(base, 0, 1, a, 2f);
    // row 2: only p1, once: +1 whole
    assertRow(base, 0, 2, a, 1f);
    // row 3: nobody: unchanged
    assertRow(base, 0, 3, a, 0f);
    // field b: each row twice in each partition
    assertRow(base, 1, 0, b, 2f);
    assertRow(base, 1, 1, b, 2f);
    // head[0]: each partition ran 2 steps of 2 rows: mean +2
    assertEquals(base.head[0] + 2f, m.getHeadWeights()[0], 1e-6);
    assertEquals(2, m.summary().rounds().get(0).tasks().size());
  }

  private static void assertRow(ModelState base, int field, int row, float[] table, float delta) {
    float[] before = base.row(field, row);
    for (int k = 0; k < before.length; k++) {
      assertEquals(before[k] + delta, table[row * before.length + k], 1e-6,
          "field " + field + " row " + row);
    }
  }
}
