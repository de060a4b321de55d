package io.fastembedding.bench.cuda;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cuda.CudaBackend;
import io.fastembedding.backend.cuda.ResidentBatches;
import io.fastembedding.backend.cuda.CudaDevices;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Our kernels over the grid of shared/bench/torch_baseline.py (the original FastEmbedding benchmark),
 * writing the same CSV columns, so that one script can put both side by side from one run on one card.
 *
 * <p>The model is the baseline's: embeddings, concatenated, into one linear unit (our linear head),
 * loss = that unit summed (our squared loss with label 0 differs only in the scalar dl/dy, computed per
 * row), SGD with lr 0.01 and no l2. Mode {@code train} only: our backward and the SGD update are one
 * fused pass, so there is no separate {@code fwdbwd} to time.
 *
 * <ul>
 *   <li>{@code fe_cuda}: atomic mode, batch already on the device (like the baseline's index tensors).
 *       CUDA-event median per step, as the baseline times.
 *   <li>{@code fe_cuda_det}: deterministic mode (sort + segmented reduce), the same way.
 *   <li>{@code fe_cuda_stream}: atomic mode through {@code Backend.trainStep} from Java arrays, copy to
 *       pinned memory and to the device included, steps queued back to back: wall time per step over
 *       the iterations (ms_median = ms_min = the mean), what a Spark task sees.
 * </ul>
 */
public final class CudaBench {
  static final String[] SCENARIOS = IndexScenarios.SINGLE;
  static final Map<String, int[]> MULTI_CONFIGS = new LinkedHashMap<>();
  static final String[][] MULTI_SCENARIOS = {{"ALL_UNIFORM", "UNIFORM"}, {"ALL_MIXED", "UNI_AND_BINOMIAL"},
      {"ALL_POW_1_2_K", "POW_1_2_K"}};

  static {
    MULTI_CONFIGS.put("MT_10XS", new int[] {1, 2, 4, 8, 1, 2, 4, 8, 1, 2});
    MULTI_CONFIGS.put("MT_20XS", new int[] {2, 4, 8, 2, 4, 8, 2, 4, 8, 2, 4, 8, 2, 4, 8, 2, 4, 8, 2, 4});
    MULTI_CONFIGS.put("MT_10S", new int[] {16, 8, 4, 24, 16, 24, 32, 8, 32, 4});
    MULTI_CONFIGS.put("MT_5S_5L", new int[] {4, 8, 16, 24, 32, 64, 96, 128, 192, 256});
    MULTI_CONFIGS.put("MT_10L", new int[] {128, 256, 64, 192, 256, 128, 96, 192, 64, 96});
  }

  private final PrintStream csv;
  private final int iters;
  private final int warmup;
  private final boolean withDet;
  private final boolean withStream;
  private final SplittableRandom rng = new SplittableRandom(0);
  /** Only the grid points whose key (suite,n,d,batch,scenario,config) this finds, when set. */
  private static java.util.regex.Pattern points;

  private CudaBench(PrintStream csv, int iters, int warmup, boolean withDet, boolean withStream) {
    this.csv = csv;
    this.iters = iters;
    this.warmup = warmup;
    this.withDet = withDet;
    this.withStream = withStream;
  }

  public static void main(String[] args) throws IOException {
    String out = "-";
    int iters = 30;
    boolean quick = false;
    boolean det = true;
    boolean stream = true;
    long warmUpMs = 1000;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--out" -> out = args[++i];
        case "--iters" -> iters = Integer.parseInt(args[++i]);
        case "--quick" -> quick = true;
        case "--no-det" -> det = false;
        case "--no-stream" -> stream = false;
        case "--points" -> points = java.util.regex.Pattern.compile(args[++i]);
        case "--warmup-ms" -> warmUpMs = Long.parseLong(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]
            + "; usage: CudaBench [--out file.csv] [--iters 30] [--quick] [--no-det] [--no-stream]"
            + " [--points REGEX (of suite,n,d,batch,scenario,config; a part of the grid)] [--warmup-ms 1000]");
      }
    }
    if (CudaDevices.count() == 0) {
      System.err.println("no CUDA device: " + CudaDevices.unavailableReason());
      System.exit(2);
    }
    PrintStream ps = out.equals("-") ? System.out : new PrintStream(Files.newOutputStream(Path.of(out)), true);
    ps.println("suite,impl,mode,num_embeddings,dim,batch,scenario,config,ms_median,ms_min");
    CudaBench b = new CudaBench(ps, iters, 5, det, stream);
    long t0 = System.nanoTime();
    warmUpDevice(warmUpMs);
    int[] sizes = quick ? new int[] {1000, 1_000_000} : new int[] {1000, 100_000, 1_000_000};
    int[] dims = quick ? new int[] {8, 128} : new int[] {8, 32, 128};
    int[] batches = quick ? new int[] {1024, 131072} : new int[] {1024, 16384, 131072};
    for (int n : sizes) {
      for (int d : dims) {
        b.single(n, d, batches);
      }
    }
    for (Map.Entry<String, int[]> c : MULTI_CONFIGS.entrySet()) {
      b.multi(c.getKey(), c.getValue(), batches);
    }
    System.err.printf(Locale.ROOT, "# CudaBench done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    ps.flush();
  }

  /**
   * Keeps the GPU busy for ms milliseconds before the first point. The grid starts with its smallest
   * steps (about 20 us of GPU time each); measured right after start-up, on an H200 whose clocks had not
   * come up yet, they took twice as long as the same points measured later in the same call
   * (docs/benchmarks.md, "Deterministic mode, fifth pass").
   */
  private static void warmUpDevice(long ms) {
    if (ms <= 0) {
      return;
    }
    int n = 100_000;
    int b = 131_072;
    ModelSpec spec = spec(new int[] {n}, new int[] {32});
    try (CudaBackend be = CudaBackend.open(spec, new BackendOptions(false, 0), 0, ModelState.initial(spec))) {
      RowBlock block = new RowBlock(1, 0, b, IndexScenarios.draw(new SplittableRandom(1), b, n, "UNIFORM"), null,
          new float[b], null);
      long steps = 0;
      long end = System.nanoTime() + ms * 1_000_000L;
      try (ResidentBatches.ResidentBatch rb = ResidentBatches.upload(be, block, 0, b)) {
        while (System.nanoTime() < end) {
          for (int i = 0; i < 20; i++) {
            ResidentBatches.trainStep(be, rb);
          }
          ResidentBatches.synchronize(be);
          steps += 20;
        }
      }
      be.drainLoss();
      System.err.printf(Locale.ROOT, "# warm-up: %d steps of batch %d in %d ms before the grid%n", steps, b, ms);
    }
  }

  static ModelSpec spec(int[] sizes, int[] dims) {
    return ModelSpec.builder(sizes, dims).head(HeadType.LINEAR).loss(LossType.SQUARED)
        .optimizer(OptimizerSpec.of(OptimizerType.SGD, 0.01f, 0f)).initStd(1f).seed(7).build();
  }

  private void single(int n, int d, int[] batches) {
    ModelSpec spec = spec(new int[] {n}, new int[] {d});
    ModelState init = ModelState.initial(spec);
    try (CudaBackend atomic = CudaBackend.open(spec, new BackendOptions(false, 0), 0, init);
        CudaBackend det = withDet ? CudaBackend.open(spec, new BackendOptions(true, 0), 0, init) : null) {
      System.err.println("# single n=" + n + " d=" + d + " on " + atomic.device());
      for (int b : batches) {
        for (String sc : SCENARIOS) {
          RowBlock block = new RowBlock(1, 0, b, IndexScenarios.draw(rng, b, n, sc), null, new float[b], null);
          String key = "single,%s,train," + n + "," + d + "," + b + "," + sc + ",";
          run(atomic, det, block, key);
        }
      }
    }
  }

  private void multi(String name, int[] dims, int[] batches) {
    int[] base = {1000, 5000, 10000, 50000};
    int[] sizes = new int[dims.length];
    for (int i = 0; i < dims.length; i++) {
      sizes[i] = base[i % base.length];
    }
    ModelSpec spec = spec(sizes, dims);
    ModelState init = ModelState.initial(spec);
    int sumDims = Arrays.stream(dims).sum();
    try (CudaBackend atomic = CudaBackend.open(spec, new BackendOptions(false, 0), 0, init);
        CudaBackend det = withDet ? CudaBackend.open(spec, new BackendOptions(true, 0), 0, init) : null) {
      System.err.println("# multi " + name + " on " + atomic.device());
      for (int b : batches) {
        for (String[] sc : MULTI_SCENARIOS) {
          int nf = dims.length;
          int[] idx = new int[b * nf];
          for (int f = 0; f < nf; f++) {
            int[] col = IndexScenarios.draw(rng, b, sizes[f], sc[1]);
            for (int r = 0; r < b; r++) {
              idx[r * nf + f] = col[r];
            }
          }
          RowBlock block = new RowBlock(nf, 0, b, idx, null, new float[b], null);
          String key = "multi,%s,train,," + sumDims + "," + b + "," + sc[0] + "," + name;
          run(atomic, det, block, key);
        }
      }
    }
  }

  private void run(CudaBackend atomic, CudaBackend det, RowBlock block, String key) {
    if (points != null && !points.matcher(key.replace("%s,train,", "")).find()) {
      return;
    }
    int b = block.rows;
    try (ResidentBatches.ResidentBatch rb = ResidentBatches.upload(atomic, block, 0, b)) {
      emit(key, "fe_cuda", timeResident(atomic, rb));
    }
    if (det != null) {
      try (ResidentBatches.ResidentBatch rb = ResidentBatches.upload(det, block, 0, b)) {
        emit(key, "fe_cuda_det", timeResident(det, rb));
      }
    }
    if (withStream) {
      for (int i = 0; i < warmup; i++) {
        atomic.trainStep(block, 0, b);
      }
      ResidentBatches.synchronize(atomic);
      long t0 = System.nanoTime();
      for (int i = 0; i < iters; i++) {
        atomic.trainStep(block, 0, b);
      }
      ResidentBatches.synchronize(atomic);
      double ms = (System.nanoTime() - t0) / 1e6 / iters;
      emit(key, "fe_cuda_stream", new double[] {ms, ms});
    }
    atomic.drainLoss();
    if (det != null) {
      det.drainLoss();
    }
  }

  /** Median and minimum of CUDA-event times of single steps, after warm-up (the baseline's method). */
  private double[] timeResident(CudaBackend be, ResidentBatches.ResidentBatch rb) {
    for (int i = 0; i < warmup; i++) {
      ResidentBatches.trainStep(be, rb);
    }
    ResidentBatches.synchronize(be);
    double[] t = new double[iters];
    var a = ResidentBatches.newTimingEvent(be);
    var z = ResidentBatches.newTimingEvent(be);
    for (int i = 0; i < iters; i++) {
      ResidentBatches.record(be, a);
      ResidentBatches.trainStep(be, rb);
      ResidentBatches.record(be, z);
      t[i] = ResidentBatches.elapsedMillis(be, a, z);
    }
    ResidentBatches.destroyEvents(a, z);
    Arrays.sort(t);
    double median = iters % 2 == 1 ? t[iters / 2] : (t[iters / 2 - 1] + t[iters / 2]) / 2;
    return new double[] {median, t[0]};
  }

  private void emit(String key, String impl, double[] ms) {
    csv.println(String.format(Locale.ROOT, key, impl) + String.format(Locale.ROOT, ",%.4f,%.4f", ms[0], ms[1]));
  }
}
