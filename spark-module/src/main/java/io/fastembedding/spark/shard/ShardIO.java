package io.fastembedding.spark.shard;

import io.fastembedding.model.RowColumns;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.shard.PartitionRows.RowRequest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import scala.Tuple2;

/**
 * Shards as table rows {@code (field, index, vector, firstOrder)} and back, on the executors, and
 * the rows a dataset's partitions use: what saving, loading and the join transform of a sharded
 * model read and write, with no table on the driver.
 */
public final class ShardIO {
  private ShardIO() {}

  /** One row per table row of the shards overlapping {@code field} (every field when -1). */
  public static JavaRDD<Row> tableRows(ShardStore store, int field) {
    RowSchema schema = store.schema;
    ShardPlan plan = store.plan;
    JavaPairRDD<Integer, RowColumns> shards = store.rdd();
    if (field >= 0) {
      long from = schema.rowBase(field);
      long to = from + schema.spec().layout().size(field);
      shards = shards.filter(kv -> plan.shardStart(kv._1()) < to
          && plan.shardStart(kv._1() + 1) > from);
    }
    return shards.values().mapPartitions(it -> {
      List<Row> out = new ArrayList<>();
      while (it.hasNext()) {
        rows(it.next(), field, out);
      }
      return out.iterator();
    });
  }

  /**
   * The table rows each partition of {@code data} uses, pulled from the shards: each partition
   * finds its distinct rows over all fields (fields {@code 0..fields-1} are the int columns from
   * {@code firstColumn} on: their table rows), which go to the shards that hold them in one
   * shuffle; each shard answers with just those rows, delivered to the partition of the same number
   * (one piece per shard it uses). Only rows the data uses leave the shards, and the data itself is
   * not shuffled.
   */
  public static JavaPairRDD<Integer, ShardPiece> rowsOfPartitions(ShardStore store,
      JavaRDD<Row> data, int firstColumn, int fields) {
    RowSchema schema = store.schema;
    ShardPlan plan = store.plan;
    JavaPairRDD<Integer, RowRequest> requests = data.mapPartitionsWithIndex((p, it) -> {
      BitSet[] seen = new BitSet[fields];
      for (int f = 0; f < fields; f++) {
        seen[f] = new BitSet();
      }
      while (it.hasNext()) {
        Row r = it.next();
        for (int f = 0; f < fields; f++) {
          seen[f].set(r.getInt(firstColumn + f));
        }
      }
      int[][] distinct = new int[fields][];
      for (int f = 0; f < fields; f++) {
        distinct[f] = seen[f].stream().toArray();
      }
      return new PartitionRows(p, distinct).requests(schema, plan).iterator();
    }, true).mapToPair(r -> new Tuple2<>(r.shard(), r))
        .partitionBy(new KeyPartitioner(plan.numShards()));
    return store.pull(requests, data.getNumPartitions());
  }

  private static void rows(RowColumns rc, int only, List<Row> out) {
    RowSchema s = rc.schema;
    int fo = s.column("firstOrder");
    for (int f = 0; f < s.numFields(); f++) {
      if (only >= 0 && f != only) {
        continue;
      }
      int dim = s.width(0, f);
      for (int i = rc.fieldStart(f); i < rc.fieldStart(f + 1); i++) {
        float[] v = new float[dim];
        System.arraycopy(rc.columns[0], rc.offset(0, f, i), v, 0, dim);
        int x = (int) (rc.row(i) - s.rowBase(f));
        out.add(RowFactory.create(f, x, v, fo < 0 ? null : rc.columns[fo][rc.offset(fo, f, i)]));
      }
    }
  }

  /**
   * Shards of {@code plan} built from table rows {@code (field, index, vector, firstOrder)}: each
   * row is sent to the shard that holds it, and each shard checks that every one of its rows came,
   * exactly once.
   */
  public static ShardStore fromRows(JavaRDD<Row> rows, RowSchema schema, ShardPlan plan,
      String path) {
    int n = plan.numShards();
    JavaPairRDD<Integer, RowColumns> shards = rows.mapToPair(r -> {
      int f = r.getInt(0);
      int x = r.getInt(1);
      if (f < 0 || f >= schema.numFields() || x < 0 || x >= schema.spec().layout().size(f)) {
        throw new IllegalArgumentException("the MultiEmbeddingModel at " + path + " is corrupt: "
            + "table row (field " + f + ", index " + x + ") is outside its tables "
            + schema.spec().layout());
      }
      List<Float> l = r.getList(2);
      float[] v = new float[l.size()];
      for (int k = 0; k < v.length; k++) {
        v[k] = l.get(k);
      }
      // compact rows (a float array, not a list of boxed floats) for the shuffle and the shard
      return new Tuple2<>(plan.shardOf(schema.rowBase(f) + x),
          new TableRow(f, x, v, r.isNullAt(3) ? 0f : r.getFloat(3)));
    }).groupByKey(new KeyPartitioner(n)).mapPartitionsToPair(it -> {
      List<Tuple2<Integer, RowColumns>> out = new ArrayList<>();
      while (it.hasNext()) {
        Tuple2<Integer, Iterable<TableRow>> kv = it.next();
        out.add(new Tuple2<>(kv._1(), shard(kv._1(), kv._2().iterator(), schema, plan, path)));
      }
      return out.iterator();
    }, true);
    shards.persist(ShardStore.LEVEL);
    return ShardStore.of(schema, plan, shards);
  }

  /** One table row on its way to its shard. */
  private record TableRow(int field, int index, float[] vector, float firstOrder)
      implements java.io.Serializable {}

  private static RowColumns shard(int s, Iterator<TableRow> it, RowSchema schema, ShardPlan plan,
      String path) {
    RowColumns rc = RowColumns.range(schema, plan.shardStart(s), plan.shardStart(s + 1));
    boolean[] seen = new boolean[rc.size];
    int fo = schema.column("firstOrder");
    int count = 0;
    while (it.hasNext()) {
      TableRow r = it.next();
      int f = r.field();
      long g = schema.rowBase(f) + r.index();
      int i = rc.find(g);
      float[] v = r.vector();
      if (v.length != schema.width(0, f)) {
        throw new IllegalArgumentException("the MultiEmbeddingModel at " + path + " is corrupt: "
            + "table row (field " + f + ", index " + r.index() + ") has " + v.length
            + " floats, not the dim " + schema.width(0, f));
      }
      if (!seen[i]) {
        seen[i] = true;
        count++;
      }
      System.arraycopy(v, 0, rc.columns[0], rc.offset(0, f, i), v.length);
      if (fo >= 0) {
        rc.columns[fo][rc.offset(fo, f, i)] = r.firstOrder();
      }
    }
    if (count != rc.size) {
      throw new IllegalArgumentException("the MultiEmbeddingModel at " + path + " is corrupt: "
          + "shard " + s + " has " + count + " of its " + rc.size + " table rows");
    }
    return rc;
  }
}
