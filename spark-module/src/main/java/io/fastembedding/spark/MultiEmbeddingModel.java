package io.fastembedding.spark;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.ModelSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.attribute.NumericAttribute;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A fitted {@link MultiEmbedding}: one embedding table per categorical column and the head trained on
 * top of them. {@code transform} appends the concatenated embedding vector of the input columns
 * ({@code outputCol}, with attribute names {@code <inputCol>_<k>}), optionally one vector per column
 * ({@code outputCols}) and the head's prediction ({@code predictionCol}). It runs on the CPU from a
 * broadcast of the tables. It carries the estimator's params ({@link MultiEmbeddingParams}), set
 * to the values it was trained with.
 */
public final class MultiEmbeddingModel extends Model<MultiEmbeddingModel>
    implements MultiEmbeddingParams, DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private ModelData data;
  private transient TrainingSummary summary;
  /** Category names per input column, when its metadata had them at fit; persisted. */
  private CategoryLabels labels;
  private transient Broadcast<ModelData> broadcast;
  /** A sharded model's tables, collected for a broadcast transform or a table accessor. */
  private transient ModelData collected;
  private transient SparkContext broadcastContext;

  /** An empty model, as Spark's readers and Spark Connect create it before loading its data. */
  public MultiEmbeddingModel(String uid) {
    this.uid = uid;
    ParamDefs.setDefaults(this);
  }

  public MultiEmbeddingModel() {
    this(Identifiable.randomUID("multiEmbeddingModel"));
  }

  MultiEmbeddingModel(String uid, ModelData data) {
    this(uid);
    this.data = data;
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

  // ------------------------------------------------------------------ setters of what transform reads

  public MultiEmbeddingModel setInputCols(String... v) {
    set(inputCols(), v);
    return this;
  }

  public MultiEmbeddingModel setOutputCol(String v) {
    set(outputCol(), v);
    return this;
  }

  public MultiEmbeddingModel setOutputCols(String... v) {
    set(outputCols(), v);
    return this;
  }

  public MultiEmbeddingModel setPredictionCol(String v) {
    set(predictionCol(), v);
    return this;
  }

  public MultiEmbeddingModel setProbabilityCol(String v) {
    set(probabilityCol(), v);
    return this;
  }

  /** error, skip or keep (case-insensitive); keep needs a model fit with keep. */
  public MultiEmbeddingModel setHandleInvalid(String v) {
    set(handleInvalid(), v == null ? null : v.toLowerCase(Locale.ROOT));
    return this;
  }

  /** See {@link MultiEmbeddingParams#crossFitVectors()}: a transform-time choice of the outputs. */
  public MultiEmbeddingModel setCrossFitVectors(boolean v) {
    set(crossFitVectors(), v);
    return this;
  }

  public MultiEmbeddingModel setWithFirstOrder(boolean v) {
    set(withFirstOrder(), v);
    return this;
  }

  /** The Vector column of numeric features the head reads (for predictionCol and probabilityCol). */
  /**
   * auto, broadcast or sharded (case-insensitive): how transform finds a sharded model's rows
   * (sharded: a join with the shards; broadcast: the tables collected and broadcast; auto: the join
   * above 256 MiB of tables). A model whose tables are on the driver always broadcasts them.
   */
  public MultiEmbeddingModel setTablePlacement(String v) {
    set(tablePlacement(), v == null ? null : v.toLowerCase(java.util.Locale.ROOT));
    return this;
  }

  public MultiEmbeddingModel setNumericCol(String v) {
    set(numericCol(), v);
    return this;
  }

  // ------------------------------------------------------------------ schema and transform

  @Override
  public StructType transformSchema(StructType schema) {
    return StageSchema.validateAndTransformSchema(this, schema,
        new StageSchema.Fitted(requireData()));
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType outSchema = transformSchema(dataset.schema(), true);
    ModelData d = requireData();
    String[] cols = getInputCols();
    int n = cols.length;
    String mode = getHandleInvalid();
    boolean keep = ParamDefs.KEEP.equals(mode);
    Dataset<Row> df = dataset.toDF();
    Column[] idx = new Column[n];
    for (int f = 0; f < n; f++) {
      idx[f] = d.hashBuckets[f] > 0
          ? HashedColumns.index(df.col(cols[f]), df.schema().apply(cols[f]).dataType(),
              d.hashBuckets[f])
          : df.col(cols[f]).cast(DataTypes.DoubleType);
    }
    if (ParamDefs.SKIP.equals(mode)) {
      Column valid = functions.lit(true);
      for (int f = 0; f < n; f++) {
        Column c = idx[f];
        valid = valid.and(c.isNotNull()).and(c.equalTo(functions.rint(c))).and(c.geq(0))
            .and(c.lt(d.validCounts[f]));
      }
      df = df.filter(valid);
    }
    // what the head reads: the input columns' indices, the numeric features' buckets after them
    // ('bucket'), and the numeric vector or its piecewise-linear encoding ('ple')
    boolean numericIn = d.spec.numNumeric() > 0 && !getNumericCol().isEmpty();
    Column numeric = null;
    Column[] headIdx = idx;
    if (numericIn) {
      Column raw = df.col(getNumericCol());
      numeric = NumericEncoding.PLE.equals(d.numericEncoding) ? NumericEncoding.ple(raw, d.buckets,
          getNumericCol())
          : raw;
      if (NumericEncoding.BUCKET.equals(d.numericEncoding)) {
        headIdx = Arrays.copyOf(idx, d.spec.numFields());
        for (int j = 0; j < d.buckets.numFeatures(); j++) {
          headIdx[n + j] = NumericEncoding.bucket(raw, d.buckets, j);
        }
      }
    }
    // a sharded model (fits refuse cross-fitting on sharded tables) too large to broadcast is
    // looked up where its shards live: nothing is collected to the driver
    if (d.isSharded() && d.crossFit == null && lookUpByJoin(dataset.sparkSession(), d)) {
      return JoinTransform.transform(df, headIdx, numeric, d, cols, keep,
          new JoinTransform.Outputs(getWithFirstOrder(), isDefined(outputCols()),
              !getPredictionCol().isEmpty(), !getProbabilityCol().isEmpty(), getNumericCol()),
          outSchema);
    }
    Broadcast<ModelData> bc = broadcast(dataset.sparkSession());
    d = localData();
    int base = dataset.schema().length();
    List<Column> out = new ArrayList<>();
    out.add(functions.col("*"));
    if (d.crossFit != null) {
      addCrossFitted(out, d, bc, outSchema, base, headIdx, numeric);
      return df.select(out.toArray(new Column[0]));
    }
    EmbeddingLookup lookup = new EmbeddingLookup(bc, d, cols, keep, getWithFirstOrder(), -1);
    Column[] args = IndexUdfs.arguments(idx);
    out.add(IndexUdfs.concat(lookup, n).asNonNullable().apply(args)
        .as(getOutputCol(), outSchema.fields()[base].metadata()));
    int next = base + 1;
    if (isDefined(outputCols())) {
      String[] outs = getOutputCols();
      for (int f = 0; f < n; f++) {
        int field = f;
        int dim = lookup.outDim(f);
        var udf = functions.udf((UDF1<Double, Vector>) a -> {
          double[] o = new double[dim];
          lookup.putAt(o, 0, field, a);
          return Vectors.dense(o);
        }, SQLDataTypes.VectorType()).asNonNullable();
        out.add(udf.apply(idx[f]).as(outs[f], outSchema.fields()[next++].metadata()));
      }
    }
    if (StageSchema.scores(this)) {
      int fields = headIdx.length;
      HeadScorer scorer = new HeadScorer(bc, lookup, fields, getNumericCol());
      Column score;
      if (d.spec.numNumeric() == 0) {
        score = IndexUdfs.predict(scorer, fields).asNonNullable()
            .apply(IndexUdfs.arguments(headIdx));
      } else {
        // the indices as one struct, so that the numeric vector fits in a two-argument UDF
        score = functions.udf((org.apache.spark.sql.api.java.UDF2<Row, Vector, Double>) (r, z) -> {
          synchronized (scorer) {
            for (int f = 0; f < r.length(); f++) {
              scorer.set(f, r.isNullAt(f) ? null : r.getDouble(f));
            }
            scorer.setNumeric(z);
            return scorer.predict();
          }
        }, DataTypes.DoubleType).asNonNullable().apply(functions.struct(headIdx), numeric);
      }
      addScores(out, score, outSchema);
    }
    return df.select(out.toArray(new Column[0]));
  }

  /**
   * Whether transform joins the data with a sharded model's shards (tablePlacement 'sharded', or
   * 'auto' with tables too large to broadcast) rather than collecting and broadcasting them.
   */
  private boolean lookUpByJoin(SparkSession spark, ModelData d) {
    SparkContext sc = spark.sparkContext();
    io.fastembedding.spark.shard.MemoryPlan.Memory m = io.fastembedding.spark.shard.MemoryPlan.of(
        sc.getConf(), sc.master(), Runtime.getRuntime().maxMemory());
    return io.fastembedding.spark.shard.MemoryPlan.sharded(d.scoringSpec(), m,
        getTablePlacement());
  }

  /** The tables on the driver: a sharded model's are collected once, on first need. */
  private synchronized ModelData localData() {
    ModelData d = requireData();
    if (!d.isSharded()) {
      return d;
    }
    if (collected == null) {
      collected = d.collected();
    }
    return collected;
  }

  private void addScores(List<Column> out, Column score, StructType outSchema) {
    if (!getPredictionCol().isEmpty()) {
      out.add(score.as(getPredictionCol()));
    }
    if (!getProbabilityCol().isEmpty()) {
      var toProbability = functions.udf((UDF1<Double, Vector>) p -> Vectors.dense(1 - p, p),
          SQLDataTypes.VectorType()).asNonNullable();
      out.add(toProbability.apply(score).as(getProbabilityCol(),
          outSchema.fields()[outSchema.length() - 1].metadata()));
    }
  }

  /**
   * The outputs of a cross-fitted model: one UDF reads a row's inputs as the head does, finds by
   * their content hash whether the row is one of the training rows, and if so scores it with the
   * model of its fold, else with the model fitted on all rows. The embedding vectors (and their
   * first-order weights) are always the full model's.
   */
  private void addCrossFitted(List<Column> out, ModelData d, Broadcast<ModelData> bc,
      StructType outSchema, int base, Column[] headIdx, Column numeric) {
    String[] cols = getInputCols();
    int n = cols.length;
    if (d.spec.numNumeric() > 0 && numeric == null) {
      throw new IllegalArgumentException("this model was cross-fitted with " + d.numericFeatures()
          + " numeric features, which it needs to recognise its training rows; set numericCol to "
          + "the Vector column it was fit with");
    }
    boolean keep = ParamDefs.KEEP.equals(getHandleInvalid());
    int models = d.crossFit.folds() + 1;
    EmbeddingLookup[] lookups = new EmbeddingLookup[models];
    HeadScorer[] scorers = new HeadScorer[models];
    for (int m = 0; m < models; m++) {
      lookups[m] = new EmbeddingLookup(bc, d, cols, keep, getWithFirstOrder(), m - 1);
      scorers[m] = new HeadScorer(bc, lookups[m], headIdx.length, getNumericCol(), m - 1);
    }
    String[] outs = isDefined(outputCols()) ? getOutputCols() : new String[0];
    boolean scores = StageSchema.scores(this);
    CrossFitting.Folds folds = d.crossFit;
    boolean vectorsOfFold = getCrossFitVectors() && folds.alignedVectors();
    boolean hasNumeric = d.spec.numNumeric() > 0;
    StructType result = new StructType().add("emb", SQLDataTypes.VectorType(), false)
        .add("score", DataTypes.DoubleType, false);
    for (int f = 0; f < outs.length; f++) {
      result = result.add("out" + f, SQLDataTypes.VectorType(), false);
    }
    var udf = functions.udf((org.apache.spark.sql.api.java.UDF2<Row, Vector, Row>) (r, z) -> {
      synchronized (scorers) {
        HeadScorer main = scorers[0];
        Double[] v = new Double[r.length()];
        for (int f = 0; f < v.length; f++) {
          v[f] = r.isNullAt(f) ? null : r.getDouble(f);
          main.set(f, v[f]);
        }
        if (hasNumeric) {
          main.setNumeric(z);
        }
        int m = folds.modelOf(main.contentHash(folds.seed())) + 1;
        HeadScorer s = scorers[m];
        if (m > 0) {
          main.copyRowTo(s);
        }
        // the vector outputs: with crossFitVectors, a training row gets its fold model's vectors
        // (rotated into the full model's basis, CrossFitting.align) and first-order weights, which
        // never saw it; else every row the full model's. Unaligned fold vectors live in bases of
        // their own (a downstream LogisticRegression on them scored 0.64 on Bank Marketing
        // against 0.77, docs/quality.md), so only aligned ones are ever given
        EmbeddingLookup l = vectorsOfFold ? lookups[m] : lookups[0];
        Object[] o = new Object[2 + outs.length];
        double[] emb = l.newOutput();
        for (int f = 0; f < n; f++) {
          l.put(emb, f, v[f]);
        }
        o[0] = Vectors.dense(emb);
        o[1] = scores ? s.predict() : Double.NaN;
        for (int f = 0; f < outs.length; f++) {
          double[] one = new double[l.outDim(f)];
          l.putAt(one, 0, f, v[f]);
          o[2 + f] = Vectors.dense(one);
        }
        return RowFactory.create(o);
      }
    }, result).asNonNullable();
    Column all = udf.apply(functions.struct(headIdx), numeric != null ? numeric
        : functions.lit(null).cast(SQLDataTypes.VectorType()));
    out.add(all.getField("emb").as(getOutputCol(), outSchema.fields()[base].metadata()));
    for (int f = 0; f < outs.length; f++) {
      out.add(all.getField("out" + f).as(outs[f], outSchema.fields()[base + 1 + f].metadata()));
    }
    if (scores) {
      addScores(out, all.getField("score"), outSchema);
    }
  }

  private synchronized Broadcast<ModelData> broadcast(SparkSession spark) {
    SparkContext sc = spark.sparkContext();
    if (broadcast == null || broadcastContext != sc || sc.isStopped()) {
      broadcast = JavaSparkContext.fromSparkContext(sc).broadcast(localData());
      broadcastContext = sc;
    }
    return broadcast;
  }

  private ModelData requireData() {
    if (data == null) {
      throw new IllegalStateException("MultiEmbeddingModel " + uid + " has no trained tables: fit "
          + "it with MultiEmbedding, or load a saved model");
    }
    return data;
  }

  // ------------------------------------------------------------------ accessors

  /** One input column's embeddings as a DataFrame (index int, vector), one row per table row. */
  public Dataset<Row> getVectors(String inputCol) {
    int f = Arrays.asList(getInputCols()).indexOf(inputCol);
    if (f < 0) {
      throw new IllegalArgumentException("'" + inputCol + "' is not an input column of this model; "
          + "its input columns are " + Arrays.toString(getInputCols()));
    }
    return getVectors(f);
  }

  /**
   * Field {@code field}'s embeddings as a DataFrame (index int, vector), and, when the input column
   * had nominal metadata at fit (StringIndexer's output does), a third column {@code label} with
   * each index's category name, as {@code StringIndexerModel.labelsArray} gives it. With a reserved
   * row (fit with handleInvalid = 'keep') the last index, {@code numCategories()[field]}, is the
   * vector of invalid and null indices; its label is null, as is the label of an index the metadata
   * did not name.
   */
  public Dataset<Row> getVectors(int field) {
    ModelData d = requireData();
    TableLayout l = d.spec.layout();
    if (field < 0 || field >= l.numFields()) {
      throw new IllegalArgumentException("field " + field + " does not exist; the model has "
          + l.numFields() + " fields");
    }
    String[] names = labels == null ? null : labels.of(field);
    int valid = d.validCounts[field];
    StructType schema = new StructType()
        .add("index", DataTypes.IntegerType, false)
        .add("vector", SQLDataTypes.VectorType(), false);
    if (names != null) {
      schema = schema.add("label", DataTypes.StringType, true);
    }
    if (d.isSharded()) {
      // from the shards, on the executors
      var rows = io.fastembedding.spark.shard.ShardIO.tableRows(d.shards, field).map(r -> {
        List<Float> v = r.getList(2);
        double[] out = new double[v.size()];
        for (int k = 0; k < out.length; k++) {
          out[k] = v.get(k);
        }
        int x = r.getInt(1);
        boolean named = names != null && x < names.length && x < valid;
        return names == null ? RowFactory.create(x, Vectors.dense(out))
            : RowFactory.create(x, Vectors.dense(out), named ? names[x] : null);
      });
      return SparkSession.active().createDataFrame(rows, schema).orderBy("index");
    }
    int dim = l.dim(field);
    int off = Math.toIntExact(l.offset(field));
    List<Row> rows = new ArrayList<>(l.size(field));
    for (int x = 0; x < l.size(field); x++) {
      double[] v = new double[dim];
      for (int k = 0; k < dim; k++) {
        v[k] = d.tables[off + x * dim + k];
      }
      boolean named = names != null && x < names.length && x < valid;
      rows.add(names == null ? RowFactory.create(x, Vectors.dense(v))
          : RowFactory.create(x, Vectors.dense(v), named ? names[x] : null));
    }
    return SparkSession.active().createDataFrame(rows, schema);
  }

  /** Field {@code field}'s table, row-major: {@code tableSizes()[field] * embeddingDims()[field]}. */
  public float[] getTable(int field) {
    ModelData d = localData();
    TableLayout l = d.spec.layout();
    int off = Math.toIntExact(l.offset(field));
    return Arrays.copyOfRange(d.tables, off, off + l.size(field) * l.dim(field));
  }

  /**
   * Numeric feature j's bucket cut points (the 'bucket' and 'ple' encodings): bucket b holds the
   * values from cut b - 1 (inclusive) to cut b (exclusive).
   */
  public double[] getNumericBucketCuts(int j) {
    ModelData d = requireData();
    if (d.buckets == null) {
      throw new IllegalStateException("this model encodes its numeric features 'linear', without "
          + "buckets");
    }
    return d.buckets.cuts(j);
  }

  /** Valid categories per field (with the 'bucket' encoding, the buckets' fields follow). */
  public int[] numCategories() {
    return requireData().validCounts.clone();
  }

  /** Rows per table: the categories, plus the reserved row when fit with handleInvalid = 'keep'. */
  public int[] tableSizes() {
    return requireData().spec.layout().sizes();
  }

  public int[] embeddingDims() {
    return requireData().spec.layout().dims();
  }

  public boolean hasReservedRow() {
    return requireData().reserved;
  }

  /** The FM head's first-order weight of each row of field {@code field}; empty for other heads. */
  public float[] getFirstOrderWeights(int field) {
    ModelData d = localData();
    if (!d.spec.hasFirstOrder()) {
      return new float[0];
    }
    TableLayout l = d.spec.layout();
    int base = Math.toIntExact(l.rowBase(field));
    return Arrays.copyOfRange(d.firstOrder, base, base + l.size(field));
  }

  /** The head's parameters, in the layout docs/model.md defines for the head type. */
  public float[] getHeadWeights() {
    return requireData().head.clone();
  }

  /** Mean of each numeric feature that fit subtracted (0s when standardisation was off). */
  public float[] numericMean() {
    return requireData().numericMean.clone();
  }

  /** Standard deviation each numeric feature was divided by (1s when standardisation was off). */
  public float[] numericStd() {
    return requireData().numericStd.clone();
  }

  /** The model's definition: table sizes and dims, head, loss, optimizer and seed of the fit. */
  public ModelSpec modelSpec() {
    return requireData().spec;
  }

  ModelData data() {
    return data;
  }

  // ------------------------------------------------------------------ summary

  public boolean hasSummary() {
    return summary != null;
  }

  /** The training summary of the fit that made this model; not kept by save and load. */
  public TrainingSummary summary() {
    if (summary == null) {
      throw new IllegalStateException("no training summary: it exists only on a model returned by "
          + "fit (it is not saved)");
    }
    return summary;
  }

  MultiEmbeddingModel setSummary(TrainingSummary s) {
    this.summary = s;
    return this;
  }

  /** The input columns' category names, from their nominal metadata at fit (see getVectors). */
  CategoryLabels categoryLabels() {
    return labels;
  }

  MultiEmbeddingModel setCategoryLabels(CategoryLabels l) {
    this.labels = l;
    return this;
  }

  // ------------------------------------------------------------------ copy and persistence

  @Override
  public MultiEmbeddingModel copy(ParamMap extra) {
    MultiEmbeddingModel m = copyValues(new MultiEmbeddingModel(uid, data), extra);
    m.summary = summary;
    m.labels = labels;
    return m.setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new ModelIO.Writer(this);
  }

  /** The params-only metadata writer, which {@link ModelIO.Writer} calls before writing the tables. */
  MLWriter metadataWriter() {
    return DefaultParamsWritable.super.write();
  }

  public static MLReader<MultiEmbeddingModel> read() {
    return new ModelIO.Reader();
  }

  public static MultiEmbeddingModel load(String path) {
    return read().load(path);
  }

  /**
   * Releases a sharded model's shards from the executors' storage, for when the model is no longer
   * needed; nothing for a model whose tables are on the driver. A later use recomputes the shards
   * from their lineage: a loaded model rereads its files, a fitted one would train again (save it
   * first to keep it).
   */
  public void unpersist() {
    ModelData d = requireData();
    if (d.isSharded()) {
      d.shards.unpersist();
    }
  }

  /** Whether the tables are shards on the executors (a large model), not arrays on the driver. */
  public boolean isSharded() {
    return requireData().isSharded();
  }

  /** Whether a sharded model's tables were collected to the driver (tests). */
  synchronized boolean tablesCollected() {
    return collected != null;
  }

  void setData(ModelData d) {
    this.data = d;
    this.collected = null;
    this.broadcast = null;
  }

  @Override
  public String toString() {
    return "MultiEmbeddingModel: uid=" + uid + (data == null ? " (no tables)"
        : ", fields=" + Arrays.toString(getInputCols()) + ", sizes="
            + Arrays.toString(tableSizes()) + ", dims=" + Arrays.toString(embeddingDims())
            + ", head=" + data.spec.head().id());
  }
}
