package io.fastembedding.testutil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AucTest {
  @Test
  void perfectReversedAndAllTied() {
    float[] y = {0, 0, 1, 1};
    assertEquals(1.0, Auc.of(new double[] {0.1, 0.2, 0.3, 0.4}, y), 0);
    assertEquals(0.0, Auc.of(new double[] {0.4, 0.3, 0.2, 0.1}, y), 0);
    assertEquals(0.5, Auc.of(new double[] {7, 7, 7, 7}, y), 0);
  }

  @Test
  void handComputedWithTies() {
    // pairs (pos, neg): pos 0.5 vs neg {0.2, 0.5, 0.9} -> 1 + 0.5 + 0; pos 0.9 vs them -> 1 + 1 + 0.5
    // total 4 of 6 pairs
    double[] s = {0.2, 0.5, 0.9, 0.5, 0.9};
    float[] y = {0, 0, 0, 1, 1};
    assertEquals(4.0 / 6.0, Auc.of(s, y), 1e-15);
  }

  @Test
  void matchesPairCountingOnRandomScoresWithTies() {
    SplittableRandom rnd = new SplittableRandom(3);
    int m = 300;
    double[] s = new double[m];
    float[] y = new float[m];
    for (int i = 0; i < m; i++) {
      s[i] = rnd.nextInt(20); // many ties
      y[i] = rnd.nextInt(3) == 0 ? 1 : 0;
    }
    double wins = 0;
    long pairs = 0;
    for (int p = 0; p < m; p++) {
      for (int q = 0; q < m; q++) {
        if (y[p] == 1 && y[q] == 0) {
          pairs++;
          wins += s[p] > s[q] ? 1 : s[p] == s[q] ? 0.5 : 0;
        }
      }
    }
    assertEquals(wins / pairs, Auc.of(s, y), 1e-12);
  }

  @Test
  void oneClassIsAnError() {
    assertThrows(IllegalArgumentException.class, () -> Auc.of(new double[] {1, 2}, new float[] {1, 1}));
  }
}
