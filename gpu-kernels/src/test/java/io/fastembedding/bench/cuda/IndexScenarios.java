package io.fastembedding.bench.cuda;

import java.util.SplittableRandom;

/**
 * The index distributions of the original FastEmbedding benchmark, as torch_baseline.py draws them:
 * uniform, 0.5^k (half the batch is index 0, a quarter index 1, ...), one index for the whole batch,
 * 50% uniform + 50% binomial(n - 1, 0.99), and 80% uniform + 20% index 0. Shared by the GPU tests and
 * the benchmark, so the tests stress exactly the collision patterns the benchmark times.
 */
public final class IndexScenarios {
  public static final String[] SINGLE = {"UNIFORM", "POW_1_2_K", "SAME_INDEX", "UNI_AND_BINOMIAL",
      "UNI_AND_20P_SAME_INDEX"};

  private IndexScenarios() {}

  /** {@code batch} indices in [0, n) drawn by {@code scenario}. */
  public static int[] draw(SplittableRandom rng, int batch, int n, String scenario) {
    int[] idx = new int[batch];
    switch (scenario) {
      case "UNIFORM" -> {
        for (int i = 0; i < batch; i++) {
          idx[i] = rng.nextInt(n);
        }
      }
      case "POW_1_2_K" -> {
        int offset = 0;
        int length = batch;
        int k = 0;
        while (length > 0) {
          for (int i = offset; i < offset + length / 2; i++) {
            idx[i] = k;
          }
          length /= 2;
          offset += length;
          k++;
        }
        shuffle(rng, idx);
        for (int i = 0; i < batch; i++) {
          idx[i] = Math.min(idx[i], n - 1);
        }
      }
      case "SAME_INDEX" -> java.util.Arrays.fill(idx, rng.nextInt(n));
      case "UNI_AND_BINOMIAL" -> {
        double mean = (n - 1) * 0.99;
        double sd = Math.sqrt((n - 1) * 0.99 * 0.01);
        for (int i = 0; i < batch; i++) {
          // normal approximation of binomial(n - 1, 0.99), clamped to the table
          long v = Math.round(mean + sd * gaussian(rng));
          idx[i] = (int) Math.max(0, Math.min(n - 1, v));
        }
        for (int i = 0; i < batch / 2; i++) {
          idx[i] = rng.nextInt(n);
        }
        shuffle(rng, idx);
      }
      case "UNI_AND_20P_SAME_INDEX" -> {
        for (int i = 0; i < batch; i++) {
          idx[i] = rng.nextInt(n);
        }
        for (int i = 0; i < batch / 5; i++) {
          idx[i] = 0;
        }
      }
      default -> throw new IllegalArgumentException("unknown scenario " + scenario);
    }
    return idx;
  }

  private static double gaussian(SplittableRandom rng) {
    double u1 = rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  private static void shuffle(SplittableRandom rng, int[] a) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
