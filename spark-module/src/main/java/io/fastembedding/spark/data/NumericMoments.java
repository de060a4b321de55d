package io.fastembedding.spark.data;

import java.io.Serializable;

/**
 * Mean and spread of each numeric feature over the training rows, accumulated row by row with
 * Welford's update and merged across partitions with Chan's formula, in double, so that features with
 * a large mean (balances, distances) keep their variance exactly.
 */
public final class NumericMoments implements Serializable {
  private static final long serialVersionUID = 1L;

  private long count;
  private final double[] mean;
  private final double[] m2;

  public NumericMoments(int features) {
    mean = new double[features];
    m2 = new double[features];
  }

  /** Adds one row's features {@code x[from, from + k)}. */
  public void add(float[] x, int from) {
    count++;
    for (int j = 0; j < mean.length; j++) {
      double d = x[from + j] - mean[j];
      mean[j] += d / count;
      m2[j] += d * (x[from + j] - mean[j]);
    }
  }

  public NumericMoments merge(NumericMoments o) {
    if (o.count == 0) {
      return this;
    }
    long n = count + o.count;
    for (int j = 0; j < mean.length; j++) {
      double d = o.mean[j] - mean[j];
      m2[j] += o.m2[j] + d * d * ((double) count * o.count / n);
      mean[j] += d * o.count / n;
    }
    count = n;
    return this;
  }

  public long count() {
    return count;
  }

  public double[] mean() {
    return mean.clone();
  }

  /** The sample standard deviation (n - 1 in the denominator, as StandardScaler); 0 for one row. */
  public double[] std() {
    double[] s = new double[mean.length];
    for (int j = 0; j < s.length; j++) {
      s[j] = count > 1 ? Math.sqrt(Math.max(0, m2[j] / (count - 1))) : 0;
    }
    return s;
  }
}
