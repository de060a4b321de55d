package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import java.util.Map;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The MultiEmbedding fit of the flights benchmark (docs/benchmarks.md), timed alone, with every
 * param that differs between releases set explicitly (dim 8, 10 epochs, batch 1024, Adagrad 0.1,
 * no validation rows), so that two builds of the stage do the same work. Only public API is used,
 * and params a build may lack are set by name when it has them, so one build of this class runs
 * against an older build of the stage: docs/benchmarks.md compares the two, alternately.
 */
public final class FlightsFitTiming {
  private static final String USAGE = """
      FlightsFitTiming [--input examples/data/flights-3m.parquet] [--repeats 2]
                       [--local-master local[2]]""";

  private FlightsFitTiming() {}

  public static void main(String[] argv) {
    Map<String, String> a = JobSupport.args(argv, Map.of("input",
        "examples/data/flights-3m.parquet", "repeats", "2", "local-master", "local[2]"), USAGE);
    SparkSession spark = JobSupport.session("fast-embedding flights fit timing",
        a.get("local-master"));
    try {
      Dataset<Row>[] split = FlightsBenchmark.read(spark, a.get("input"))
          .randomSplit(new double[] {0.8, 0.2}, 42);
      Dataset<Row> train = split[0].cache();
      Dataset<Row> test = split[1].cache();
      train.count();
      test.count();
      String[] idx = BankFeatureJob.suffix(FlightsBenchmark.CATEGORICAL, "_idx");
      StringIndexerModel indexer = new StringIndexer().setInputCols(FlightsBenchmark.CATEGORICAL)
          .setOutputCols(idx).setHandleInvalid("keep").fit(train);
      Dataset<Row> indexed = indexer.transform(train);
      // JIT and code generation: one small untimed fit
      stage(idx, 1).fit(indexed.limit(50_000));
      for (int r = 0; r < Integer.parseInt(a.get("repeats")); r++) {
        long t0 = System.nanoTime();
        MultiEmbeddingModel m = stage(idx, 10).fit(indexed);
        double fit = seconds(t0);
        double auc = new BinaryClassificationEvaluator().setRawPredictionCol("p")
            .evaluate(m.transform(indexer.transform(test)));
        System.out.println(fmt("flights fit: %.2f s (rounds %.2f s; %d rounds), test AUC %.4f",
            fit, m.summary().rounds().stream().mapToDouble(x -> x.seconds()).sum(),
            m.summary().rounds().size(), auc));
      }
    } finally {
      spark.stop();
    }
  }

  private static MultiEmbedding stage(String[] idx, int epochs) {
    MultiEmbedding e = new MultiEmbedding().setInputCols(idx).setOutputCol("embedding")
        .setPredictionCol("p").setEmbeddingDim(8).setMaxIter(epochs).setBatchSize(1024)
        .setOptimizer("adagrad").setStepSize(0.1).setHead("fm").setNumWorkers(2).setSeed(42)
        .setValidationFraction(0);
    ParamMap same = new ParamMap();
    if (e.hasParam("earlyStopping")) {
      same.put(e.getParam("earlyStopping"), "off");
    }
    return e.copy(same);
  }
}
