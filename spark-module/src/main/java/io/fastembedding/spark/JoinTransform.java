package io.fastembedding.spark;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.model.RowColumns;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.shard.ShardIO;
import io.fastembedding.spark.shard.ShardStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Transform of a model whose tables are shards on the executors: no table is broadcast or
 * collected. Each field's value is resolved to its table row (handleInvalid as in the broadcast
 * transform); each partition of the data then finds the distinct rows it uses over all fields, which
 * go to the shards that hold them in one shuffle (as the sharded fit's pull), and the shards answer
 * each partition with just those rows, delivered to the same partition of the data (the one join
 * back). The outputs are then built per partition, the prediction by the CPU backend's forward pass
 * over a batch of rows at a time, so the math is the same as the broadcast transform's. The data
 * is read twice (for its rows, then for the outputs) and never shuffled.
 */
final class JoinTransform {
  /** Rows scored together by one CPU backend holding just their vectors. */
  static final int BATCH = 1024;

  private JoinTransform() {}

  /** What to append. */
  record Outputs(boolean withFirstOrder, boolean perColumn, boolean prediction,
      boolean probability, String numericCol) implements java.io.Serializable {}

  /**
   * @param idx per field the head reads, its value as a double: the input columns' (hashed where
   *     the model hashes them), then with numericEncoding 'bucket' the numeric features' buckets;
   *     only the input columns' are output as vectors
   * @param numeric the head's numeric input (the raw vector, or its piecewise-linear encoding), or
   *     null when the model has no numeric features
   */
  static Dataset<Row> transform(Dataset<Row> df, Column[] idx, Column numeric, ModelData d,
      String[] cols, boolean keep, Outputs o, StructType outSchema) {
    int n = cols.length;
    boolean scores = o.prediction() || o.probability();
    // the bucket fields are read by the head only
    int fields = scores ? idx.length : n;
    int base = df.schema().length();
    boolean numericIn = scores && d.spec.numNumeric() > 0;
    if (numericIn && numeric == null) {
      throw new IllegalArgumentException("this model's head reads " + d.spec.numNumeric()
          + " numeric features: set numericCol to the Vector column it was fit with");
    }
    EmbeddingLookup lookup = new EmbeddingLookup(null, d, cols, keep, o.withFirstOrder());
    List<Column> sel = new ArrayList<>();
    for (String c : df.columns()) {
      sel.add(df.col(c));
    }
    for (int f = 0; f < fields; f++) {
      int field = f;
      var row = functions.udf((UDF1<Double, Integer>) v -> lookup.index(field, v),
          DataTypes.IntegerType).asNonNullable();
      sel.add(row.apply(idx[f]).as("__fe_i" + f));
    }
    if (numericIn) {
      sel.add(numeric.as("__fe_num"));
    }
    JavaRDD<Row> data = df.select(sel.toArray(new Column[0])).javaRDD();
    ShardStore store = d.shards;
    JavaPairRDD<Integer, ShardPiece> pulled = ShardIO.rowsOfPartitions(store, data, base, fields);
    RowSchema schema = store.schema;
    ShardPlan plan = store.plan;
    ModelSpec spec = d.scoringSpec();
    float[] head = d.head;
    float[] mean = d.numericMean;
    float[] invStd = ModelData.inverse(d.numericStd);
    String[] names = new String[fields];
    for (int f = 0; f < fields; f++) {
      names[f] = f < n ? cols[f] : "the bucket of numeric feature " + (f - n);
    }
    JavaRDD<Row> out = data.zipPartitions(pulled, (it, itPieces) -> {
      ShardPiece[] byShard = new ShardPiece[plan.numShards()];
      itPieces.forEachRemaining(t -> byShard[t._2().shard] = t._2());
      Rows rows = new Rows(schema, plan, byShard, names);
      return new Iterator<Row>() {
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
          ready = build(batch, base, n, fields, rows, spec, head, mean, invStd, o, numericIn)
              .iterator();
          return true;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return ready.next();
        }
      };
    });
    return df.sparkSession().createDataFrame(out, outSchema);
  }

  /** The rows one partition pulled, by global row. */
  private record Rows(RowSchema schema, ShardPlan plan, ShardPiece[] byShard, String[] names) {
    /** Copies row {@code x} of field {@code f} to {@code vec[at..]} and its first order to w. */
    void read(int f, int x, float[] vec, int at, float[] w, int r) {
      long g = schema.rowBase(f) + x;
      ShardPiece p = byShard[plan.shardOf(g)];
      int i = p == null ? -1 : p.rows.find(g);
      if (i < 0) {
        throw new IllegalStateException("field '" + names[f] + "': table row " + x + " was not "
            + "among the rows this partition pulled from the model's shards: the input gave other "
            + "rows when read again (a non-deterministic input, e.g. rand() or a repartition "
            + "without a sort); cache or checkpoint the input before transform");
      }
      RowColumns rc = p.rows;
      int dim = schema.width(0, f);
      System.arraycopy(rc.columns[0], rc.offset(0, f, i), vec, at, dim);
      int fo = schema.column("firstOrder");
      w[r] = fo < 0 ? 0f : rc.columns[fo][rc.offset(fo, f, i)];
    }
  }

  private static List<Row> build(List<Row> batch, int base, int n, int fields, Rows rows,
      ModelSpec spec, float[] head, float[] mean, float[] invStd, Outputs o, boolean numericIn) {
    int b = batch.size();
    int[] dims = spec.layout().dims();
    boolean fo = o.withFirstOrder() && spec.hasFirstOrder();
    float[][] vec = new float[fields][];
    float[][] w = new float[fields][];
    for (int f = 0; f < fields; f++) {
      vec[f] = new float[b * dims[f]];
      w[f] = new float[b];
    }
    for (int r = 0; r < b; r++) {
      Row row = batch.get(r);
      for (int f = 0; f < fields; f++) {
        rows.read(f, row.getInt(base + f), vec[f], r * dims[f], w[f], r);
      }
    }
    float[] p = null;
    if (o.prediction() || o.probability()) {
      p = predict(batch, base, fields, spec, head, mean, invStd, vec, w,
          numericIn ? base + fields : -1, o.numericCol());
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
   *
   * @param numericAt the column of the head's numeric vector in the batch's rows, or -1
   */
  private static float[] predict(List<Row> batch, int base, int n, ModelSpec spec, float[] head,
      float[] mean, float[] invStd, float[][] vec, float[][] w, int numericAt,
      String numericCol) {
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
        HeadScorer.standardize((Vector) batch.get(r).get(numericAt), k, mean, invStd,
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
