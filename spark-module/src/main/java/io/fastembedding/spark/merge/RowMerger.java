package io.fastembedding.spark.merge;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.Optimizer;
import io.fastembedding.optim.OptimizerSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The merge of the partitions' local training results, as a mean per row over the partitions that
 * touched it:
 *
 * <ul>
 *   <li>a row no partition touched keeps its broadcast value;
 *   <li>a row touched by k partitions gets the mean of their k values; its optimizer state merges by
 *       the optimizer's own rule ({@link Optimizer#mergeRowState}: the mean too, for every optimizer here),
 *       so a rare row seen by one partition keeps that partition's update whole instead of being
 *       diluted by partitions that never saw it;
 *   <li>the dense head, which every training partition updates, is the mean over those partitions.
 * </ul>
 *
 * <p>Sums run in double, over the partitions in ascending partition order, so the result does not
 * depend on the order in which pieces arrive.
 */
public final class RowMerger {
  private RowMerger() {}

  /** Merges the pieces of one shard (any order, at most one per partition). */
  public static MergedShard mergeShard(ShardPlan plan, OptimizerSpec opt, int shard,
      List<ShardPiece> pieces) {
    List<ShardPiece> ps = new ArrayList<>(pieces);
    ps.sort(Comparator.comparingInt(p -> p.partition));
    for (int i = 1; i < ps.size(); i++) {
      if (ps.get(i).partition == ps.get(i - 1).partition) {
        throw new IllegalStateException("shard " + shard + " got two pieces from partition "
            + ps.get(i).partition);
      }
    }
    int np = ps.size();
    Optimizer rule = opt.rule();
    boolean hasFo = np > 0 && ps.get(0).firstOrder != null;
    boolean hasAcc = np > 0 && ps.get(0).accum != null;
    boolean hasFoAcc = np > 0 && ps.get(0).firstOrderAccum != null;
    int upperRows = 0;
    long upperValues = 0;
    long upperAcc = 0;
    for (ShardPiece p : ps) {
      upperRows += p.rows.length;
      upperValues += p.values.length;
      upperAcc += hasAcc ? p.accum.length : 0;
    }
    long[] rows = new long[upperRows];
    int[] parts = new int[upperRows];
    long[] counts = new long[upperRows];
    float[] values = new float[Math.toIntExact(upperValues)];
    float[] fo = hasFo ? new float[upperRows] : null;
    float[] acc = hasAcc ? new float[Math.toIntExact(upperAcc)] : null;
    float[] foAcc = hasFoAcc ? new float[upperRows] : null;

    int[] cursor = new int[np];
    int[] vOff = new int[np];
    int[] aOff = new int[np];
    // heads of the pieces ordered by (row, partition order): equal rows pop in partition order
    PriorityQueue<Integer> heap = new PriorityQueue<>(Math.max(1, np), (a, b) -> {
      int c = Long.compare(ps.get(a).rows[cursor[a]], ps.get(b).rows[cursor[b]]);
      return c != 0 ? c : Integer.compare(a, b);
    });
    for (int i = 0; i < np; i++) {
      if (ps.get(i).rows.length > 0) {
        heap.add(i);
      }
    }
    double[] vSum = new double[0];
    double[] aSum = new double[0];
    int[] same = new int[np];
    int n = 0;
    int nv = 0;
    int na = 0;
    while (!heap.isEmpty()) {
      int first = heap.poll();
      long g = ps.get(first).rows[cursor[first]];
      int k = 0;
      same[k++] = first;
      while (!heap.isEmpty() && ps.get(heap.peek()).rows[cursor[heap.peek()]] == g) {
        same[k++] = heap.poll();
      }
      int dim = plan.dim(plan.fieldOf(g));
      int per = opt.stateFloatsPerRow(dim);
      if (vSum.length < dim) {
        vSum = new double[dim];
      }
      if (aSum.length < per) {
        aSum = new double[per];
      }
      Arrays.fill(vSum, 0, dim, 0.0);
      Arrays.fill(aSum, 0, per, 0.0);
      double foSum = 0;
      double foAccSum = 0;
      long countSum = 0;
      for (int j = 0; j < k; j++) {
        int pi = same[j];
        ShardPiece p = ps.get(pi);
        int c = cursor[pi];
        for (int d = 0; d < dim; d++) {
          vSum[d] += p.values[vOff[pi] + d];
        }
        if (hasAcc) {
          for (int d = 0; d < per; d++) {
            aSum[d] += p.accum[aOff[pi] + d];
          }
        }
        if (hasFo) {
          foSum += p.firstOrder[c];
        }
        if (hasFoAcc) {
          foAccSum += p.firstOrderAccum[c];
        }
        countSum += p.counts[c];
        cursor[pi] = c + 1;
        vOff[pi] += dim;
        aOff[pi] += hasAcc ? per : 0;
        if (cursor[pi] < p.rows.length) {
          heap.add(pi);
        }
      }
      rows[n] = g;
      parts[n] = k;
      counts[n] = countSum;
      for (int d = 0; d < dim; d++) {
        values[nv + d] = (float) (vSum[d] / k);
      }
      nv += dim;
      if (hasAcc) {
        rule.mergeRowState(aSum, per, k, acc, na);
        na += per;
      }
      if (hasFo) {
        fo[n] = (float) (foSum / k);
      }
      if (hasFoAcc) {
        foAcc[n] = (float) (foAccSum / k);
      }
      n++;
    }
    return new MergedShard(shard, Arrays.copyOf(rows, n), Arrays.copyOf(parts, n),
        Arrays.copyOf(counts, n), Arrays.copyOf(values, nv), hasFo ? Arrays.copyOf(fo, n) : null,
        hasAcc ? Arrays.copyOf(acc, na) : null, hasFoAcc ? Arrays.copyOf(foAcc, n) : null);
  }

