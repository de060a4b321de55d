package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import io.fastembedding.spark.TrainingSummary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.GBTClassifier;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The quality benchmark of docs/quality.md: on UCI Bank Marketing and on flights, in one run and on
 * the same 80/20 split (seed 42), it fits and evaluates the pipelines a Spark user would build
 * (one-hot + LogisticRegression, GBTClassifier on the indexed categoricals) next to ours (the stage's
 * own head as the classifier, and its embeddings fed to LogisticRegression and to GBTClassifier),
 * with the numeric columns given to every pipeline. It prints the test AUC and the fit time of each.
 *
 * <p>The stage runs with its defaults unless an option overrides one (for the experiments behind
 * the defaults).
 */
public final class QualityBenchmark {
  /**
   * The pipelines a run fits unless --pipelines says otherwise (gbt-emb, gbt-oof, head-gbt-blend,
   * heads-gbt-blend, heads-gbt-stack-blend:
   * on request).
   */
  static final String[] PIPELINES = {"onehot-lr", "gbt", "head", "emb-lr", "emb-gbt",
      "emb-score-lr", "emb-score-gbt"};

  private static final String USAGE = """
      QualityBenchmark [--datasets bank,flights,lending_club,wa_churn,mlc_churn]
                       [--bank-features base,date] [--flights-features base,time]
                       [--split-seed 42]
                       [--pipelines onehot-lr,gbt,head,emb-lr,emb-gbt,emb-score-lr,emb-score-gbt,
                                    gbt-emb,gbt-oof,head-gbt-blend,heads-gbt-blend,
                                    heads-gbt-stack-blend]
                       [--bank examples/data/bank-full.csv]
                       [--flights examples/data/flights-3m.parquet] [--local-master local[2]]
                       [--gbt-trees 50] [--gbt-depth 6] [--numeric true]
                       [--blend-gbt-drop date] [--blend-method probability|logit]
                       [--blend-weight 0.5] [--blend-gbt-trees 100] [--blend-gbt-step 0.05]
                       [--blend-gbt-subsample 0.8] [--blend-head-seeds 5]
                       [--blend-stack-emb date]
        stage options (unset: the stage's defaults):
                       [--head fm|linear|mlp|deepfm] [--hidden 64,32] [--dim 8] [--dims a,b,..]
                       [--epochs N] [--step S] [--reg L2] [--init STD] [--batch B]
                       [--optimizer adagrad] [--validation-fraction F] [--patience P]
                       [--standardization true|false] [--early-stopping auto|on|off]
                       [--validation-metric loss|auc] [--refit true|false]
                       [--numeric-encoding linear|bucket|ple] [--num-buckets 10]
                       [--cross-fit K] [--cross-fit-vectors true|false] [--first-order true|false]
                       [--tol T] [--workers N] [--epochs-per-merge E]
        Feature sets: bank base (9 categorical, 6 numeric columns), date (+ the month-day of the
        last contact as a categorical column); flights base (origin, destination, route, hour,
        weekday; distance), time (+ month; departure minute of the day); lending_club, wa_churn,
        mlc_churn: their string columns categorical, the rest numeric.
        head-gbt-blend: one Spark pipeline (StringIndexer, the stage, GBTClassifier, then
        ProbabilityBlend) whose output is the weighted average (--blend-weight for the head) of the
        stage head's probability and GBT's; the head sees every categorical column, GBT all but
        those of --blend-gbt-drop (default date: Bank's month-day, which GBT cannot use from an
        arbitrary StringIndexer code; a column the feature set lacks is ignored). Its GBT has
        --gbt-depth and its own trees, step and subsampling rate (defaults chosen on validation
        rows, docs/quality.md); the stage takes the stage options (on Bank: --numeric-encoding
        bucket). heads-gbt-blend: the same with --blend-head-seeds K stages that differ only in
        their seed (42, 43, ...), each head at weight blend-weight / K (bagging the head).
        heads-gbt-stack-blend: the K heads, the GBT, and a second GBT on the GBT's features plus
        the first head's vectors of the --blend-stack-emb columns (that head cross-fits them:
        crossFitFolds=5, crossFitVectors=true), averaged at a third each (the heads sharing
        theirs).
        Fetch the data first: examples/fetch-flights.sh, examples/fetch-modeldata.sh""";

