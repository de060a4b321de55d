package io.fastembedding.spark;

import io.fastembedding.backend.Backends;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.data.BlockBalancer;
import io.fastembedding.spark.shard.MemoryPlan;
import io.fastembedding.spark.shard.ShardStore;
import io.fastembedding.spark.data.BlockBuilder;
import io.fastembedding.spark.data.BlockRules;
import io.fastembedding.spark.data.BlockColumns;
import io.fastembedding.spark.data.BlockStats;
import io.fastembedding.spark.data.HeldOutRows;
import io.fastembedding.spark.data.NumericBuckets;
import io.fastembedding.spark.data.InputErrors;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.data.TableSizes;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.device.GpuConfigCheck;
import io.fastembedding.spark.discovery.GpuTrainingPlan;
import io.fastembedding.spark.train.BackendFactory;
import io.fastembedding.spark.train.BackendPool;
import io.fastembedding.spark.train.DefaultBackendFactory;
import io.fastembedding.spark.train.Divergence;
import io.fastembedding.spark.train.FitRounds;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
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
 * them (sharded by row) and the head is averaged. See docs/spark.md. The params are in
 * {@link MultiEmbeddingParams}, the schema check in {@link StageSchema}, the rounds in
 * {@link FitRounds}.
 */
public final class MultiEmbedding extends Estimator<MultiEmbeddingModel>
    implements MultiEmbeddingParams, DefaultParamsWritable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(MultiEmbedding.class);

  private final String uid;
  // the two estimator-only params: the model answers numCategories() and embeddingDims() with
  // its fitted tables' counts and dims
  private final IntArrayParam numCategories;
  private final IntArrayParam embeddingDims;

  /** Tests swap the backend; users get the CPU / CUDA backends. */
  private BackendFactory backendFactory = new DefaultBackendFactory();

  public MultiEmbedding(String uid) {
    this.uid = uid;
    numCategories = ParamDefs.numCategories(this);
    embeddingDims = ParamDefs.embeddingDims(this);
    ParamDefs.setDefaults(this);
  }

  public MultiEmbedding() {
    this(Identifiable.randomUID("multiEmbedding"));
  }

  @Override
  public String uid() {
    return uid;
  }

  /** As Spark's, with array values written out ({@code [64, 32]}, not {@code [I@64aad6db}). */
  @Override
  public String explainParam(Param<?> param) {
    return ParamText.explain(this, param);
  }

  // ------------------------------------------------------------------ estimator-only params

  public IntArrayParam numCategories() {
    return numCategories;
  }

  public IntArrayParam embeddingDims() {
    return embeddingDims;
  }

  public int[] getNumCategories() {
    return getOrDefault(numCategories);
  }

  public int[] getEmbeddingDims() {
    return getOrDefault(embeddingDims);
  }

  // ------------------------------------------------------------------ setters

  public MultiEmbedding setInputCols(String... v) {
    set(inputCols(), v);
    return this;
  }

  public MultiEmbedding setOutputCol(String v) {
    set(outputCol(), v);
    return this;
  }

  public MultiEmbedding setOutputCols(String... v) {
    set(outputCols(), v);
    return this;
  }

  public MultiEmbedding setPredictionCol(String v) {
    set(predictionCol(), v);
    return this;
  }

  /** error, skip or keep (case-insensitive). */
  public MultiEmbedding setHandleInvalid(String v) {
    set(handleInvalid(), lower(v));
    return this;
  }

  public MultiEmbedding setWithFirstOrder(boolean v) {
    set(withFirstOrder(), v);
    return this;
  }

  public MultiEmbedding setLabelCol(String v) {
    set(labelCol(), v);
    return this;
  }

  public MultiEmbedding setWeightCol(String v) {
    set(weightCol(), v);
    return this;
  }

  public MultiEmbedding setNumCategories(int... v) {
    set(numCategories, v);
    return this;
  }

  public MultiEmbedding setEmbeddingDim(int v) {
    set(embeddingDim(), v);
    return this;
  }

  public MultiEmbedding setEmbeddingDims(int... v) {
    set(embeddingDims, v);
    return this;
  }

  /** fm, linear or mlp (case-insensitive). */
  public MultiEmbedding setHead(String v) {
    set(head(), lower(v));
    return this;
  }

  public MultiEmbedding setHiddenLayers(int... v) {
    set(hiddenLayers(), v);
    return this;
  }

  /** logistic or squared (case-insensitive). */
  public MultiEmbedding setLoss(String v) {
    set(loss(), lower(v));
    return this;
  }

  /** sgd, adagrad, rowwise_adagrad or rowwise_adam (case-insensitive). */
  public MultiEmbedding setOptimizer(String v) {
    set(optimizer(), lower(v));
    return this;
  }

  public MultiEmbedding setStepSize(double v) {
    set(stepSize(), v);
    return this;
  }

  public MultiEmbedding setRegParam(double v) {
    set(regParam(), v);
    return this;
  }

  public MultiEmbedding setInitStd(double v) {
    set(initStd(), v);
    return this;
  }

  public MultiEmbedding setMaxIter(int v) {
    set(maxIter(), v);
    return this;
  }

  public MultiEmbedding setBatchSize(int v) {
    set(batchSize(), v);
    return this;
  }

  public MultiEmbedding setEpochsPerMerge(int v) {
    set(epochsPerMerge(), v);
    return this;
  }

  public MultiEmbedding setNumWorkers(int v) {
    set(numWorkers(), v);
    return this;
  }

  public MultiEmbedding setSeed(long v) {
    set(seed(), v);
    return this;
  }

  /** auto, cpu or gpu (case-insensitive). */
  public MultiEmbedding setDevice(String v) {
    set(device(), lower(v));
    return this;
  }

  /** auto, broadcast or sharded (case-insensitive): where the tables live during the fit. */
  public MultiEmbedding setTablePlacement(String v) {
    set(tablePlacement(), lower(v));
    return this;
  }

  /** Per input column: 0 for an index column, else the rows its raw values are hashed into. */
  public MultiEmbedding setNumHashBuckets(int... v) {
    set(numHashBuckets(), v);
    return this;
  }

  public MultiEmbedding setGpuResourceName(String v) {
    set(gpuResourceName(), v);
    return this;
  }

  public MultiEmbedding setDeterministic(boolean v) {
    set(deterministic(), v);
    return this;
  }

  public MultiEmbedding setFailOnDivergence(boolean v) {
    set(failOnDivergence(), v);
    return this;
  }

  /** A Vector column of numeric features for the head; empty for none. */
  public MultiEmbedding setNumericCol(String v) {
    set(numericCol(), v);
    return this;
  }

  public MultiEmbedding setStandardization(boolean v) {
    set(standardization(), v);
    return this;
  }

  public MultiEmbedding setProbabilityCol(String v) {
    set(probabilityCol(), v);
    return this;
  }

  public MultiEmbedding setValidationIndicatorCol(String v) {
    set(validationIndicatorCol(), v);
    return this;
  }

  public MultiEmbedding setValidationFraction(double v) {
    set(validationFraction(), v);
    return this;
  }

  public MultiEmbedding setPatience(int v) {
    set(patience(), v);
    return this;
  }

  public MultiEmbedding setTol(double v) {
    set(tol(), v);
    return this;
  }

  /** auto, on or off (case-insensitive). */
  public MultiEmbedding setEarlyStopping(String v) {
    set(earlyStopping(), lower(v));
    return this;
  }

  /** loss or auc (case-insensitive). */
  public MultiEmbedding setValidationMetric(String v) {
    set(validationMetric(), lower(v));
    return this;
  }

  public MultiEmbedding setRefitOnAllRows(boolean v) {
    set(refitOnAllRows(), v);
    return this;
  }

  /** auto, linear, bucket or ple (case-insensitive). */
  public MultiEmbedding setNumericEncoding(String v) {
    set(numericEncoding(), lower(v));
    return this;
  }

  public MultiEmbedding setNumBuckets(int v) {
    set(numBuckets(), v);
    return this;
  }

  public MultiEmbedding setCrossFitFolds(int v) {
    set(crossFitFolds(), v);
    return this;
  }

  public MultiEmbedding setCrossFitVectors(boolean v) {
    set(crossFitVectors(), v);
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
   * Training rows per category below which the rule no longer grows a field's dim: a field counts
   * as having at most {@code trainingRows / ROWS_PER_CATEGORY} categories. docs/quality.md has the
   * measurements behind it.
   */
  static final long ROWS_PER_CATEGORY = 500;

  /**
   * The embedding dim of each field: embeddingDims, else embeddingDim when it is set above 0, else
   * the rule of {@link #dimForCardinality} on each field's categories, counted as at most the
   * training rows / {@link #ROWS_PER_CATEGORY}, so that a large table on few rows does not get a
   * large dim; the fm head, which needs one dim, takes the largest field's. Null when the rule
   * needs a number that is not known ({@code categories[f] < 0} or {@code trainingRows < 0}).
   */
  int[] fieldDims(int[] categories, long trainingRows) {
    int n = categories.length;
    if (isDefined(embeddingDims)) {
      return getEmbeddingDims();
    }
    int[] d = new int[n];
    if (getEmbeddingDim() > 0) {
      Arrays.fill(d, getEmbeddingDim());
      return d;
    }
    if (trainingRows < 0) {
      return null;
    }
    long supported = Math.max(1, trainingRows / ROWS_PER_CATEGORY);
    for (int f = 0; f < n; f++) {
      if (categories[f] < 0) {
        return null;
      }
      d[f] = dimForCardinality(Math.min(categories[f], supported));
    }
    if (HeadType.fromId(getHead()).factorized()) {
      Arrays.fill(d, Arrays.stream(d).max().orElse(4));
    }
    return d;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return StageSchema.validateAndTransformSchema(this, schema, new StageSchema.BeforeFit(
        isDefined(numCategories) ? getNumCategories() : null,
        isDefined(embeddingDims) ? getEmbeddingDims() : null,
        // before the fit the training rows are not known, so the rule's dims are not either
        counts -> fieldDims(counts, -1)));
  }

  // ------------------------------------------------------------------ fit

  @Override
  public MultiEmbeddingModel fit(Dataset<?> dataset) {
    long fitStart = System.nanoTime();
    transformSchema(dataset.schema(), true);
    SparkContext sc = dataset.sparkSession().sparkContext();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
    boolean local = GpuConfigCheck.isLocalMode(sc.master());
    GpuTrainingPlan gpuPlan = GpuTrainingPlan.decide(sc.getConf(), sc.version(),
        getGpuResourceName(), getDevice());
    GpuConfigCheck.check(sc.conf(), sc.master(), getDevice(), getGpuResourceName(),
        gpuPlan.profile().isPresent(), Backends::cudaDeviceCount, Backends::cudaUnavailableReason);
    LOG.info("MultiEmbedding {}: {}", uid, gpuPlan.description());
    gpuPlan.warnings().forEach(w -> LOG.warn("MultiEmbedding {}: {}", uid, w));

    String fitId = uid + "-" + UUID.randomUUID();
    String previousDescription = sc.getLocalProperty("spark.job.description");
    List<JavaRDD<?>> cached = new ArrayList<>();
    Blocks b = null;
    try {
      SmallData small = new SmallData(dataset, sc);
      Input in = encodeNumeric(dataset, sc, small);
      Holdout holdout = holdout(small);
      b = buildBlocks(in, holdout, sc, cached);
      ModelSpec spec = ModelSpec.builder(b.tableSizes(), fieldDims(b.sizes().validCounts,
              b.trainingRows()))
          .fieldNames(in.cols()).numNumeric(b.mean().length)
          .head(HeadType.fromId(getHead())).hiddenLayers(getHiddenLayers())
          .loss(LossType.fromId(getLoss()))
          .optimizer(OptimizerSpec.of(OptimizerType.fromId(getOptimizer()), (float) getStepSize(),
              (float) getRegParam()))
          .initStd((float) getInitStd()).seed(getSeed()).build();
      // the memory plan, before any table is allocated: which path, and whether it fits
      MemoryPlan.Memory memory = MemoryPlan.of(sc.getConf(), sc.master(),
          Runtime.getRuntime().maxMemory());
      boolean sharded = MemoryPlan.sharded(spec, memory, getTablePlacement());
      LOG.info("MultiEmbedding {}: {} tables ({} MiB with optimizer state; {})", uid,
          sharded ? "sharded" : "broadcast", MemoryPlan.modelBytes(spec) >> 20,
          "tablePlacement " + getTablePlacement());
      if (sharded && getCrossFitFolds() > 0) {
        // the fold models live in the driver's model data, beside the full model's tables
        throw new IllegalArgumentException(String.format(Locale.ROOT, "crossFitFolds %d keeps "
            + "%d fold models on the driver, which the sharded tables cannot: tablePlacement "
            + "'%s' places this model's tables (%.1f MiB, %.1f MiB with optimizer state) sharded "
            + "on the executors; set crossFitFolds to 0, or tablePlacement to 'broadcast' with a "
            + "driver that holds %d + 1 copies of the tables", getCrossFitFolds(),
            getCrossFitFolds(), getTablePlacement(), MemoryPlan.tableBytes(spec) / 1048576.0,
            MemoryPlan.modelBytes(spec) / 1048576.0, getCrossFitFolds()));
      }
      if (!sharded && getCrossFitFolds() > 0) {
        MemoryPlan.checkCrossFit(spec, memory, getCrossFitFolds());
      }
      FitRounds.Config config = new FitRounds.Config(uid, fitId, getMaxIter(), getEpochsPerMerge(),
          getBatchSize(), getSeed(), getDeterministic(), getPatience(), getTol(), b.validation(),
          holdout.stopEarly(), ParamDefs.AUC.equals(getValidationMetric()),
          new Divergence.Context(getFailOnDivergence(), getStepSize(), getOptimizer(), getLoss(),
              getInitStd(), getLabelCol(), b.targets().labelMin, b.targets().labelMax),
          new DeviceRequest(getDevice(), getGpuResourceName(), local), gpuPlan, backendFactory);
      FitRounds.Result trained = new FitRounds(jsc, config).run(spec, b.blocks(), sharded,
          memory);
      FitRounds.Result kept = trained;
      // the epochs of the kept model, which a refit and the fold models repeat
      int epochs = Math.min(getMaxIter(), trained.bestRound() * getEpochsPerMerge());
      JavaRDD<PartitionData> trainedOn = b.blocks();
      int refitEpochs = 0;
      if (holdout.refit() && b.validation()) {
        if (trained.sharded()) {
          // the refit's shards replace these
          trained.shards().unpersist();
        }
        JavaRDD<PartitionData> all = b.blocks().map(HeldOutRows::rejoined);
        all.persist(StorageLevel.MEMORY_AND_DISK());
        cached.add(all);
        describe(sc, "refit on every row for " + epochs + " epochs");
        LOG.info("MultiEmbedding {}: refit on every row, the validation rows included, for {} "
            + "epochs", uid, epochs);
        kept = new FitRounds(jsc, config.plain(epochs)).run(spec, all, sharded, memory);
        trainedOn = all;
        refitEpochs = epochs;
      }
      boolean keep = ParamDefs.KEEP.equals(getHandleInvalid());
      ModelData data;
      if (kept.sharded()) {
        // the model keeps the tables on the executors, without the optimizer state
        ShardStore values = kept.shards().withoutState(ModelData.scoringSpec(spec));
        if (values.rdd() != kept.shards().rdd()) {
          values.materialize();
          kept.shards().unpersist();
        }
        data = ModelData.sharded(spec, b.sizes().validCounts, keep, kept.head().head, b.mean(),
            b.std(), values);
      } else {
        data = ModelData.of(kept.state(), b.sizes().validCounts, keep, b.mean(), b.std());
      }
      data = data.withNumericEncoding(in.encoding(), in.buckets(), getInputCols().length)
          .withHashBuckets(hashBuckets());
      if (getCrossFitFolds() > 0) {
        data = data.withCrossFit(CrossFitting.fit(jsc, config.plain(epochs), spec, trainedOn,
            getCrossFitFolds(), getSeed(), uid, kept.state()));
      }
      MultiEmbeddingModel model = new MultiEmbeddingModel(uid, data);
      model.setCategoryLabels(CategoryLabels.fromSchema(dataset.schema(), getInputCols(),
          hashBuckets()));
      model.setSummary(new TrainingSummary(trained.rounds(), (System.nanoTime() - fitStart) / 1e9,
          b.blocks().getNumPartitions(), trained.bestRound(), trained.stoppedEarly(), refitEpochs,
          getCrossFitFolds()));
      copyValues(model, ParamMap.empty());
      model.set(model.numericEncoding(), in.encoding());  // what 'auto' chose
      return model.setParent(this);
    } finally {
      if (b != null && !local) {
        try {
          describe(sc, "releasing training backends");
          b.blocks().foreachPartition(it -> BackendPool.closeFit(fitId));
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

  /**
   * The data the blocks are built from: the input columns, and after them one index column per
   * numeric feature's bucket ('bucket'); the numeric column, or its piecewise-linear encoding
   * ('ple'); the encoding used ('auto' resolved) and the edges it learned (null for 'linear').
   */
  private record Input(Dataset<?> data, String[] cols, int[] numCategories, String numericCol,
      String encoding, NumericBuckets buckets) {}

  /**
   * Whether the training data has at most {@link ParamDefs#EARLY_STOPPING_ROWS} rows, counted (up
   * to one more than that, one job) at most once per fit: the 'auto' rules of earlyStopping and
   * numericEncoding both ask.
   */
  private final class SmallData {
    private final Dataset<?> data;
    private final SparkContext sc;
    private Boolean small;

    SmallData(Dataset<?> data, SparkContext sc) {
      this.data = data;
      this.sc = sc;
    }

    boolean get() {
      if (small == null) {
        describe(sc, "counting rows for the 'auto' rules");
        small = data.limit((int) ParamDefs.EARLY_STOPPING_ROWS + 1).count()
            <= ParamDefs.EARLY_STOPPING_ROWS;
      }
      return small;
    }
  }

  private Input encodeNumeric(Dataset<?> dataset, SparkContext sc, SmallData small) {
    String[] cols = getInputCols();
    int[] counts = isDefined(numCategories) ? getNumCategories() : null;
    String enc = getNumericEncoding();
    if (NumericEncoding.AUTO.equals(enc)) {
      // the piecewise-linear encoding on small data, where it won on validation rows and costs
      // little; above, it multiplies the head's numeric inputs by numBuckets (docs/quality.md, run H)
      boolean ple = !getNumericCol().isEmpty() && small.get();
      enc = ple ? NumericEncoding.PLE : NumericEncoding.LINEAR;
      LOG.info("MultiEmbedding {}: numericEncoding 'auto': {}, '{}'", uid, getNumericCol().isEmpty()
          ? "no numericCol" : (ple ? "at most " : "more than ") + ParamDefs.EARLY_STOPPING_ROWS + " rows", enc);
    }
    if (NumericEncoding.LINEAR.equals(enc)) {
      return new Input(dataset, cols, counts, getNumericCol(), enc, null);
    }
    if (getNumericCol().isEmpty()) {
      throw new IllegalArgumentException("numericEncoding '" + enc + "' encodes the numeric "
          + "features, but numericCol is empty; set numericCol to their Vector column, or set "
          + "numericEncoding to 'auto' or 'linear'");
    }
    NumericSize size = NumericSize.of(dataset, getNumericCol());
    int k = size.size();
    if (k == 0) {  // no rows: nothing to encode, and the empty-data error follows
      return new Input(dataset, cols, counts, getNumericCol(), NumericEncoding.LINEAR, null);
    }
    checkRawNumeric(dataset, size, sc);
    describe(sc, "quantiles of " + k + " numeric features for the '" + enc + "' encoding");
    NumericBuckets buckets = NumericEncoding.learn(dataset, getNumericCol(), k, getNumBuckets());
    LOG.info("MultiEmbedding {}: numericEncoding {}: {}", uid, enc,
        NumericEncoding.describe(buckets));
    Dataset<Row> d = dataset.toDF();
    Column vec = d.col(getNumericCol());
    if (NumericEncoding.PLE.equals(enc)) {
      String col = NumericEncoding.encodedColumn(uid);
      return new Input(d.withColumn(col, NumericEncoding.ple(vec, buckets, getNumericCol())), cols,
          counts, col, enc, buckets);
    }
    String[] all = Arrays.copyOf(cols, cols.length + k);
    int[] allCounts = counts == null ? null : Arrays.copyOf(counts, cols.length + k);
    for (int j = 0; j < k; j++) {
      all[cols.length + j] = NumericEncoding.bucketColumn(uid, j);
      d = d.withColumn(all[cols.length + j], NumericEncoding.bucket(vec, buckets, j));
      if (allCounts != null) {
        allCounts[cols.length + j] = buckets.numBuckets(j);
      }
    }
    return new Input(d, all, allCounts, getNumericCol(), enc, buckets);
  }

  /**
   * The numeric column before an encoding replaces it: null vectors, other sizes and non-finite
   * values fail here, with the messages of the 'linear' path, naming the user's column and its
   * features (the encoded column is hidden and wider).
   */
  private void checkRawNumeric(Dataset<?> dataset, NumericSize size, SparkContext sc) {
    describe(sc, "checking numeric column '" + getNumericCol() + "'");
    int k = size.size();
    BlockStats s = dataset.select(dataset.col(getNumericCol())).toDF().javaRDD().mapPartitions(it -> {
      BlockStats p = new BlockStats(0);
      float[] buf = new float[k];
      while (it.hasNext()) {
        BlockBuilder.readNumeric(it.next(), 0, k, buf, 0, p);
      }
      return Collections.singletonList(p).iterator();
    }).reduce(BlockStats::merge);
    InputErrors.checkNumeric(s, getNumericCol(), k, size.source());
  }

  /**
   * How the rows are held out: the validation rows, whether the rounds stop early, and whether the
   * held-out rows only choose the number of epochs, the kept model being refitted on every row.
   */
  private record Holdout(BlockColumns.Validation validation, boolean stopEarly, boolean refit) {}

  /**
   * earlyStopping: 'off' holds out only an indicator column's rows (evaluated, no stopping); 'on'
   * holds out the indicator's rows, else validationFraction; 'auto' is 'on' when an indicator column
   * is given or validationFraction was set above 0; otherwise, on more than
   * {@link ParamDefs#EARLY_STOPPING_ROWS} rows (counted up to one more than that) it is 'on', and
   * on fewer it is 'on' with a refit on every row for the best round's epochs (refitOnAllRows),
   * so that small data loses no rows to the validation that chooses its epochs.
   */
  private Holdout holdout(SmallData small) {
    boolean indicator = !getValidationIndicatorCol().isEmpty();
    String mode = getEarlyStopping();
    boolean on;
    boolean refit = getRefitOnAllRows();
    if (ParamDefs.OFF.equals(mode)) {
      on = false;
    } else if (ParamDefs.ON.equals(mode) || indicator
        || (isSet(validationFraction()) && getValidationFraction() > 0)) {
      on = true;
    } else {
      boolean large = !small.get();
      on = getValidationFraction() > 0;
      refit |= on && !large;
      LOG.info("MultiEmbedding {}: earlyStopping 'auto': {}", uid, !on
          ? "validationFraction is 0, training on every row"
          : large ? "more than " + ParamDefs.EARLY_STOPPING_ROWS + " rows, holding out "
              + "validationFraction " + getValidationFraction() + " of them"
          : "at most " + ParamDefs.EARLY_STOPPING_ROWS + " rows: validationFraction "
              + getValidationFraction() + " of them held out chooses the number of epochs, then "
              + "a refit on every row");
    }
    if (indicator) {
      return new Holdout(BlockColumns.Validation.INDICATOR, on, refit);
    }
    if (!on) {
      return new Holdout(BlockColumns.Validation.NONE, false, false);
    }
    if (getValidationFraction() <= 0) {
      throw new IllegalArgumentException("earlyStopping is 'on' but there are no validation rows: "
          + "validationFraction is " + getValidationFraction() + " and validationIndicatorCol is "
          + "empty; set validationFraction in (0, 1) or validationIndicatorCol");
    }
    return new Holdout(BlockColumns.Validation.FRACTION, true, refit);
  }

  /**
   * The cached training blocks, checked and resolved, with what the fit learned of the data on the
   * way: table sizes, the numeric features' standardisation, whether there are validation rows, and
   * how many rows train.
   */
  private record Blocks(JavaRDD<PartitionData> blocks, TableSizes sizes, int[] tableSizes,
      float[] mean, float[] std, boolean validation, BlockStats.TargetStats targets,
      long trainingRows) {}

  /**
   * Converts the selected columns into one cached block per training partition, checks the input
   * (sizes, invalid indices, labels, weights, numeric features, the validation split), then drops
   * or maps invalid rows and standardises the numeric features where needed. Every RDD it caches is
   * added to {@code cached}, for the caller to release.
   */
  private Blocks buildBlocks(Input in, Holdout holdout, SparkContext sc,
      List<JavaRDD<?>> cached) {
    Dataset<?> dataset = in.data();
    String[] cols = in.cols();
    int n = cols.length;
    String mode = getHandleInvalid();
    boolean keep = ParamDefs.KEEP.equals(mode);
    boolean hasWeight = !getWeightCol().isEmpty();
    // hashed columns are input columns: the 'bucket' encoding's fields after them never are
    int[] buckets = Arrays.copyOf(hashBuckets(), n);
    TableSizes known = TableSizes.beforeScan(dataset.schema(), cols, in.numCategories())
        .withHashed(buckets);
    String numericName = in.numericCol();
    NumericSize numeric = numericName.isEmpty() ? new NumericSize(0, "")
        : NumericSize.of(dataset, numericName);
    int k = numeric.size();
    BlockColumns.Validation validation = holdout.validation();
    List<Column> sel = new ArrayList<>();
    for (int f = 0; f < n; f++) {
      sel.add(buckets[f] > 0
          ? HashedColumns.index(dataset.col(cols[f]), dataset.schema().apply(cols[f]).dataType(),
              buckets[f])
          : dataset.col(cols[f]).cast(DataTypes.DoubleType));
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
    // blocks are built where the rows are, then dealt into equal training blocks (BlockBalancer)
    Dataset<Row> rows = dataset.select(sel.toArray(new Column[0]));
    int workers = getNumWorkers() > 0 ? getNumWorkers() : sc.defaultParallelism();

    describe(sc, "converting rows into training blocks");
    BlockColumns columns = new BlockColumns(known.validCounts, hasWeight, k, validation,
        getValidationFraction(), getSeed());
    // the first build cannot be checked against sizes the scan has yet to infer; a rebuild can
    BlockCheck rebuilt = new BlockCheck();
    JavaRDD<PartitionData> raw = rows.javaRDD().mapPartitionsWithIndex(
        (pid, it) -> Collections.singletonList(rebuilt.apply(BlockBuilder.build(pid, it, columns)))
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
    InputErrors.check(total, cols, sizes, mode, LossType.fromId(getLoss()) == LossType.LOGISTIC,
        getLabelCol(), getWeightCol());
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
    boolean remap = total.invalidRows > 0;
    // every block is checked against the final sizes whenever Spark builds it (again after a
    // loss, too), then its invalid indices resolved and its numeric features standardised
    BlockRules check = new BlockRules(cols, sizes, mode,
        LossType.fromId(getLoss()) == LossType.LOGISTIC, getLabelCol(), getWeightCol(),
        numericName, k, numeric.source(), null, null);
    // from now on, a raw block Spark rebuilds is checked as it is built (the RDD's function is
    // serialized anew for every job, with this field set)
    rebuilt.rules = check;
    JavaRDD<PartitionData> blocks = raw;
    if (remap || scale) {
      BlockRules rules = scale ? check.withStandardization(mean, ModelData.inverse(std)) : check;
      blocks = raw.map(pd -> BlockBuilder.resolve(pd, rules));
      blocks.persist(StorageLevel.MEMORY_AND_DISK());
      cached.add(blocks);
      describe(sc, (remap ? "resolving " + total.invalidRows + " rows with invalid indices ("
          + mode + ")" : "") + (remap && scale ? " and " : "")
          + (scale ? "standardising " + k + " numeric features" : ""));
      blocks.count();
      raw.unpersist(false);
    }
    // else the first pass's blocks train as they are: the driver's check covered every index;
    // either way they are dealt into equal blocks when they are not
    blocks = balanced(sc, blocks, workers, cached);
    return new Blocks(blocks, sizes, tableSizes, mean, std,
        validation != BlockColumns.Validation.NONE, ParamDefs.SKIP.equals(mode) ? total.targets
            : total.targets.plus(total.targetsOfInvalidRows), total.trainRows());
  }

  /**
   * Checks each block built after the driver has settled the table sizes ({@link #rules} set):
   * Spark rebuilding a lost block from its input. Null rules: the first pass, which the driver
   * checks from the blocks' stats.
   */
  private static final class BlockCheck implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    volatile BlockRules rules;

    PartitionData apply(PartitionData pd) {
      BlockRules r = rules;
      return r == null ? pd : BlockBuilder.resolve(pd, r);
    }
  }

  /**
   * {@code workers} training blocks of equal size (within one row), dealt from {@code blocks}
   * unless they already are (item 6 of docs/spark.md's data flow); the dealt blocks are cached and
   * {@code blocks} released.
   */
  private JavaRDD<PartitionData> balanced(SparkContext sc, JavaRDD<PartitionData> blocks,
      int workers, List<JavaRDD<?>> cached) {
    List<long[]> sizes = blocks.map(pd -> new long[] {pd.block.rows,
        pd.validation == null ? 0 : pd.validation.rows}).collect();
    long[] train = sizes.stream().mapToLong(x -> x[0]).toArray();
    long[] valid = sizes.stream().mapToLong(x -> x[1]).toArray();
    if (!BlockBalancer.needed(train, workers)) {
      return blocks;
    }
    describe(sc, String.format(Locale.ROOT, "dealing %d rows from %d blocks into %d equal "
        + "training blocks", java.util.Arrays.stream(train).sum(), train.length, workers));
    JavaRDD<PartitionData> dealt = BlockBalancer.balance(blocks, workers, train, valid);
    dealt.persist(StorageLevel.MEMORY_AND_DISK());
    cached.add(dealt);
    dealt.count();
    blocks.unpersist(false);
    return dealt;
  }

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


  private void describe(SparkContext sc, String what) {
    FitRounds.describe(sc, uid, what);
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
