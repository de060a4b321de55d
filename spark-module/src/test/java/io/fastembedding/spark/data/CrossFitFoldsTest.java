package io.fastembedding.spark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class CrossFitFoldsTest {
  private static final long SEED = Long.getLong("fastembedding.test.seed", System.nanoTime());

  @Test
  void foldsAreEvenAndDependOnTheContentAndTheSeedOnly() {
    System.out.println("CrossFitFoldsTest seed " + SEED + " (-Dfastembedding.test.seed)");
    Random r = new Random(SEED);
    int k = 5;
    int n = 50_000;
    int[] count = new int[k];
    for (int i = 0; i < n; i++) {
      double[] idx = {r.nextInt(20), r.nextInt(1000), i};
      double[] num = {r.nextGaussian()};
      long h = CrossFitFolds.contentHash(SEED, idx, num);
      assertEquals(h, CrossFitFolds.contentHash(SEED, idx.clone(), num.clone()));
      int f = CrossFitFolds.fold(h, k);
      assertTrue(f >= 0 && f < k);
      count[f]++;
    }
    // multinomial counts: each fold's share is n/k with sd sqrt(n p (1-p)) ~ 89; 6 sd is a bound
    // that a fair assignment breaks with probability below 1e-8
    for (int c : count) {
      assertTrue(Math.abs(c - n / k) < 6 * Math.sqrt(n * 0.2 * 0.8), java.util.Arrays.toString(
          count));
    }
  }

  @Test
  void equalInputsShareAFoldAndTheSeedChangesTheAssignment() {
    double[] idx = {3, 7};
    double[] num = {0.0, 1.5};
    long a = CrossFitFolds.contentHash(1, idx, num);
    assertEquals(a, CrossFitFolds.contentHash(1, new double[] {3, 7}, new double[] {-0.0, 1.5}));
    assertNotEquals(a, CrossFitFolds.contentHash(2, idx, num));
    assertNotEquals(a, CrossFitFolds.contentHash(1, new double[] {7, 3}, num));
    assertNotEquals(a, CrossFitFolds.contentHash(1, idx, null));
    // across seeds, one row lands in different folds
    java.util.Set<Integer> folds = new java.util.HashSet<>();
    for (long s = 0; s < 50; s++) {
      folds.add(CrossFitFolds.fold(CrossFitFolds.contentHash(s, idx, num), 5));
    }
    assertEquals(5, folds.size());
    assertThrows(IllegalArgumentException.class, () -> CrossFitFolds.fold(a, 1));
  }
}