  /** The options that set one of the stage's params ({@link #stage}); unset: its default. */
  static final String[] STAGE_OPTIONS = {"head", "hidden", "dim", "dims", "epochs", "step", "reg",
      "init", "batch", "optimizer", "validation-fraction", "patience", "standardization",
      "early-stopping", "validation-metric", "refit", "numeric-encoding", "num-buckets",
      "cross-fit", "cross-fit-vectors", "first-order", "tol", "workers", "epochs-per-merge"};

  private QualityBenchmark() {}

  public static void main(String[] argv) {
    Map<String, String> defaults = new HashMap<>(Map.of("datasets", "bank,flights",
        "pipelines", String.join(",", PIPELINES), "bank", "examples/data/bank-full.csv",
        "flights", "examples/data/flights-3m.parquet", "local-master", "local[2]",
        "gbt-trees", "50", "gbt-depth", "6", "numeric", "true", "flights-features", "base,time"));
    defaults.put("bank-features", "base,date");
    defaults.put("split-seed", "42");
    defaults.put("blend-gbt-drop", "date");
    defaults.put("blend-method", "probability");
    defaults.put("blend-weight", "0.5");
    defaults.put("blend-gbt-trees", "100");
    defaults.put("blend-gbt-step", "0.05");
    defaults.put("blend-gbt-subsample", "0.8");
    defaults.put("blend-head-seeds", "5");
    defaults.put("blend-stack-emb", "date");
    for (String k : STAGE_OPTIONS) {
      defaults.put(k, "");
    }
    Map<String, String> a = JobSupport.args(argv, defaults, USAGE);
    SparkSession spark = JobSupport.session("fast-embedding quality benchmark",
        a.get("local-master"));
    try {
      Set<String> pipelines = Set.of(a.get("pipelines").split(","));
      long splitSeed = Long.parseLong(a.get("split-seed"));
      List<String> report = new ArrayList<>();
      for (String ds : a.get("datasets").split(",")) {
        String[] featureSets = ds.equals("bank") || ds.equals("flights")
            ? a.get(ds + "-features").split(",") : new String[] {"base"};
        for (String features : featureSets) {
          Data data = load(spark, a, ds, features, splitSeed);
          report.addAll(run(spark, data, pipelines, a));
          data.train().unpersist();
          data.test().unpersist();
        }
      }
      System.out.println();
      System.out.println(fmt("machine: %d cores, load average %s; master %s",
          Runtime.getRuntime().availableProcessors(), loadAverage(),
          spark.sparkContext().master()));
      System.out.println(fmt("%-13s %-66s %7s %8s", "data/features", "pipeline (split seed "
          + splitSeed + ", test = 20%)", "AUC", "fit s"));
      report.forEach(System.out::println);
    } finally {
      spark.stop();
    }
  }

  /** The datasets of the benchmark: bank, flights and those of examples/fetch-modeldata.sh. */
  static final List<String> MODELDATA = List.of("lending_club", "wa_churn", "mlc_churn");

  /** One dataset with one feature set, split by the seed. */
  static Data load(SparkSession spark, Map<String, String> a, String ds, String features,
      long seed) {
    if (ds.equals("bank")) {
      return bank(spark, a.getOrDefault("bank", "examples/data/bank-full.csv"), features, seed);
    }
    if (ds.equals("flights")) {
      return flights(spark, a.getOrDefault("flights", "examples/data/flights-3m.parquet"),
          features, seed);
    }
    if (MODELDATA.contains(ds)) {
      return csv(spark, ds, "examples/data/" + ds + ".csv", seed);
    }
    throw new IllegalArgumentException("unknown dataset '" + ds + "': bank, flights, "
        + String.join(", ", MODELDATA));
  }

