package io.fastembedding.spark;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.data.BlockBuilder;
import io.fastembedding.spark.data.BlockRules;
import io.fastembedding.spark.data.BlockColumns;
import io.fastembedding.spark.data.BlockStats;
import io.fastembedding.spark.data.ColumnChecks;
import io.fastembedding.spark.data.InputErrors;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.data.TableSizes;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.device.GpuConfigCheck;
import io.fastembedding.spark.discovery.GpuTrainingPlan;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergedShard;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.backend.Backends;
import io.fastembedding.spark.train.BackendFactory;
import io.fastembedding.spark.train.BackendPool;
import io.fastembedding.spark.train.DefaultBackendFactory;
import io.fastembedding.spark.train.MergeShards;
import io.fastembedding.spark.train.EvaluateRound;
import io.fastembedding.spark.train.TaskReport;
import io.fastembedding.spark.train.TrainRound;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReadable;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns one embedding table per categorical index column, with a head (factorization machine,
 * linear or MLP) trained on top, on every executor's GPU or CPU. The fitted
 * {@link MultiEmbeddingModel} appends the concatenated embedding vectors as a column.
 *
 * <pre>{@code
 * new MultiEmbedding().setInputCols("origin_idx", "dest_idx").setLabelCol("label")
 *     .setEmbeddingDim(8).setOutputCol("emb")
 * }</pre>
 *
 * <p>Training: each partition converts its rows once into a primitive block, which is cached. Each
 * round broadcasts the current model; each partition trains {@code epochsPerMerge} epochs on its block
 * and returns only the rows it touched; the rows are merged as a mean over the partitions that touched
 * them (sharded by row) and the head is averaged. See docs/spark.md.
 */
