package io.fastembedding.spark.merge;

import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.RowColumns;
import io.fastembedding.model.RowSchema;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Rows of one shard travelling for one partition: the rows a partition touched, with their values
 * after its local training, on their way to the shard's merge; or, in the sharded path, the rows a
 * partition uses, pulled from the shard to the partition.
 */
public final class ShardPiece implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int partition;
  public final int shard;
  /** Ascending global rows with their counts and columns. */
  public final RowColumns rows;

  public ShardPiece(int partition, int shard, RowColumns rows) {
    this.partition = partition;
    this.shard = shard;
    this.rows = rows;
  }

  /** Cuts one partition's touched rows (of a backend holding the whole model) into shard pieces. */
  public static List<ShardPiece> split(TouchedRows t, ShardPlan plan, int partition) {
    return split(RowColumns.fromTouched(t, RowSchema.of(t.spec), null), plan, partition);
  }

  /** Cuts ascending rows into one piece per shard they fall in (only non-empty ones). */
  public static List<ShardPiece> split(RowColumns all, ShardPlan plan, int partition) {
    List<ShardPiece> out = new ArrayList<>();
    int from = 0;
    while (from < all.size) {
      int s = plan.shardOf(all.row(from));
      long end = plan.shardStart(s + 1);
      int to = from + 1;
      while (to < all.size && all.row(to) < end) {
        to++;
      }
      out.add(new ShardPiece(partition, s, from == 0 && to == all.size ? all
          : all.slice(from, to)));
      from = to;
    }
    return out;
  }
}