  /**
   * A CSV of examples/fetch-modeldata.sh: its 0/1 'label' column, its string columns as the
   * categorical ones and every other column as numeric (empty cells: 0).
   */
  static Data csv(SparkSession spark, String name, String path, long seed) {
    Dataset<Row> all = spark.read().option("header", "true").option("inferSchema", "true")
        .csv(path);
    List<String> cats = new ArrayList<>();
    List<String> nums = new ArrayList<>();
    for (var f : all.schema().fields()) {
      if (f.name().equals("label")) {
        continue;
      }
      if (f.dataType() instanceof org.apache.spark.sql.types.StringType) {
        cats.add(f.name());
      } else {
        nums.add(f.name());
        all = all.withColumn(f.name(), functions.coalesce(functions.col(f.name())
            .cast("double"), functions.lit(0.0)));
      }
    }
    all = all.withColumn("label", functions.col("label").cast("double"));
    return split(name + "/base", all, cats.toArray(new String[0]), nums.toArray(new String[0]),
        seed);
  }

  /** A dataset split into training and test rows, with its categorical and numeric columns. */
  record Data(String name, Dataset<Row> train, Dataset<Row> test, String[] categorical,
      String[] numeric) {}

  /**
   * Bank Marketing without the leaking duration column; "daycat" also gives the day of the month
   * as a categorical column (it stays numeric too), so that it can meet the month.
   */
  static Data bank(SparkSession spark, String path, String features, long seed) {
    Dataset<Row> all = BankFeatureJob.read(spark, path);
    for (String c : BankFeatureJob.NUMERIC) {
      all = all.withColumn(c, functions.col(c).cast("double"));
    }
    String[] cats = BankFeatureJob.CATEGORICAL;
    if (features.equals("daycat")) {
      all = all.withColumn("day_of_month", functions.col("day").cast("int").cast("string"));
      cats = BankFeatureJob.concat(cats, new String[] {"day_of_month"});
    } else if (features.equals("date")) {
      // the calendar date of the last contact (month and day; the year is not in the data)
      all = all.withColumn("date", functions.concat_ws("-", functions.col("month"),
          functions.col("day").cast("int").cast("string")));
      cats = BankFeatureJob.concat(cats, new String[] {"date"});
    } else if (!features.equals("base")) {
      throw new IllegalArgumentException("--bank-features is base, daycat or date, got "
          + features);
    }
    return split("bank/" + features, all, cats, BankFeatureJob.NUMERIC, seed);
  }

  /**
   * Flights with the issue's categorical columns (origin, destination, route, departure hour, day of
   * week) and the distance as a numeric column; "time" adds the month (categorical) and the
   * departure time of day in minutes (numeric).
   */
  static Data flights(SparkSession spark, String path, String features, long seed) {
    Dataset<Row> raw = spark.read().parquet(path);
    List<org.apache.spark.sql.Column> cols = new ArrayList<>(List.of(
        functions.col("origin"), functions.col("destination"),
        functions.concat_ws("-", functions.col("origin"), functions.col("destination")).as("route"),
        functions.hour(functions.col("date")).cast("string").as("hour"),
        functions.dayofweek(functions.col("date")).cast("string").as("weekday"),
        functions.col("distance").cast("double").as("distance")));
    String[] cats = FlightsBenchmark.CATEGORICAL;
    String[] nums = {"distance"};
    if (features.equals("time")) {
      cols.add(functions.month(functions.col("date")).cast("string").as("month"));
      cols.add(functions.hour(functions.col("date")).multiply(60)
          .plus(functions.minute(functions.col("date"))).cast("double").as("minute_of_day"));
      cats = BankFeatureJob.concat(cats, new String[] {"month"});
      nums = new String[] {"distance", "minute_of_day"};
    } else if (!features.equals("base")) {
      throw new IllegalArgumentException("--flights-features is base or time, got " + features);
    }
    cols.add(functions.when(functions.col("delay").gt(15), 1.0).otherwise(0.0).as("label"));
    return split("flights/" + features, raw.select(cols.toArray(
        new org.apache.spark.sql.Column[0])), cats, nums, seed);
  }

