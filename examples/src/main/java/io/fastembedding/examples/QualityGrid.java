package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import io.fastembedding.spark.TrainingSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.QuantileDiscretizer;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The search behind the stage's defaults: fits the stage under many settings on the training part of
 * the benchmark split only, holding 20% of it out as validation rows (the test rows are never read),
 * and prints the validation AUC of each round.
 */
public final class QualityGrid {
  private QualityGrid() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = JobSupport.args(argv, Map.of("dataset", "bank", "configs", "",
        "local-master", "local[2]", "flights-features", "base", "seeds", "7", "train-sample", "1"), "QualityGrid --dataset bank|flights|lending_club|wa_churn|"
        + "mlc_churn --configs file (one config per line: key=value ...) [--seeds 7,8,9] "
        + "[--train-sample F: a seeded fraction of the training rows, for a quicker grid]");
    SparkSession spark = JobSupport.session("fast-embedding defaults search", a.get("local-master"));
    QualityBenchmark.Data d = QualityBenchmark.load(spark, a, a.get("dataset"),
        a.get("dataset").equals("flights") ? a.get("flights-features") : "base", 42);
    // validation rows: 20% of the training rows, seeded; the test rows stay unread. Several seeds
    // average out the noise of a small validation set (Bank Marketing's is about 7 200 rows)
    List<Dataset<Row>> trains = new ArrayList<>();
    double sample = Double.parseDouble(a.get("train-sample"));
    Dataset<Row> pool = sample < 1 ? d.train().sample(false, sample, 11) : d.train();
    for (String seed : a.get("seeds").split(",")) {
      Dataset<Row> t = pool.withColumn("is_validation",
          functions.rand(Long.parseLong(seed)).lt(0.2)).cache();
      t.count();
      trains.add(t);
    }
    Dataset<Row> train = trains.get(0);
    List<String> lines = Files.readAllLines(Path.of(a.get("configs")));
    List<String> results = new ArrayList<>();
    BankFeatureJob.warmUpOn(train.limit(20_000), "label");
    for (String line : lines) {
      line = line.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      Map<String, String> c = new LinkedHashMap<>();
      for (String kv : line.split("\\s+")) {
        String[] p = kv.split("=", 2);
        c.put(p[0], p[1]);
      }
      double sum = 0;
      double lrSum = 0;
      StringBuilder each = new StringBuilder();
      for (Dataset<Row> t : trains) {
        Result r = runOne(d, t, c);
        sum += r.keptAuc();
        lrSum += r.lrAuc();
        each.append(trains.size() > 1 && !c.containsKey("final") && !c.containsKey("onehot") ? fmt(" %.4f", r.keptAuc())
            : r.line());
      }
      results.add(fmt("%-70s mean %s AUC %.4f%s |%s", line, c.containsKey("onehot") ? "onehot-lr" : c.containsKey("final") ? "head"
          : "kept", sum / trains.size(), c.containsKey("lr") ? fmt(" emb-lr %.4f",
          lrSum / trains.size()) : "", each));
      System.out.println("RESULT " + results.get(results.size() - 1));
    }
    System.out.println();
    results.forEach(System.out::println);
    spark.stop();
  }

  /**
   * One fit's validation AUC of the round the stage kept (with "final": of the fitted stage's
   * head), with "lr" that of LogisticRegression on its output, and its line for the report.
   */
  record Result(double keptAuc, double lrAuc, String line) {}

  static Result runOne(QualityBenchmark.Data d, Dataset<Row> train, Map<String, String> c) {
    List<PipelineStage> stages = new ArrayList<>();
    List<String> cats = new ArrayList<>(Arrays.asList(d.categorical()));
    List<String> nums = new ArrayList<>(Arrays.asList(d.numeric()));
    // feature engineering variants
    String buckets = c.getOrDefault("buckets", "");
    if (!buckets.isEmpty()) {
      int nb = Integer.parseInt(c.getOrDefault("nbuckets", "10"));
      // "all": every numeric column
      String[] bucketCols = buckets.equals("all") ? d.numeric() : buckets.split(",");
      for (String col : bucketCols) {
        stages.add(new QuantileDiscretizer().setInputCol(col).setOutputCol(col + "_bkt")
            .setNumBuckets(nb).setHandleInvalid("keep"));
        cats.add(col + "_bkt");
      }
    }
    String asCat = c.getOrDefault("ascat", "");
    Dataset<Row> tr = train;
    if (!asCat.isEmpty()) {
      for (String col : asCat.split(",")) {
        tr = tr.withColumn(col + "_cat", functions.col(col).cast("long").cast("string"));
        cats.add(col + "_cat");
      }
    }
    String cross = c.getOrDefault("cross", "");
    if (!cross.isEmpty()) {
      for (String pair : cross.split(",")) {
        String[] ab = pair.split(":");
        String name = String.join("_x_", ab);
        tr = tr.withColumn(name, functions.concat_ws("|", Arrays.stream(ab).map(functions::col)
            .toArray(org.apache.spark.sql.Column[]::new)));
        cats.add(name);
      }
    }
    if (c.containsKey("nonum")) {
      nums.clear();
    }
    String[] catArr = cats.toArray(new String[0]);
    // bucket columns are already indices; the rest are indexed
    List<String> toIndex = new ArrayList<>();
    List<String> idx = new ArrayList<>();
    for (String cc : catArr) {
      if (cc.endsWith("_bkt")) {
        idx.add(cc);
      } else {
        toIndex.add(cc);
        idx.add(cc + "_idx");
      }
    }
    stages.add(new StringIndexer().setInputCols(toIndex.toArray(new String[0]))
        .setOutputCols(toIndex.stream().map(x -> x + "_idx").toArray(String[]::new))
        .setHandleInvalid("keep"));
    if (!nums.isEmpty()) {
      stages.add(new VectorAssembler().setInputCols(nums.toArray(new String[0]))
          .setOutputCol("numeric"));
    }
    Map<String, String> opts = new HashMap<>();
    for (String k : QualityBenchmark.STAGE_OPTIONS) {
      opts.put(k, c.getOrDefault(k, ""));
    }
    if (c.containsKey("onehot")) {
      // the baseline on the same rows: one-hot + LogisticRegression, fitted on the training rows
      String[] ohe = toIndex.stream().map(x -> x + "_ohe").toArray(String[]::new);
      String[] in = toIndex.stream().map(x -> x + "_idx").toArray(String[]::new);
      List<String> features = new ArrayList<>(Arrays.asList(ohe));
      features.addAll(nums);
      stages.add(new OneHotEncoder().setInputCols(in).setOutputCols(ohe));
      stages.add(new VectorAssembler().setInputCols(features.toArray(new String[0]))
          .setOutputCol("features"));
      stages.add(new LogisticRegression());
      PipelineModel m = new Pipeline().setStages(stages.toArray(new PipelineStage[0]))
          .fit(tr.where(functions.not(functions.col("is_validation"))));
      double v = new BinaryClassificationEvaluator().setRawPredictionCol("rawPrediction")
          .evaluate(m.transform(tr.where(functions.col("is_validation"))));
      return new Result(v, Double.NaN, fmt("| onehot-lr %.4f |", v));
    }
    if (c.containsKey("final")) {
      // "final": the stage fits the training rows as a user's would, by its own rules (early
      // stopping, refit), and its fitted output is scored on the validation rows, which it never
      // sees
      return runFinal(tr, stages, opts, idx.toArray(new String[0]), nums, c.containsKey("lr"));
    }
    opts.put("validation-fraction", ""); // the validation rows are the indicator's
    MultiEmbedding e = QualityBenchmark.stage(opts, idx.toArray(new String[0]),
        nums.isEmpty() ? "" : "numeric").setValidationIndicatorCol("is_validation");
    if (!c.containsKey("patience")) {
      e.setPatience(1000);
    }
    stages.add(e);
    long t0 = System.nanoTime();
    PipelineModel m = new Pipeline().setStages(stages.toArray(new PipelineStage[0])).fit(tr);
    double fit = seconds(t0);
    MultiEmbeddingModel model = (MultiEmbeddingModel) m.stages()[m.stages().length - 1];
    TrainingSummary s = model.summary();
    double[] auc = s.validationAucHistory();
    int best = 0;
    for (int i = 1; i < auc.length; i++) {
      if (auc[i] > auc[best]) {
        best = i;
      }
    }
    StringBuilder per = new StringBuilder();
    for (double x : auc) {
      per.append(fmt(" %.4f", x));
    }
    double kept = auc[s.bestRound() - 1];
    return new Result(kept, Double.NaN, fmt("| kept r%d AUC %.4f | best r%d AUC %.4f | fit %.1fs | tr %.4f |%s",
        s.bestRound(), kept, best + 1, auc[best], fit, s.trainAucHistory()[s.bestRound() - 1],
        per));
  }

  /**
   * Fits the stage (its own early stopping and refit rules) on the training rows only, and scores
   * the validation rows: the head's AUC, and with {@code lr} that of LogisticRegression fitted on
   * the training rows' output vectors (+ the numeric columns).
   */
  static Result runFinal(Dataset<Row> all, List<PipelineStage> stages, Map<String, String> opts,
      String[] idx, List<String> nums, boolean lr) {
    Dataset<Row> train = all.where(functions.not(functions.col("is_validation")));
    Dataset<Row> valid = all.where(functions.col("is_validation"));
    MultiEmbedding e = QualityBenchmark.stage(opts, idx, nums.isEmpty() ? "" : "numeric");
    stages.add(e);
    long t0 = System.nanoTime();
    PipelineModel m = new Pipeline().setStages(stages.toArray(new PipelineStage[0])).fit(train);
    double fit = seconds(t0);
    MultiEmbeddingModel model = (MultiEmbeddingModel) m.stages()[m.stages().length - 1];
    TrainingSummary s = model.summary();
    BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator();
    double head = auc.setRawPredictionCol("head_probability").evaluate(m.transform(valid));
    double lrAuc = Double.NaN;
    if (lr) {
      String[] features = new String[nums.size() + 1];
      features[0] = "embedding";
      for (int i = 0; i < nums.size(); i++) {
        features[i + 1] = nums.get(i);
      }
      Dataset<Row> trainF = m.transform(train).cache();
      PipelineModel down = new Pipeline().setStages(new PipelineStage[] {
          new VectorAssembler().setInputCols(features).setOutputCol("features"),
          new LogisticRegression()}).fit(trainF);
      lrAuc = auc.setRawPredictionCol("rawPrediction").evaluate(down.transform(m.transform(valid)));
      trainF.unpersist();
    }
    return new Result(head, lrAuc, fmt("| head %.4f%s | %d rounds, kept %d%s%s | fit %.1fs |",
        head, lr ? fmt(" emb-lr %.4f", lrAuc) : "", s.totalRounds(), s.bestRound(),
        s.stoppedEarly() ? " (stopped)" : "", s.refitEpochs() > 0 ? ", refit " + s.refitEpochs()
        : "", fit));
  }
}
