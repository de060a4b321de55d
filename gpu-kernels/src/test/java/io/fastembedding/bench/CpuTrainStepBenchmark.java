package io.fastembedding.bench;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One CPU training step of a batch of 4096 rows (forward, loss, backward, optimizer update), reported as
 * rows per second. Configurations follow the original FastMultiEmbedding benchmark: MT_10XS and MT_10S
 * with table sizes cycling 1000/5000/10000/50000, and one table of 1 000 000 rows of dim 32; FLIGHTS is
 * the flights benchmark's model (five tables of 229, 228, 3 397, 24 and 7 rows, dim 32, one numeric
 * feature). Indices are uniform. The forks get the Vector API module, as Spark's JVMs do, and so run the
 * SIMD loops (the default); {@code -jvmArgsAppend "... -Dfastembedding.cpu.simd=false"} measures the
 * scalar loops. Run with gpu-kernels/bench/cpu-bench.sh; results are in docs/benchmarks.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(CpuTrainStepBenchmark.BATCH)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "--add-modules=jdk.incubator.vector"})
public class CpuTrainStepBenchmark {
  static final int BATCH = 4096;
  private static final int BATCHES = 64;

  /**
   * MT_10XS, MT_10S (original dims), FM_10 (MT_10XS sizes, dim 8: the fm head), SINGLE_1M_32 and
   * FLIGHTS (a common dim of 32, so either head).
   */
  @Param({"MT_10XS", "MT_10S", "FM_10", "SINGLE_1M_32"})
  public String config;

  /** linear or fm (fm only runs on FM_10 and FLIGHTS, the configurations with a common dim). */
  @Param({"linear"})
  public String head;

  @Param({"1", "2"})
  public int threads;

  @Param({"false"})
  public boolean deterministic;

  /** sgd, adagrad, rowwise_adagrad or rowwise_adam (OptimizerType's names). */
  @Param({"sgd"})
  public String optimizer;

  private CpuBackend backend;
  private RowBlock block;
  private int next;

  static int[] dims(String config) {
    return switch (config) {
      case "MT_10XS" -> new int[] {1, 2, 4, 8, 1, 2, 4, 8, 1, 2};
      case "MT_10S" -> new int[] {16, 8, 4, 24, 16, 24, 32, 8, 32, 4};
      case "FM_10" -> new int[] {8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
      case "SINGLE_1M_32" -> new int[] {32};
      case "FLIGHTS" -> new int[] {32, 32, 32, 32, 32};
      default -> throw new IllegalArgumentException("unknown config " + config);
    };
  }

  static int[] sizes(String config, int n) {
    if (config.startsWith("SINGLE")) {
      return new int[] {1_000_000};
    }
    if (config.equals("FLIGHTS")) {
      return new int[] {229, 228, 3397, 24, 7};
    }
    int[] cycle = {1000, 5000, 10000, 50000};
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = cycle[i % 4];
    }
    return s;
  }

  @Setup(Level.Trial)
  public void setup() {
    int[] dims = dims(config);
    int[] sizes = sizes(config, dims.length);
    HeadType h = HeadType.fromId(head);
    boolean flights = config.equals("FLIGHTS");
    if (h == HeadType.FM && !config.equals("FM_10") && !flights) {
      throw new IllegalStateException("fm needs a common dim: run it on FM_10 or FLIGHTS");
    }
    int numeric = flights ? 1 : 0;
    ModelSpec spec = ModelSpec.builder(sizes, dims).numNumeric(numeric).head(h).loss(LossType.LOGISTIC)
        .optimizer(OptimizerSpec.of(OptimizerType.fromId(optimizer), 0.01f, 0f)).seed(1).build();
    backend = new CpuBackend(spec, new BackendOptions(deterministic, threads));
    int n = dims.length;
    int rows = BATCH * BATCHES;
    int[] idx = new int[rows * n];
    float[] labels = new float[rows];
    float[] values = numeric > 0 ? new float[rows * numeric] : null;
    SplittableRandom rnd = new SplittableRandom(7);
    for (int r = 0; r < rows; r++) {
      for (int f = 0; f < n; f++) {
        idx[r * n + f] = rnd.nextInt(sizes[f]);
      }
      labels[r] = rnd.nextInt(2);
      for (int j = 0; j < numeric; j++) {
        values[r * numeric + j] = (float) rnd.nextGaussian();
      }
    }
    block = new RowBlock(n, numeric, rows, idx, values, labels, null);
  }

  @Benchmark
  public void trainStep() {
    backend.trainStep(block, next * BATCH, BATCH);
    next = (next + 1) % BATCHES;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    backend.drainLoss();
    backend.close();
  }
}