  static Data split(String name, Dataset<Row> all, String[] cats, String[] nums, long seed) {
    Dataset<Row>[] s = all.randomSplit(new double[] {0.8, 0.2}, seed);
    Dataset<Row> train = s[0].cache();
    Dataset<Row> test = s[1].cache();
    System.out.println(fmt("%s: %d training rows, %d test rows; categorical %s, numeric %s", name,
        train.count(), test.count(), Arrays.toString(cats), Arrays.toString(nums)));
    return new Data(name, train, test, cats, nums);
  }

  /** A Spark classifier fitted on the stage's output columns; its fit time adds the stage's. */
  record Downstream(String key, String name, String[] inputCols, PipelineStage classifier) {}

  static List<String> run(SparkSession spark, Data d, Set<String> pipelines,
      Map<String, String> a) {
    boolean numeric = Boolean.parseBoolean(a.get("numeric"));
    String[] nums = numeric ? d.numeric() : new String[0];
    String[] cats = d.categorical();
    String[] idx = BankFeatureJob.suffix(cats, "_idx");
    String[] ohe = BankFeatureJob.suffix(cats, "_ohe");
    int maxCategories = 0;
    for (String c : cats) {
      long distinct = d.train().select(c).distinct().count();
      maxCategories = (int) Math.max(maxCategories, distinct);
      System.out.println(fmt("  %-12s %6d distinct values", c, distinct));
    }
    BankFeatureJob.warmUpOn(d.train().limit(20_000), "label");
    StringIndexer indexer = new StringIndexer().setInputCols(cats).setOutputCols(idx)
        .setHandleInvalid("keep");
    BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator();
    // GBT needs a bin per category of its categorical features (the unseen-label slot included)
    int maxBins = Math.max(32, maxCategories + 1);
    int trees = Integer.parseInt(a.get("gbt-trees"));
    int depth = Integer.parseInt(a.get("gbt-depth"));
    Map<String, double[]> results = new LinkedHashMap<>();
    Map<String, String> names = new LinkedHashMap<>();

    if (pipelines.contains("onehot-lr")) {
      names.put("onehot-lr", "StringIndexer + OneHotEncoder (+ numeric) -> LogisticRegression");
      results.put("onehot-lr", fitAndScore(new Pipeline().setStages(new PipelineStage[] {indexer,
          new OneHotEncoder().setInputCols(idx).setOutputCols(ohe),
          new VectorAssembler().setInputCols(BankFeatureJob.concat(ohe, nums))
              .setOutputCol("features"),
          new LogisticRegression()}), d, auc, "rawPrediction"));
    }
    if (pipelines.contains("gbt")) {
      names.put("gbt", fmt("StringIndexer (+ numeric) -> GBTClassifier (%d trees, depth %d)",
          trees, depth));
      results.put("gbt", fitAndScore(new Pipeline().setStages(new PipelineStage[] {indexer,
          new VectorAssembler().setInputCols(BankFeatureJob.concat(idx, nums))
              .setOutputCol("features"),
          gbt(trees, depth, maxBins)}), d, auc, "rawPrediction"));
    }
    boolean ours = pipelines.stream().anyMatch(p -> p.equals("head") || p.startsWith("emb-"));
    if (ours) {
      MultiEmbedding stage = stage(a, idx, nums.length > 0 ? "numeric" : "");
      List<PipelineStage> stages = new ArrayList<>(List.of(indexer));
      if (nums.length > 0) {
        stages.add(new VectorAssembler().setInputCols(nums).setOutputCol("numeric"));
      }
      stages.add(stage);
      long t0 = System.nanoTime();
      PipelineModel head = new Pipeline().setStages(stages.toArray(new PipelineStage[0]))
          .fit(d.train());
      double headFit = seconds(t0);
      MultiEmbeddingModel model = (MultiEmbeddingModel) head.stages()[head.stages().length - 1];
      printSummary(d.name(), model);
      double headAuc = new BinaryClassificationEvaluator().setRawPredictionCol("head_probability")
          .evaluate(head.transform(d.test()));
      if (pipelines.contains("head")) {
        names.put("head", "StringIndexer (+ numeric) -> MultiEmbedding, its own "
            + model.modelSpec().head().id() + " head");
        results.put("head", new double[] {headAuc, headFit});
      }
      // the stage's embeddings (+ the numeric columns) as features of Spark's classifiers; the
      // fit time counts the stage's fit
      Dataset<Row> trainF = head.transform(d.train()).cache();
      Dataset<Row> testF = head.transform(d.test()).cache();
      String[] features = BankFeatureJob.concat(new String[] {"embedding"}, nums);
      String[] withScore = BankFeatureJob.concat(new String[] {"embedding", "head_score"}, nums);
      String[] gbtEmb = BankFeatureJob.concat(idx, features);
      List<Downstream> downstream = List.of(
          new Downstream("emb-lr", "MultiEmbedding's embeddings (+ numeric) -> LogisticRegression",
              features, new LogisticRegression()),
          new Downstream("emb-gbt", fmt("MultiEmbedding's embeddings (+ numeric) -> GBTClassifier "
              + "(%d trees, depth %d)", trees, depth), features, gbt(trees, depth, 32)),
          new Downstream("emb-score-lr", "MultiEmbedding's embeddings + head score (+ numeric) -> LR",
              withScore, new LogisticRegression()),
          new Downstream("emb-score-gbt", "MultiEmbedding's embeddings + head score (+ numeric) -> "
              + "GBT", withScore, gbt(trees, depth, 32)),
          // the gbt pipeline's own features (indexed categoricals, numeric), plus the embeddings
          new Downstream("gbt-emb", "StringIndexer + MultiEmbedding's embeddings (+ numeric) -> GBT",
              gbtEmb, gbt(trees, depth, maxBins)));
      Data withEmbeddings = new Data(d.name(), trainF, testF, cats, nums);
      for (Downstream p : downstream) {
        if (pipelines.contains(p.key())) {
          names.put(p.key(), p.name());
          results.put(p.key(), plus(fitAndScore(new Pipeline().setStages(new PipelineStage[] {
              new VectorAssembler().setInputCols(p.inputCols()).setOutputCol("features"),
              p.classifier()}), withEmbeddings, auc, "rawPrediction"), headFit));
        }
      }
      if (pipelines.contains("gbt-oof")) {
        names.put("gbt-oof", "StringIndexer + out-of-fold head score (+ numeric) -> GBT");
        results.put("gbt-oof", gbtOnOutOfFoldScores(d, stages, head, testF, idx, nums,
            gbt(trees, depth, maxBins), auc, headFit));
      }
      trainF.unpersist();
      testF.unpersist();
    }
    if (pipelines.contains("head-gbt-blend")) {
      names.put("head-gbt-blend", fmt("MultiEmbedding's head, GBT (%s) -> ProbabilityBlend",
          blendGbtName(a, depth)));
      results.put("head-gbt-blend", fitAndScore(headGbtBlend(d, a, nums, depth, 1, List.of()), d,
          auc, "blend_probability"));
    }
    if (pipelines.contains("heads-gbt-blend")) {
      int heads = Integer.parseInt(a.get("blend-head-seeds"));
      names.put("heads-gbt-blend", fmt("%d MultiEmbedding heads (seeds), GBT (%s) -> "
          + "ProbabilityBlend", heads, blendGbtName(a, depth)));
      results.put("heads-gbt-blend", fitAndScore(headGbtBlend(d, a, nums, depth, heads,
          List.of()), d, auc, "blend_probability"));
    }
    if (pipelines.contains("heads-gbt-stack-blend")) {
      int heads = Integer.parseInt(a.get("blend-head-seeds"));
      List<String> stack = Arrays.stream(a.get("blend-stack-emb").split(","))
          .filter(c -> Arrays.asList(d.categorical()).contains(c)).toList();
      names.put("heads-gbt-stack-blend", fmt("%d heads, GBT (%s), GBT + cross-fitted %s vectors "
          + "-> ProbabilityBlend", heads, blendGbtName(a, depth), stack));
      results.put("heads-gbt-stack-blend", fitAndScore(headGbtBlend(d, a, nums, depth, heads,
          stack), d, auc, "blend_probability"));
    }
    List<String> lines = new ArrayList<>();
    results.forEach((k, r) -> lines.add(fmt("%-13s %-66s %7.4f %8.1f", d.name(), names.get(k),
        r[0], r[1])));
    lines.forEach(System.out::println);
    return lines;
  }

