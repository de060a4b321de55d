package io.fastembedding.spark.shard;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.merge.ShardPlan;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The table rows one partition uses (training and validation blocks), per field in ascending order,
 * computed once per fit: a partition's local model holds exactly these rows, row {@code i} of field
 * {@code f} of the local model being row {@code distinct[f][i]} of the field's table.
 */
public final class PartitionRows implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int partition;
  /** [field]: the table rows used, ascending. */
  public final int[][] distinct;

  PartitionRows(int partition, int[][] distinct) {
    this.partition = partition;
    this.distinct = distinct;
  }

  /** The rows {@code pd}'s blocks use. */
  public static PartitionRows of(PartitionData pd, int numFields) {
    int[][] d = new int[numFields][];
    for (int f = 0; f < numFields; f++) {
      BitSet seen = new BitSet();
      mark(pd.block, f, seen);
      if (pd.validation != null) {
        mark(pd.validation, f, seen);
      }
      d[f] = seen.stream().toArray();
    }
    return new PartitionRows(pd.partition, d);
  }

  private static void mark(RowBlock b, int f, BitSet seen) {
    int n = b.numFields;
    for (int r = 0; r < b.rows; r++) {
      seen.set(b.indices[r * n + f]);
    }
  }

  /** Rows used over all fields. */
  public long totalRows() {
    long t = 0;
    for (int[] d : distinct) {
      t += d.length;
    }
    return t;
  }

  /** The local model's table sizes (at least one row each, so an unused field is still a table). */
  public int[] localSizes() {
    int[] s = new int[distinct.length];
    for (int f = 0; f < s.length; f++) {
      s[f] = Math.max(1, distinct[f].length);
    }
    return s;
  }

  /** The spec of the partition's local model: {@code global}'s, with the local table sizes. */
  public ModelSpec localSpec(ModelSpec global) {
    return global.withSizes(localSizes());
  }

  /** The global rows used, ascending. */
  public long[] globalRows(RowSchema schema) {
    long[] g = new long[Math.toIntExact(totalRows())];
    int i = 0;
    for (int f = 0; f < distinct.length; f++) {
      long base = schema.rowBase(f);
      for (int x : distinct[f]) {
        g[i++] = base + x;
      }
    }
    return g;
  }

  /** The global rows used, cut by shard: one request per shard that holds any of them. */
  public List<RowRequest> requests(RowSchema schema, ShardPlan plan) {
    long[] g = globalRows(schema);
    List<RowRequest> out = new ArrayList<>();
    int from = 0;
    while (from < g.length) {
      int s = plan.shardOf(g[from]);
      long end = plan.shardStart(s + 1);
      int to = from + 1;
      while (to < g.length && g[to] < end) {
        to++;
      }
      out.add(new RowRequest(partition, s, java.util.Arrays.copyOfRange(g, from, to)));
      from = to;
    }
    return out;
  }

  /** {@code pd} with its blocks' indices renumbered to the local model's rows. */
  public PartitionData remap(PartitionData pd) {
    RowBlock block = remap(pd.block);
    RowBlock validation = pd.validation == null ? null : remap(pd.validation);
    return new PartitionData(pd.partition, block, pd.stats, pd.weightSum, validation,
        pd.validationWeightSum);
  }

  private RowBlock remap(RowBlock b) {
    int n = b.numFields;
    int[] out = new int[b.rows * n];
    for (int f = 0; f < n; f++) {
      int[] d = distinct[f];
      if (d.length == 0) {
        continue;
      }
      int[] local = new int[d[d.length - 1] + 1];
      for (int i = 0; i < d.length; i++) {
        local[d[i]] = i;
      }
      for (int r = 0; r < b.rows; r++) {
        out[r * n + f] = local[b.indices[r * n + f]];
      }
    }
    return new RowBlock(n, b.numNumeric, b.rows, out, b.numeric, b.labels, b.weights);
  }

  /** The rows of one shard that one partition needs. */
  public record RowRequest(int partition, int shard, long[] rows) implements Serializable {}
}
