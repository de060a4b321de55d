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
import org.apache.spark.sql.types.DataTypes;

/**
 * The search behind the stage's defaults: fits the stage under many settings on the training part of
 * the benchmark split only, holding 20% of it out as validation rows (the test rows are never read),
 * and prints the validation AUC of each round.
 */
public final class QualityGrid {
  private QualityGrid() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = JobSupport.args(argv, Map.of("dataset", "bank", "configs", "",
        "local-master", "local[2]", "flights-features", "base", "bank-features", "base", "seeds",
        "7", "train-sample", "1"), "QualityGrid --dataset bank|flights|lending_club|wa_churn|"
        + "mlc_churn --configs file (one config per line: key=value ...) [--seeds 7,8,9] "
        + "[--bank-features base|daycat|date] [--flights-features base|time] "
        + "[--train-sample F: a seeded fraction of the training rows, for a quicker grid]");
    SparkSession spark = JobSupport.session("fast-embedding defaults search", a.get("local-master"));
    String ds = a.get("dataset");
    QualityBenchmark.Data d = QualityBenchmark.load(spark, a, ds,
        ds.equals("flights") || ds.equals("bank") ? a.get(ds + "-features") : "base", 42);
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
      double[] gbtSum = new double[GBT_METRICS.length];
      StringBuilder each = new StringBuilder();
      for (Dataset<Row> t : trains) {
        Result r = runOne(d, t, c);
        sum += r.keptAuc();
        lrSum += r.lrAuc();
        for (int i = 0; r.gbt() != null && i < gbtSum.length; i++) {
          gbtSum[i] += r.gbt()[i];
        }
        each.append(trains.size() > 1 && !c.containsKey("final") && !c.containsKey("onehot") ? fmt(" %.4f", r.keptAuc())
            : r.line());
      }
      StringBuilder gbtMeans = new StringBuilder();
      if (c.containsKey("gbt")) {
        for (int i = 0; i < gbtSum.length; i++) {
          if (!Double.isNaN(gbtSum[i])) {
            gbtMeans.append(fmt(" %s %.4f", i == STACK ? stackName(c)
                : GBT_METRICS[i], gbtSum[i] / trains.size()));
          }
        }
      }
      results.add(fmt("%-70s mean %s AUC %.4f%s%s |%s", line, c.containsKey("onehot") ? "onehot-lr" : c.containsKey("final") ? "head"
          : "kept", sum / trains.size(), c.containsKey("lr") ? fmt(" emb-lr %.4f",
          lrSum / trains.size()) : "", gbtMeans, each));
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
  record Result(double keptAuc, double lrAuc, double[] gbt, String line) {
    Result(double keptAuc, double lrAuc, String line) {
      this(keptAuc, lrAuc, null, line);
    }
  }

  /**
   * What {@link #gbtAndBlends} returns, in its order; NaN where the config has no such model:
   * "stack" the stacked GBT (gbt-score, gbt-emb), "stack-avg-p" its probability averaged with the
   * head's, "gbt2" the second GBT (gbt2=...), "headb" the head on GBT's categorical columns
   * (head-drop=1), "avg-all" the equal-weight average of the head, GBT and every extra model there
   * (stack, gbt2, headb), "avg-h.5" the head's probability at weight 0.5 and the GBTs' (GBT,
   * gbt2) sharing the other half.
   */
  static final String[] GBT_METRICS = {"gbt", "avg-p", "avg-logit", "rank-avg", "stack",
      "stack-avg-p", "gbt2", "headb", "avg-all", "avg-h.5"};
  static final int STACK = 4;