  /**
   * Our best pipeline on Bank Marketing (docs/quality.md, session 5): the stage's head on every
   * categorical column and GBT on all but --blend-gbt-drop, each fitted on the training rows, their
   * probabilities averaged by {@link ProbabilityBlend} (--blend-method, --blend-weight for the
   * head, shared equally by the {@code heads} stages, which differ only in their seed: 42, 43,
   * ...). With {@code stackCols} (session 5's follow-up), a second GBT on GBT's features plus the
   * first head's vectors of those columns, cross-fitted on the training rows, joins the blend, and
   * the heads, GBT and it get a third each. One Spark pipeline, so it persists and transforms like
   * any other.
   */
  static Pipeline headGbtBlend(Data d, Map<String, String> a, String[] nums, int depth,
      int heads, List<String> stackCols) {
    String[] cats = d.categorical();
    String[] idx = BankFeatureJob.suffix(cats, "_idx");
    List<String> drop = Arrays.asList(a.get("blend-gbt-drop").split(","));
    List<String> gbtCats = Arrays.stream(cats).filter(c -> !drop.contains(c)).toList();
    int maxBins = 32;
    for (String c : gbtCats) {
      maxBins = (int) Math.max(maxBins, d.train().select(c).distinct().count() + 1);
    }
    List<PipelineStage> stages = new ArrayList<>(List.of(new StringIndexer().setInputCols(cats)
        .setOutputCols(idx).setHandleInvalid("keep")));
    if (nums.length > 0) {
      stages.add(new VectorAssembler().setInputCols(nums).setOutputCol("numeric"));
    }
    // K heads that differ only in their seed; the first keeps the usual column names
    if (heads < 1) {
      throw new IllegalArgumentException("--blend-head-seeds must be at least 1, got " + heads);
    }
    boolean stacked = !stackCols.isEmpty();
    // two-way: the heads at blend-weight, GBT at the rest; three-way: a third each
    double w = stacked ? 1.0 / 3 : Double.parseDouble(a.get("blend-weight"));
    String[] blendCols = new String[heads + (stacked ? 2 : 1)];
    double[] weights = new double[blendCols.length];
    for (int j = 0; j < heads; j++) {
      String suffix = j == 0 ? "" : "_" + j;
      MultiEmbedding e = stage(a, idx, nums.length > 0 ? "numeric" : "").setSeed(42 + j)
          .setOutputCol("embedding" + suffix).setPredictionCol("head_score" + suffix)
          .setProbabilityCol("head_probability" + suffix);
      if (stacked && j == 0) {
        // the stacked GBT's vectors: each training row's from the fold model that did not see
        // it (rotated into the full model's basis), so GBT meets vectors no more telling on its
        // training rows than on new ones
        e.setCrossFitFolds(5).setCrossFitVectors(true)
            .setOutputCols(BankFeatureJob.suffix(cats, "_vec"));
      }
      stages.add(e);
      blendCols[j] = "head_probability" + suffix;
      weights[j] = w / heads;
    }
    String[] gbtFeatures = BankFeatureJob.concat(BankFeatureJob.suffix(
        gbtCats.toArray(new String[0]), "_idx"), nums);
    stages.add(new VectorAssembler().setInputCols(gbtFeatures).setOutputCol("gbt_features"));
    stages.add(blendGbt(a, depth, maxBins).setFeaturesCol("gbt_features"));
    blendCols[heads] = "probability";
    weights[heads] = stacked ? 1.0 / 3 : 1 - w;
    if (stacked) {
      stages.add(new VectorAssembler().setInputCols(BankFeatureJob.concat(gbtFeatures,
          BankFeatureJob.suffix(stackCols.toArray(new String[0]), "_vec")))
          .setOutputCol("stack_features"));
      stages.add(blendGbt(a, depth, maxBins).setFeaturesCol("stack_features")
          .setRawPredictionCol("stack_raw").setProbabilityCol("stack_probability")
          .setPredictionCol("stack_prediction"));
      blendCols[heads + 1] = "stack_probability";
      weights[heads + 1] = 1.0 / 3;
    }
    stages.add(new ProbabilityBlend().setInputCols(blendCols).setWeights(weights)
        .setMethod(a.get("blend-method")));
    return new Pipeline().setStages(stages.toArray(new PipelineStage[0]));
  }

