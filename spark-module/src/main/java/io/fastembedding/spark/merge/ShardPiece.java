package io.fastembedding.spark.merge;

import io.fastembedding.backend.TouchedRows;
import io.fastembedding.optim.OptimizerSpec;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of one shard that one partition touched, with their values after the partition's local
 * training: what travels from a training task to the reduce task of that shard.
 *
 * <p>Rows are global row ids in ascending order; per row, {@code values} holds {@code dim} floats and
 * {@code accum} holds the optimizer's state floats per row. {@code firstOrder} and the accumulators
 * are null when the model has none.
 */
public final class ShardPiece implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int partition;
  public final int shard;
  public final long[] rows;
  public final int[] counts;
  public final float[] values;
  public final float[] firstOrder;
  public final float[] accum;
  public final float[] firstOrderAccum;

  ShardPiece(int partition, int shard, long[] rows, int[] counts, float[] values, float[] firstOrder,
      float[] accum, float[] firstOrderAccum) {
    this.partition = partition;
    this.shard = shard;
    this.rows = rows;
    this.counts = counts;
    this.values = values;
    this.firstOrder = firstOrder;
    this.accum = accum;
    this.firstOrderAccum = firstOrderAccum;
  }

  /**
   * Cuts one partition's touched rows into shard pieces (only non-empty ones). Fields are visited in
   * order and each field's rows are ascending, so global rows come out ascending.
   */
  public static List<ShardPiece> split(TouchedRows t, ShardPlan plan, int partition) {
    OptimizerSpec opt = t.spec.optimizer();
    int n = t.rows.length;
    List<ShardPiece> out = new ArrayList<>();
    Builder cur = null;
    for (int f = 0; f < n; f++) {
      int dim = plan.dim(f);
      int per = opt.stateFloatsPerRow(dim);
      int[] rs = t.rows[f];
      for (int j = 0; j < rs.length; j++) {
        long g = plan.rowBase(f) + rs[j];
        int s = plan.shardOf(g);
        if (cur == null || cur.shard != s) {
          if (cur != null) {
            out.add(cur.build());
          }
          cur = new Builder(partition, s, t.firstOrder != null, t.accum != null,
              t.firstOrderAccum != null);
        }
        cur.add(g, t.counts[f][j], t.values[f], j * dim, dim,
            t.firstOrder != null ? t.firstOrder[f][j] : 0f,
            t.accum != null ? t.accum[f] : null, j * per, per,
            t.firstOrderAccum != null ? t.firstOrderAccum[f][j] : 0f);
      }
    }
    if (cur != null) {
      out.add(cur.build());
    }
    return out;
  }

  /** Growable arrays for one piece. */
  private static final class Builder {
    final int partition;
    final int shard;
    final boolean hasFo;
    final boolean hasAcc;
    final boolean hasFoAcc;
    long[] rows = new long[16];
    int[] counts = new int[16];
    float[] values = new float[64];
    float[] fo;
    float[] acc;
    float[] foAcc;
    int n;
    int nv;
    int na;

    Builder(int partition, int shard, boolean hasFo, boolean hasAcc, boolean hasFoAcc) {
      this.partition = partition;
      this.shard = shard;
      this.hasFo = hasFo;
      this.hasAcc = hasAcc;
      this.hasFoAcc = hasFoAcc;
      fo = hasFo ? new float[16] : null;
      acc = hasAcc ? new float[64] : null;
      foAcc = hasFoAcc ? new float[16] : null;
    }

    void add(long g, int count, float[] vals, int vOff, int dim, float foVal, float[] accs,
        int aOff, int per, float foAccVal) {
      if (n == rows.length) {
        rows = java.util.Arrays.copyOf(rows, n * 2);
        counts = java.util.Arrays.copyOf(counts, n * 2);
        if (hasFo) {
          fo = java.util.Arrays.copyOf(fo, n * 2);
        }
        if (hasFoAcc) {
          foAcc = java.util.Arrays.copyOf(foAcc, n * 2);
        }
      }
      rows[n] = g;
      counts[n] = count;
      if (hasFo) {
        fo[n] = foVal;
      }
      if (hasFoAcc) {
        foAcc[n] = foAccVal;
      }
      n++;
      if (nv + dim > values.length) {
        values = java.util.Arrays.copyOf(values, Math.max(values.length * 2, nv + dim));
      }
      System.arraycopy(vals, vOff, values, nv, dim);
      nv += dim;
      if (hasAcc) {
        if (na + per > acc.length) {
          acc = java.util.Arrays.copyOf(acc, Math.max(acc.length * 2, na + per));
        }
        System.arraycopy(accs, aOff, acc, na, per);
        na += per;
      }
    }

    ShardPiece build() {
      return new ShardPiece(partition, shard, java.util.Arrays.copyOf(rows, n),
          java.util.Arrays.copyOf(counts, n), java.util.Arrays.copyOf(values, nv),
          hasFo ? java.util.Arrays.copyOf(fo, n) : null,
          hasAcc ? java.util.Arrays.copyOf(acc, na) : null,
          hasFoAcc ? java.util.Arrays.copyOf(foAcc, n) : null);
    }
  }
}