public final class MultiEmbedding extends Estimator<MultiEmbeddingModel>
    implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(MultiEmbedding.class);

  private final String uid;
  private final StringArrayParam inputCols;
  private final Param<String> outputCol;
  private final StringArrayParam outputCols;
  private final Param<String> predictionCol;
  private final Param<String> handleInvalid;
  private final BooleanParam withFirstOrder;
  private final Param<String> labelCol;
  private final Param<String> weightCol;
  private final IntArrayParam numCategories;
  private final IntParam embeddingDim;
  private final IntArrayParam embeddingDims;
  private final Param<String> head;
  private final IntArrayParam hiddenLayers;
  private final Param<String> loss;
  private final Param<String> optimizer;
  private final DoubleParam stepSize;
  private final DoubleParam regParam;
  private final DoubleParam initStd;
  private final IntParam maxIter;
  private final IntParam batchSize;
  private final IntParam epochsPerMerge;
  private final IntParam numWorkers;
  private final LongParam seed;
  private final Param<String> device;
  private final Param<String> gpuResourceName;
  private final BooleanParam deterministic;
  private final Param<String> numericCol;
  private final BooleanParam standardization;
  private final Param<String> probabilityCol;
  private final Param<String> validationIndicatorCol;
  private final DoubleParam validationFraction;
  private final IntParam patience;

  /** Tests swap the backend; users get the CPU / CUDA backends. */
  private BackendFactory backendFactory = new DefaultBackendFactory();

  public MultiEmbedding(String uid) {
    this.uid = uid;
    inputCols = ParamDefs.inputCols(this);
    outputCol = ParamDefs.outputCol(this);
    outputCols = ParamDefs.outputCols(this);
    predictionCol = ParamDefs.predictionCol(this);
    handleInvalid = ParamDefs.handleInvalid(this);
    withFirstOrder = ParamDefs.withFirstOrder(this);
    labelCol = ParamDefs.labelCol(this);
    weightCol = ParamDefs.weightCol(this);
    numCategories = ParamDefs.numCategories(this);
    embeddingDim = ParamDefs.embeddingDim(this);
    embeddingDims = ParamDefs.embeddingDims(this);
    head = ParamDefs.head(this);
    hiddenLayers = ParamDefs.hiddenLayers(this);
    loss = ParamDefs.loss(this);
    optimizer = ParamDefs.optimizer(this);
    stepSize = ParamDefs.stepSize(this);
    regParam = ParamDefs.regParam(this);
    initStd = ParamDefs.initStd(this);
    maxIter = ParamDefs.maxIter(this);
    batchSize = ParamDefs.batchSize(this);
    epochsPerMerge = ParamDefs.epochsPerMerge(this);
    numWorkers = ParamDefs.numWorkers(this);
    seed = ParamDefs.seed(this);
    device = ParamDefs.device(this);
    gpuResourceName = ParamDefs.gpuResourceName(this);
    deterministic = ParamDefs.deterministic(this);
    numericCol = ParamDefs.numericCol(this);
    standardization = ParamDefs.standardization(this);
    probabilityCol = ParamDefs.probabilityCol(this);
    validationIndicatorCol = ParamDefs.validationIndicatorCol(this);
    validationFraction = ParamDefs.validationFraction(this);
    patience = ParamDefs.patience(this);
    setDefault(outputCol, uid + "__output");
    setDefault(predictionCol, "");
    setDefault(handleInvalid, ParamDefs.ERROR);
    setDefault(withFirstOrder, false);
    setDefault(labelCol, "label");
    setDefault(weightCol, "");
    setDefault(embeddingDim, 0);
    setDefault(head, HeadType.FM.id());
    setDefault(hiddenLayers, new int[] {64, 32});
    setDefault(loss, LossType.LOGISTIC.id());
    setDefault(optimizer, OptimizerType.ADAGRAD.id());
    setDefault(stepSize, 0.1);
    setDefault(regParam, 1e-4);
    setDefault(initStd, 0.01);
    setDefault(maxIter, 10);
    setDefault(batchSize, 1024);
    setDefault(epochsPerMerge, 1);
    setDefault(numWorkers, 0);
    setDefault(seed, (long) MultiEmbedding.class.getName().hashCode());
    setDefault(device, ParamDefs.AUTO);
    setDefault(gpuResourceName, "gpu");
    setDefault(deterministic, false);
    setDefault(numericCol, "");
    setDefault(standardization, true);
    setDefault(probabilityCol, "");
    setDefault(validationIndicatorCol, "");
    setDefault(validationFraction, 0.0);
    setDefault(patience, 2);
  }

  public MultiEmbedding() {
    this(Identifiable.randomUID("multiEmbedding"));
  }

  @Override
  public String uid() {
    return uid;
  }

  // ------------------------------------------------------------------ param accessors

  public StringArrayParam inputCols() {
    return inputCols;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public StringArrayParam outputCols() {
    return outputCols;
  }

  public Param<String> predictionCol() {
    return predictionCol;
  }

  public Param<String> handleInvalid() {
    return handleInvalid;
  }

  public BooleanParam withFirstOrder() {
    return withFirstOrder;
  }

  public boolean getWithFirstOrder() {
    return (Boolean) getOrDefault(withFirstOrder);
  }

  public MultiEmbedding setWithFirstOrder(boolean v) {
    set(withFirstOrder, v);
    return this;
  }

  public Param<String> labelCol() {
    return labelCol;
  }

  public Param<String> weightCol() {
    return weightCol;
  }

  public IntArrayParam numCategories() {
    return numCategories;
  }

  public IntParam embeddingDim() {
    return embeddingDim;
  }

  public IntArrayParam embeddingDims() {
    return embeddingDims;
  }

  public Param<String> head() {
    return head;
  }

  public IntArrayParam hiddenLayers() {
    return hiddenLayers;
  }

  public Param<String> loss() {
    return loss;
  }

  public Param<String> optimizer() {
    return optimizer;
  }

  public DoubleParam stepSize() {
    return stepSize;
  }

  public DoubleParam regParam() {
    return regParam;
  }

  public DoubleParam initStd() {
    return initStd;
  }

  public IntParam maxIter() {
    return maxIter;
  }

  public IntParam batchSize() {
    return batchSize;
  }

  public IntParam epochsPerMerge() {
    return epochsPerMerge;
  }

  public IntParam numWorkers() {
    return numWorkers;
  }

  public LongParam seed() {
    return seed;
  }

  public Param<String> device() {
    return device;
  }

  public Param<String> gpuResourceName() {
    return gpuResourceName;
  }

  public BooleanParam deterministic() {
    return deterministic;
  }

  public Param<String> numericCol() {
    return numericCol;
  }

  public BooleanParam standardization() {
    return standardization;
  }

  public Param<String> probabilityCol() {
    return probabilityCol;
  }

  public Param<String> validationIndicatorCol() {
    return validationIndicatorCol;
  }

  public DoubleParam validationFraction() {
    return validationFraction;
  }

  public IntParam patience() {
    return patience;
  }

  // ------------------------------------------------------------------ getters

  public String getNumericCol() {
    return getOrDefault(numericCol);
  }

  public boolean getStandardization() {
    return (Boolean) getOrDefault(standardization);
  }

  public String getProbabilityCol() {
    return getOrDefault(probabilityCol);
  }

  public String getValidationIndicatorCol() {
    return getOrDefault(validationIndicatorCol);
  }

  public double getValidationFraction() {
    return (Double) getOrDefault(validationFraction);
  }

  public int getPatience() {
    return (Integer) getOrDefault(patience);
  }

  public String[] getInputCols() {
    return getOrDefault(inputCols);
  }

  public String getOutputCol() {
    return getOrDefault(outputCol);
  }

  public String[] getOutputCols() {
    return getOrDefault(outputCols);
  }

  public String getPredictionCol() {
    return getOrDefault(predictionCol);
  }

  public String getHandleInvalid() {
    return getOrDefault(handleInvalid);
  }

  public String getLabelCol() {
    return getOrDefault(labelCol);
  }

  public String getWeightCol() {
    return getOrDefault(weightCol);
  }

  public int[] getNumCategories() {
    return getOrDefault(numCategories);
  }

  public int getEmbeddingDim() {
    return (Integer) getOrDefault(embeddingDim);
  }

  public int[] getEmbeddingDims() {
    return getOrDefault(embeddingDims);
  }

  public String getHead() {
    return getOrDefault(head);
  }

  public int[] getHiddenLayers() {
    return getOrDefault(hiddenLayers);
  }

  public String getLoss() {
    return getOrDefault(loss);
  }

  public String getOptimizer() {
    return getOrDefault(optimizer);
  }

  public double getStepSize() {
    return (Double) getOrDefault(stepSize);
  }

  public double getRegParam() {
    return (Double) getOrDefault(regParam);
  }

  public double getInitStd() {
    return (Double) getOrDefault(initStd);
  }

  public int getMaxIter() {
    return (Integer) getOrDefault(maxIter);
  }

  public int getBatchSize() {
    return (Integer) getOrDefault(batchSize);
  }

  public int getEpochsPerMerge() {
    return (Integer) getOrDefault(epochsPerMerge);
  }

  public int getNumWorkers() {
    return (Integer) getOrDefault(numWorkers);
  }

  public long getSeed() {
    return (Long) getOrDefault(seed);
  }

  public String getDevice() {
    return getOrDefault(device);
  }

  public String getGpuResourceName() {
    return getOrDefault(gpuResourceName);
  }

  public boolean getDeterministic() {
    return (Boolean) getOrDefault(deterministic);
  }

  // ------------------------------------------------------------------ setters

  public MultiEmbedding setInputCols(String... v) {
    set(inputCols, v);
    return this;
  }

  public MultiEmbedding setOutputCol(String v) {
    set(outputCol, v);
    return this;
  }

  public MultiEmbedding setOutputCols(String... v) {
    set(outputCols, v);
    return this;
  }

  public MultiEmbedding setPredictionCol(String v) {
    set(predictionCol, v);
    return this;
  }

  /** error, skip or keep (case-insensitive). */
  public MultiEmbedding setHandleInvalid(String v) {
    set(handleInvalid, lower(v));
    return this;
  }

  public MultiEmbedding setLabelCol(String v) {
    set(labelCol, v);
    return this;
  }

  public MultiEmbedding setWeightCol(String v) {
    set(weightCol, v);
    return this;
  }

  public MultiEmbedding setNumCategories(int... v) {
    set(numCategories, v);
    return this;
  }

  public MultiEmbedding setEmbeddingDim(int v) {
    set(embeddingDim, v);
    return this;
  }

  public MultiEmbedding setEmbeddingDims(int... v) {
    set(embeddingDims, v);
    return this;
  }

  /** fm, linear or mlp (case-insensitive). */
  public MultiEmbedding setHead(String v) {
    set(head, lower(v));
    return this;
  }

  public MultiEmbedding setHiddenLayers(int... v) {
    set(hiddenLayers, v);
    return this;
  }

  /** logistic or squared (case-insensitive). */
  public MultiEmbedding setLoss(String v) {
    set(loss, lower(v));
    return this;
  }

  /** sgd, adagrad or rowwise_adagrad (case-insensitive). */
  public MultiEmbedding setOptimizer(String v) {
    set(optimizer, lower(v));
    return this;
  }

  public MultiEmbedding setStepSize(double v) {
    set(stepSize, v);
    return this;
  }

  public MultiEmbedding setRegParam(double v) {
    set(regParam, v);
    return this;
  }

  public MultiEmbedding setInitStd(double v) {
    set(initStd, v);
    return this;
  }

  public MultiEmbedding setMaxIter(int v) {
    set(maxIter, v);
    return this;
  }

  public MultiEmbedding setBatchSize(int v) {
    set(batchSize, v);
    return this;
  }

  public MultiEmbedding setEpochsPerMerge(int v) {
    set(epochsPerMerge, v);
    return this;
  }

  public MultiEmbedding setNumWorkers(int v) {
    set(numWorkers, v);
    return this;
  }

  public MultiEmbedding setSeed(long v) {
    set(seed, v);
    return this;
  }

  /** auto, cpu or gpu (case-insensitive). */
  public MultiEmbedding setDevice(String v) {
    set(device, lower(v));
    return this;
  }

  public MultiEmbedding setGpuResourceName(String v) {
    set(gpuResourceName, v);
    return this;
  }

  public MultiEmbedding setDeterministic(boolean v) {
    set(deterministic, v);
    return this;
  }

  /** A Vector column of numeric features for the head; empty for none. */
  public MultiEmbedding setNumericCol(String v) {
    set(numericCol, v);
    return this;
  }

  public MultiEmbedding setStandardization(boolean v) {
    set(standardization, v);
    return this;
  }

  public MultiEmbedding setProbabilityCol(String v) {
    set(probabilityCol, v);
    return this;
  }

  public MultiEmbedding setValidationIndicatorCol(String v) {
    set(validationIndicatorCol, v);
    return this;
  }

  public MultiEmbedding setValidationFraction(double v) {
    set(validationFraction, v);
    return this;
  }

  public MultiEmbedding setPatience(int v) {
    set(patience, v);
    return this;
  }

  MultiEmbedding setBackendFactory(BackendFactory f) {
    this.backendFactory = f;
    return this;
  }

  private static String lower(String v) {
    return v == null ? null : v.toLowerCase(Locale.ROOT);
  }

  // ------------------------------------------------------------------ schema

  /**
   * The embedding dim the default rule gives a field of {@code categories} categories: twice the
   * cube root, rounded to the nearest multiple of 4, between 4 and 64. So 2 to 10 categories get 4,
   * about 30 get 8, about 3 400 (flights' routes) get 32, and a million would get 64. docs/quality.md
   * has the measurements behind it.
   */
  public static int dimForCardinality(long categories) {
    double d = 2 * Math.cbrt(Math.max(1, categories));
    return (int) Math.max(4, Math.min(64, 4 * Math.round(d / 4)));
  }

  /**
   * The embedding dim of each field: embeddingDims, else embeddingDim when it is set above 0, else
   * the rule of {@link #dimForCardinality} on each field's categories; the fm head, which needs one
   * dim, takes the rule's dim of its largest field. Null when the rule needs a count that is not
   * known ({@code categories[f] < 0}).
   */
  int[] fieldDims(int[] categories) {
    int n = categories.length;
    if (isDefined(embeddingDims)) {
      return getEmbeddingDims();
    }
    int[] d = new int[n];
    if (getEmbeddingDim() > 0) {
      Arrays.fill(d, getEmbeddingDim());
      return d;
    }
    for (int f = 0; f < n; f++) {
      if (categories[f] < 0) {
        return null;
      }
      d[f] = dimForCardinality(categories[f]);
    }
    if (HeadType.fromId(getHead()) == HeadType.FM) {
      Arrays.fill(d, Arrays.stream(d).max().orElse(4));
    }
    return d;
  }

  /** Checks the params against each other and the schema; everything a fit can check before data. */
  private void validate(StructType schema) {
    if (!isDefined(inputCols)) {
      throw new IllegalArgumentException("inputCols is not set: give the categorical index columns "
          + "to embed, e.g. setInputCols(\"origin_idx\", \"dest_idx\")");
    }
    String[] cols = getInputCols();
    int n = cols.length;
    for (String c : cols) {
      ColumnChecks.requireIndexColumn(schema, c);
    }
    ColumnChecks.requireNumericColumn(schema, getLabelCol(), "label column");
    if (!getWeightCol().isEmpty()) {
      ColumnChecks.requireNumericColumn(schema, getWeightCol(), "weight column");
    }
    if (!getNumericCol().isEmpty()) {
      ColumnChecks.requireVectorColumn(schema, getNumericCol(), "numeric column");
    }
    if (!getValidationIndicatorCol().isEmpty()) {
      ColumnChecks.requireBooleanColumn(schema, getValidationIndicatorCol(),
          "validationIndicatorCol");
      if (getValidationFraction() > 0) {
        throw new IllegalArgumentException("validationIndicatorCol ('"
            + getValidationIndicatorCol() + "') and validationFraction (" + getValidationFraction()
            + ") are both set; choose one way of holding rows out");
      }
    }
    if (!getProbabilityCol().isEmpty() && LossType.fromId(getLoss()) != LossType.LOGISTIC) {
      throw new IllegalArgumentException("probabilityCol ('" + getProbabilityCol() + "') needs the "
          + "logistic loss; with loss '" + getLoss() + "' use predictionCol for the head's value");
    }
    if (isDefined(numCategories)) {
      ColumnChecks.requireLength("numCategories", getNumCategories().length, n, cols);
    }
    if (isDefined(embeddingDims)) {
      ColumnChecks.requireLength("embeddingDims", getEmbeddingDims().length, n, cols);
    }
    if (isDefined(outputCols)) {
      ColumnChecks.requireLength("outputCols", getOutputCols().length, n, cols);
    }
    int[] dims = isDefined(embeddingDims) ? getEmbeddingDims() : null;
    if (dims != null && HeadType.fromId(getHead()) == HeadType.FM
        && Arrays.stream(dims).anyMatch(x -> x != dims[0])) {
      throw new IllegalArgumentException("head 'fm' needs one embedding dim for every field, "
          + "because it takes dot products between fields; embeddingDims is "
          + Arrays.toString(dims) + " for " + Arrays.toString(cols)
          + ". Use embeddingDim, or head 'linear' or 'mlp'");
    }
  }

  @Override
  public StructType transformSchema(StructType schema) {
    validate(schema);
    String[] cols = getInputCols();
    int n = cols.length;
    // the dims by cardinality are known here only where the counts are (param or metadata)
    int[] dims = fieldDims(TableSizes.beforeScan(schema, cols,
        isDefined(numCategories) ? getNumCategories() : null).validCounts);
    boolean fo = getWithFirstOrder() && HeadType.fromId(getHead()) == HeadType.FM;
    StructType out = schema;
    List<org.apache.spark.sql.types.StructField> added = new ArrayList<>();
    added.add(MultiEmbeddingModel.vectorField(getOutputCol(), cols, dims, fo, -1));
    if (isDefined(outputCols)) {
      String[] outs = getOutputCols();
      for (int f = 0; f < n; f++) {
        added.add(MultiEmbeddingModel.vectorField(outs[f], cols, dims, fo, f));
      }
    }
    if (!getPredictionCol().isEmpty()) {
      added.add(new org.apache.spark.sql.types.StructField(getPredictionCol(),
          DataTypes.DoubleType, false, org.apache.spark.sql.types.Metadata.empty()));
    }
    if (!getProbabilityCol().isEmpty()) {
      added.add(MultiEmbeddingModel.probabilityField(getProbabilityCol()));
    }
    for (var f : added) {
      ColumnChecks.requireAbsent(out, f.name());
      out = out.add(f);
    }
    return out;
  }

  // ------------------------------------------------------------------ fit

  @Override
  public MultiEmbeddingModel fit(Dataset<?> dataset) {
    long fitStart = System.nanoTime();
    StructType schema = dataset.schema();
    transformSchema(schema, true);
    String[] cols = getInputCols();
    int n = cols.length;
    String mode = getHandleInvalid();
    boolean keep = ParamDefs.KEEP.equals(mode);
    boolean hasWeight = !getWeightCol().isEmpty();
    LossType lossType = LossType.fromId(getLoss());

    SparkContext sc = dataset.sparkSession().sparkContext();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
    boolean local = GpuConfigCheck.isLocalMode(sc.master());
    GpuTrainingPlan gpuPlan = GpuTrainingPlan.decide(sc.getConf(), sc.version(),
        getGpuResourceName(), getDevice());
    GpuConfigCheck.check(sc.conf(), sc.master(), getDevice(), getGpuResourceName(),
        gpuPlan.profile().isPresent(), Backends::cudaDeviceCount, Backends::cudaUnavailableReason);
    LOG.info("MultiEmbedding {}: {}", uid, gpuPlan.description());
    gpuPlan.warnings().forEach(w -> LOG.warn("MultiEmbedding {}: {}", uid, w));

    TableSizes known = TableSizes.beforeScan(schema, cols,
        isDefined(numCategories) ? getNumCategories() : null);
    String numericName = getNumericCol();
    NumericSize numeric = numericName.isEmpty() ? new NumericSize(0, "")
        : NumericSize.of(dataset, numericName);
    int k = numeric.size();
    BlockColumns.Validation validation = !getValidationIndicatorCol().isEmpty()
        ? BlockColumns.Validation.INDICATOR
        : getValidationFraction() > 0 ? BlockColumns.Validation.FRACTION
            : BlockColumns.Validation.NONE;
    List<Column> sel = new ArrayList<>();
    for (int f = 0; f < n; f++) {
      sel.add(dataset.col(cols[f]).cast(DataTypes.DoubleType));
    }
    sel.add(dataset.col(getLabelCol()).cast(DataTypes.DoubleType));
    if (hasWeight) {
      sel.add(dataset.col(getWeightCol()).cast(DataTypes.DoubleType));
    }
    if (k > 0) {
      sel.add(dataset.col(numericName));
    }
    if (validation == BlockColumns.Validation.INDICATOR) {
      sel.add(dataset.col(getValidationIndicatorCol()));
    }
    Dataset<Row> rows = dataset.select(sel.toArray(new Column[0]));
    int workers = getNumWorkers() > 0 ? getNumWorkers() : sc.defaultParallelism();
    int inputParts = rows.rdd().getNumPartitions();
    if (inputParts > workers) {
      rows = rows.coalesce(workers);
    } else if (inputParts < workers) {
      rows = rows.repartition(workers);
    }

    String fitId = uid + "-" + UUID.randomUUID();
    String previousDescription = sc.getLocalProperty("spark.job.description");
    List<JavaRDD<?>> cached = new ArrayList<>();
    JavaRDD<PartitionData> blocks = null;
    try {
      describe(sc, "converting rows into training blocks");
      BlockColumns columns = new BlockColumns(known.validCounts, hasWeight, k, validation,
          getValidationFraction(), getSeed());
      JavaRDD<PartitionData> raw = rows.javaRDD().mapPartitionsWithIndex(
          (pid, it) -> Collections.singletonList(BlockBuilder.build(pid, it, columns)).iterator(),
          true);
      raw.persist(StorageLevel.MEMORY_AND_DISK());
      cached.add(raw);
      BlockStats total = new BlockStats(n);
      for (BlockStats s : raw.map(pd -> pd.stats).collect()) {
        total.merge(s);
      }
      if (total.rows == 0) {
        throw new IllegalArgumentException("the training data is empty: there are no rows to fit "
            + "on");
      }
      TableSizes sizes = known.afterScan(cols, total);
      InputErrors.check(total, cols, sizes, mode, lossType == LossType.LOGISTIC, getLabelCol(),
          getWeightCol());
      if (k > 0) {
        InputErrors.checkNumeric(total, numericName, k, numeric.source());
      }
      InputErrors.checkSplit(total, validation == BlockColumns.Validation.INDICATOR
          ? "validationIndicatorCol '" + getValidationIndicatorCol() + "'"
          : "validationFraction " + getValidationFraction(),
          validation != BlockColumns.Validation.NONE, ParamDefs.SKIP.equals(mode));
      int[] tableSizes = sizes.tableSizes(keep);
      // standardisation statistics of the training rows, before the invalid ones are dropped
      float[] mean = ModelData.identityMean(k);
      float[] std = ModelData.identityStd(k);
      if (k > 0 && getStandardization()) {
        double[] m = total.numericMoments.mean();
        double[] sd = total.numericMoments.std();
        for (int j = 0; j < k; j++) {
          mean[j] = (float) m[j];
          std[j] = (float) sd[j];
        }
      }
      boolean scale = k > 0 && getStandardization();
      // every block is checked against the final sizes whenever Spark builds it (again after a
      // loss, too), then its invalid indices resolved and its numeric features standardised
      BlockRules rules = new BlockRules(cols, sizes, mode, lossType == LossType.LOGISTIC,
          getLabelCol(), getWeightCol(), numericName, k, numeric.source(), scale ? mean : null,
          scale ? ModelData.inverse(std) : null);
      JavaRDD<PartitionData> resolved = raw.map(pd -> BlockBuilder.resolve(pd, rules));
      resolved.persist(StorageLevel.MEMORY_AND_DISK());
      cached.add(resolved);
      boolean remap = total.invalidRows > 0;
      describe(sc, remap || scale ? (remap ? "resolving " + total.invalidRows + " rows with "
          + "invalid indices (" + mode + ")" : "") + (remap && scale ? " and " : "")
          + (scale ? "standardising " + k + " numeric features" : "")
          : "checking the training blocks");
      resolved.count();
      raw.unpersist(false);
      blocks = resolved;

      ModelSpec spec = ModelSpec.builder(tableSizes, fieldDims(sizes.validCounts)).fieldNames(cols)
          .numNumeric(k)
          .head(HeadType.fromId(getHead())).hiddenLayers(getHiddenLayers()).loss(lossType)
          .optimizer(OptimizerSpec.of(OptimizerType.fromId(getOptimizer()), (float) getStepSize(),
              (float) getRegParam()))
          .initStd((float) getInitStd()).seed(getSeed()).build();
      Trained trained = train(jsc, blocks, spec, local, fitId, gpuPlan,
          validation != BlockColumns.Validation.NONE);
      MultiEmbeddingModel model = new MultiEmbeddingModel(uid, ModelData.of(trained.state(),
          sizes.validCounts, keep, mean, std));
      model.setSummary(new TrainingSummary(trained.rounds(), (System.nanoTime() - fitStart) / 1e9,
          blocks.getNumPartitions(), trained.bestRound(), trained.stoppedEarly()));
      copyValues(model, ParamMap.empty());
      return model.setParent(this);
    } finally {
      if (blocks != null && !local) {
        try {
          describe(sc, "releasing training backends");
          blocks.foreachPartition(it -> BackendPool.closeFit(fitId));
        } catch (RuntimeException e) {
          LOG.warn("could not release the executors' training backends: {}", e.toString());
        }
      }
      BackendPool.closeFit(fitId);
      for (JavaRDD<?> r : cached) {
        r.unpersist(false);
      }
      sc.setLocalProperty("spark.job.description", previousDescription);
    }
  }

  private record Trained(ModelState state, List<TrainingSummary.Round> rounds, int bestRound,
      boolean stoppedEarly) {}

  /** Rows scored per round for the training metrics, and validation scores kept for the AUC. */
  static final int EVALUATION_ROWS = 500_000;

  /** The size of the numeric vectors, and where it came from (for messages). */
  private record NumericSize(int size, String source) {
    /** From the column's ML attribute metadata (VectorAssembler writes it), else the first row. */
    static NumericSize of(Dataset<?> data, String col) {
      var group = org.apache.spark.ml.attribute.AttributeGroup.fromStructField(
          data.schema().apply(col));
      int size;
      String source;
      if (group.size() >= 0) {
        size = group.size();
        source = "the size in the column's ML attribute metadata";
      } else {
        List<Row> first = data.select(data.col(col)).where(data.col(col).isNotNull())
            .takeAsList(1);
        if (first.isEmpty()) {
          if (data.isEmpty()) {
            return new NumericSize(0, ""); // the empty-data error follows
          }
          throw new IllegalArgumentException("numeric column '" + col + "' has only null "
              + "vectors; every row needs its numeric features (impute them first, e.g. with "
              + "Imputer)");
        }
        size = ((org.apache.spark.ml.linalg.Vector) first.get(0).get(0)).size();
        source = "the size of the first row's vector";
      }
      if (size == 0) {
        throw new IllegalArgumentException("numeric column '" + col + "' holds empty vectors; "
            + "give at least one numeric feature, or leave numericCol empty");
      }
      return new NumericSize(size, source);
    }
  }

  /** The rounds: broadcast, train every partition, merge by shard, until maxIter epochs. */
  private Trained train(JavaSparkContext jsc, JavaRDD<PartitionData> blocks, ModelSpec spec,
      boolean local, String fitId, GpuTrainingPlan gpuPlan, boolean validate) {
    SparkContext sc = jsc.sc();
    int epochsTotal = getMaxIter();
    int per = getEpochsPerMerge();
    int numRounds = (epochsTotal + per - 1) / per;
    int parts = blocks.getNumPartitions();
    ShardPlan plan = ShardPlan.forWorkers(spec.layout(), parts);
    DeviceRequest req = new DeviceRequest(getDevice(), getGpuResourceName(), local);
    ModelState state = ModelState.initial(spec);
    List<TrainingSummary.Round> rounds = new ArrayList<>();
    int done = 0;
    ModelState best = null;
    int bestRound = 0;
    double bestLoss = Double.POSITIVE_INFINITY;
    boolean stoppedEarly = false;
    for (int r = 0; r < numRounds; r++) {
      int epochs = Math.min(per, epochsTotal - done);
      long t0 = System.nanoTime();
      describe(sc, String.format(Locale.ROOT, "round %d/%d (epoch%s %d%s): train %d partitions, "
          + "merge in %d shards", r + 1, numRounds, epochs > 1 ? "s" : "", done + 1,
          epochs > 1 ? "-" + (done + epochs) : "", parts, plan.numShards()));
      Broadcast<ModelState> bc = jsc.broadcast(state);
      CollectionAccumulator<TaskReport> reports = sc.collectionAccumulator("MultiEmbedding round "
          + (r + 1));
      List<Serializable> merged;
      try {
        TrainRound round = new TrainRound(fitId, bc, plan, getBatchSize(), epochs, done, getSeed(),
            getDeterministic(), req, backendFactory, reports);
        JavaPairRDD<Integer, Serializable> trainedPieces = blocks.mapPartitionsToPair(round);
        // only the training stage holds one GPU per task, not the block conversion or the merge
        gpuPlan.applyTo(trainedPieces);
        merged = trainedPieces.groupByKey(plan.numShards() + 1)
            .map(new MergeShards(plan, spec.optimizer()))
            .collect();
      } finally {
        bc.destroy();
      }
      List<MergedShard> shards = new ArrayList<>();
      HeadPiece head = null;
      for (Serializable m : merged) {
        if (m instanceof HeadPiece h) {
          head = h;
        } else {
          shards.add((MergedShard) m);
        }
      }
      state = RowMerger.apply(state, plan, shards, head);
      double seconds = (System.nanoTime() - t0) / 1e9;
      // a retried task reports twice: keep one report per partition
      Map<Integer, TaskReport> byPartition = new TreeMap<>();
      for (TaskReport t : reports.value()) {
        byPartition.put(t.partition(), t);
      }
      List<TaskReport> tasks = List.copyOf(byPartition.values());
      double lossSum = 0;
      double weight = 0;
      long rowCount = 0;
      for (TaskReport t : tasks) {
        lossSum += t.weightedLoss();
        weight += t.weight();
        rowCount += t.rows();
      }
      Evaluation ev = validate ? evaluate(jsc, blocks, state, r + 1, numRounds) : Evaluation.NONE;
      TrainingSummary.Round summary = new TrainingSummary.Round(r + 1, epochs,
          weight > 0 ? lossSum / weight : Double.NaN, rowCount, seconds, tasks, ev.trainLoss(),
          ev.trainAuc(), ev.validationLoss(), ev.validationAuc());
      rounds.add(summary);
      done += epochs;
      LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: round %d/%d, loss %.5f, %.0f rows/s "
          + "(%d rows in %.2f s, %d tasks on %s)%s", uid, r + 1, numRounds, summary.loss(),
          summary.rowsPerSecond(), rowCount, seconds, tasks.size(), deviceSummary(tasks),
          validate ? String.format(Locale.ROOT, "; train sample loss %.5f AUC %.4f, validation "
              + "loss %.5f AUC %.4f", ev.trainLoss(), ev.trainAuc(), ev.validationLoss(),
              ev.validationAuc()) : ""));
      if (validate) {
        if (ev.validationLoss() < bestLoss) {
          bestLoss = ev.validationLoss();
          best = state;
          bestRound = r + 1;
        } else if (r + 1 - bestRound >= getPatience() && r + 1 < numRounds) {
          stoppedEarly = true;
          LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: stopping after round %d: the "
              + "validation loss has not improved for %d rounds; keeping round %d (validation "
              + "loss %.5f)", uid, r + 1, r + 1 - bestRound, bestRound, bestLoss));
          break;
        }
      }
    }
    if (best == null) {
      // no validation, or a validation loss that was never finite: the last round's model
      return new Trained(state, rounds, rounds.size(), false);
    }
    return new Trained(best, rounds, bestRound, stoppedEarly);
  }

  /** The merged model's metrics after a round. */
  private record Evaluation(double trainLoss, double trainAuc, double validationLoss,
      double validationAuc) {
    static final Evaluation NONE = new Evaluation(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }

  /**
   * Scores every validation row and a fixed, evenly spaced sample of the training rows with the
   * merged model: one job, from a broadcast of the model.
   */
  private Evaluation evaluate(JavaSparkContext jsc, JavaRDD<PartitionData> blocks,
      ModelState state, int round, int numRounds) {
    describe(jsc.sc(), String.format(Locale.ROOT, "round %d/%d: evaluate on the validation rows "
        + "and a training sample", round, numRounds));
    int perPartition = Math.max(1, EVALUATION_ROWS / blocks.getNumPartitions());
    Broadcast<ModelState> bc = jsc.broadcast(state);
    List<EvaluateRound.Piece> pieces;
    try {
      pieces = blocks.map(new EvaluateRound(bc, perPartition, perPartition)).collect();
    } finally {
      bc.destroy();
    }
    boolean logistic = state.spec.loss() == LossType.LOGISTIC;
    List<EvaluateRound.Scored> train = pieces.stream().map(EvaluateRound.Piece::train).toList();
    List<EvaluateRound.Scored> valid = pieces.stream().map(EvaluateRound.Piece::validation)
        .toList();
    return new Evaluation(meanLoss(train), logistic ? auc(train) : Double.NaN, meanLoss(valid),
        logistic ? auc(valid) : Double.NaN);
  }

  private static double meanLoss(List<EvaluateRound.Scored> parts) {
    double loss = 0;
    double weight = 0;
    for (EvaluateRound.Scored s : parts) {
      loss += s.lossSum();
      weight += s.weight();
    }
    return weight > 0 ? loss / weight : Double.NaN;
  }

  private static double auc(List<EvaluateRound.Scored> parts) {
    int n = parts.stream().mapToInt(s -> s.scores().length).sum();
    float[] scores = new float[n];
    float[] labels = new float[n];
    int o = 0;
    for (EvaluateRound.Scored s : parts) {
      System.arraycopy(s.scores(), 0, scores, o, s.scores().length);
      System.arraycopy(s.labels(), 0, labels, o, s.labels().length);
      o += s.scores().length;
    }
    return io.fastembedding.train.Metrics.auc(scores, labels, n);
  }

  private static String deviceSummary(List<TaskReport> tasks) {
    Map<String, Integer> counts = new TreeMap<>();
    for (TaskReport t : tasks) {
      counts.merge(t.device(), 1, Integer::sum);
    }
    StringBuilder sb = new StringBuilder();
    counts.forEach((d, c) -> sb.append(sb.length() == 0 ? "" : ", ").append(c).append(" x ")
        .append(d));
    return sb.toString();
  }

  private void describe(SparkContext sc, String what) {
    sc.setJobDescription("MultiEmbedding " + uid + ": " + what);
  }

  // ------------------------------------------------------------------ copy and persistence

  @Override
  public MultiEmbedding copy(ParamMap extra) {
    MultiEmbedding c = defaultCopy(extra);
    c.backendFactory = backendFactory;
    return c;
  }

  public static MLReader<MultiEmbedding> read() {
    return new DefaultParamsReadable<MultiEmbedding>() {}.read();
  }

  public static MultiEmbedding load(String path) {
    return read().load(path);
  }
}