  /** head-gbt-blend's GBT: --gbt-depth, --blend-gbt-trees, -step, -subsample. */
  private static GBTClassifier blendGbt(Map<String, String> a, int depth, int maxBins) {
    return gbt(Integer.parseInt(a.get("blend-gbt-trees")), depth, maxBins)
        .setStepSize(Double.parseDouble(a.get("blend-gbt-step")))
        .setSubsamplingRate(Double.parseDouble(a.get("blend-gbt-subsample")));
  }

  /** The blends' GBT as the options set it: trees, depth, step and subsampling. */
  static String blendGbtName(Map<String, String> a, int depth) {
    return fmt("%s trees, depth %d, step %s, subsampling %s", a.get("blend-gbt-trees"), depth,
        a.get("blend-gbt-step"), a.get("blend-gbt-subsample"));
  }

  /**
   * GBT on its own features plus the head's score, stacked properly: each training row's score
   * comes from a stage fitted on the other folds (5), so GBT sees scores as over-confident as the
   * test rows' and no more. The test rows' score is the stage fitted on all training rows. The fit
   * time counts the five fold fits and the full one.
   */
  static double[] gbtOnOutOfFoldScores(Data d, List<PipelineStage> stages, PipelineModel full,
      Dataset<Row> testF, String[] idx, String[] nums, GBTClassifier gbt,
      BinaryClassificationEvaluator auc, double fullFitSeconds) {
    int folds = 5;
    Dataset<Row> train = d.train().withColumn("oof_row", functions.monotonically_increasing_id())
        .withColumn("oof_fold", functions.floor(functions.rand(7).multiply(folds))).cache();
    long t0 = System.nanoTime();
    Dataset<Row> scores = null;
    for (int f = 0; f < folds; f++) {
      PipelineModel m = new Pipeline().setStages(stages.toArray(new PipelineStage[0]))
          .fit(train.where(functions.col("oof_fold").notEqual(f)));
      Dataset<Row> s = m.transform(train.where(functions.col("oof_fold").equalTo(f)))
          .select("oof_row", "head_score");
      scores = scores == null ? s : scores.union(s);
    }
    // the indexed columns come from the full fit's indexer, as the test rows' do
    Dataset<Row> trainO = full.transform(train).drop("head_score").join(scores, "oof_row").cache();
    double foldSeconds = seconds(t0);
    double[] r = fitAndScore(new Pipeline().setStages(new PipelineStage[] {
        new VectorAssembler().setInputCols(BankFeatureJob.concat(idx,
            BankFeatureJob.concat(new String[] {"head_score"}, nums))).setOutputCol("features"),
        gbt}), new Data(d.name(), trainO, testF, d.categorical(), nums), auc, "rawPrediction");
    trainO.unpersist();
    train.unpersist();
    return plus(r, fullFitSeconds + foldSeconds);
  }

