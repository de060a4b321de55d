package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.optim.OptimizerType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * The stage trains with row-wise Adam end to end: the optimizer param takes it, each round's per-row
 * state (momentum, second moment, step count) goes through the shard pieces and the merge, and the
 * fit learns a label the first column decides (the progressive loss of the last round well under the
 * first's, which starts near log 2 with initStd 0.01).
 */
class RowwiseAdamFitTest {
  @Test
  void fitsWithRowwiseAdamAcrossPartitions() {
    SparkSession spark = SparkTestSession.get();
    StructType schema = new StructType().add("a", DataTypes.IntegerType)
        .add("b", DataTypes.IntegerType).add("label", DataTypes.DoubleType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      int a = i % 8;
      rows.add(RowFactory.create(a, (i / 8) % 5, a < 4 ? 1.0 : 0.0));
    }
    Dataset<Row> data = spark.createDataFrame(rows, schema).repartition(2);
    MultiEmbedding e = new MultiEmbedding().setInputCols("a", "b").setNumCategories(8, 5)
        .setEmbeddingDim(4).setHead("linear").setOptimizer("ROWWISE_ADAM").setStepSize(0.05)
        .setMaxIter(6).setBatchSize(16).setNumWorkers(2).setInitStd(0.01);
    assertEquals(OptimizerType.ROWWISE_ADAM.id(), e.getOptimizer());
    MultiEmbeddingModel m = e.fit(data);
    double[] loss = m.summary().lossHistory();
    assertEquals(6, loss.length);
    assertTrue(loss[5] < 0.5 * loss[0], "loss history " + Arrays.toString(loss));
  }
}
