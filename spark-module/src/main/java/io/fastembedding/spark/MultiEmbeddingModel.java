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
  private transient Broadcast<ModelData> broadcast;
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

  public MultiEmbeddingModel setWithFirstOrder(boolean v) {
    set(withFirstOrder(), v);
    return this;
  }

  /** The Vector column of numeric features the head reads (for predictionCol and probabilityCol). */
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
    Broadcast<ModelData> bc = broadcast(dataset.sparkSession());
    EmbeddingLookup lookup = new EmbeddingLookup(bc, d, cols, ParamDefs.KEEP.equals(mode),
        getWithFirstOrder());
    Dataset<Row> df = dataset.toDF();
    Column[] idx = new Column[n];
    for (int f = 0; f < n; f++) {
      idx[f] = df.col(cols[f]).cast(DataTypes.DoubleType);
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
    int base = dataset.schema().length();
    List<Column> out = new ArrayList<>();
    out.add(functions.col("*"));
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
      HeadScorer scorer = new HeadScorer(bc, lookup, n, getNumericCol());
      Column score;
      if (d.spec.numNumeric() == 0) {
        score = IndexUdfs.predict(scorer, n).asNonNullable().apply(args);
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
        }, DataTypes.DoubleType).asNonNullable().apply(functions.struct(idx),
            df.col(getNumericCol()));
      }
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
    return df.select(out.toArray(new Column[0]));
  }

  private synchronized Broadcast<ModelData> broadcast(SparkSession spark) {
    SparkContext sc = spark.sparkContext();
    if (broadcast == null || broadcastContext != sc || sc.isStopped()) {
      broadcast = JavaSparkContext.fromSparkContext(sc).broadcast(data);
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
   * Field {@code field}'s embeddings as a DataFrame (index int, vector). With a reserved row (fit
   * with handleInvalid = 'keep') the last index, {@code numCategories()[field]}, is the vector of
   * invalid and null indices.
   */
  public Dataset<Row> getVectors(int field) {
    ModelData d = requireData();
    TableLayout l = d.spec.layout();
    if (field < 0 || field >= l.numFields()) {
      throw new IllegalArgumentException("field " + field + " does not exist; the model has "
          + l.numFields() + " fields");
    }
    int dim = l.dim(field);
    int off = Math.toIntExact(l.offset(field));
    List<Row> rows = new ArrayList<>(l.size(field));
    for (int x = 0; x < l.size(field); x++) {
      double[] v = new double[dim];
      for (int k = 0; k < dim; k++) {
        v[k] = d.tables[off + x * dim + k];
      }
      rows.add(RowFactory.create(x, Vectors.dense(v)));
    }
    StructType schema = new StructType()
        .add("index", DataTypes.IntegerType, false)
        .add("vector", SQLDataTypes.VectorType(), false);
    return SparkSession.active().createDataFrame(rows, schema);
  }

  /** Field {@code field}'s table, row-major: {@code tableSizes()[field] * embeddingDims()[field]}. */
  public float[] getTable(int field) {
    ModelData d = requireData();
    TableLayout l = d.spec.layout();
    int off = Math.toIntExact(l.offset(field));
    return Arrays.copyOfRange(d.tables, off, off + l.size(field) * l.dim(field));
  }

  /** Valid categories per field. */
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
    ModelData d = requireData();
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

  // ------------------------------------------------------------------ copy and persistence

  @Override
  public MultiEmbeddingModel copy(ParamMap extra) {
    MultiEmbeddingModel m = copyValues(new MultiEmbeddingModel(uid, data), extra);
    m.summary = summary;
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

  void setData(ModelData d) {
    this.data = d;
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
