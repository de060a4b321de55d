package io.fastembedding.spark.data;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Quantile bucket edges of each numeric feature, learned from a sample of the training rows and kept
 * in the model, so that the head can see thresholds: a value's bucket becomes one more categorical
 * field (its own embedding row and first-order weight, so the head's first-order term in that feature
 * is a step function), or its piecewise-linear encoding over the edges (Gorishniy et al. 2022)
 * becomes numeric head inputs (a first-order term that is piecewise linear with a knot at every
 * edge).
 *
 * <p>Feature j has {@code cuts[j].length} increasing interior cut points, so
 * {@code cuts[j].length + 1} buckets: bucket b holds the values in [cut[b-1], cut[b]) (the first
 * from minus infinity, the last to plus infinity). Its piecewise-linear encoding also needs the
 * smallest and largest sample values, {@code lo[j]} and {@code hi[j]}.
 */
public final class NumericBuckets implements Serializable {
  private static final long serialVersionUID = 1L;

  private final double[][] cuts;
  private final double[] lo;
  private final double[] hi;

  public NumericBuckets(double[][] cuts, double[] lo, double[] hi) {
    if (cuts.length != lo.length || cuts.length != hi.length) {
      throw new IllegalArgumentException("cuts, lo and hi need one entry per feature: "
          + cuts.length + ", " + lo.length + ", " + hi.length);
    }
    for (int j = 0; j < cuts.length; j++) {
      for (int b = 1; b < cuts[j].length; b++) {
        if (!(cuts[j][b] > cuts[j][b - 1])) {
          throw new IllegalArgumentException("the cut points of numeric feature " + j
              + " must increase: " + Arrays.toString(cuts[j]));
        }
      }
    }
    this.cuts = cuts;
    this.lo = lo;
    this.hi = hi;
  }

  /**
   * Edges from a sample of the training values of each feature ({@code values[j]}: feature j's
   * sample): its quantiles at b / numBuckets, b = 0 .. numBuckets, taking the value at rank
   * ceil(b n / numBuckets) for the inner ones, then {@link #fromQuantiles}.
   */
  public static NumericBuckets fromSample(double[][] values, int numBuckets) {
    requireBuckets(numBuckets);
    double[][] q = new double[values.length][];
    for (int j = 0; j < values.length; j++) {
      double[] v = values[j].clone();
      Arrays.sort(v);
      if (v.length == 0) {
        q[j] = new double[0];
        continue;
      }
      q[j] = new double[numBuckets + 1];
      for (int b = 0; b <= numBuckets; b++) {
        int rank = (int) Math.min(v.length - 1, (long) Math.ceil((double) b * v.length
            / numBuckets));
        q[j][b] = v[rank];
      }
      q[j][numBuckets] = v[v.length - 1];
    }
    return fromQuantiles(q);
  }

  /**
   * Edges from each feature's quantiles at 0, 1/B, .., 1 ({@code q[j]}, B + 1 values; empty: a
   * feature with no values gets one bucket): the inner quantiles become the cut points where they
   * split the values, that is the distinct ones above the minimum, so a feature with few distinct
   * values gets fewer buckets (a binary one two, a constant one one).
   */
  public static NumericBuckets fromQuantiles(double[][] q) {
    int k = q.length;
    double[][] cuts = new double[k][];
    double[] lo = new double[k];
    double[] hi = new double[k];
    for (int j = 0; j < k; j++) {
      if (q[j].length == 0) {
        cuts[j] = new double[0];
        continue;
      }
      requireBuckets(q[j].length - 1);
      int last = q[j].length - 1;
      lo[j] = q[j][0];
      hi[j] = q[j][last];
      double[] c = new double[last - 1];
      int m = 0;
      for (int b = 1; b < last; b++) {
        double cut = q[j][b];
        // a cut at the minimum would leave the first bucket empty; equal cuts collapse
        if (cut > lo[j] && (m == 0 || cut > c[m - 1])) {
          c[m++] = cut;
        }
      }
      cuts[j] = Arrays.copyOf(c, m);
    }
    return new NumericBuckets(cuts, lo, hi);
  }

  private static void requireBuckets(int numBuckets) {
    if (numBuckets < 2) {
      throw new IllegalArgumentException("numBuckets must be at least 2, got " + numBuckets);
    }
  }

  public int numFeatures() {
    return cuts.length;
  }

  /** Buckets of feature j (its interior cut points + 1). */
  public int numBuckets(int j) {
    return cuts[j].length + 1;
  }

  /** Feature j's bucket of value x, in [0, numBuckets(j)). */
  public int bucket(int j, double x) {
    int i = Arrays.binarySearch(cuts[j], x);
    // found: x equals cut i, which starts bucket i + 1; else i = -(insertion point) - 1
    return i >= 0 ? i + 1 : -i - 1;
  }

  /** Width of feature j's piecewise-linear encoding: one value per bucket. */
  public int encodingWidth(int j) {
    return numBuckets(j);
  }

  /**
   * Writes feature j's piecewise-linear encoding of x into {@code out[from ..]}: over the edges
   * lo, cut_0, .., cut_{m-1}, hi, the value of bucket t is 1 when x is at or above its upper edge, 0
   * below its lower edge, and the fraction of the bucket below x in between. So the encoding is
   * monotone in x, continuous, and sum_t out[t] grows by 1 per bucket crossed.
   */
  public void encode(int j, double x, double[] out, int from) {
    double[] c = cuts[j];
    int t = c.length + 1;
    for (int b = 0; b < t; b++) {
      double left = b == 0 ? lo[j] : c[b - 1];
      double right = b == t - 1 ? hi[j] : c[b];
      double v;
      if (x >= right) {
        v = 1;
      } else if (x < left) {
        v = 0;
      } else {
        v = (x - left) / (right - left);
      }
      out[from + b] = v;
    }
  }

  /** Sum of {@link #encodingWidth} over the features. */
  public int totalEncodingWidth() {
    int w = 0;
    for (int j = 0; j < cuts.length; j++) {
      w += encodingWidth(j);
    }
    return w;
  }

  /** Feature j's interior cut points (a copy). */
  public double[] cuts(int j) {
    return cuts[j].clone();
  }

  public double lo(int j) {
    return lo[j];
  }

  public double hi(int j) {
    return hi[j];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NumericBuckets b && Arrays.deepEquals(cuts, b.cuts)
        && Arrays.equals(lo, b.lo) && Arrays.equals(hi, b.hi);
  }

  @Override
  public int hashCode() {
    return Arrays.deepHashCode(cuts) * 31 + Arrays.hashCode(lo);
  }
}
