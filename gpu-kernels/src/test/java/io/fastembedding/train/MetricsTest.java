package io.fastembedding.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.testutil.Auc;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Metrics.auc against the test suite's own exact AUC. */
class MetricsTest {
  static double reference(float[] s, float[] y, int n) {
    double[] d = new double[n];
    float[] l = new float[n];
    for (int i = 0; i < n; i++) {
      d[i] = s[i];
      l[i] = y[i];
    }
    return Auc.of(d, l);
  }

  @Test
  void matchesTheReferenceWithTiesAndNegativeScores() {
    SplittableRandom rnd = new SplittableRandom(1);
    for (int trial = 0; trial < 20; trial++) {
      int n = 50 + rnd.nextInt(500);
      float[] s = new float[n + 7]; // longer than n: only the first n count
      float[] y = new float[n + 7];
      for (int i = 0; i < n + 7; i++) {
        s[i] = trial % 2 == 0 ? (rnd.nextInt(15) - 7) * 0.25f : (float) rnd.nextGaussian();
        y[i] = rnd.nextInt(3) == 0 ? 1 : 0;
      }
      y[0] = 1;
      y[1] = 0;
      assertEquals(reference(s, y, n), Metrics.auc(s, y, n), 1e-12, "trial " + trial);
    }
  }

  @Test
  void handCases() {
    assertEquals(1.0, Metrics.auc(new float[] {-2, -1, 3, 4}, new float[] {0, 0, 1, 1}, 4), 0);
    assertEquals(0.0, Metrics.auc(new float[] {-2, -1, 3, 4}, new float[] {1, 1, 0, 0}, 4), 0);
    assertEquals(0.5, Metrics.auc(new float[] {1, 1, 1, 1}, new float[] {1, 0, 1, 0}, 4), 0);
    assertTrue(Double.isNaN(Metrics.auc(new float[] {1, 2}, new float[] {1, 1}, 2)));
  }

  /** -0.0 and 0.0 are the same score (a squared-loss model can output either): a tie, worth 1/2. */
  @Test
  void negativeAndPositiveZeroAreTied() {
    assertEquals(0.5, Metrics.auc(new float[] {-0.0f, 0.0f}, new float[] {0, 1}, 2), 0);
    assertEquals(0.5, Metrics.auc(new float[] {0.0f, -0.0f}, new float[] {0, 1}, 2), 0);
  }
}
