package io.fastembedding.spark.shard;

import org.apache.spark.Partitioner;

/**
 * Key {@code k} (an int in {@code [0, n)}) goes to partition {@code k}: shard {@code s} lives in
 * partition s of every generation of the shard RDD, and a partition's pulled rows arrive in the
 * partition of the same number, so joins between them need no shuffle of the side already placed.
 */
public final class KeyPartitioner extends Partitioner {
  private static final long serialVersionUID = 1L;

  private final int n;

  public KeyPartitioner(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("a partitioner needs at least one partition, got " + n);
    }
    this.n = n;
  }

  @Override
  public int numPartitions() {
    return n;
  }

  @Override
  public int getPartition(Object key) {
    int k = (Integer) key;
    if (k < 0 || k >= n) {
      throw new IllegalArgumentException("key " + k + " is outside [0, " + n + ")");
    }
    return k;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyPartitioner p && p.n == n;
  }

  @Override
  public int hashCode() {
    return n;
  }
}
