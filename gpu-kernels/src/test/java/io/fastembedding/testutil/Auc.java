package io.fastembedding.testutil;

import java.util.Arrays;

/** Exact ROC AUC by the rank-sum (Mann-Whitney) statistic; tied scores share their mean rank. */
public final class Auc {
  private Auc() {}

  public static double of(double[] scores, float[] labels) {
    int m = scores.length;
    if (labels.length != m) {
      throw new IllegalArgumentException(m + " scores but " + labels.length + " labels");
    }
    Integer[] order = new Integer[m];
    for (int i = 0; i < m; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
    double positiveRankSum = 0;
    long positives = 0;
    int i = 0;
    while (i < m) {
      int j = i;
      while (j + 1 < m && scores[order[j + 1]] == scores[order[i]]) {
        j++;
      }
      double meanRank = (i + j) / 2.0 + 1; // ranks are 1-based
      for (int t = i; t <= j; t++) {
        if (labels[order[t]] == 1f) {
          positiveRankSum += meanRank;
          positives++;
        } else if (labels[order[t]] != 0f) {
          throw new IllegalArgumentException("label " + labels[order[t]] + " is not 0 or 1");
        }
      }
      i = j + 1;
    }
    long negatives = m - positives;
    if (positives == 0 || negatives == 0) {
      throw new IllegalArgumentException("AUC needs both classes; got " + positives + " positives of "
          + m);
    }
    return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
  }
}
