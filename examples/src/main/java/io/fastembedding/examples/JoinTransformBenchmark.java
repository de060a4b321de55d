package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import java.util.Map;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The join transform of a sharded model on Criteo-shaped rows (docs/benchmarks.md): {@code fit}
 * trains a sharded model and saves it; {@code transform} loads it as shards and times the join
 * transform (with the AUC of its predictions, which forces every row) on cached test rows, a few
 * times. Only the stage's public API is used, so one build of this class runs against two builds
 * of the stage (before and after a change to the transform) on the same saved model.
 */
public final class JoinTransformBenchmark {
  private static final String USAGE = """
      JoinTransformBenchmark --mode fit|transform --path DIR [--scale 0.1] [--rows 300000]
                             [--test-rows 50000] [--repeats 2] [--local-master local[2]]""";

  private JoinTransformBenchmark() {}

  public static void main(String[] argv) throws java.io.IOException {
    Map<String, String> a = JobSupport.args(argv, Map.of("mode", "transform", "path", "",
        "scale", "0.1", "rows", "300000", "test-rows", "50000", "repeats", "2",
        "local-master", "local[2]"), USAGE);
    SparkSession spark = JobSupport.session("fast-embedding join transform benchmark",
        a.get("local-master"));
    try {
      double scale = Double.parseDouble(a.get("scale"));
      String path = a.get("path");
      if ("fit".equals(a.get("mode"))) {
        Dataset<Row> train = CriteoShaped.generate(spark, Long.parseLong(a.get("rows")), 2, 1,
            scale);
        MultiEmbeddingModel m = new MultiEmbedding().setInputCols(CriteoShaped.fields())
            .setNumCategories(CriteoShaped.cardinalities(scale)).setNumericCol("num")
            .setEmbeddingDim(16).setMaxIter(1).setEarlyStopping("off").setNumWorkers(2)
            .setTablePlacement("sharded").setSeed(7).fit(train);
        m.write().overwrite().save(path);
        System.out.println("saved a sharded model of " + scale + " x Criteo's cardinalities to "
            + path);
        return;
      }
      spark.conf().set("spark.fastembedding.load.tablePlacement", "sharded");
      MultiEmbeddingModel m = MultiEmbeddingModel.load(path);
      m.setTablePlacement("sharded").setPredictionCol("p");
      Dataset<Row> test = CriteoShaped.generate(spark, Long.parseLong(a.get("test-rows")), 2, 2,
          scale).cache();
      test.count();
      for (int r = 0; r < Integer.parseInt(a.get("repeats")); r++) {
        long t0 = System.nanoTime();
        double auc = new BinaryClassificationEvaluator().setRawPredictionCol("p")
            .evaluate(m.transform(test));
        System.out.println(fmt("join transform of %s test rows + AUC: %.1f s (AUC %.6f)",
            a.get("test-rows"), seconds(t0), auc));
      }
    } finally {
      spark.stop();
    }
  }
}