  static GBTClassifier gbt(int trees, int depth, int maxBins) {
    return new GBTClassifier().setMaxIter(trees).setMaxDepth(depth).setMaxBins(maxBins).setSeed(42);
  }

  /** Fits {@code p} on the training rows (timed) and returns {test AUC, fit seconds}. */
  static double[] fitAndScore(Pipeline p, Data d, BinaryClassificationEvaluator auc, String col) {
    long t0 = System.nanoTime();
    PipelineModel m = p.fit(d.train());
    double fit = seconds(t0);
    double v = auc.setRawPredictionCol(col).evaluate(m.transform(d.test()));
    return new double[] {v, fit};
  }

  static double[] plus(double[] r, double seconds) {
    return new double[] {r[0], r[1] + seconds};
  }

  /** The stage: its defaults, except where an option says otherwise. */
  static MultiEmbedding stage(Map<String, String> a, String[] idx, String numericCol) {
    MultiEmbedding e = new MultiEmbedding().setInputCols(idx).setOutputCol("embedding")
        .setProbabilityCol("head_probability").setPredictionCol("head_score").setSeed(42);
    if (!numericCol.isEmpty()) {
      e.setNumericCol(numericCol);
    }
    set(a, "head", e::setHead);
    set(a, "hidden", v -> e.setHiddenLayers(ints(v)));
    set(a, "dim", v -> e.setEmbeddingDim(Integer.parseInt(v)));
    set(a, "dims", v -> e.setEmbeddingDims(ints(v)));
    set(a, "epochs", v -> e.setMaxIter(Integer.parseInt(v)));
    set(a, "step", v -> e.setStepSize(Double.parseDouble(v)));
    set(a, "reg", v -> e.setRegParam(Double.parseDouble(v)));
    set(a, "init", v -> e.setInitStd(Double.parseDouble(v)));
    set(a, "batch", v -> e.setBatchSize(Integer.parseInt(v)));
    set(a, "optimizer", e::setOptimizer);
    set(a, "validation-fraction", v -> e.setValidationFraction(Double.parseDouble(v)));
    set(a, "patience", v -> e.setPatience(Integer.parseInt(v)));
    set(a, "standardization", v -> e.setStandardization(Boolean.parseBoolean(v)));
    set(a, "early-stopping", e::setEarlyStopping);
    set(a, "validation-metric", e::setValidationMetric);
    set(a, "refit", v -> e.setRefitOnAllRows(Boolean.parseBoolean(v)));
    set(a, "numeric-encoding", e::setNumericEncoding);
    set(a, "num-buckets", v -> e.setNumBuckets(Integer.parseInt(v)));
    set(a, "cross-fit", v -> e.setCrossFitFolds(Integer.parseInt(v)));
    set(a, "cross-fit-vectors", v -> e.setCrossFitVectors(Boolean.parseBoolean(v)));
    set(a, "tol", v -> e.setTol(Double.parseDouble(v)));
    set(a, "first-order", v -> e.setWithFirstOrder(Boolean.parseBoolean(v)));
    set(a, "workers", v -> e.setNumWorkers(Integer.parseInt(v)));
    set(a, "epochs-per-merge", v -> e.setEpochsPerMerge(Integer.parseInt(v)));
    System.out.println("MultiEmbedding params: " + Arrays.stream(e.params())
        .filter(e::isSet).map(p -> p.name() + "=" + show(e.getOrDefault(p)))
        .collect(Collectors.joining(", ")));
    return e;
  }

