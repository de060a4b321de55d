package io.fastembedding.spark;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.optim.OptimizerType;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;

/**
 * The one definition of each param (name, doc, validator, and in {@link #setDefaults} its default),
 * so that the estimator and the model, which share them through {@link MultiEmbeddingParams},
 * describe them identically in {@code explainParams()}.
 */
final class ParamDefs {
  private ParamDefs() {}

  static final String KEEP = "keep";
  static final String SKIP = "skip";
  static final String ERROR = "error";
  static final String[] HANDLE_INVALID = {ERROR, SKIP, KEEP};
  static final String AUTO = "auto";
  static final String CPU = "cpu";
  static final String GPU = "gpu";
  static final String[] DEVICES = {AUTO, CPU, GPU};
  static final String BROADCAST = "broadcast";
  static final String SHARDED = "sharded";
  static final String[] PLACEMENTS = {AUTO, BROADCAST, SHARDED};

  // ---- shared by the estimator and the model

  static StringArrayParam inputCols(Params o) {
    return new StringArrayParam(o, "inputCols", "categorical index columns, one embedding table each "
        + "(integer or integral double values, e.g. StringIndexer output)",
        ParamCheck.distinctNames().named("inputCols"));
  }

  static Param<String> outputCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "outputCol", "output column of the concatenated embedding vectors",
        ParamCheck.nonEmpty().named("outputCol"));
  }

  static StringArrayParam outputCols(Params o) {
    return new StringArrayParam(o, "outputCols", "optional output columns, one embedding vector per "
        + "input column (same order as inputCols)", ParamCheck.distinctNames().named("outputCols"));
  }

  static Param<String> predictionCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "predictionCol", "output column of the head's prediction "
        + "(probability for the logistic loss, value for the squared loss); empty: not produced",
        ParamCheck.anyString().named("predictionCol"));
  }

  static Param<String> handleInvalid(Params o) {
    return SparkCompat.stringParam(o.uid(), "handleInvalid", "how to handle null, negative and too large "
        + "indices: 'error' (fail naming the column and value), 'skip' (drop the row) or 'keep' "
        + "(map them to one reserved extra row per table, so each table has numCategories + 1 rows)",
        ParamCheck.oneOf(HANDLE_INVALID).named("handleInvalid"));
  }

  static BooleanParam withFirstOrder(Params o) {
    return new BooleanParam(o.uid(), "withFirstOrder", "for the fm head: lead each field's slice of "
        + "the output vector with the category's first-order weight, so a field contributes "
        + "1 + dim values (as FNN builds its inputs from a trained FM). Ignored by other heads");
  }

  static Param<String> numericCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "numericCol", "optional Vector column of dense numeric features "
        + "fed to the head next to the embeddings (e.g. VectorAssembler output); every row needs "
        + "the same size and finite values. Empty: none",
        ParamCheck.anyString().named("numericCol"));
  }

  static Param<String> probabilityCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "probabilityCol", "output column of the class probabilities "
        + "[1 - p, p] as a Vector, as Spark's probabilistic classifiers write it (logistic loss "
        + "only); empty: not produced",
        ParamCheck.anyString().named("probabilityCol"));
  }

  // ---- estimator only

  static Param<String> labelCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "labelCol", "label column (0/1 for the logistic loss, any finite "
        + "number for the squared loss)", ParamCheck.nonEmpty().named("labelCol"));
  }

  static Param<String> weightCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "weightCol", "optional per-row weight column (finite, >= 0); "
        + "unset or empty: every row weighs 1",
        ParamCheck.anyString().named("weightCol"));
  }

  static BooleanParam standardization(Params o) {
    return new BooleanParam(o.uid(), "standardization", "standardise each numeric feature to mean "
        + "0 and standard deviation 1 before the head, with statistics learned from the training "
        + "rows in fit and kept in the model (a constant feature becomes 0)");
  }

  static Param<String> validationIndicatorCol(Params o) {
    return SparkCompat.stringParam(o.uid(), "validationIndicatorCol", "optional boolean column: rows where it "
        + "is true are not trained on but evaluated after each round (loss and AUC), for early "
        + "stopping; as GBTClassifier's. Empty: see validationFraction",
        ParamCheck.anyString().named("validationIndicatorCol"));
  }

  static DoubleParam validationFraction(Params o) {
    return new DoubleParam(o.uid(), "validationFraction", "fraction of the rows, drawn at random "
        + "with the seed, held out for early stopping when validationIndicatorCol is empty, in "
        + "[0, 1); setting it above 0 turns early stopping on under 'auto'",
        ParamCheck.doubleInRange(0, 1).named("validationFraction"));
  }

  static IntParam patience(Params o) {
    return new IntParam(o.uid(), "patience", "with validation rows: stop when the validation "
        + "metric has not improved for this many rounds (>= 1), and keep the best round's weights",
        ParamCheck.intAtLeast(1).named("patience"));
  }

  static DoubleParam tol(Params o) {
    return new DoubleParam(o.uid(), "tol", "with early stopping: the least improvement of the "
        + "validation metric (a decrease of the loss, an increase of the AUC), absolute, over the "
        + "last round that improved by more than it, for a round to restart patience's count "
        + "(>= 0; 0: any improvement), as scikit-learn's HistGradientBoosting tol; the best round "
        + "is kept whatever its margin", ParamCheck.doubleAtLeast(0).named("tol"));
  }

  static final String ON = "on";
  static final String OFF = "off";
  static final String[] EARLY_STOPPING = {AUTO, ON, OFF};
  /** Training rows above which 'auto' turns early stopping on (scikit-learn's HistGradientBoosting). */
  static final long EARLY_STOPPING_ROWS = 10_000;

  static Param<String> earlyStopping(Params o) {
    return SparkCompat.stringParam(o.uid(), "earlyStopping", "'auto' (the default): 'on' when "
        + "validationIndicatorCol is set or validationFraction was set above 0; otherwise 'on' "
        + "when the training data has more than " + EARLY_STOPPING_ROWS + " rows, and at "
        + EARLY_STOPPING_ROWS + " rows and below 'on' with refitOnAllRows (the held-out "
        + "validationFraction only chooses the number of epochs; the model is then refitted on "
        + "every row), and 'off' when validationFraction is 0; 'on': hold out validation rows "
        + "(validationIndicatorCol, else validationFraction), stop when the validation metric has "
        + "not improved for patience rounds and keep the best round; 'off': train maxIter epochs "
        + "on every row (an indicator column's rows are still held out and evaluated)",
        ParamCheck.oneOf(EARLY_STOPPING).named("earlyStopping"));
  }

  static final String LOSS = "loss";
  static final String AUC = "auc";

  static Param<String> validationMetric(Params o) {
    return SparkCompat.stringParam(o.uid(), "validationMetric", "what early stopping watches on the "
        + "validation rows: 'loss' (the training loss) or 'auc' (area under the ROC curve, "
        + "logistic loss only)", ParamCheck.oneOf(LOSS, AUC).named("validationMetric"));
  }

  static BooleanParam refitOnAllRows(Params o) {
    return new BooleanParam(o.uid(), "refitOnAllRows", "after early stopping, train a fresh model "
        + "on every row, the validation rows included, for the best round's number of epochs, "
        + "and keep it (costs a second fit); earlyStopping 'auto' does so on its own at "
        + EARLY_STOPPING_ROWS + " rows and below");
  }

  static Param<String> numericEncoding(Params o) {
    return SparkCompat.stringParam(o.uid(), "numericEncoding", "how numeric features reach the head: "
        + "'linear' (the standardised value), 'bucket' (the value, and its quantile bucket as one "
        + "more embedded field, so the head can learn thresholds), 'ple' (the piecewise-linear "
        + "encoding of the value over its bucket edges, one head input per bucket, in its place) or "
        + "'auto' ('ple' when the training data has at most " + EARLY_STOPPING_ROWS + " rows, else "
        + "'linear': on more rows 'ple' multiplies the head's numeric inputs by numBuckets); a fitted "
        + "model holds the encoding it used",
        ParamCheck.oneOf(NumericEncoding.ALL).named("numericEncoding"));
  }

  static IntParam numBuckets(Params o) {
    return new IntParam(o.uid(), "numBuckets", "quantile buckets per numeric feature for the "
        + "'bucket' and 'ple' encodings (>= 2); a feature with fewer distinct values gets fewer",
        ParamCheck.intAtLeast(2).named("numBuckets"));
  }

  static IntParam crossFitFolds(Params o) {
    return new IntParam(o.uid(), "crossFitFolds", "0 (off), or k >= 2: also fit k models, each "
        + "on the training rows outside one of k folds, so that the model's outputs for its own "
        + "training rows come from the fold model that did not see them (as scikit-learn's "
        + "TargetEncoder.fit_transform): the score and the probability, and with crossFitVectors "
        + "the embedding vectors and first-order weights too (else the full model's). Other rows "
        + "get the model fitted on all rows",
        ParamCheck.<Object>of(v -> ((Integer) v) == 0 || ((Integer) v) >= 2,
            "it must be 0 (off) or an integer >= 2").named("crossFitFolds"));
  }

  static BooleanParam crossFitVectors(Params o) {
    return new BooleanParam(o.uid(), "crossFitVectors", "with crossFitFolds and the fm head: a "
        + "training row's embedding vectors and first-order weights also come from the fold model "
        + "that did not see it, its vectors rotated into the full model's basis (one orthogonal "
        + "rotation of all its vectors, which leaves its scores unchanged). Else (default) every "
        + "row gets the full model's");
  }

  static IntArrayParam numCategories(Params o) {
    return new IntArrayParam(o, "numCategories", "number of valid categories per input column "
        + "(indices 0 to n-1); when unset, taken from the column's NominalAttribute metadata "
        + "(written by StringIndexer), else from one scan for the largest index",
        ParamCheck.positiveInts().named("numCategories"));
  }

  static IntParam embeddingDim(Params o) {
    return new IntParam(o.uid(), "embeddingDim", "embedding dimension of every field (> 0), unless "
        + "embeddingDims is set; 0 (the default): by cardinality, twice the cube root of a field's "
        + "categories rounded to a multiple of 4, between 4 and 64 (the fm head takes its largest "
        + "field's dim for all)", ParamCheck.intAtLeast(0).named("embeddingDim"));
  }

  static IntArrayParam embeddingDims(Params o) {
    return new IntArrayParam(o, "embeddingDims", "embedding dimension per input column (> 0 each); "
        + "overrides embeddingDim. The fm head needs one common dimension",
        ParamCheck.positiveInts().named("embeddingDims"));
  }

  static Param<String> head(Params o) {
    return SparkCompat.stringParam(o.uid(), "head", "model trained on top of the embeddings: 'fm' "
        + "(factorization machine over the fields, with a first-order weight per category), 'fwfm' "
        + "(the fm head with a learned weight for each pair of fields), 'linear' or 'mlp' (see "
        + "hiddenLayers)",
        ParamCheck.oneOf(HeadType.ids()).named("head"));
  }

  static IntArrayParam hiddenLayers(Params o) {
    return new IntArrayParam(o, "hiddenLayers", "hidden layer widths of the mlp head",
        ParamCheck.positiveInts().named("hiddenLayers"));
  }

  static Param<String> loss(Params o) {
    return SparkCompat.stringParam(o.uid(), "loss", "training loss: 'logistic' (labels 0/1) or 'squared'",
        ParamCheck.oneOf(LossType.ids()).named("loss"));
  }

  static Param<String> optimizer(Params o) {
    return SparkCompat.stringParam(o.uid(), "optimizer", "update rule: 'sgd', 'adagrad', "
        + "'rowwise_adagrad' (one accumulator per embedding row) or 'rowwise_adam' (a momentum "
        + "vector and one second moment per embedding row)",
        ParamCheck.oneOf(OptimizerType.ids()).named("optimizer"));
  }

  static DoubleParam stepSize(Params o) {
    return new DoubleParam(o.uid(), "stepSize", "learning rate (> 0)",
        ParamCheck.doubleAbove(0).named("stepSize"));
  }

  static DoubleParam regParam(Params o) {
    return new DoubleParam(o.uid(), "regParam", "L2 regularisation of the embedding rows (and "
        + "first-order weights) each batch touches (>= 0)",
        ParamCheck.doubleAtLeast(0).named("regParam"));
  }

  static DoubleParam initStd(Params o) {
    return new DoubleParam(o.uid(), "initStd", "standard deviation of the normal initial embeddings "
        + "(> 0)", ParamCheck.doubleAbove(0).named("initStd"));
  }

  static IntParam maxIter(Params o) {
    return new IntParam(o.uid(), "maxIter", "number of epochs over the data (>= 1)",
        ParamCheck.intAtLeast(1).named("maxIter"));
  }

  static IntParam batchSize(Params o) {
    return new IntParam(o.uid(), "batchSize", "rows per training step on each worker (>= 1)",
        ParamCheck.intAtLeast(1).named("batchSize"));
  }

  static IntParam epochsPerMerge(Params o) {
    return new IntParam(o.uid(), "epochsPerMerge", "epochs each worker trains on its partition "
        + "between two merges of the workers' weights (>= 1); 1 merges after every epoch",
        ParamCheck.intAtLeast(1).named("epochsPerMerge"));
  }

  static IntParam numWorkers(Params o) {
    return new IntParam(o.uid(), "numWorkers", "number of training tasks (partitions of the "
        + "training data); 0: the cluster's default parallelism",
        ParamCheck.intAtLeast(0).named("numWorkers"));
  }

  static LongParam seed(Params o) {
    return new LongParam(o.uid(), "seed", "random seed of the initialisation and the shuffles");
  }

  static Param<String> device(Params o) {
    return SparkCompat.stringParam(o.uid(), "device", "where each training task runs: 'auto' (the task's GPU "
        + "when it has one and CUDA works, else the CPU), 'cpu', or 'gpu' (fail when a task has no "
        + "usable GPU)", ParamCheck.oneOf(DEVICES).named("device"));
  }

  static Param<String> gpuResourceName(Params o) {
    return SparkCompat.stringParam(o.uid(), "gpuResourceName", "name of the Spark task resource that holds "
        + "GPU addresses (spark.task.resource.<name>.amount)",
        ParamCheck.nonEmpty().named("gpuResourceName"));
  }

  static BooleanParam deterministic(Params o) {
    return new BooleanParam(o.uid(), "deterministic", "bit-identical results for the same seed, "
        + "data and partitioning (slower); otherwise workers update rows Hogwild-style");
  }

  static Param<String> tablePlacement(Params o) {
    return SparkCompat.stringParam(o.uid(), "tablePlacement", "where the tables live: 'broadcast' (the driver "
        + "holds the model and broadcasts it every round; transform broadcasts the tables), "
        + "'sharded' (row-range shards cached on the executors; each task pulls only the rows its "
        + "data uses; transform joins the data's indices with the shards), or 'auto' (sharded when "
        + "the model with its optimizer state is over 256 MiB or does not fit the broadcast path's "
        + "memory plan)", ParamCheck.oneOf(PLACEMENTS).named("tablePlacement"));
  }

  static IntArrayParam numHashBuckets(Params o) {
    return new IntArrayParam(o, "numHashBuckets", "per input column: 0 for an index column, or the "
        + "number of table rows a raw string or integer column is hashed into (xxhash64 modulo "
        + "the buckets; distinct values may share a row), so a column of millions of values needs "
        + "no StringIndexer", ParamCheck.of((int[] a) -> java.util.Arrays.stream(a)
            .allMatch(x -> x >= 0), "every entry >= 0"));
  }

  static BooleanParam failOnDivergence(Params o) {
    return new BooleanParam(o.uid(), "failOnDivergence", "stop the fit with an error when a "
        + "round's training loss, or the merged tables or head, are NaN or infinite (the message "
        + "names the round, the loss and the likely causes); false: log a warning and keep "
        + "training, and the model may hold NaN");
  }

  // ---- defaults

  /** The default of every shared param, set on the estimator and the model alike. */
  static void setDefaults(MultiEmbeddingParams p) {
    p.setDefault(p.outputCol(), p.uid() + "__output");
    p.setDefault(p.predictionCol(), "");
    p.setDefault(p.handleInvalid(), ERROR);
    p.setDefault(p.withFirstOrder(), false);
    p.setDefault(p.labelCol(), "label");
    p.setDefault(p.weightCol(), "");
    p.setDefault(p.embeddingDim(), 0);
    p.setDefault(p.head(), HeadType.FM.id());
    p.setDefault(p.hiddenLayers(), new int[] {64, 32});
    p.setDefault(p.loss(), LossType.LOGISTIC.id());
    p.setDefault(p.optimizer(), OptimizerType.ADAGRAD.id());
    p.setDefault(p.stepSize(), 0.03);
    p.setDefault(p.regParam(), 1e-4);
    p.setDefault(p.initStd(), 0.01);
    p.setDefault(p.maxIter(), 50);
    p.setDefault(p.batchSize(), 1024);
    p.setDefault(p.epochsPerMerge(), 1);
    p.setDefault(p.numWorkers(), 0);
    p.setDefault(p.seed(), (long) MultiEmbedding.class.getName().hashCode());
    p.setDefault(p.device(), AUTO);
    p.setDefault(p.gpuResourceName(), "gpu");
    p.setDefault(p.deterministic(), false);
    p.setDefault(p.numericCol(), "");
    p.setDefault(p.standardization(), true);
    p.setDefault(p.probabilityCol(), "");
    p.setDefault(p.validationIndicatorCol(), "");
    p.setDefault(p.validationFraction(), 0.1);
    p.setDefault(p.patience(), 10);
    p.setDefault(p.tol(), 0.0);
    p.setDefault(p.earlyStopping(), AUTO);
    p.setDefault(p.validationMetric(), LOSS);
    p.setDefault(p.refitOnAllRows(), false);
    p.setDefault(p.numericEncoding(), NumericEncoding.AUTO);
    p.setDefault(p.numBuckets(), 10);
    p.setDefault(p.crossFitFolds(), 0);
    p.setDefault(p.crossFitVectors(), false);
    p.setDefault(p.tablePlacement(), AUTO);
    p.setDefault(p.failOnDivergence(), true);
  }
}
