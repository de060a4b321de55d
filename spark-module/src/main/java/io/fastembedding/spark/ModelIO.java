package io.fastembedding.spark;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Persistence of {@link MultiEmbeddingModel}: the params as Spark's standard metadata (so Pipeline,
 * PipelineModel and CrossValidator save and load it), and under {@code data/}:
 *
 * <ul>
 *   <li>{@code spec}: one row, the layout version and everything that defines the tables and head;
 *   <li>{@code tables}: one row per table row (field, index, vector, firstOrder);
 *   <li>{@code head}: one row, the head's parameters;
 *   <li>{@code numeric}: one row, the numeric encoding, the number of input columns and the bucket
 *       edges (version 3);
 *   <li>{@code crossfit} (cross-fitted models only): {@code meta} (folds, seed), {@code folds} (one
 *       row per fold model: tables, first-order weights, head) and {@code rows} (the training
 *       rows' content hashes, in chunks).
 * </ul>
 *
 * A model written with another layout version fails to load with a message saying so; every load
 * error names the path, and missing or unreadable files say "corrupt or incomplete".
 */
final class ModelIO {
  private ModelIO() {}

  /**
   * Bumped whenever the files under data/ change meaning. Version 2 added the numeric features'
   * standardisation (numericMean, numericStd) to the spec; version 1 models have no numeric
   * features and still load. Version 3 added {@code numeric} and {@code crossfit}; older models
   * load as 'linear' without fold models. Version 4 holds both unreleased versions 3' parts:
   * hashBuckets in the spec, and {@code numeric} and {@code crossfit}; a version 3 model loads
   * with the defaults for the parts it lacks (no hashed columns; 'linear', no fold models).
   */
  static final int LAYOUT_VERSION = 4;
  static final int OLDEST_READABLE = 1;
  /** Table rows per write task chunk. */
  private static final int CHUNK_ROWS = 65_536;

  static final StructType SPEC_SCHEMA = new StructType()
      .add("layoutVersion", DataTypes.IntegerType, false)
      .add("fieldNames", DataTypes.createArrayType(DataTypes.StringType, false), false)
      .add("numCategories", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("reservedRow", DataTypes.BooleanType, false)
      .add("tableSizes", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("dims", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("numNumeric", DataTypes.IntegerType, false)
      .add("head", DataTypes.StringType, false)
      .add("hiddenLayers", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("loss", DataTypes.StringType, false)
      .add("optimizer", DataTypes.StringType, false)
      .add("learningRate", DataTypes.FloatType, false)
      .add("l2", DataTypes.FloatType, false)
      .add("epsilon", DataTypes.FloatType, false)
      .add("initStd", DataTypes.FloatType, false)
      .add("seed", DataTypes.LongType, false)
      .add("numericMean", DataTypes.createArrayType(DataTypes.FloatType, false), false)
      .add("numericStd", DataTypes.createArrayType(DataTypes.FloatType, false), false)
      .add("hashBuckets", DataTypes.createArrayType(DataTypes.IntegerType, false), false);

  /**
   * Where a loaded model keeps its tables: {@code auto} (the default) on the driver when they are
   * small enough to broadcast, else as shards on the executors; {@code broadcast} or
   * {@code sharded} forces either. Version 3 added hashBuckets to the spec (versions 1 and 2 still
   * load), and a sharded model's executors write its tables from its shards.
   */
  static final String LOAD_PLACEMENT_CONF = "spark.fastembedding.load.tablePlacement";

  static final StructType TABLES_SCHEMA = new StructType()
      .add("field", DataTypes.IntegerType, false)
      .add("index", DataTypes.IntegerType, false)
      .add("vector", DataTypes.createArrayType(DataTypes.FloatType, false), false)
      .add("firstOrder", DataTypes.FloatType, true);

  static final StructType HEAD_SCHEMA = new StructType()
      .add("values", DataTypes.createArrayType(DataTypes.FloatType, false), false);

  private static final org.apache.spark.sql.types.DataType DOUBLES =
      DataTypes.createArrayType(DataTypes.DoubleType, false);
  private static final org.apache.spark.sql.types.DataType FLOATS =
      DataTypes.createArrayType(DataTypes.FloatType, false);

  static final StructType NUMERIC_SCHEMA = new StructType()
      .add("encoding", DataTypes.StringType, false)
      .add("numInputFields", DataTypes.IntegerType, false)
      .add("cutCounts", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("cuts", DOUBLES, false)
      .add("lo", DOUBLES, false)
      .add("hi", DOUBLES, false);

  static final StructType CROSSFIT_META_SCHEMA = new StructType()
      .add("folds", DataTypes.IntegerType, false)
      .add("seed", DataTypes.LongType, false)
      // whether the fold models' vectors were rotated into the full model's basis (and so are the
      // training rows' vector outputs); absent in models saved before: false
      .add("alignedVectors", DataTypes.BooleanType, false);

  static final StructType CROSSFIT_FOLDS_SCHEMA = new StructType()
      .add("fold", DataTypes.IntegerType, false)
      .add("tables", FLOATS, false)
      .add("firstOrder", FLOATS, false)
      .add("head", FLOATS, false);

  static final StructType CROSSFIT_ROWS_SCHEMA = new StructType()
      .add("hashes", DataTypes.createArrayType(DataTypes.LongType, false), false);

  static final class Writer extends MLWriter {
    private final MultiEmbeddingModel model;

    Writer(MultiEmbeddingModel model) {
      this.model = model;
    }

    @Override
    public void saveImpl(String path) {
      ModelData d = model.data();
      if (d == null) {
        throw new IllegalStateException("cannot save MultiEmbeddingModel " + model.uid()
            + ": it has no trained tables");
      }
      SparkSession spark = sparkSession();
      try {
        model.metadataWriter().session(spark).save(path);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the params of the model to " + path, e);
      }
      ModelSpec s = d.spec;
      TableLayout l = s.layout();
      OptimizerSpec o = s.optimizer();
      Row spec = RowFactory.create(LAYOUT_VERSION, s.fieldNames(), d.validCounts, d.reserved,
          l.sizes(), l.dims(), s.numNumeric(), s.head().id(), s.hiddenLayers(), s.loss().id(),
          o.type().id(), o.learningRate(), o.l2(), o.epsilon(), s.initStd(), s.seed(),
          d.numericMean, d.numericStd, d.hashBuckets);
      spark.createDataFrame(List.of(spec), SPEC_SCHEMA).repartition(1).write()
          .parquet(path + "/data/spec");
      spark.createDataFrame(List.of(RowFactory.create((Object) d.head)), HEAD_SCHEMA)
          .repartition(1).write().parquet(path + "/data/head");
      CategoryLabels labels = model.categoryLabels();
      if (labels != null && !labels.isEmpty()) {
        // the input columns' category names (getVectors' label column); absent when none had any
        spark.createDataFrame(labels.rows(), CategoryLabels.SCHEMA).repartition(1).write()
            .parquet(path + "/data/labels");
      }
      writeNumeric(spark, d, path);
      if (d.crossFit != null) {
        writeCrossFit(spark, d.crossFit, path);
      }

      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      if (d.isSharded()) {
        // each shard writes its own rows, from the executor that holds it
        spark.createDataFrame(io.fastembedding.spark.shard.ShardIO.tableRows(d.shards, -1),
            TABLES_SCHEMA).write().parquet(path + "/data/tables");
        return;
      }
      Broadcast<ModelData> bc = jsc.broadcast(d);
      try {
        List<int[]> chunks = new ArrayList<>();
        for (int f = 0; f < l.numFields(); f++) {
          for (int x = 0; x < l.size(f); x += CHUNK_ROWS) {
            chunks.add(new int[] {f, x, Math.min(l.size(f), x + CHUNK_ROWS)});
          }
        }
        // about 64 MiB of floats per output file
        int files = (int) Math.max(1, Math.min(chunks.size(), l.totalFloats() / (16L << 20)));
        JavaRDD<Row> rows = jsc.parallelize(chunks, files).flatMap(c -> tableRows(bc.value(), c));
        spark.createDataFrame(rows, TABLES_SCHEMA).write().parquet(path + "/data/tables");
      } finally {
        bc.destroy();
      }
    }
  }

  private static void writeNumeric(SparkSession spark, ModelData d, String path) {
    var b = d.buckets;
    int k = b == null ? 0 : b.numFeatures();
    // every feature's cuts in one array, cutCounts[j] of them for feature j
    int[] counts = new int[k];
    List<Double> cuts = new ArrayList<>();
    double[] lo = new double[k];
    double[] hi = new double[k];
    for (int j = 0; j < k; j++) {
      double[] c = b.cuts(j);
      counts[j] = c.length;
      for (double x : c) {
        cuts.add(x);
      }
      lo[j] = b.lo(j);
      hi[j] = b.hi(j);
    }
    Row r = RowFactory.create(d.numericEncoding, d.numInputFields, counts,
        cuts.stream().mapToDouble(Double::doubleValue).toArray(), lo, hi);
    spark.createDataFrame(List.of(r), NUMERIC_SCHEMA).repartition(1).write()
        .parquet(path + "/data/numeric");
  }

  /** Training-row hashes per row of {@code crossfit/rows}. */
  private static final int HASHES_PER_ROW = 65_536;

  private static void writeCrossFit(SparkSession spark, CrossFitting.Folds c, String path) {
    spark.createDataFrame(List.of(RowFactory.create(c.folds(), c.seed(), c.alignedVectors())),
            CROSSFIT_META_SCHEMA).repartition(1).write().parquet(path + "/data/crossfit/meta");
    List<Row> folds = new ArrayList<>();
    for (int f = 0; f < c.folds(); f++) {
      folds.add(RowFactory.create(f, c.tables()[f], c.firstOrder()[f], c.head()[f]));
    }
    spark.createDataFrame(folds, CROSSFIT_FOLDS_SCHEMA).write()
        .parquet(path + "/data/crossfit/folds");
    List<Row> rows = new ArrayList<>();
    long[] h = c.trainingRows();
    for (int i = 0; i < h.length; i += HASHES_PER_ROW) {
      rows.add(RowFactory.create((Object) java.util.Arrays.copyOfRange(h, i,
          Math.min(h.length, i + HASHES_PER_ROW))));
    }
    spark.createDataFrame(rows, CROSSFIT_ROWS_SCHEMA).write()
        .parquet(path + "/data/crossfit/rows");
  }

  private static Iterator<Row> tableRows(ModelData d, int[] chunk) {
    TableLayout l = d.spec.layout();
    int f = chunk[0];
    int dim = l.dim(f);
    int off = Math.toIntExact(l.offset(f));
    int base = Math.toIntExact(l.rowBase(f));
    boolean fo = d.spec.hasFirstOrder();
    List<Row> out = new ArrayList<>(chunk[2] - chunk[1]);
    for (int x = chunk[1]; x < chunk[2]; x++) {
      float[] v = new float[dim];
      System.arraycopy(d.tables, off + x * dim, v, 0, dim);
      out.add(RowFactory.create(f, x, v, fo ? d.firstOrder[base + x] : null));
    }
    return out.iterator();
  }

  static final class Reader extends MLReader<MultiEmbeddingModel> {
    @Override
    public MultiEmbeddingModel load(String path) {
      try {
        return read(sparkSession(), path);
      } catch (CorruptModel e) {
        throw corrupt(path, e.getMessage(), e.getCause());
      } catch (IllegalArgumentException e) {
        if (e.getMessage() != null && e.getMessage().contains(path)) {
          throw e; // a check of ours, which names the path
        }
        // a spec the model classes refuse: its values were edited or damaged
        throw corrupt(path, e.getMessage(), e);
      } catch (Exception e) { // Scala code throws checked exceptions (SparkException) unannounced
        throw new IllegalArgumentException("cannot load a MultiEmbeddingModel from " + path + ": "
            + e, e);
      }
    }

    private static IllegalArgumentException corrupt(String path, String what, Throwable cause) {
      return new IllegalArgumentException("the MultiEmbeddingModel at " + path + " is corrupt or "
          + "incomplete: " + what + "; save the model again, or copy all of its files", cause);
    }
  }

  /** A model directory whose files are missing or unreadable; the message says which. */
  private static final class CorruptModel extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CorruptModel(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static MultiEmbeddingModel read(SparkSession spark, String path) {
    // the metadata's class is checked before anything is instantiated from it
    DefaultParamsReader.Metadata meta = readMetadata(spark, path);
    String expected = MultiEmbeddingModel.class.getName();
    if (!expected.equals(meta.className())) {
      throw new IllegalArgumentException("the model at " + path + " is a " + meta.className()
          + ", not a " + expected + " (its metadata says so); load it with that class's reader");
    }
    requireParts(spark, path, "data/spec", "data/head", "data/tables");
    Row spec = single(spark, path, "data/spec", SPEC_SCHEMA);
    int version = spec.getInt(spec.fieldIndex("layoutVersion"));
    if (version < OLDEST_READABLE || version > LAYOUT_VERSION) {
      throw new IllegalArgumentException("the MultiEmbeddingModel at " + path + " was saved "
          + "with data layout version " + version + ", but this version of spark-fast-embedding "
          + "reads layout versions " + OLDEST_READABLE + " to " + LAYOUT_VERSION + " only; load "
          + "it with the library version that saved it, or refit the model");
    }
    MultiEmbeddingModel model = new MultiEmbeddingModel(meta.uid());
    meta.getAndSetParams(model, scala.Option.empty());
    ModelSpec s = ModelSpec.builder(ints(spec, "tableSizes"), ints(spec, "dims"))
        .fieldNames(spec.<String>getList(spec.fieldIndex("fieldNames")).toArray(new String[0]))
        .numNumeric(spec.getInt(spec.fieldIndex("numNumeric")))
        .head(HeadType.fromId(spec.getString(spec.fieldIndex("head"))))
        .hiddenLayers(ints(spec, "hiddenLayers").length == 0 ? new int[] {1}
            : ints(spec, "hiddenLayers"))
        .loss(LossType.fromId(spec.getString(spec.fieldIndex("loss"))))
        .optimizer(new OptimizerSpec(
            OptimizerType.fromId(spec.getString(spec.fieldIndex("optimizer"))),
            spec.getFloat(spec.fieldIndex("learningRate")), spec.getFloat(spec.fieldIndex("l2")),
            spec.getFloat(spec.fieldIndex("epsilon"))))
        .initStd(spec.getFloat(spec.fieldIndex("initStd")))
        .seed(spec.getLong(spec.fieldIndex("seed")))
        .build();
    // version 3 was written by two branches, neither released: one added hashBuckets to the spec,
    // the other data/numeric and data/crossfit; version 4 holds all of them. A version 3 model
    // reads like a version 4 one, with the defaults for what it lacks.
    int[] buckets = version >= 3 && !spec.isNullAt(spec.fieldIndex("hashBuckets"))
        ? ints(spec, "hashBuckets") : new int[s.numFields()];
    if (version >= 4) {
      requireParts(spark, path, "data/numeric");
    }
    boolean numericPart = version >= 3 && exists(spark, path + "/data/numeric");
    // the 'bucket' encoding's bucket fields follow the input columns' in the spec
    int inputFields = numericPart
        ? spark.read().parquet(path + "/data/numeric").first().getInt(1) : s.numFields();
    ModelData.checkInputCols(s, inputFields, model.getInputCols(),
        "the params in " + path + "/metadata");
    ModelData d;
    if (loadSharded(spark, s)) {
      int nk = s.numNumeric();
      Row hr = single(spark, path, "data/head", HEAD_SCHEMA);
      List<Float> hl = hr.getList(0);
      float[] hd = new float[hl.size()];
      for (int i = 0; i < hd.length; i++) {
        hd[i] = hl.get(i);
      }
      d = ModelData.sharded(s, ints(spec, "numCategories"),
          spec.getBoolean(spec.fieldIndex("reservedRow")), hd,
          version >= 2 ? floats(spec, "numericMean") : ModelData.identityMean(nk),
          version >= 2 ? floats(spec, "numericStd") : ModelData.identityStd(nk),
          readShards(spark, s, path));
    } else {
      d = readTables(spark, path, spec, s, version);
    }
    try {
      d = d.withHashBuckets(buckets);
      if (numericPart) {
        d = readNumeric(spark, d, path);
      }
      if (version >= 3 && exists(spark, path + "/data/crossfit/meta")) {
        d = d.withCrossFit(readCrossFit(spark, path));
      }
    } catch (IllegalArgumentException e) {
      throw new CorruptModel(e.getMessage(), e);
    }
    model.setData(d);
    model.setCategoryLabels(readLabels(spark, path + "/data/labels", s.numFields()));
    return model;
  }

  /** The tables, first-order weights and head, read to the driver. */
  private static ModelData readTables(SparkSession spark, String path, Row spec, ModelSpec s,
      int version) {
    TableLayout l = s.layout();
    float[] tables = new float[Math.toIntExact(l.totalFloats())];
    float[] firstOrder = new float[s.hasFirstOrder() ? Math.toIntExact(l.totalRows()) : 0];
    boolean[] seen = new boolean[Math.toIntExact(l.totalRows())];
    long rows = 0;
    Iterator<Row> it = spark.read().schema(TABLES_SCHEMA).parquet(path + "/data/tables")
        .toLocalIterator();
    while (it.hasNext()) {
      Row r = it.next();
      int f = r.getInt(0);
      int x = r.getInt(1);
      List<Float> v = r.getList(2);
      if (f < 0 || f >= l.numFields() || x < 0 || x >= l.size(f) || v.size() != l.dim(f)) {
        throw new CorruptModel("table row (field " + f + ", index " + x + ", " + v.size()
            + " floats) in " + path + "/data/tables does not fit " + l, null);
      }
      int off = Math.toIntExact(l.offset(f) + (long) x * l.dim(f));
      for (int k = 0; k < v.size(); k++) {
        tables[off + k] = v.get(k);
      }
      int g = Math.toIntExact(l.rowBase(f) + x);
      if (s.hasFirstOrder()) {
        firstOrder[g] = r.getFloat(3);
      }
      if (!seen[g]) {
        seen[g] = true;
        rows++;
      }
    }
    if (rows != l.totalRows()) {
      throw new CorruptModel(path + "/data/tables holds " + rows + " of the model's "
          + l.totalRows() + " table rows (a part file is missing?)", null);
    }
    Row headRow = single(spark, path, "data/head", HEAD_SCHEMA);
    List<Float> h = headRow.getList(0);
    float[] head = new float[h.size()];
    for (int i = 0; i < head.length; i++) {
      head[i] = h.get(i);
    }
    int k = s.numNumeric();
    float[] mean = version >= 2 ? floats(spec, "numericMean") : ModelData.identityMean(k);
    float[] std = version >= 2 ? floats(spec, "numericStd") : ModelData.identityStd(k);
    try {
      return new ModelData(s, ints(spec, "numCategories"),
          spec.getBoolean(spec.fieldIndex("reservedRow")), tables, firstOrder, head, mean, std);
    } catch (IllegalArgumentException e) {
      throw new CorruptModel(e.getMessage(), e);
    }
  }

  /** Whether a loaded model keeps its tables as shards (see {@link #LOAD_PLACEMENT_CONF}). */
  private static boolean loadSharded(SparkSession spark, ModelSpec s) {
    var sc = spark.sparkContext();
    // the session's conf (spark.conf().set) first, then the SparkContext's
    String placement = spark.conf().getOption(LOAD_PLACEMENT_CONF).getOrElse(
        () -> sc.getConf().get(LOAD_PLACEMENT_CONF, "auto"));
    var m = io.fastembedding.spark.shard.MemoryPlan.of(sc.getConf(), sc.master(),
        Runtime.getRuntime().maxMemory());
    return io.fastembedding.spark.shard.MemoryPlan.sharded(ModelData.scoringSpec(s), m,
        placement);
  }

  /** The tables read by the executors straight into shards, with no driver collect. */
  private static io.fastembedding.spark.shard.ShardStore readShards(SparkSession spark,
      ModelSpec s, String path) {
    var sc = spark.sparkContext();
    ModelSpec scoring = ModelData.scoringSpec(s);
    var m = io.fastembedding.spark.shard.MemoryPlan.of(sc.getConf(), sc.master(),
        Runtime.getRuntime().maxMemory());
    var plan = new io.fastembedding.spark.merge.ShardPlan(scoring.layout(),
        io.fastembedding.spark.shard.MemoryPlan.numShards(scoring, m, sc.defaultParallelism()));
    var store = io.fastembedding.spark.shard.ShardIO.fromRows(
        spark.read().schema(TABLES_SCHEMA).parquet(path + "/data/tables").javaRDD(),
        io.fastembedding.model.RowSchema.of(scoring), plan, path);
    long shards = store.materialize();
    if (shards != plan.numShards()) {
      store.unpersist();
      throw new CorruptModel(path + "/data/tables lacks the rows of " + (plan.numShards()
          - shards) + " of the model's " + plan.numShards() + " shards", null);
    }
    return store;
  }

  /** The params' metadata, or why it cannot be read, naming the file. */
  private static DefaultParamsReader.Metadata readMetadata(SparkSession spark, String path) {
    String metadataPath = path + "/metadata";
    if (!exists(spark, metadataPath)) {
      throw new IllegalArgumentException("no MultiEmbeddingModel at " + path + ": " + metadataPath
          + " does not exist (was it saved with MultiEmbeddingModel.write()?)");
    }
    try {
      // the SparkContext overload: Spark 3.5 has no SparkSession one
      return DefaultParamsReader.loadMetadata(path, spark.sparkContext(), "");
    } catch (Exception e) {
      throw new CorruptModel("its metadata (" + metadataPath + ") cannot be read (" + e + ")", e);
    }
  }

  /** Every part directory exists and holds at least one Parquet file. */
  private static void requireParts(SparkSession spark, String path, String... parts) {
    for (String part : parts) {
      Path p = new Path(path + "/" + part);
      try {
        FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        if (!fs.exists(p)) {
          throw new CorruptModel(p + " is missing", null);
        }
        boolean anyParquet = false;
        for (FileStatus st : fs.listStatus(p)) {
          anyParquet |= st.getPath().getName().endsWith(".parquet");
        }
        if (!anyParquet) {
          throw new CorruptModel(p + " holds no Parquet part file", null);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + p, e);
      }
    }
  }

  private static boolean exists(SparkSession spark, String file) {
    Path p = new Path(file);
    try {
      return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /** The one row of a part, read with its known schema (no inference from possibly bad files). */
  private static Row single(SparkSession spark, String path, String part, StructType schema) {
    List<Row> rows;
    try {
      rows = spark.read().schema(schema).parquet(path + "/" + part).takeAsList(2);
    } catch (Exception e) {
      throw new CorruptModel(path + "/" + part + " cannot be read (" + e + ")", e);
    }
    if (rows.size() != 1) {
      throw new CorruptModel(path + "/" + part + " holds " + rows.size() + " rows, not 1", null);
    }
    return rows.get(0);
  }

  /** The labels file, or no labels for a model saved without one (older models, no metadata). */
  private static CategoryLabels readLabels(SparkSession spark, String labelsPath, int fields) {
    try {
      Path p = new Path(labelsPath);
      if (!p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p)) {
        return CategoryLabels.none(fields);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + labelsPath, e);
    }
    return CategoryLabels.fromRows(spark.read().parquet(labelsPath).collectAsList(), fields);
  }

  private static ModelData readNumeric(SparkSession spark, ModelData d, String path) {
    Row r = spark.read().parquet(path + "/data/numeric").first();
    String encoding = r.getString(0);
    List<Integer> counts = r.getList(2);
    List<Double> cuts = r.getList(3);
    List<Double> lo = r.getList(4);
    List<Double> hi = r.getList(5);
    io.fastembedding.spark.data.NumericBuckets b = null;
    if (!NumericEncoding.LINEAR.equals(encoding)) {
      double[][] c = new double[counts.size()][];
      int at = 0;
      for (int j = 0; j < c.length; j++) {
        c[j] = new double[counts.get(j)];
        for (int i = 0; i < c[j].length; i++) {
          c[j][i] = cuts.get(at++);
        }
      }
      b = new io.fastembedding.spark.data.NumericBuckets(c,
          lo.stream().mapToDouble(Double::doubleValue).toArray(),
          hi.stream().mapToDouble(Double::doubleValue).toArray());
    }
    return d.withNumericEncoding(encoding, b, r.getInt(1));
  }

  private static CrossFitting.Folds readCrossFit(SparkSession spark, String path) {
    Row meta = spark.read().parquet(path + "/data/crossfit/meta").first();
    int k = meta.getInt(0);
    float[][] tables = new float[k][];
    float[][] firstOrder = new float[k][];
    float[][] head = new float[k][];
    for (Row r : spark.read().parquet(path + "/data/crossfit/folds").collectAsList()) {
      int f = r.getInt(0);
      tables[f] = floats(r, "tables");
      firstOrder[f] = floats(r, "firstOrder");
      head[f] = floats(r, "head");
    }
    List<long[]> chunks = new ArrayList<>();
    for (Row r : spark.read().parquet(path + "/data/crossfit/rows").collectAsList()) {
      List<Long> l = r.getList(0);
      chunks.add(l.stream().mapToLong(Long::longValue).toArray());
    }
    long[] hashes = chunks.stream().flatMapToLong(java.util.Arrays::stream).toArray();
    boolean aligned = java.util.Arrays.asList(meta.schema().fieldNames()).contains("alignedVectors")
        && meta.getBoolean(meta.fieldIndex("alignedVectors"));
    return new CrossFitting.Folds(k, meta.getLong(1), tables, firstOrder, head,
        io.fastembedding.spark.data.CrossFitFolds.distinctSorted(hashes), aligned);
  }

  private static float[] floats(Row r, String name) {
    List<Float> l = r.getList(r.fieldIndex(name));
    float[] out = new float[l.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = l.get(i);
    }
    return out;
  }

  private static int[] ints(Row r, String name) {
    List<Integer> l = r.getList(r.fieldIndex(name));
    return l.stream().mapToInt(Integer::intValue).toArray();
  }
}
