package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import io.fastembedding.spark.TrainingSummary;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.executor.ExecutorMetrics;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The Criteo-shaped benchmark of docs/benchmarks.md: fits MultiEmbedding on {@link CriteoShaped}
 * rows (26 fields, 13 numeric features, planted FM labels) and reports, per round, the time, the
 * bytes pulled and pushed, and the peak heap of every JVM (executors from their metrics heartbeats,
 * the driver from its own memory bean), then the test AUC of the stage's own prediction.
 */
public final class CriteoBenchmark {
  private static final String USAGE = """
      CriteoBenchmark [--rows 10000000] [--test-rows 500000] [--scale 1.0] [--dim 16]
                      [--epochs 3] [--placement auto] [--optimizer rowwise_adagrad]
                      [--workers 0] [--batch 1024] [--device auto] [--devices ITEMS]
                      [--local-master local[2]]
        --scale multiplies the 26 cardinalities (1.0: Criteo's 33.8 M values)
        --devices fits once per item, one after another on the same rows, each item being
          device[:workers[:batch]] (e.g. gpu:2,cpu:32); it replaces --device, --workers, --batch
        --test-rows 0 skips the test AUC (the join transform of 26 fields is slow)
        examples/criteo-benchmark.sh runs it on local-cluster executors""";

  private CriteoBenchmark() {}

  public static void main(String[] argv) {
    Map<String, String> a = JobSupport.args(argv, Map.ofEntries(Map.entry("rows", "10000000"),
        Map.entry("test-rows", "500000"), Map.entry("scale", "1.0"), Map.entry("dim", "16"),
        Map.entry("epochs", "3"), Map.entry("placement", "auto"),
        Map.entry("optimizer", "rowwise_adagrad"), Map.entry("workers", "0"),
        Map.entry("batch", "1024"), Map.entry("device", "auto"), Map.entry("devices", ""),
        Map.entry("local-master", "local[2]")), USAGE);
    SparkSession spark = JobSupport.session("fast-embedding criteo-shaped benchmark",
        a.get("local-master"));
    HeapPeaks peaks = new HeapPeaks();
    spark.sparkContext().addSparkListener(peaks);
    Thread driverPoll = new Thread(peaks::pollDriver, "driver-heap-poll");
    driverPoll.setDaemon(true);
    driverPoll.start();
    try {
      run(spark, a, peaks);
    } finally {
      spark.stop();
    }
  }