  /** The stacked GBT's name in the report: gbt+score, gbt+emb or gbt+score+emb. */
  static String stackName(Map<String, String> c) {
    return "gbt" + (c.containsKey("gbt-score") ? "+score" : "")
        + (c.containsKey("gbt-emb") ? "+emb" : "");
  }

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
      return runFinal(tr, stages, opts, idx.toArray(new String[0]), nums, c);
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
      String[] idx, List<String> nums, Map<String, String> c) {
    boolean lr = c.containsKey("lr");
    Dataset<Row> train = all.where(functions.not(functions.col("is_validation")));
    Dataset<Row> valid = all.where(functions.col("is_validation"));
    MultiEmbedding e = QualityBenchmark.stage(opts, idx, nums.isEmpty() ? "" : "numeric");
    stages.add(e);
    // head-seeds=k: k stages that differ only in their seed (42, 43, ...), their heads'
    // probabilities averaged (bagging the head); "head" is then that average
    int heads = Integer.parseInt(c.getOrDefault("head-seeds", "1"));
    String headProb = "head_probability";
    if (heads > 1) {
      String[] probs = new String[heads];
      probs[0] = "head_probability";
      // the other heads' training-row outputs are never read, so they skip the cross-fitting
      // (the validation rows' come from the full model either way)
      Map<String, String> bagOpts = new HashMap<>(opts);
      bagOpts.put("cross-fit", "");
      bagOpts.put("cross-fit-vectors", "");
      for (int j = 1; j < heads; j++) {
        probs[j] = "head_probability_" + j;
        stages.add(QualityBenchmark.stage(bagOpts, idx, nums.isEmpty() ? "" : "numeric")
            .setSeed(42 + j).setOutputCol("embedding_" + j).setPredictionCol("head_score_" + j)
            .setProbabilityCol(probs[j]));
      }
      headProb = "heads_probability";
      stages.add(new ProbabilityBlend().setInputCols(probs).setOutputCol(headProb));
    }
    long t0 = System.nanoTime();
    PipelineModel m = new Pipeline().setStages(stages.toArray(new PipelineStage[0])).fit(train);
    double fit = seconds(t0);
    MultiEmbeddingModel model = null;
    for (var st : m.stages()) {
      if (model == null && st instanceof MultiEmbeddingModel mm) {
        model = mm;
      }
    }
    TrainingSummary s = model.summary();
    BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator();
    Dataset<Row> validT = m.transform(valid);
    double head = auc.setRawPredictionCol(headProb).evaluate(validT);
    String head1 = heads > 1 ? fmt(" (seed 42 alone %.4f)", auc.setRawPredictionCol(
        "head_probability").evaluate(validT)) : "";
    double lrAuc = Double.NaN;
    if (lr) {
      List<String> features = new ArrayList<>(List.of("embedding"));
      if (c.containsKey("lr-score")) {
        // the head's score too (cross-fitted on the training rows with crossFitFolds)
        features.add("head_score");
      }
      features.addAll(nums);
      List<PipelineStage> downStages = new ArrayList<>();
      if (c.containsKey("lr-onehot")) {
        // with the embeddings, the one-hot vectors of the columns of at most K categories: the
        // LR's features then span the one-hot space of those columns by construction
        int k = Integer.parseInt(c.get("lr-onehot"));
        for (var st : m.stages()) {
          if (st instanceof org.apache.spark.ml.feature.StringIndexerModel si) {
            for (int f = 0; f < si.labelsArray().length; f++) {
              if (si.labelsArray()[f].length <= k) {
                String in = si.getOutputCols()[f];
                downStages.add(new OneHotEncoder().setInputCol(in).setOutputCol(in + "_ohe"));
                features.add(in + "_ohe");
              }
            }
          }
        }
      }
      downStages.add(new VectorAssembler().setInputCols(features.toArray(new String[0]))
          .setOutputCol("features"));
      downStages.add(new LogisticRegression());
      Dataset<Row> trainF = m.transform(train).cache();
      PipelineModel down = new Pipeline().setStages(downStages.toArray(new PipelineStage[0]))
          .fit(trainF);
      lrAuc = auc.setRawPredictionCol("rawPrediction").evaluate(down.transform(m.transform(valid)));
      trainF.unpersist();
    }
    String gbtLine = "";
    double[] g = null;
    if (c.containsKey("gbt")) {
      g = gbtAndBlends(m, train, valid, idx, nums, c, headProb, opts);
      lrAuc = g[c.containsKey("report") ? Integer.parseInt(c.get("report")) : 1];
      StringBuilder gl = new StringBuilder();
      for (int i = 0; i < g.length; i++) {
        if (!Double.isNaN(g[i])) {
          gl.append(fmt(" %s %.4f", i == STACK ? stackName(c) : GBT_METRICS[i], g[i]));
        }
      }
      gbtLine = gl.toString();
    }
    return new Result(head, lrAuc, g, fmt("| head %.4f%s%s%s | %d rounds, kept %d%s%s | fit %.1fs |",
        head, head1, lr ? fmt(" emb-lr %.4f", lrAuc) : "", gbtLine, s.totalRounds(), s.bestRound(),
        s.stoppedEarly() ? " (stopped)" : "", s.refitEpochs() > 0 ? ", refit " + s.refitEpochs()
        : "", fit));
  }

  /**
   * GBTClassifier on the indexed categoricals and numeric columns (as the benchmark's gbt pipeline;
   * gbt-trees, gbt-depth, gbt-step, gbt-subsample set it), fitted on the training rows, and on the
   * validation rows: its AUC, then that of the average of its probability and the stage head's,
   * of the average of their logits, and of the average of their ranks; with gbt-score, that of GBT
   * on the same features plus the stage's score (cross-fitted on the training rows when the stage
   * has crossFitFolds), with gbt-emb=a,b plus the stage's embedding vectors of columns a and b.
   * gbt-drop=a,b leaves categorical columns a and b out of GBT's features (e.g. GBT on Bank's base
   * columns next to a head on the date features); blend-weight=w weighs the head by w and GBT by
   * 1 - w in the blends (default 0.5). The head is {@code headProb} (a probability vector: one
   * head's, or head-seeds' average). gbt2=trees:depth:step:subsample:seed adds a second GBT on
   * GBT's features; head-drop=1 a head (the stage, seed 42) on GBT's categorical columns only;
   * both join the blends of {@link #GBT_METRICS}.
   */
  static double[] gbtAndBlends(PipelineModel m, Dataset<Row> train, Dataset<Row> valid,
      String[] idx, List<String> nums, Map<String, String> c, String headProb,
      Map<String, String> opts) {
    List<String> drop = Arrays.asList(c.getOrDefault("gbt-drop", "").split(","));
    List<String> featureList = new ArrayList<>();
    for (String col : idx) {
      if (!drop.contains(col.replaceFirst("_idx$", ""))) {
        featureList.add(col);
      }
    }
    if (featureList.size() + drop.size() - (drop.contains("") ? 1 : 0) != idx.length) {
      throw new IllegalArgumentException("gbt-drop names a column that is not categorical: "
          + drop + ", categorical " + Arrays.toString(idx));
    }
    // a bin per category of the categorical columns GBT gets (as the benchmark's gbt pipeline)
    int maxBins = 32;
    for (var st : m.stages()) {
      if (st instanceof org.apache.spark.ml.feature.StringIndexerModel si) {
        for (int f = 0; f < si.labelsArray().length; f++) {
          if (featureList.contains(si.getOutputCols()[f])) {
            maxBins = Math.max(maxBins, si.labelsArray()[f].length + 1);
          }
        }
      }
    }
    List<String> headbCats = new ArrayList<>(featureList);
    featureList.addAll(nums);
    String[] features = featureList.toArray(new String[0]);
    Dataset<Row> trainF = m.transform(train).cache();
    Dataset<Row> validF = m.transform(valid).cache();
    List<PipelineStage> gs = new ArrayList<>(List.of(
        new VectorAssembler().setInputCols(features).setOutputCol("gbt_features"),
        gbt(c, maxBins).setFeaturesCol("gbt_features")));
    List<String> extras = new ArrayList<>();
    if (c.containsKey("gbt2")) {
      String[] p = c.get("gbt2").split(":");
      gs.add(new org.apache.spark.ml.classification.GBTClassifier().setMaxIter(
          Integer.parseInt(p[0])).setMaxDepth(Integer.parseInt(p[1])).setStepSize(
          Double.parseDouble(p[2])).setSubsamplingRate(Double.parseDouble(p[3])).setSeed(
          Long.parseLong(p[4])).setMaxBins(maxBins).setFeaturesCol("gbt_features")
          .setRawPredictionCol("gbt2_raw").setProbabilityCol("gbt2_probability")
          .setPredictionCol("gbt2_prediction"));
      extras.add("gbt2_probability");
    }
    if (c.containsKey("head-drop")) {
      gs.add(QualityBenchmark.stage(opts, headbCats.toArray(new String[0]),
          nums.isEmpty() ? "" : "numeric").setOutputCol("embedding_b")
          .setPredictionCol("headb_score").setProbabilityCol("headb_probability"));
      extras.add("headb_probability");
    }
    PipelineModel g = new Pipeline().setStages(gs.toArray(new PipelineStage[0])).fit(trainF);
    var p1 = functions.udf((org.apache.spark.sql.api.java.UDF1<org.apache.spark.ml.linalg.Vector,
        Double>) v -> v.apply(1), DataTypes.DoubleType);
    List<org.apache.spark.sql.Column> sel = new ArrayList<>(List.of(functions.col("label"),
        p1.apply(functions.col(headProb)), p1.apply(functions.col("probability"))));
    for (String x : extras) {
      sel.add(p1.apply(functions.col(x)));
    }
    List<Row> rows = g.transform(validF).select(sel.toArray(new org.apache.spark.sql.Column[0]))
        .collectAsList();
    int n = rows.size();
    double[] y = new double[n];
    double[] ph = new double[n];
    double[] pg = new double[n];
    double[][] px = new double[extras.size()][n];
    for (int i = 0; i < n; i++) {
      y[i] = rows.get(i).getDouble(0);
      ph[i] = rows.get(i).getDouble(1);
      pg[i] = rows.get(i).getDouble(2);
      for (int k = 0; k < extras.size(); k++) {
        px[k][i] = rows.get(i).getDouble(3 + k);
      }
    }
    double w = Double.parseDouble(c.getOrDefault("blend-weight", "0.5"));
    double[] avg = new double[n];
    double[] logit = new double[n];
    double[] rh = ranks(ph);
    double[] rg = ranks(pg);
    double[] rank = new double[n];
    for (int i = 0; i < n; i++) {
      avg[i] = w * ph[i] + (1 - w) * pg[i];
      logit[i] = w * logit(ph[i]) + (1 - w) * logit(pg[i]);
      rank[i] = w * rh[i] + (1 - w) * rg[i];
    }
    double withScore = Double.NaN;
    double[] ps = null;
    if (c.containsKey("gbt-score")) {
      // what the stacked GBT learns from: the score's AUC on its training rows (cross-fitted
      // with crossFitFolds, so near the validation rows' head AUC; in-sample above it)
      System.out.println(fmt("head_score AUC on the training rows %.4f", new
          BinaryClassificationEvaluator().setRawPredictionCol("head_score").evaluate(trainF)));
    }
    if (c.containsKey("gbt-score") || c.containsKey("gbt-emb")) {
      List<String> f2 = new ArrayList<>(featureList);
      List<PipelineStage> st = new ArrayList<>();
      if (c.containsKey("gbt-score")) {
        f2.add("head_score");
      }
      if (c.containsKey("gbt-emb")) {
        // the slice of the embedding vector that holds these columns' vectors (its attribute
        // names are <inputCol>_<k>)
        List<String> names = new ArrayList<>();
        var group = org.apache.spark.ml.attribute.AttributeGroup.fromStructField(
            trainF.schema().apply("embedding"));
        for (String col : c.get("gbt-emb").split(",")) {
          int before = names.size();
          for (int k = 0; k < group.size(); k++) {
            String name = group.getAttr(k).name().get();
            if (name.matches(java.util.regex.Pattern.quote(col + "_idx_") + "\\d+")) {
              names.add(name);
            }
          }
          if (names.size() == before) {
            throw new IllegalArgumentException("gbt-emb: no embedding of column " + col);
          }
        }
        st.add(new org.apache.spark.ml.feature.VectorSlicer().setInputCol("embedding")
            .setOutputCol("emb_slice").setNames(names.toArray(new String[0])));
        f2.add("emb_slice");
      }
      st.add(new VectorAssembler().setInputCols(f2.toArray(new String[0]))
          .setOutputCol("gbt_features"));
      st.add(gbt(c, maxBins).setFeaturesCol("gbt_features"));
      // the same validation rows in the same order (collected as above, without a shuffle)
      List<Row> srows = new Pipeline().setStages(st.toArray(new PipelineStage[0])).fit(trainF)
          .transform(validF).select(functions.col("label"), p1.apply(functions.col(
              "probability"))).collectAsList();
      ps = new double[n];
      for (int i = 0; i < n; i++) {
        if (srows.get(i).getDouble(0) != y[i]) {
          throw new IllegalStateException("the stacked GBT's rows are not in the same order");
        }
        ps[i] = srows.get(i).getDouble(1);
      }
      withScore = auc(y, ps);
    }
    trainF.unpersist();
    validF.unpersist();
    double stackAvg = Double.NaN;
    List<double[]> members = new ArrayList<>(List.of(ph, pg));
    members.addAll(Arrays.asList(px));
    if (ps != null) {
      double[] sa = new double[n];
      for (int i = 0; i < n; i++) {
        sa[i] = w * ph[i] + (1 - w) * ps[i];
      }
      stackAvg = auc(y, sa);
      members.add(ps);
    }
    double avgAll = Double.NaN;
    double avgH = Double.NaN;
    if (members.size() > 2) {
      double[] all = new double[n];
      double[] h5 = new double[n];
      for (int i = 0; i < n; i++) {
        for (double[] mm : members) {
          all[i] += mm[i] / members.size();
        }
        // the head at 0.5, GBT and the second GBT at 0.25 each
        h5[i] = 0.5 * ph[i] + 0.5 * (pg[i] + (c.containsKey("gbt2") ? px[0][i] : pg[i])) / 2;
      }
      avgAll = auc(y, all);
      avgH = c.containsKey("gbt2") ? auc(y, h5) : Double.NaN;
    }
    return new double[] {auc(y, pg), auc(y, avg), auc(y, logit), auc(y, rank), withScore,
        stackAvg, c.containsKey("gbt2") ? auc(y, px[0]) : Double.NaN,
        c.containsKey("head-drop") ? auc(y, px[px.length - 1]) : Double.NaN, avgAll, avgH};
  }

  static org.apache.spark.ml.classification.GBTClassifier gbt(Map<String, String> c, int maxBins) {
    return new org.apache.spark.ml.classification.GBTClassifier()
        .setMaxIter(Integer.parseInt(c.getOrDefault("gbt-trees", "50")))
        .setMaxDepth(Integer.parseInt(c.getOrDefault("gbt-depth", "6")))
        .setStepSize(Double.parseDouble(c.getOrDefault("gbt-step", "0.1")))
        .setSubsamplingRate(Double.parseDouble(c.getOrDefault("gbt-subsample", "1")))
        .setMaxBins(maxBins).setSeed(42);
  }

  private static double logit(double p) {
    double q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
    return Math.log(q / (1 - q));
  }

  /** Ranks 1..n, ties sharing their mean rank. */
  static double[] ranks(double[] x) {
    Integer[] o = new Integer[x.length];
    for (int i = 0; i < o.length; i++) {
      o[i] = i;
    }
    Arrays.sort(o, (a, b) -> Double.compare(x[a], x[b]));
    double[] r = new double[x.length];
    for (int i = 0; i < o.length;) {
      int j = i;
      while (j + 1 < o.length && x[o[j + 1]] == x[o[i]]) {
        j++;
      }
      for (int k = i; k <= j; k++) {
        r[o[k]] = (i + j) / 2.0 + 1;
      }
      i = j + 1;
    }
    return r;
  }

  /** ROC AUC by the Mann-Whitney statistic (ties count a half). */
  static double auc(double[] y, double[] s) {
    double[] r = ranks(s);
    double pos = 0;
    double sum = 0;
    for (int i = 0; i < y.length; i++) {
      if (y[i] > 0.5) {
        pos++;
        sum += r[i];
      }
    }
    double neg = y.length - pos;
    return (sum - pos * (pos + 1) / 2) / (pos * neg);
  }
}
