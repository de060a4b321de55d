package io.fastembedding.spark;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.data.BlockBuilder;
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
    setDefault(outputCol, uid + "__output");
    setDefault(predictionCol, "");
    setDefault(handleInvalid, ParamDefs.ERROR);
    setDefault(withFirstOrder, false);
    setDefault(labelCol, "label");
    setDefault(weightCol, "");
    setDefault(embeddingDim, 8);
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

  // ------------------------------------------------------------------ getters

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

  MultiEmbedding setBackendFactory(BackendFactory f) {
    this.backendFactory = f;
    return this;
  }

  private static String lower(String v) {
    return v == null ? null : v.toLowerCase(Locale.ROOT);
  }

  // ------------------------------------------------------------------ schema

  /** Embedding dim of each field, from embeddingDims or embeddingDim. */
  int[] fieldDims(int n) {
    if (isDefined(embeddingDims)) {
      return getEmbeddingDims();
    }
    int[] d = new int[n];
    Arrays.fill(d, getEmbeddingDim());
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
    if (isDefined(numCategories)) {
      ColumnChecks.requireLength("numCategories", getNumCategories().length, n, cols);
    }
    if (isDefined(embeddingDims)) {
      ColumnChecks.requireLength("embeddingDims", getEmbeddingDims().length, n, cols);
    }
    if (isDefined(outputCols)) {
      ColumnChecks.requireLength("outputCols", getOutputCols().length, n, cols);
    }
    int[] dims = fieldDims(n);
    if (HeadType.fromId(getHead()) == HeadType.FM
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
    int[] dims = fieldDims(n);
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
    Column[] sel = new Column[n + (hasWeight ? 2 : 1)];
    for (int f = 0; f < n; f++) {
      sel[f] = dataset.col(cols[f]).cast(DataTypes.DoubleType);
    }
    sel[n] = dataset.col(getLabelCol()).cast(DataTypes.DoubleType);
    if (hasWeight) {
      sel[n + 1] = dataset.col(getWeightCol()).cast(DataTypes.DoubleType);
    }
    Dataset<Row> rows = dataset.select(sel);
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
      int[] validBefore = known.validCounts;
      JavaRDD<PartitionData> raw = rows.javaRDD().mapPartitionsWithIndex(
          (pid, it) -> Collections.singletonList(BlockBuilder.build(pid, it, validBefore, hasWeight))
              .iterator(), true);
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
      int[] tableSizes = sizes.tableSizes(keep);
      blocks = raw;
      if (total.invalidRows > 0) {
        JavaRDD<PartitionData> remapped = raw.map(pd -> BlockBuilder.remap(pd, tableSizes, keep));
        remapped.persist(StorageLevel.MEMORY_AND_DISK());
        cached.add(remapped);
        describe(sc, "resolving " + total.invalidRows + " rows with invalid indices (" + mode + ")");
        remapped.count();
        raw.unpersist(false);
        blocks = remapped;
      }

      ModelSpec spec = ModelSpec.builder(tableSizes, fieldDims(n)).fieldNames(cols)
          .head(HeadType.fromId(getHead())).hiddenLayers(getHiddenLayers()).loss(lossType)
          .optimizer(OptimizerSpec.of(OptimizerType.fromId(getOptimizer()), (float) getStepSize(),
              (float) getRegParam()))
          .initStd((float) getInitStd()).seed(getSeed()).build();
      Trained trained = train(jsc, blocks, spec, local, fitId, gpuPlan);
      MultiEmbeddingModel model = new MultiEmbeddingModel(uid, ModelData.of(trained.state(),
          sizes.validCounts, keep));
      model.setSummary(new TrainingSummary(trained.rounds(), (System.nanoTime() - fitStart) / 1e9,
          blocks.getNumPartitions()));
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

  private record Trained(ModelState state, List<TrainingSummary.Round> rounds) {}

  /** The rounds: broadcast, train every partition, merge by shard, until maxIter epochs. */
  private Trained train(JavaSparkContext jsc, JavaRDD<PartitionData> blocks, ModelSpec spec,
      boolean local, String fitId, GpuTrainingPlan gpuPlan) {
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
      TrainingSummary.Round summary = new TrainingSummary.Round(r + 1, epochs,
          weight > 0 ? lossSum / weight : Double.NaN, rowCount, seconds, tasks);
      rounds.add(summary);
      done += epochs;
      LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: round %d/%d, loss %.5f, %.0f rows/s "
          + "(%d rows in %.2f s, %d tasks on %s)", uid, r + 1, numRounds, summary.loss(),
          summary.rowsPerSecond(), rowCount, seconds, tasks.size(), deviceSummary(tasks)));
    }
    return new Trained(state, rounds);
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
