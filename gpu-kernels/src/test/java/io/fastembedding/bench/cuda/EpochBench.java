package io.fastembedding.bench.cuda;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.backend.cuda.CudaBackend;
import io.fastembedding.backend.cuda.CudaDevices;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Rows per second of one training epoch over a flights-like partition (1.2M rows, fields of
 * {229, 228, 3397, 24, 7} + 1 categories, dim 8, fm head, logistic loss, Adagrad), the block already
 * shuffled in host memory as the Trainer leaves it:
 *
 * <ul>
 *   <li>{@code cuda_steps}: the old path, {@code trainStep} per batch from the Java arrays;
 *   <li>{@code cuda_epoch}: {@code trainEpoch}, the block uploaded once and the steps run from the device;
 *   <li>{@code cuda_resident}: {@code trainEpochPermuted}, the block kept on the device and shuffled
 *       there each epoch (what a Spark task runs since issue 11);
 *   <li>{@code cpu_1t}: the CPU backend with one thread, for reference.
 * </ul>
 *
 * Each time is the wall time of one epoch up to {@code drainLoss()} (which waits for the device); the
 * median over the measured epochs is reported. Usage: {@code EpochBench [--rows N] [--epochs E]
 * [--only-epoch] [--head fm|fwfm] [--dim D]} ({@code --only-epoch}: only {@code cuda_epoch}, atomic; the
 * head and dim default to fm and 8).
 */
public final class EpochBench {
  private EpochBench() {}

