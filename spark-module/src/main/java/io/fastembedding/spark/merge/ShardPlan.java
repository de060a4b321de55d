package io.fastembedding.spark.merge;

import io.fastembedding.layout.TableLayout;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Splits the scalar row space of all tables (row {@code x} of field {@code f} is global row
 * {@code rowBase(f) + x}) into contiguous shards, each merged by its own reduce task, so that no task
 * and not the driver has to hold more than a shard of every partition's changes at once.
 */
public final class ShardPlan implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Below this many rows per shard, more shards only add tasks. */
  static final long MIN_ROWS_PER_SHARD = 4096;

  private final long totalRows;
  private final int numShards;
  private final long[] rowBases;
  private final int[] dims;

  public ShardPlan(TableLayout layout, int numShards) {
    if (numShards < 1) {
      throw new IllegalArgumentException("numShards must be >= 1, got " + numShards);
    }
    this.totalRows = layout.totalRows();
    this.numShards = (int) Math.min(numShards, totalRows);
    int n = layout.numFields();
    rowBases = new long[n];
    dims = layout.dims();
    for (int f = 0; f < n; f++) {
      rowBases[f] = layout.rowBase(f);
    }
  }

  /** A plan with about one shard per worker, but none smaller than {@link #MIN_ROWS_PER_SHARD}. */
  public static ShardPlan forWorkers(TableLayout layout, int workers) {
    long bySize = Math.max(1, layout.totalRows() / MIN_ROWS_PER_SHARD);
    return new ShardPlan(layout, (int) Math.max(1, Math.min(workers, bySize)));
  }

  public int numShards() {
    return numShards;
  }

  /** The shard that holds global row {@code globalRow}. */
  public int shardOf(long globalRow) {
    return (int) (globalRow * numShards / totalRows);
  }

  /** First global row of shard {@code s} (inclusive). */
  public long shardStart(int s) {
    // the smallest g with g * numShards / totalRows >= s
    return (s * totalRows + numShards - 1) / numShards;
  }

  /** The field that global row {@code globalRow} belongs to. */
  public int fieldOf(long globalRow) {
    int i = Arrays.binarySearch(rowBases, globalRow);
    if (i >= 0) {
      // tables have size >= 1, so bases are distinct
      return i;
    }
    return -i - 2;
  }

  public long rowBase(int field) {
    return rowBases[field];
  }

  public int dim(int field) {
    return dims[field];
  }
}