  static void run(SparkSession spark, Map<String, String> a, HeapPeaks peaks) {
    int defaultWorkers = Integer.parseInt(a.get("workers"));
    if (defaultWorkers <= 0) {
      defaultWorkers = spark.sparkContext().defaultParallelism();
    }
    String items = a.get("devices").isEmpty()
        ? a.get("device") + ":" + defaultWorkers + ":" + a.get("batch") : a.get("devices");
    double scale = Double.parseDouble(a.get("scale"));
    long rows = Long.parseLong(a.get("rows"));
    long testRows = Long.parseLong(a.get("test-rows"));
    int[] card = CriteoShaped.cardinalities(scale);
    long values = 0;
    for (int c : card) {
      values += c;
    }
    String[] list = items.split(",");
    Dataset<Row> shared = null;
    if (list.length > 1) {
      // several fits: generate the rows once (each row's draws come from its id, so the partitioning
      // does not change them) and cache them; each fit deals them to its own workers
      shared = CriteoShaped.generate(spark, rows, spark.sparkContext().defaultParallelism(), 1, scale)
          .cache();
      long t = System.nanoTime();
      System.out.println(fmt("criteo-shaped: %d rows generated and cached in %.1f s", shared.count(),
          seconds(t)));
    }
    for (String item : list) {
      String[] dw = item.trim().split(":");
      String device = dw[0];
      int workers = dw.length > 1 ? Integer.parseInt(dw[1]) : defaultWorkers;
      int batch = Integer.parseInt(dw.length > 2 ? dw[2] : a.get("batch"));
      Dataset<Row> train = shared != null ? shared
          : CriteoShaped.generate(spark, rows, workers, 1, scale);
      System.out.println(fmt("criteo-shaped: %d training rows, %d table rows (scale %.3f), dim %s, "
          + "%s epochs, %d workers, batch %d, device %s, placement %s, optimizer %s, master %s",
          rows, values, scale, a.get("dim"), a.get("epochs"), workers, batch, device,
          a.get("placement"), a.get("optimizer"), spark.sparkContext().master()));
      MultiEmbedding stage = new MultiEmbedding().setInputCols(CriteoShaped.fields())
          .setNumCategories(card).setNumericCol("num")
          .setEmbeddingDim(Integer.parseInt(a.get("dim")))
          .setMaxIter(Integer.parseInt(a.get("epochs"))).setNumWorkers(workers)
          .setOptimizer(a.get("optimizer")).setBatchSize(batch)
          .setDevice(device).setTablePlacement(a.get("placement"))
          .setPredictionCol("p").setSeed(7);
      long t0 = System.nanoTime();
      MultiEmbeddingModel model;
      try {
        model = stage.fit(train);
      } catch (RuntimeException ex) {
        System.out.println(fmt("device %s: fit failed: %s", device, ex));
        continue;
      }
      double fitSeconds = seconds(t0);
      TrainingSummary s = model.summary();
      System.out.println(fmt("device %s, %d workers, batch %d: fit %.1f s (%s tables)", device,
          workers, batch, fitSeconds, model.isSharded() ? "sharded" : "broadcast"));
      System.out.println("| round | s | rows/s | pulled MB | pushed MB | peak heap MB per JVM |");
      System.out.println("|---|---|---|---|---|---|");
      for (TrainingSummary.Round r : s.rounds()) {
        System.out.println(fmt("| %d | %.1f | %.0f | %.1f | %.1f | %s |", r.round(), r.seconds(),
            r.rowsPerSecond(), r.pulledBytes() / 1e6, r.pushedBytes() / 1e6,
            peaks.describe(r.round())));
      }
      FlightsDevices.printTaskRates(s);
      s.devices().forEach(d -> System.out.println("  " + d));
      if (testRows > 0) {
        // the join transform reads its input once per field: cache the test rows
        Dataset<Row> test = CriteoShaped.generate(spark, testRows, workers, 2, scale).cache();
        test.count();
        long t1 = System.nanoTime();
        double auc = new BinaryClassificationEvaluator().setRawPredictionCol("p")
            .evaluate(model.transform(test));
        System.out.println(fmt("test AUC %.4f (transform + evaluate %.1f s, %s lookup)", auc,
            seconds(t1), model.isSharded() ? "join" : "broadcast"));
        test.unpersist();
      }
    }
    System.out.println("peak heap over the whole run (MB): " + peaks.describe(-1));
  }

  /**
   * Peak JVM heap per executor and round, from the executors' metrics heartbeats (peaks since the
   * last one) and the driver's own memory bean; a round runs from the job whose description says
   * "round N/" to the next.
   */
  static final class HeapPeaks extends SparkListener {
    private volatile int round;
    private final Map<Integer, Map<String, Long>> byRound = new ConcurrentHashMap<>();

    @Override
    public void onJobStart(SparkListenerJobStart e) {
      String d = e.properties() == null ? null
          : e.properties().getProperty("spark.job.description");
      if (d != null) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(": round (\\d+)/").matcher(d);
        if (m.find()) {
          round = Integer.parseInt(m.group(1));
        }
      }
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate e) {
      scala.jdk.javaapi.CollectionConverters.asJava(e.executorUpdates()).values()
          .forEach(m -> record(e.execId(), m.getMetricValue("JVMHeapMemory")));
    }

    private void record(String jvm, long heap) {
      for (int r : new int[] {round, -1}) {
        byRound.computeIfAbsent(r, k -> new ConcurrentHashMap<>()).merge(jvm, heap, Math::max);
      }
    }

    void pollDriver() {
      var bean = ManagementFactory.getMemoryMXBean();
      while (true) {
        record("driver", bean.getHeapMemoryUsage().getUsed());
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    String describe(int r) {
      Map<String, Long> m = new TreeMap<>(byRound.getOrDefault(r, Map.of()));
      StringBuilder sb = new StringBuilder();
      m.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ')
          .append(v >> 20));
      return sb.toString();
    }
  }
}