  public static void main(String[] args) {
    int rows = 1_200_000;
    int epochs = 5;
    boolean onlyEpoch = false;
    HeadType headType = HeadType.FM;
    int dim = 8;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--rows" -> rows = Integer.parseInt(args[++i]);
        case "--epochs" -> epochs = Integer.parseInt(args[++i]);
        case "--only-epoch" -> onlyEpoch = true;
        case "--head" -> headType = HeadType.fromId(args[++i]);
        case "--dim" -> dim = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    int[] sizes = {230, 229, 3398, 25, 8};
    int[] dims = new int[sizes.length];
    Arrays.fill(dims, dim);
    ModelSpec spec = ModelSpec.builder(sizes, dims).head(headType).loss(LossType.LOGISTIC)
        .optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.05f, 0f)).seed(1).build();
    RowBlock block = data(spec, rows, new SplittableRandom(42));
    boolean gpu = CudaDevices.count() > 0;
    System.out.println("# device: " + (gpu ? "cuda:0" : "none (" + CudaDevices.unavailableReason() + ")")
        + ", head " + headType.id() + ", dim " + dim + ", rows " + rows + ", measured epochs " + epochs + ", java " + System.getProperty("java.version"));
    System.out.println(String.format(Locale.ROOT, "%-11s %-6s %6s %10s %12s %10s %12s", "path", "mode", "batch",
        "epoch_ms", "rows_per_s", "us_per_step", "host_us_step"));
    for (int batch : new int[] {1024, 8192}) {
      if (gpu) {
        for (boolean det : onlyEpoch ? new boolean[] {false} : new boolean[] {false, true}) {
          RowBlock head = block.slice(0, Math.min(rows, HOST_BATCHES * batch));
          ModelState[] after = new ModelState[2];
          for (boolean epochCall : onlyEpoch ? new boolean[] {true} : new boolean[] {false, true}) {
            try (CudaBackend b = CudaBackend.open(spec, new BackendOptions(det, 0), 0)) {
              double ms = time(b, block, batch, epochs, epochCall);
              after[epochCall ? 1 : 0] = b.exportState();
              double host = hostMicrosPerStep(b, head, batch, epochCall);
              report(epochCall ? "cuda_epoch" : "cuda_steps", det, batch, rows, ms, host);
            }
          }
          if (!det) {
            try (CudaBackend b = CudaBackend.open(spec, new BackendOptions(false, 0), 0)) {
              report("cuda_resident", false, batch, rows, timeResident(b, block, batch, epochs), Double.NaN);
            }
          }
          if (det && !after[0].bitEquals(after[1])) {
            // the same epochs through both paths (several upload chunks here) must give the same model
            throw new IllegalStateException("deterministic trainEpoch differs from the trainStep loop");
          }
        }
      }
      if (onlyEpoch) {
        continue;
      }
      try (CpuBackend b = new CpuBackend(spec, new BackendOptions(false, 1))) {
        report("cpu_1t", false, batch, rows, time(b, block, batch, Math.min(epochs, 2), true), Double.NaN);
      }
    }
  }

  /** Batches of the block on which the host's own cost per step is timed. */
  static final int HOST_BATCHES = 128;

  /**
   * The host's time per step: how long the epoch call takes to return (before waiting for the device)
   * on {@link #HOST_BATCHES} batches, few enough that the launch queue does not fill and block it. It
   * is what a busier host (a Spark executor) pays per step, when the GPU's ~26 us no longer hides it.
   */
  static double hostMicrosPerStep(Backend b, RowBlock block, int batch, boolean epochCall) {
    double[] us = new double[7];
    int steps = (block.rows + batch - 1) / batch;
    for (int i = -2; i < us.length; i++) {
      b.drainLoss();
      long t0 = System.nanoTime();
      run(b, block, batch, epochCall);
      long t1 = System.nanoTime();
      b.drainLoss();
      if (i >= 0) {
        us[i] = (t1 - t0) / 1e3 / steps;
      }
    }
    Arrays.sort(us);
    return us[us.length / 2];
  }

  static void run(Backend b, RowBlock block, int batch, boolean epochCall) {
    if (epochCall) {
      b.trainEpoch(block, batch);
    } else {
      for (int start = 0; start < block.rows; start += batch) {
        b.trainStep(block, start, Math.min(batch, block.rows - start));
      }
    }
  }

  /** Median wall milliseconds of an epoch, after two warm-up epochs (JIT, graph capture, buffer growth). */
  static double time(Backend b, RowBlock block, int batch, int epochs, boolean epochCall) {
    return medianEpochMs(b, epochs, e -> run(b, block, batch, epochCall));
  }

  /**
   * Median wall milliseconds of an epoch from the block kept on the device and shuffled there
   * ({@code trainEpochPermuted}, a new permutation each epoch), up to {@code drainLoss()}, after two
   * warm-up epochs (the first uploads the block).
   */
  static double timeResident(Backend b, RowBlock block, int batch, int epochs) {
    return medianEpochMs(b, epochs, e -> {
      if (!b.trainEpochPermuted(block, io.fastembedding.train.EpochPermutation.forEpoch(block.rows, 7, e + 2),
          batch)) {
        throw new IllegalStateException("the block did not stay on the device");
      }
    });
  }

  /**
   * Median wall milliseconds of {@code epoch} (given the epoch number, -2 and -1 being the warm-up)
   * up to {@code drainLoss()}, over {@code epochs} epochs after two warm-up ones.
   */
  private static double medianEpochMs(Backend b, int epochs, java.util.function.IntConsumer epoch) {
    double[] ms = new double[epochs];
    for (int e = -2; e < epochs; e++) {
      long t0 = System.nanoTime();
      epoch.accept(e);
      double loss = b.drainLoss().mean();
      if (!Double.isFinite(loss)) {
        throw new IllegalStateException("loss " + loss);
      }
      if (e >= 0) {
        ms[e] = (System.nanoTime() - t0) / 1e6;
      }
    }
    Arrays.sort(ms);
    return ms[epochs / 2];
  }

  static void report(String path, boolean det, int batch, int rows, double ms, double hostUs) {
    long steps = (rows + batch - 1) / batch;
    System.out.println(String.format(Locale.ROOT, "%-11s %-6s %6d %10.2f %12.0f %10.2f %12.2f", path,
        det ? "det" : "atomic", batch, ms, rows / (ms / 1e3), ms * 1e3 / steps, hostUs));
  }

  /** Skewed categories (a power law over each field, like airports and carriers), random 0/1 labels. */
  static RowBlock data(ModelSpec spec, int rows, SplittableRandom rnd) {
    int n = spec.numFields();
    int[] idx = new int[rows * n];
    for (int f = 0; f < n; f++) {
      int size = spec.layout().size(f);
      for (int r = 0; r < rows; r++) {
        // inverse-CDF of a density ~ x^-0.5 on [1, size]: a long tail with a few frequent values
        double u = rnd.nextDouble();
        int x = (int) (Math.pow(u, 2) * size);
        idx[r * n + f] = Math.min(size - 1, x);
      }
    }
    float[] labels = new float[rows];
    for (int r = 0; r < rows; r++) {
      labels[r] = rnd.nextInt(2);
    }
    return new RowBlock(n, 0, rows, idx, null, labels, null);
  }
}
