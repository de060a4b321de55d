package io.fastembedding.spark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.RowBlock;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CrossFitFoldsTest {
  private static final long SEED = Long.getLong("fastembedding.test.seed", System.nanoTime());

  private static RowBlock randomBlock(Random r, int rows) {
    RowBlock b = RowBlock.allocate(3, 1, rows, true);
    for (int i = 0; i < rows; i++) {
      b.indices[i * 3] = r.nextInt(20);
      b.indices[i * 3 + 1] = r.nextInt(1000);
      b.indices[i * 3 + 2] = i;
      b.numeric[i] = (float) r.nextGaussian();
      b.labels[i] = r.nextInt(2);
      b.weights[i] = 1 + r.nextInt(3);
    }
    return b;
  }

  @Test
  void foldsAreEvenAndDependOnTheContentAndTheSeedOnly() {
    System.out.println("CrossFitFoldsTest seed " + SEED + " (-Dfastembedding.test.seed)");
    Random r = new Random(SEED);
    int k = 5;
    int n = 50_000;
    RowBlock b = randomBlock(r, n);
    int[] count = new int[k];
    for (int i = 0; i < n; i++) {
      long h = CrossFitFolds.contentHash(SEED, b, i);
      // the same row in another block at another position: the same hash
      assertEquals(h, CrossFitFolds.contentHash(SEED, b.slice(i, 1), 0));
      int f = CrossFitFolds.fold(h, k);
      assertTrue(f >= 0 && f < k);
      count[f]++;
    }
    // multinomial counts: each fold's count has mean n/k and sd sqrt(n p (1-p)) ~ 89; a fair
    // assignment leaves 6 sd with probability below 1e-8
    for (int c : count) {
      assertTrue(Math.abs(c - n / k) < 6 * Math.sqrt(n * 0.2 * 0.8),
          java.util.Arrays.toString(count));
    }
  }

  @Test
  void equalInputsShareAFoldLabelsDoNotCountAndTheSeedMatters() {
    RowBlock a = new RowBlock(2, 2, 1, new int[] {3, 7}, new float[] {0f, 1.5f},
        new float[] {1}, null);
    RowBlock same = new RowBlock(2, 2, 1, new int[] {3, 7}, new float[] {-0f, 1.5f},
        new float[] {0}, new float[] {2});
    long h = CrossFitFolds.contentHash(1, a, 0);
    assertEquals(h, CrossFitFolds.contentHash(1, same, 0));
    assertNotEquals(h, CrossFitFolds.contentHash(2, a, 0));
    assertNotEquals(h, CrossFitFolds.contentHash(1, new RowBlock(2, 2, 1, new int[] {7, 3},
        new float[] {0f, 1.5f}, null, null), 0));
    assertNotEquals(h, CrossFitFolds.contentHash(1, new RowBlock(2, 2, 1, new int[] {3, 7},
        new float[] {0f, 1.25f}, null, null), 0));
    Set<Integer> folds = new HashSet<>();
    for (long s = 0; s < 50; s++) {
      folds.add(CrossFitFolds.fold(CrossFitFolds.contentHash(s, a, 0), 5));
    }
    assertEquals(5, folds.size(), "across seeds one row lands in every fold");
    assertThrows(IllegalArgumentException.class, () -> CrossFitFolds.fold(h, 1));
  }

  @Test
  void withoutFoldKeepsExactlyTheOtherFoldsRowsInOrder() {
    Random r = new Random(SEED + 1);
    RowBlock b = randomBlock(r, 2_000);
    int k = 4;
    int total = 0;
    for (int f = 0; f < k; f++) {
      RowBlock out = CrossFitFolds.withoutFold(b, SEED, k, f);
      int o = 0;
      for (int i = 0; i < b.rows; i++) {
        if (CrossFitFolds.fold(CrossFitFolds.contentHash(SEED, b, i), k) != f) {
          assertArrayEquals(b.slice(i, 1).indices, out.slice(o, 1).indices);
          assertEquals(b.numeric[i], out.numeric[o]);
          assertEquals(b.labels[i], out.labels[o]);
          assertEquals(b.weights[i], out.weights[o]);
          o++;
        }
      }
      assertEquals(o, out.rows);
      total += b.rows - out.rows;
    }
    assertEquals(b.rows, total, "every row is left out by exactly one fold");
  }

  @Test
  void hashesAreSortedDistinctAndFindTheBlocksRowsOnly() {
    Random r = new Random(SEED + 2);
    RowBlock b = randomBlock(r, 1_000);
    RowBlock twice = RowBlock.allocate(3, 1, 2_000, true);
    for (int i = 0; i < 1_000; i++) {
      b.copyRow(i, twice, i);
      b.copyRow(i, twice, 1_000 + i);
    }
    long[] h = CrossFitFolds.hashes(twice, SEED);
    assertEquals(1_000, h.length, "duplicates collapse");
    for (int i = 1; i < h.length; i++) {
      assertTrue(h[i] > h[i - 1]);
    }
    for (int i = 0; i < b.rows; i++) {
      assertTrue(CrossFitFolds.contains(h, CrossFitFolds.contentHash(SEED, b, i)));
    }
    RowBlock other = randomBlock(new Random(SEED + 3), 1_000);
    for (int i = 0; i < other.rows; i++) {
      // field 2 holds the row number, so only the same numeric value could collide
      if (other.numeric[i] != b.numeric[i] || other.indices[i * 3] != b.indices[i * 3]
          || other.indices[i * 3 + 1] != b.indices[i * 3 + 1]) {
        assertFalse(CrossFitFolds.contains(h, CrossFitFolds.contentHash(SEED, other, i)));
      }
    }
  }

  @Test
  void rejoinedPutsTheValidationRowsAfterTheTrainingRows() {
    Random r = new Random(SEED + 4);
    RowBlock t = randomBlock(r, 30);
    RowBlock v = randomBlock(r, 7);
    PartitionData pd = new PartitionData(3, t, new BlockStats(3), 60, v, 14);
    PartitionData all = HeldOutRows.rejoined(pd);
    assertEquals(37, all.block.rows);
    assertEquals(74, all.weightSum);
    assertEquals(null, all.validation);
    for (int i = 0; i < 30; i++) {
      assertArrayEquals(t.slice(i, 1).indices, all.block.slice(i, 1).indices);
    }
    for (int i = 0; i < 7; i++) {
      assertArrayEquals(v.slice(i, 1).indices, all.block.slice(30 + i, 1).indices);
      assertEquals(v.weights[i], all.block.weights[30 + i]);
    }
  }
}
