package io.fastembedding.spark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NumericBucketsTest {
  private static final long SEED = Long.getLong("fastembedding.test.seed", System.nanoTime());

  @Test
  void quartilesOfOneToEightByHand() {
    // 8 values, 4 buckets: the cuts start buckets at ranks ceil(8/4)=2, 4, 6: values 3, 5, 7
    NumericBuckets b = NumericBuckets.fromSample(new double[][] {{8, 1, 7, 2, 6, 3, 5, 4}}, 4);
    assertArrayEquals(new double[] {3, 5, 7}, b.cuts(0));
    assertEquals(4, b.numBuckets(0));
    assertEquals(1, b.lo(0));
    assertEquals(8, b.hi(0));
    // [-inf,3) [3,5) [5,7) [7,inf)
    double[] xs = {-100, 1, 2.999, 3, 4, 5, 6.5, 7, 8, 1e9};
    int[] want = {0, 0, 0, 1, 1, 2, 2, 3, 3, 3};
    for (int i = 0; i < xs.length; i++) {
      assertEquals(want[i], b.bucket(0, xs[i]), "bucket of " + xs[i]);
    }
  }

  @Test
  void fewDistinctValuesGiveFewerBuckets() {
    // a binary feature: the only cut that splits it is 1
    double[] bin = new double[100];
    for (int i = 0; i < 30; i++) {
      bin[i] = 1;
    }
    // a constant feature: one bucket
    double[] constant = new double[100];
    Arrays.fill(constant, 4.5);
    NumericBuckets b = NumericBuckets.fromSample(new double[][] {bin, constant}, 10);
    assertArrayEquals(new double[] {1}, b.cuts(0));
    assertEquals(0, b.bucket(0, 0));
    assertEquals(1, b.bucket(0, 1));
    assertEquals(1, b.numBuckets(1));
    assertEquals(0, b.bucket(1, 4.5));
    assertEquals(0, b.bucket(1, -3));
  }

  @Test
  void bucketsHoldEqualSharesOfTheSampleAndAgreeWithALinearScan() {
    Random r = new Random(SEED);
    System.out.println("NumericBucketsTest seed " + SEED + " (-Dfastembedding.test.seed)");
    int n = 10_000;
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = Math.exp(r.nextGaussian() * 2); // skewed, as balances are
    }
    int buckets = 10;
    NumericBuckets b = NumericBuckets.fromSample(new double[][] {v}, buckets);
    assertEquals(buckets, b.numBuckets(0), "continuous values: every quantile is a distinct cut");
    double[] cuts = b.cuts(0);
    int[] count = new int[buckets];
    for (double x : v) {
      int got = b.bucket(0, x);
      // independent reference: the number of cuts at or below x
      int ref = 0;
      for (double c : cuts) {
        if (c <= x) {
          ref++;
        }
      }
      assertEquals(ref, got, "bucket of " + x);
      count[got]++;
    }
    // distinct values and cuts at ranks ceil(b n / B): each bucket holds n / B rows exactly
    for (int c : count) {
      assertEquals(n / buckets, c, Arrays.toString(count));
    }
  }

  @Test
  void piecewiseLinearEncodingByHand() {
    // lo 0, cuts 2 and 6, hi 10: buckets [0,2) [2,6) [6,10]
    NumericBuckets b = new NumericBuckets(new double[][] {{2, 6}}, new double[] {0},
        new double[] {10});
    assertEquals(3, b.encodingWidth(0));
    double[] out = new double[5];
    b.encode(0, 4, out, 1);
    assertArrayEquals(new double[] {0, 1, 0.5, 0, 0}, out, 0);
    b.encode(0, -1, out, 1);
    assertArrayEquals(new double[] {0, 0, 0, 0, 0}, out, 0);
    b.encode(0, 1, out, 1);
    assertArrayEquals(new double[] {0, 0.5, 0, 0, 0}, out, 0);
    b.encode(0, 8, out, 2);
    assertArrayEquals(new double[] {0, 0.5, 1, 1, 0.5}, out, 0);
    b.encode(0, 99, out, 0);
    assertArrayEquals(new double[] {1, 1, 1, 1, 0.5}, out, 0);
  }

  @Test
  void piecewiseLinearEncodingIsContinuousAndMonotone() {
    NumericBuckets b = NumericBuckets.fromSample(new double[][] {{0, 1, 1, 2, 3, 5, 8, 13, 21,
        34}}, 4);
    double[] prev = new double[b.encodingWidth(0)];
    b.encode(0, -1, prev, 0);
    double[] cur = new double[prev.length];
    for (double x = -1; x <= 40; x += 0.01) {
      b.encode(0, x, cur, 0);
      double sumPrev = 0;
      double sumCur = 0;
      for (int t = 0; t < cur.length; t++) {
        assertTrue(cur[t] >= prev[t] - 1e-12, "monotone at " + x);
        // every bucket is at least 2 wide here (cuts 2, 5, 21), so a step of 0.01 in x moves
        // each value by at most 0.005
        assertTrue(cur[t] - prev[t] <= 0.005 + 1e-12, "continuous at " + x);
        sumPrev += prev[t];
        sumCur += cur[t];
      }
      assertTrue(sumCur >= sumPrev - 1e-12);
      System.arraycopy(cur, 0, prev, 0, cur.length);
    }
  }

  @Test
  void badEdgesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new NumericBuckets(
        new double[][] {{1, 1}}, new double[] {0}, new double[] {2}));
    assertThrows(IllegalArgumentException.class, () -> NumericBuckets.fromSample(
        new double[][] {{1, 2}}, 1));
  }
}