  private static String show(Object v) {
    if (v instanceof int[] x) {
      return Arrays.toString(x);
    }
    if (v instanceof String[] x) {
      return Arrays.toString(x);
    }
    return String.valueOf(v);
  }

  private static void set(Map<String, String> a, String key,
      java.util.function.Consumer<String> setter) {
    String v = a.get(key);
    if (v != null && !v.isEmpty()) {
      setter.accept(v);
    }
  }

  private static int[] ints(String v) {
    return Stream.of(v.split(",")).mapToInt(Integer::parseInt).toArray();
  }

  static void printSummary(String data, MultiEmbeddingModel model) {
    TrainingSummary s = model.summary();
    System.out.println(fmt("%s: MultiEmbedding %s dims %s, %d rounds in %.1f s (kept round %d%s%s)",
        data, model.modelSpec().head().id(), Arrays.toString(model.embeddingDims()),
        s.totalRounds(), s.fitSeconds(), s.bestRound(), s.stoppedEarly() ? ", stopped early" : "",
        s.refitEpochs() > 0 ? "; refit on every row for " + s.refitEpochs() + " epochs" : ""));
    for (TrainingSummary.Round r : s.rounds()) {
      System.out.println(fmt("  round %2d: %.2f s, train loss %.5f%s", r.round(), r.seconds(),
          r.loss(), Double.isNaN(r.validationLoss()) ? "" : fmt("; after merge: train sample loss "
              + "%.5f AUC %.4f, validation loss %.5f AUC %.4f", r.trainLoss(), r.trainAuc(),
              r.validationLoss(), r.validationAuc())));
    }
  }

  static String loadAverage() {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
    } catch (java.io.IOException e) {
      return "?";
    }
  }
}