  /** The mean head (and head state) over the partitions that trained, in partition order. */
  public static HeadPiece mergeHeads(List<HeadPiece> pieces) {
    if (pieces.isEmpty()) {
      throw new IllegalArgumentException("no head to merge: no partition trained");
    }
    List<HeadPiece> ps = new ArrayList<>(pieces);
    ps.sort(Comparator.comparingInt(p -> p.partition));
    int len = ps.get(0).head.length;
    boolean acc = ps.get(0).headAccum != null;
    double[] h = new double[len];
    double[] a = new double[acc ? len : 0];
    for (HeadPiece p : ps) {
      for (int i = 0; i < len; i++) {
        h[i] += p.head[i];
      }
      if (acc) {
        for (int i = 0; i < len; i++) {
          a[i] += p.headAccum[i];
        }
      }
    }
    int k = ps.size();
    float[] head = new float[len];
    float[] headAcc = acc ? new float[len] : null;
    for (int i = 0; i < len; i++) {
      head[i] = (float) (h[i] / k);
      if (acc) {
        headAcc[i] = (float) (a[i] / k);
      }
    }
    return new HeadPiece(-1, head, headAcc);
  }

  /**
   * The next model: {@code base} with every merged row and the merged head written over it; rows no
   * shard mentions keep their value and state. {@code base} is not modified.
   */
  public static ModelState apply(ModelState base, ShardPlan plan, List<MergedShard> shards,
      HeadPiece head) {
    ModelState next = base.copy();
    ModelSpec spec = base.spec;
    var layout = spec.layout();
    OptimizerSpec opt = spec.optimizer();
    Optimizer rule = opt.rule();
    for (MergedShard m : shards) {
      int vOff = 0;
      int aOff = 0;
      for (int i = 0; i < m.rows.length; i++) {
        long g = m.rows[i];
        int f = plan.fieldOf(g);
        long x = g - layout.rowBase(f);
        int dim = layout.dim(f);
        int dst = Math.toIntExact(layout.offset(f) + x * dim);
        System.arraycopy(m.values, vOff, next.tables, dst, dim);
        vOff += dim;
        if (m.accum != null) {
          int per = opt.stateFloatsPerRow(dim);
          int adst = rule.tableStateIndex(dst, Math.toIntExact(g));
          System.arraycopy(m.accum, aOff, next.tableAccum, adst, per);
          aOff += per;
        }
        if (m.firstOrder != null) {
          next.firstOrder[Math.toIntExact(g)] = m.firstOrder[i];
        }
        if (m.firstOrderAccum != null) {
          next.firstOrderAccum[Math.toIntExact(g)] = m.firstOrderAccum[i];
        }
      }
    }
    if (head != null) {
      System.arraycopy(head.head, 0, next.head, 0, next.head.length);
      if (head.headAccum != null) {
        System.arraycopy(head.headAccum, 0, next.headAccum, 0, next.headAccum.length);
      }
    }
    return next;
  }
}
