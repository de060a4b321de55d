package io.fastembedding.testutil;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import java.util.SplittableRandom;

/** Seeded random row blocks for tests. */
public final class Data {
  private Data() {}

  /**
   * {@code rows} random rows for {@code spec}: indices skewed towards small values so that a batch
   * repeats rows (as real categorical data does), numeric features N(0, 1), labels 0/1 for the
   * logistic loss and N(0, 1) otherwise, and, if asked, weights U(0, 2) with every seventh row 0.
   */
  public static RowBlock random(ModelSpec spec, int rows, boolean withWeights, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = spec.numFields();
    int k = spec.numNumeric();
    int[] idx = new int[rows * n];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < n; i++) {
        int size = spec.layout().size(i);
        double u = rnd.nextDouble();
        idx[r * n + i] = Math.min(size - 1, (int) (size * u * u));
      }
    }
    float[] num = k > 0 ? new float[rows * k] : null;
    for (int j = 0; k > 0 && j < rows * k; j++) {
      num[j] = (float) gaussian(rnd);
    }
    float[] labels = new float[rows];
    for (int r = 0; r < rows; r++) {
      labels[r] = spec.loss() == LossType.LOGISTIC
          ? (rnd.nextBoolean() ? 1f : 0f)
          : (float) gaussian(rnd);
    }
    float[] w = null;
    if (withWeights) {
      w = new float[rows];
      for (int r = 0; r < rows; r++) {
        w[r] = r % 7 == 3 ? 0f : (float) (2 * rnd.nextDouble());
      }
    }
    return new RowBlock(n, k, rows, idx, num, labels, w);
  }

  public static double gaussian(SplittableRandom rnd) {
    double u1 = rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }
}
