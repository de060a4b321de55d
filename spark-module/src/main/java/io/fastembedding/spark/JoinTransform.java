package io.fastembedding.spark;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.shard.ShardIO;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Transform of a model whose tables are shards on the executors: no table is broadcast. Each index
 * column is resolved to its table row (handleInvalid as in the broadcast transform), then joined
 * with that field's rows of the shards (Spark shuffles the data's indices to the shards' rows, or
 * broadcasts a field's rows when they are small); the outputs are then built per partition, the
 * prediction by the CPU backend's forward pass over a batch of rows at a time, so the math is the
 * same as the broadcast transform's.
 */
final class JoinTransform {
  /** Rows scored together by one CPU backend holding just their vectors. */
  static final int BATCH = 1024;

  private JoinTransform() {}

  /** What to append. */
  record Outputs(boolean withFirstOrder, boolean perColumn, boolean prediction,
      boolean probability, String numericCol) implements java.io.Serializable {}

  /**
   * @param idx each input column's value as a double (hashed where the model hashes it), the
   *     argument of the index rules
   */
  static Dataset<Row> transform(Dataset<Row> df, Column[] idx, ModelData d, String[] cols,
      boolean keep, Outputs o, StructType outSchema) {
    SparkSession spark = df.sparkSession();
    int n = cols.length;
    int base = df.schema().length();
    EmbeddingLookup lookup = new EmbeddingLookup(null, d, cols, keep, o.withFirstOrder());
    StructType tableSchema = new StructType()
        .add("k", DataTypes.IntegerType, false)
        .add("v", DataTypes.createArrayType(DataTypes.FloatType, false), false)
        .add("w", DataTypes.FloatType, true);
    Dataset<Row> j = df;
    for (int f = 0; f < n; f++) {
      int field = f;
      var row = functions.udf((UDF1<Double, Integer>) v -> lookup.index(field, v),
          DataTypes.IntegerType).asNonNullable();
      j = j.withColumn("__fe_i" + f, row.apply(idx[f]));
    }
    Dataset<Row> withRows = j;
    for (int f = 0; f < n; f++) {
      String i = "__fe_i" + f;
      // the data's distinct rows of this field, looked up where their shards live
      JavaRDD<Integer> used = withRows.select(withRows.col(i)).distinct().javaRDD()
          .map(r -> r.getInt(0));
      JavaRDD<Row> rows = ShardIO.lookup(d.shards, f, used);
      Dataset<Row> t = spark.createDataFrame(rows, tableSchema).toDF("__fe_k" + f, "__fe_v" + f,
          "__fe_w" + f);
      j = j.join(t, j.col(i).equalTo(t.col("__fe_k" + f)), "left");
    }
    List<Column> sel = new ArrayList<>();
    for (String c : df.columns()) {
      sel.add(j.col(c));
    }
    for (int f = 0; f < n; f++) {
      sel.add(j.col("__fe_i" + f));
      sel.add(j.col("__fe_v" + f));
      sel.add(j.col("__fe_w" + f));
    }
    boolean numeric = (o.prediction() || o.probability()) && d.spec.numNumeric() > 0;
    if (numeric) {
      sel.add(j.col(o.numericCol()));
    }
    Dataset<Row> joined = j.select(sel.toArray(new Column[0]));
    ModelSpec spec = d.scoringSpec();
    float[] head = d.head;
    float[] mean = d.numericMean;
    float[] invStd = ModelData.inverse(d.numericStd);
    String[] names = cols.clone();
    JavaRDD<Row> out = joined.javaRDD().mapPartitions(it -> new Iterator<Row>() {
      final List<Row> batch = new ArrayList<>(BATCH);
      Iterator<Row> ready = java.util.Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        if (ready.hasNext()) {
          return true;
        }
        batch.clear();
        while (batch.size() < BATCH && it.hasNext()) {
          batch.add(it.next());
        }
        if (batch.isEmpty()) {
          return false;
        }
        ready = build(batch, base, n, names, spec, head, mean, invStd, o).iterator();
        return true;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        return ready.next();
      }
    });
    return spark.createDataFrame(out, outSchema);
  }

  private static List<Row> build(List<Row> batch, int base, int n, String[] cols, ModelSpec spec,
      float[] head, float[] mean, float[] invStd, Outputs o) {
    int b = batch.size();
    int[] dims = spec.layout().dims();
    boolean fo = o.withFirstOrder() && spec.hasFirstOrder();
    float[][] vec = new float[n][];
    float[][] w = new float[n][];
    for (int f = 0; f < n; f++) {
      vec[f] = new float[b * dims[f]];
      w[f] = new float[b];
    }
    for (int r = 0; r < b; r++) {
      Row row = batch.get(r);
      for (int f = 0; f < n; f++) {
        int at = base + 3 * f;
        if (row.isNullAt(at + 1)) {
          throw new IllegalStateException("field '" + cols[f] + "': table row " + row.getInt(at)
              + " was not found in the model's shards");
        }
        List<Float> v = row.getList(at + 1);
        for (int k = 0; k < dims[f]; k++) {
          vec[f][r * dims[f] + k] = v.get(k);
        }
        w[f][r] = row.isNullAt(at + 2) ? 0f : row.getFloat(at + 2);
      }
    }
    float[] p = null;
    if (o.prediction() || o.probability()) {
      p = predict(batch, base, n, spec, head, mean, invStd, vec, w, o.numericCol());
    }
    List<Row> out = new ArrayList<>(b);
    int width = 0;
    for (int f = 0; f < n; f++) {
      width += dims[f] + (fo ? 1 : 0);
    }
    for (int r = 0; r < b; r++) {
      Row row = batch.get(r);
      List<Object> vals = new ArrayList<>(base + n + 3);
      for (int c = 0; c < base; c++) {
        vals.add(row.get(c));
      }
      double[] all = new double[width];
      int at = 0;
      List<Vector> each = new ArrayList<>();
      for (int f = 0; f < n; f++) {
        double[] one = new double[dims[f] + (fo ? 1 : 0)];
        int k0 = 0;
        if (fo) {
          one[k0++] = w[f][r];
        }
        for (int k = 0; k < dims[f]; k++) {
          one[k0 + k] = vec[f][r * dims[f] + k];
        }
        System.arraycopy(one, 0, all, at, one.length);
        at += one.length;
        each.add(Vectors.dense(one));
      }
      vals.add(Vectors.dense(all));
      if (o.perColumn()) {
        vals.addAll(each);
      }
      if (o.prediction()) {
        vals.add((double) p[r]);
      }
      if (o.probability()) {
        vals.add(Vectors.dense(1 - (double) p[r], p[r]));
      }
      out.add(RowFactory.create(vals.toArray()));
    }
    return out;
  }

  /**
   * The head's predictions for a batch: a CPU backend over a model holding row r of every table
   * as the batch's row r, so each row is scored by the same forward pass as in training.
   */
  private static float[] predict(List<Row> batch, int base, int n, ModelSpec spec, float[] head,
      float[] mean, float[] invStd, float[][] vec, float[][] w, String numericCol) {
    int b = batch.size();
    int[] sizes = new int[n];
    Arrays.fill(sizes, b);
    ModelSpec local = spec.withSizes(sizes);
    ModelState s = ModelState.zeros(local);
    var l = local.layout();
    for (int f = 0; f < n; f++) {
      System.arraycopy(vec[f], 0, s.tables, Math.toIntExact(l.offset(f)), vec[f].length);
      if (local.hasFirstOrder()) {
        System.arraycopy(w[f], 0, s.firstOrder, Math.toIntExact(l.rowBase(f)), b);
      }
    }
    System.arraycopy(head, 0, s.head, 0, head.length);
    int k = spec.numNumeric();
    int[] idx = new int[b * n];
    float[] num = k > 0 ? new float[b * k] : null;
    for (int r = 0; r < b; r++) {
      for (int f = 0; f < n; f++) {
        idx[r * n + f] = r;
      }
      if (k > 0) {
        HeadScorer.standardize((Vector) batch.get(r).get(base + 3 * n), k, mean, invStd,
            numericCol, num, r * k);
      }
    }
    float[] p = new float[b];
    try (CpuBackend backend = new CpuBackend(local, new BackendOptions(false, 1), s)) {
      backend.predict(new RowBlock(n, k, b, idx, num, null, null), 0, b, p, 0);
    }
    return p;
  }
}
