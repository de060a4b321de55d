package io.fastembedding.testutil;

import io.fastembedding.backend.RowBlock;
import java.util.SplittableRandom;

/** Labelled data with a known signal, for tests that check a model learns. */
public final class Synthetic {
  private Synthetic() {}

  /** Rows and the true logit of each (for an oracle AUC). */
  public record Sample(RowBlock block, double[] trueLogits) {}

  /**
   * A known factorization machine over categorical fields: each category has a latent vector of
   * {@code dim} values N(0, latentStd^2) and a first-order weight N(0, firstOrderStd^2); the logit of a
   * row is the sum of its first-order weights plus the dot products of all pairs of its vectors, and
   * its label is 1 with probability sigmoid(logit).
   */
  public static final class TrueFm {
    final int[] sizes;
    final int dim;
    final double[][][] latent;
    final double[][] first;

    public TrueFm(int[] sizes, int dim, double latentStd, double firstOrderStd, long seed) {
      this.sizes = sizes.clone();
      this.dim = dim;
      SplittableRandom rnd = new SplittableRandom(seed);
      latent = new double[sizes.length][][];
      first = new double[sizes.length][];
      for (int i = 0; i < sizes.length; i++) {
        latent[i] = new double[sizes[i]][dim];
        first[i] = new double[sizes[i]];
        for (int x = 0; x < sizes[i]; x++) {
          first[i][x] = firstOrderStd * Data.gaussian(rnd);
          for (int f = 0; f < dim; f++) {
            latent[i][x][f] = latentStd * Data.gaussian(rnd);
          }
        }
      }
    }

    public double logit(int[] x) {
      double y = 0;
      for (int i = 0; i < x.length; i++) {
        y += first[i][x[i]];
        for (int j = i + 1; j < x.length; j++) {
          for (int f = 0; f < dim; f++) {
            y += latent[i][x[i]][f] * latent[j][x[j]][f];
          }
        }
      }
      return y;
    }

    /** {@code rows} rows with uniform categories and Bernoulli(sigmoid(logit)) labels. */
    public Sample sample(int rows, long seed) {
      SplittableRandom rnd = new SplittableRandom(seed);
      int n = sizes.length;
      int[] idx = new int[rows * n];
      float[] labels = new float[rows];
      double[] logits = new double[rows];
      int[] x = new int[n];
      for (int r = 0; r < rows; r++) {
        for (int i = 0; i < n; i++) {
          x[i] = rnd.nextInt(sizes[i]);
          idx[r * n + i] = x[i];
        }
        logits[r] = logit(x);
        labels[r] = rnd.nextDouble() < 1 / (1 + Math.exp(-logits[r])) ? 1f : 0f;
      }
      return new Sample(new RowBlock(n, 0, rows, idx, null, labels, null), logits);
    }
  }

  /**
   * A pure pairwise interaction: each category of fields 0 and 1 carries a hidden random bit, the label
   * is the XOR of the two bits (flipped with probability {@code noise}); fields 2.. are noise. No single
   * field says anything about the label.
   */
  public static RowBlock xor(int[] sizes, int rows, double noise, long bitSeed, long seed) {
    SplittableRandom bits = new SplittableRandom(bitSeed);
    boolean[][] bit = new boolean[2][];
    for (int i = 0; i < 2; i++) {
      bit[i] = new boolean[sizes[i]];
      for (int x = 0; x < sizes[i]; x++) {
        bit[i][x] = x % 2 == 0; // balanced: half of each field's categories carry each bit
      }
      for (int x = sizes[i] - 1; x > 0; x--) { // shuffled, so no index pattern
        int j = bits.nextInt(x + 1);
        boolean t = bit[i][x];
        bit[i][x] = bit[i][j];
        bit[i][j] = t;
      }
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = sizes.length;
    int[] idx = new int[rows * n];
    float[] labels = new float[rows];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < n; i++) {
        idx[r * n + i] = rnd.nextInt(sizes[i]);
      }
      boolean y = bit[0][idx[r * n]] ^ bit[1][idx[r * n + 1]];
      if (rnd.nextDouble() < noise) {
        y = !y;
      }
      labels[r] = y ? 1f : 0f;
    }
    return new RowBlock(n, 0, rows, idx, null, labels, null);
  }
}
