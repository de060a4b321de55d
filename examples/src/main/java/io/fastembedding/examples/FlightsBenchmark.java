package io.fastembedding.examples;

import static io.fastembedding.examples.JobSupport.fmt;
import static io.fastembedding.examples.JobSupport.seconds;

import io.fastembedding.spark.MultiEmbedding;
import io.fastembedding.spark.MultiEmbeddingModel;
import io.fastembedding.spark.TrainingSummary;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
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
 * The flights benchmark: 3 M flights (vega-datasets), categorical origin, destination, route,
 * departure hour and day of week, label "delayed more than 15 minutes". In one run, on the same
 * 80/20 split (seed 42), it fits and times StringIndexer + OneHotEncoder + LogisticRegression and
 * StringIndexer + MultiEmbedding + LogisticRegression (on the embeddings and the fm head's score),
 * and reports fit time, transform throughput and test AUC of each.
 */
public final class FlightsBenchmark {
  static final String[] CATEGORICAL = {"origin", "destination", "route", "hour", "weekday"};

  private static final String USAGE = """
      FlightsBenchmark [--input examples/data/flights-3m.parquet] [--dim 8] [--epochs 10]
                       [--batch 1024] [--step 0.1] [--device auto] [--local-master local[2]]
        Fetch the data first: examples/fetch-flights.sh""";

  private FlightsBenchmark() {}

  public static void main(String[] argv) {
    Map<String, String> a = JobSupport.args(argv, Map.of("input",
        "examples/data/flights-3m.parquet", "dim", "8", "epochs", "10", "batch", "1024",
        "step", "0.1", "device", "auto", "local-master", "local[2]"), USAGE);
    SparkSession spark = JobSupport.session("fast-embedding flights benchmark",
        a.get("local-master"));
    try {
      run(spark, a);
    } finally {
      spark.stop();
    }
  }

  static Dataset<Row> read(SparkSession spark, String path) {
    return spark.read().parquet(path).select(
        functions.col("origin"), functions.col("destination"),
        functions.concat_ws("-", functions.col("origin"), functions.col("destination")).as("route"),
        functions.hour(functions.col("date")).cast("string").as("hour"),
        functions.dayofweek(functions.col("date")).cast("string").as("weekday"),
        functions.when(functions.col("delay").gt(15), 1.0).otherwise(0.0).as("label"));
  }

  static void run(SparkSession spark, Map<String, String> a) {
    Dataset<Row> all = read(spark, a.get("input"));
    Dataset<Row>[] split = all.randomSplit(new double[] {0.8, 0.2}, 42);
    Dataset<Row> train = split[0].cache();
    Dataset<Row> test = split[1].cache();
    long trainRows = train.count();
    long testRows = test.count();
    System.out.println(fmt("flights: %d training rows, %d test rows, %s, on %s (%d cores)",
        trainRows, testRows, Arrays.toString(CATEGORICAL), spark.sparkContext().master(),
        Runtime.getRuntime().availableProcessors()));
    for (String c : CATEGORICAL) {
      System.out.println(fmt("  %-12s %6d distinct values", c,
          train.select(c).distinct().count()));
    }
    BankFeatureJob.warmUpOn(train.limit(20_000), "label");

    String[] idx = BankFeatureJob.suffix(CATEGORICAL, "_idx");
    String[] ohe = BankFeatureJob.suffix(CATEGORICAL, "_ohe");
    StringIndexer indexer = new StringIndexer().setInputCols(CATEGORICAL).setOutputCols(idx)
        .setHandleInvalid("keep");
    BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator();

    // one-hot baseline: the stages fitted one after the other, as Pipeline.fit does, timed apiece
    long t0 = System.nanoTime();
    var oneHotIndexer = indexer.fit(train);
    double oneHotIndexFit = seconds(t0);
    Dataset<Row> indexed = oneHotIndexer.transform(train);
    long t1 = System.nanoTime();
    var encoder = new OneHotEncoder().setInputCols(idx).setOutputCols(ohe).fit(indexed);
    var oneHotAssembler = new VectorAssembler().setInputCols(ohe).setOutputCol("features");
    double oneHotEncodeFit = seconds(t1);
    t1 = System.nanoTime();
    var oneHotLr = new LogisticRegression().fit(oneHotAssembler.transform(encoder.transform(indexed)));
    double oneHotLrFit = seconds(t1);
    double oneHotFit = seconds(t0);
    PipelineModel oneHot = new PipelineModel("onehot", new Transformer[] {oneHotIndexer, encoder,
        oneHotAssembler, oneHotLr});
    double oneHotAuc = auc.evaluate(oneHot.transform(test));
    double oneHotPipelineRate = rowsPerSecond(oneHot, test, "probability");
    double oneHotEncodeRate = rowsPerSecond(new PipelineModel("onehot-encode", new Transformer[] {
        oneHotIndexer, encoder, oneHotAssembler}), test, "features");
    Dataset<Row> testIndexed = oneHotIndexer.transform(test).cache();
    testIndexed.count();
    double oneHotStageRate = rowsPerSecond(new PipelineModel("onehot-stage", new Transformer[] {
        encoder, oneHotAssembler}), testIndexed, "features");

    // embeddings
    MultiEmbedding embedding = new MultiEmbedding().setInputCols(idx).setOutputCol("embedding")
        .setPredictionCol("fm_score").setEmbeddingDim(Integer.parseInt(a.get("dim")))
        .setMaxIter(Integer.parseInt(a.get("epochs")))
        .setBatchSize(Integer.parseInt(a.get("batch")))
        .setStepSize(Double.parseDouble(a.get("step"))).setDevice(a.get("device")).setSeed(42);
    t0 = System.nanoTime();
    var ourIndexer = indexer.fit(train);
    double oursIndexFit = seconds(t0);
    indexed = ourIndexer.transform(train);
    t1 = System.nanoTime();
    MultiEmbeddingModel model = embedding.fit(indexed);
    var ourAssembler = new VectorAssembler().setInputCols(new String[] {"embedding", "fm_score"})
        .setOutputCol("features");
    double oursEmbeddingFit = seconds(t1);
    t1 = System.nanoTime();
    var ourLr = new LogisticRegression().fit(ourAssembler.transform(model.transform(indexed)));
    double oursLrFit = seconds(t1);
    double oursFit = seconds(t0);
    PipelineModel ours = new PipelineModel("ours", new Transformer[] {ourIndexer, model,
        ourAssembler, ourLr});
    TrainingSummary s = model.summary();
    Dataset<Row> scored = ours.transform(test).cache();
    double oursAuc = auc.evaluate(scored);
    double headAuc = new BinaryClassificationEvaluator().setRawPredictionCol("fm_score")
        .evaluate(scored);
    scored.unpersist();
    double oursPipelineRate = rowsPerSecond(ours, test, "probability");
    MultiEmbeddingModel embedOnly = model.copy(new org.apache.spark.ml.param.ParamMap())
        .setPredictionCol("");
    // the stage's output is already the one feature vector: no assembler needed
    double oursEncodeRate = rowsPerSecond(new PipelineModel("embedding-encode",
        new Transformer[] {ourIndexer, embedOnly}), test, "embedding");
    double oursStageRate = rowsPerSecond(embedOnly, testIndexed, "embedding");
    // the stage as the classifier: its fm head's prediction
    MultiEmbeddingModel headOnly = model.copy(new org.apache.spark.ml.param.ParamMap());
    double headPipelineRate = rowsPerSecond(new PipelineModel("embedding-head",
        new Transformer[] {ourIndexer, headOnly}), test, "fm_score");

    System.out.println();
    System.out.println(fmt("MultiEmbedding: %d rounds, %.1f s (of which blocks + rounds as "
        + "below), loss %s", s.totalRounds(), s.fitSeconds(),
        Arrays.toString(Arrays.stream(s.lossHistory()).mapToObj(x -> fmt("%.4f", x)).toArray())));
    for (TrainingSummary.Round r : s.rounds()) {
      System.out.println(fmt("  round %d: %.2f s, %.0f rows/s", r.round(), r.seconds(),
          r.rowsPerSecond()));
    }
    s.devices().forEach(d -> System.out.println("  " + d));
    System.out.println();
    System.out.println(fmt("%-52s %7s %7s %22s", "flights (local[2]), test AUC on 20%", "AUC",
        "fit s", "fit s: index/encode/LR"));
    System.out.println(fmt("%-52s %7.4f %7.1f %8.1f/%5.1f/%5.1f",
        "StringIndexer + OneHotEncoder + LogisticRegression", oneHotAuc, oneHotFit,
        oneHotIndexFit, oneHotEncodeFit, oneHotLrFit));
    System.out.println(fmt("%-52s %7.4f %7.1f %8.1f/%5.1f/%5.1f",
        "StringIndexer + MultiEmbedding + LogisticRegression", oursAuc, oursFit, oursIndexFit,
        oursEmbeddingFit, oursLrFit));
    System.out.println(fmt("%-52s %7.4f %7.1f %8.1f/%5.1f/%5s",
        "StringIndexer + MultiEmbedding (its fm head)", headAuc, oursIndexFit + oursEmbeddingFit,
        oursIndexFit, oursEmbeddingFit, "-"));
    System.out.println(fmt("LogisticRegression iterations: %d on one-hot, %d on embeddings",
        oneHotLr.summary().totalIterations(), ourLr.summary().totalIterations()));
    System.out.println();
    System.out.println(fmt("%-52s %14s %14s %14s", "transform rows/s (test set)", "whole pipeline",
        "index+encode", "encode only"));
    System.out.println(fmt("%-52s %14.0f %14.0f %14.0f", "one-hot", oneHotPipelineRate,
        oneHotEncodeRate, oneHotStageRate));
    System.out.println(fmt("%-52s %14.0f %14.0f %14.0f", "MultiEmbedding + LogisticRegression",
        oursPipelineRate, oursEncodeRate, oursStageRate));
    System.out.println(fmt("%-52s %14.0f", "MultiEmbedding (its fm head)", headPipelineRate));
  }

  /**
   * Rows per second of {@code model.transform(data)}, computing {@code column} for every row (and
   * discarding it): the best of three runs after a warm-up run.
   */
  static double rowsPerSecond(Transformer model, Dataset<Row> data, String column) {
    Dataset<Row> out = model.transform(data).select(column);
    out.write().format("noop").mode("overwrite").save();
    long rows = data.count();
    double best = 0;
    for (int i = 0; i < 3; i++) {
      long t0 = System.nanoTime();
      out.write().format("noop").mode("overwrite").save();
      best = Math.max(best, rows / seconds(t0));
    }
    return best;
  }
}
