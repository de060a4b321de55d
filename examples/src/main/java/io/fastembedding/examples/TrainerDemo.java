package io.fastembedding.examples;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.Backends;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.train.EpochStats;
import io.fastembedding.train.Metrics;
import io.fastembedding.train.Trainer;
import io.fastembedding.train.TrainerConfig;
import java.util.SplittableRandom;

/**
 * The trainer without Spark, on generated data: clicks drawn from a hidden factorization machine over
 * six categorical fields of very different cardinalities. Trains the fm and linear heads on the CPU
 * backend (or the GPU when one is present and "--gpu" is given) and prints loss, speed and held-out AUC.
 */
public final class TrainerDemo {
  private TrainerDemo() {}

  public static void main(String[] args) {
    boolean gpu = args.length > 0 && args[0].equals("--gpu");
    int[] sizes = {20, 300, 1_000, 5_000, 20_000, 50_000};
    String[] names = {"device", "site", "campaign", "region", "app", "user"};
    int n = sizes.length;
    int trainRows = 400_000;
    int testRows = 100_000;
    RowBlock[] data = generate(sizes, trainRows + testRows, 2026);
    RowBlock train = data[0].slice(0, trainRows);
    RowBlock test = data[0].slice(trainRows, testRows);
    System.out.printf("generated %,d training and %,d test rows, %d fields, table sizes %s%n",
        trainRows, testRows, n, java.util.Arrays.toString(sizes));
    for (HeadType head : new HeadType[] {HeadType.FM, HeadType.LINEAR}) {
      int[] dims = new int[n];
      java.util.Arrays.fill(dims, 8);
      ModelSpec spec = ModelSpec.builder(sizes, dims).fieldNames(names).head(head)
          .optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.05f, 1e-4f)).seed(1).build();
      BackendOptions options = new BackendOptions(false, 0);
      try (Backend backend = gpu && Backends.cudaDeviceCount() > 0
          ? Backends.cuda(spec, options, 0) : Backends.cpu(spec, options)) {
        System.out.printf("%nhead %s on %s%n", head.id(), backend.device());
        Trainer trainer = new Trainer(backend, new TrainerConfig(1024, 2, true, 3));
        for (EpochStats e : trainer.train(train)) {
          System.out.printf("  epoch %d  loss %.4f  %,.0f rows/s%n", e.epoch(), e.meanLoss(),
              e.rowsPerSecond());
        }
        float[] p = new float[testRows];
        backend.predict(test, 0, testRows, p, 0);
        System.out.printf("  held-out AUC %.4f%n", Metrics.auc(p, test.labels, testRows));
      }
    }
  }

  /** Labels drawn from sigmoid(FM(x)) with hidden latent vectors of dim 4 and skewed category use. */
  static RowBlock[] generate(int[] sizes, int rows, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = sizes.length;
    int d = 4;
    float[][][] latent = new float[n][][];
    float[][] bias = new float[n][];
    for (int f = 0; f < n; f++) {
      latent[f] = new float[sizes[f]][d];
      bias[f] = new float[sizes[f]];
      for (int x = 0; x < sizes[f]; x++) {
        for (int k = 0; k < d; k++) {
          latent[f][x][k] = (float) (gauss(rnd) * 0.6);
        }
        bias[f][x] = (float) (gauss(rnd) * 0.5);
      }
    }
    int[] idx = new int[rows * n];
    float[] labels = new float[rows];
    double[] s = new double[d];
    for (int r = 0; r < rows; r++) {
      double y = -1.0;
      java.util.Arrays.fill(s, 0);
      double sq = 0;
      for (int f = 0; f < n; f++) {
        // a power law over categories, as real categorical data has
        int x = (int) Math.min(sizes[f] - 1, Math.floor(Math.pow(rnd.nextDouble(), 2.5) * sizes[f]));
        idx[r * n + f] = x;
        y += bias[f][x];
        for (int k = 0; k < d; k++) {
          s[k] += latent[f][x][k];
          sq += latent[f][x][k] * latent[f][x][k];
        }
      }
      for (int k = 0; k < d; k++) {
        y += 0.5 * s[k] * s[k];
      }
      y -= 0.5 * sq;
      labels[r] = rnd.nextDouble() < 1 / (1 + Math.exp(-y)) ? 1f : 0f;
    }
    return new RowBlock[] {new RowBlock(n, 0, rows, idx, null, labels, null)};
  }

  private static double gauss(SplittableRandom rnd) {
    return Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
  }
}
