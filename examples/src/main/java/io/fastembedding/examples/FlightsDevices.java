package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import io.fastembedding.spark.TrainingSummary;
import java.util.Map;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The same MultiEmbedding fit on the flights data with each device in turn (cpu, gpu), in one run:
 * fit time, rows/s per round and test AUC of the fm head, and the device every task used.
 */
public final class FlightsDevices {
  private static final String USAGE = """
      FlightsDevices [--input examples/data/flights-3m.parquet] [--devices cpu,gpu] [--workers 2]
                     [--epochs 10] [--local-master local[2]]
        --devices takes device[:workers[:batch]] items, e.g. gpu:2,cpu:8,gpu:2:8192 (workers
        defaults to --workers, batch to the stage's default)""";

  private FlightsDevices() {}

  public static void main(String[] argv) {
    Map<String, String> a = JobSupport.args(argv, Map.of("input",
        "examples/data/flights-3m.parquet", "devices", "cpu,gpu", "workers", "2", "epochs", "10",
        "local-master", "local[2]"), USAGE);
    SparkSession spark = JobSupport.session("fast-embedding flights devices", a.get("local-master"));
    try {
      Dataset<Row>[] split = FlightsBenchmark.read(spark, a.get("input"))
          .randomSplit(new double[] {0.8, 0.2}, 42);
      String[] idx = BankFeatureJob.suffix(FlightsBenchmark.CATEGORICAL, "_idx");
      StringIndexerModel indexer = new StringIndexer().setInputCols(FlightsBenchmark.CATEGORICAL)
          .setOutputCols(idx).setHandleInvalid("keep").fit(split[0]);
      Dataset<Row> train = indexer.transform(split[0]).select(concatCols(idx, "label")).cache();
      Dataset<Row> test = indexer.transform(split[1]).select(concatCols(idx, "label")).cache();
      System.out.println(fmt("flights: %d training rows, %d test rows, master %s",
          train.count(), test.count(), spark.sparkContext().master()));
      for (String item : a.get("devices").split(",")) {
        String[] dw = item.trim().split(":");
        String device = dw[0];
        int workers = Integer.parseInt(dw.length > 1 ? dw[1] : a.get("workers"));
        MultiEmbedding e = new MultiEmbedding().setInputCols(idx).setPredictionCol("p")
            .setDevice(device).setNumWorkers(workers)
            .setMaxIter(Integer.parseInt(a.get("epochs"))).setSeed(42);
        if (dw.length > 2) {
          e.setBatchSize(Integer.parseInt(dw[2]));
        }
        long t0 = System.nanoTime();
        MultiEmbeddingModel m;
        try {
          m = e.fit(train);
        } catch (RuntimeException ex) {
          System.out.println(fmt("device %s: fit failed: %s", device, ex.getMessage()));
          continue;
        }
        double fit = seconds(t0);
        double auc = new BinaryClassificationEvaluator().setRawPredictionCol("p")
            .evaluate(m.transform(test));
        TrainingSummary s = m.summary();
        System.out.println(fmt("device %s, %d partitions, batch %d: fit %.1f s, test AUC %.4f, "
            + "final loss %.4f", device, workers, e.getBatchSize(), fit, auc,
            s.lossHistory()[s.totalRounds() - 1]));
        printTaskRates(s);
        s.devices().forEach(d -> System.out.println("  " + d));
      }
    } finally {
      spark.stop();
    }
  }

  /**
   * Per round: its wall time and rows/s, the tasks' own training rate summed, and per executor its
   * rows over its slowest task's training time; then, over rounds 2 to the last, the median and
   * range of the per-task training rate. A task's training time ({@code TaskReport.trainSeconds})
   * runs from handing its model (the broadcast, or the local model built from the pulled rows) to
   * the backend until the touched rows are back in host arrays: the import, the shuffles, the
   * epochs, the loss read and the export; Spark's scheduling, the broadcast or pull, and the
   * serialisation of the touched rows are outside it.
   */
  static void printTaskRates(TrainingSummary s) {
    java.util.List<Double> later = new java.util.ArrayList<>();
    for (TrainingSummary.Round r : s.rounds()) {
      double taskRate = r.tasks().stream().mapToDouble(t -> t.rowsPerSecond()).sum();
      System.out.println(fmt("  round %2d: %.2f s, %.0f rows/s (tasks' own training: %.0f "
          + "rows/s summed)", r.round(), r.seconds(), r.rowsPerSecond(), taskRate));
      // per executor: its rows over its slowest task's training time in the round
      java.util.TreeMap<String, double[]> perExec = new java.util.TreeMap<>();
      r.tasks().forEach(t -> {
        double[] v = perExec.computeIfAbsent(t.executorId() + " " + t.device(),
            k -> new double[3]);
        v[0] += t.rows();
        v[1] = Math.max(v[1], t.trainSeconds());
        v[2]++;
      });
      perExec.forEach((k, v) -> System.out.println(fmt("      executor %s: %.0f rows/s (%d tasks, "
          + "slowest %.1f ms)", k, v[0] / v[1], (int) v[2], v[1] * 1e3)));
      if (r.round() > 1) {
        r.tasks().forEach(t -> later.add(t.rowsPerSecond()));
      }
    }
    if (!later.isEmpty()) {
      java.util.Collections.sort(later);
      System.out.println(fmt("  per-task training rows/s, rounds 2-%d: median %.0f, min %.0f, "
          + "max %.0f (%d tasks)", s.totalRounds(), later.get(later.size() / 2), later.get(0),
          later.get(later.size() - 1), later.size()));
    }
  }

  private static org.apache.spark.sql.Column[] concatCols(String[] cols, String extra) {
    org.apache.spark.sql.Column[] out = new org.apache.spark.sql.Column[cols.length + 1];
    for (int i = 0; i < cols.length; i++) {
      out[i] = org.apache.spark.sql.functions.col(cols[i]);
    }
    out[cols.length] = org.apache.spark.sql.functions.col(extra);
    return out;
  }
}
