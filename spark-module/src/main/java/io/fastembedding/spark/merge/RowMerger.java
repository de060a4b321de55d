package io.fastembedding.spark.merge;

import io.fastembedding.model.RowColumns;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The merge of the partitions' local training results, as a mean per row over the partitions that
 * touched it:
 *
 * <ul>
 *   <li>a row no partition touched keeps its broadcast value;
 *   <li>a row touched by k partitions gets the mean of their k values (and of their optimizer state),
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
    if (ps.isEmpty()) {
      return null;
    }
    int[][] by = new int[1][];
    RowColumns merged = RowColumns.mean(ps.get(0).rows.schema,
        ps.stream().map(p -> p.rows).toList(), by);
    return new MergedShard(shard, merged, by[0]);
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
    for (MergedShard m : shards) {
      if (m != null) {
        m.rows.writeInto(next);
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
