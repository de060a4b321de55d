package io.fastembedding.spark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.spark.SparkTestSessions;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;

/** Skewed input partitions become blocks of equal size, each with its share of every input. */
class BlockBalancerTest {
  /** A block whose row r carries id {@code base + r} in its index and its label. */
  private static RowBlock block(int rows, int base) {
    int[] idx = new int[rows * 2];
    float[] labels = new float[rows];
    float[] weights = new float[rows];
    for (int r = 0; r < rows; r++) {
      idx[2 * r] = base + r;
      idx[2 * r + 1] = r % 3;
      labels[r] = base + r;
      weights[r] = 0.5f;
    }
    return new RowBlock(2, 0, rows, idx, null, labels, weights);
  }

  @Test
  void skewedPartitionsAreDealtIntoEqualBlocks() {
    int[] sizes = {3000, 150, 7};
    List<PartitionData> in = new ArrayList<>();
    int base = 0;
    for (int p = 0; p < sizes.length; p++) {
      in.add(new PartitionData(p, block(sizes[p], base), new BlockStats(2), sizes[p] * 0.5,
          block(sizes[p] / 10, 100_000 + base), sizes[p] / 10 * 0.5));
      base += sizes[p];
    }
    long[] train = {3000, 150, 7};
    long[] valid = {300, 15, 0};
    assertTrue(BlockBalancer.needed(train, 2));
    assertTrue(BlockBalancer.needed(new long[] {34539, 1641}, 2), "Bank Marketing's two parts");
    assertFalse(BlockBalancer.needed(new long[] {1000, 1001}, 2));
    JavaRDD<PartitionData> src = SparkTestSessions.jsc().parallelize(in, 3);
    List<PartitionData> out = BlockBalancer.balance(src, 2, train, valid).collect();
    assertEquals(2, out.size());
    TreeSet<Integer> ids = new TreeSet<>();
    TreeSet<Integer> validIds = new TreeSet<>();
    for (int t = 0; t < 2; t++) {
      PartitionData pd = out.get(t);
      assertEquals(t, pd.partition);
      assertEquals(3157 / 2 + (t < 3157 % 2 ? 1 : 0), pd.block.rows, "block " + t);
      assertEquals(pd.block.rows * 0.5, pd.weightSum, 1e-9);
      int fromSecond = 0;
      for (int r = 0; r < pd.block.rows; r++) {
        int id = pd.block.index(r, 0);
        assertEquals(id, (int) pd.block.labels[r], "row moved whole");
        assertTrue(ids.add(id), "row " + id + " twice");
        if (id >= 3000 && id < 3150) {
          fromSecond++;
        }
      }
      assertEquals(75, fromSecond, "each block gets half of the second partition");
      for (int r = 0; r < pd.validation.rows; r++) {
        validIds.add(pd.validation.index(r, 0));
      }
    }
    assertEquals(3157, ids.size());
    assertEquals(0, (int) ids.first());
    assertEquals(3156, (int) ids.last());
    assertEquals(315, validIds.size());
  }
}
