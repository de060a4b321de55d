package io.fastembedding.train;

/** Evaluation metrics over primitive arrays. */
public final class Metrics {
  private Metrics() {}

  /**
   * Area under the ROC curve of {@code scores} for binary {@code labels} (1 = positive), with tied
   * scores counted as half, the Mann-Whitney statistic. NaN when one class is absent.
   */
  public static double auc(float[] scores, float[] labels, int n) {
    long[] keyed = new long[n];
    for (int i = 0; i < n; i++) {
      // sortable key: the float's order-preserving int bits in the high word, the row in the low word
      // + 0f turns -0.0 into 0.0, so that the two zeros tie as they compare equal
      int bits = Float.floatToIntBits(scores[i] + 0f);
      bits ^= (bits >> 31) & 0x7fffffff;
      keyed[i] = ((long) bits << 32) | (i & 0xffffffffL);
    }
    java.util.Arrays.sort(keyed);
    double rankSumPos = 0;
    long pos = 0;
    int i = 0;
    while (i < n) {
      int j = i;
      int hi = (int) (keyed[i] >> 32);
      while (j < n && (int) (keyed[j] >> 32) == hi) {
        j++;
      }
      double avgRank = (i + 1 + j) / 2.0;
      for (int k = i; k < j; k++) {
        if (labels[(int) keyed[k]] > 0.5f) {
          rankSumPos += avgRank;
          pos++;
        }
      }
      i = j;
    }
    long neg = n - pos;
    if (pos == 0 || neg == 0) {
      return Double.NaN;
    }
    return (rankSumPos - pos * (pos + 1) / 2.0) / ((double) pos * neg);
  }
}
