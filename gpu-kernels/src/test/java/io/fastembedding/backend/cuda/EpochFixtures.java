package io.fastembedding.backend.cuda;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.reference.ReferenceModel;
import io.fastembedding.testutil.FloatAgreement;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The setup the epoch tests share ({@link CudaTrainEpochTest}, {@link ResidentEpochTest}): the grid of
 * cases, the model of a case, the block and batch sizes, and the baselines of their atomic-mode checks.
 */
final class EpochFixtures {
  private EpochFixtures() {}

  /** Not a multiple of the batch: an epoch is 9 full batches of 256 and a short one of 196. */
  static final int ROWS = 2500;
  static final int BATCH = 256;

  /** Every head x optimizer; weights, numeric features and (CudaTrainEpochTest) chunking varied across. */
  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    int i = 0;
    for (HeadType h : HeadType.values()) {
      for (OptimizerType o : OptimizerType.values()) {
        // weights and numeric features on and off across the grid, one or several upload chunks
        out.add(Arguments.of(h, o, i % 2 == 0, i % 3 != 0, i % 2 == 1));
        i++;
      }
    }
    return out.stream();
  }

  static ModelSpec spec(HeadType head, OptimizerType opt, boolean numeric, long seed) {
    int[] sizes = head == HeadType.LINEAR ? new int[] {5, 40, 200, 1000} : new int[] {50, 7, 300};
    int[] dims = head.factorized() ? new int[] {8, 8, 8} : head == HeadType.LINEAR ? new int[] {1, 2, 4, 8}
        : new int[] {4, 3, 8};
    return ModelSpec.builder(sizes, dims).numNumeric(numeric ? 2 : 0).head(head).hiddenLayers(16, 8)
        .loss(head == HeadType.LINEAR ? LossType.SQUARED : LossType.LOGISTIC)
        .optimizer(new OptimizerSpec(opt, opt == OptimizerType.SGD ? 0.5f : 0.05f, 0.01f, CudaBackendTest.EPSILON))
        .initStd(0.1f).seed(seed).build();
  }

  /** One case of the grid, drawn: its seed, its name for messages, its model, and two blocks of ROWS rows. */
  record Case(long seed, String what, ModelSpec spec, RowBlock a, RowBlock b) {
    /**
     * The case of {@code head} x {@code opt} with seed {@code base + stride * (10 head + opt)} (a stride per
     * test, so that the tests draw different data), its blocks' indices drawn from {@code scenario}
     * (IndexScenarios); {@code label} is said in messages after head/optimizer.
     */
    static Case draw(long base, long stride, HeadType head, OptimizerType opt, boolean weights, boolean numeric,
        String scenario, String label) {
      long seed = base + stride * (head.ordinal() * 10 + opt.ordinal());
      String what = head.id() + "/" + opt.id() + " " + label + " (seed " + seed + ")";
      ModelSpec spec = EpochFixtures.spec(head, opt, numeric, seed);
      SplittableRandom rnd = new SplittableRandom(seed);
      RowBlock a = CudaBackendTest.data(spec, ROWS, scenario, weights, rnd);
      RowBlock b = CudaBackendTest.data(spec, ROWS, scenario, weights, rnd);
      return new Case(seed, what, spec, a, b);
    }
  }

  /** The seed of the within-batch permutation of block {@code block} for CPU order {@code order} (>= 1). */
  interface OrderSeed {
    long of(int block, int order);
  }

  /**
   * The baselines of an atomic-mode check, after the same steps as the GPU: the double reference, and
   * the CPU backend (the float32 baseline) in {@code CudaBackendTest.CpuBaselines.ORDERS} orders of the
   * rows within each batch (order 0: as given).
   */
  record Baselines(ReferenceModel ref, double refLoss, double[] cpuLoss, List<ModelState> cpuStates) {
    /**
     * {@code blocks} in turn, each in batches of {@link #BATCH}; then, if {@code tail} is not null, its rows
     * {@code [tailStart, tailStart + tailCount)} as one more step (not permuted).
     */
    static Baselines of(ModelSpec spec, RowBlock[] blocks, OrderSeed seeds, RowBlock tail, int tailStart,
        int tailCount) {
      ReferenceModel ref = ReferenceModel.initial(spec);
      double refLoss = 0;
      int orders = CudaBackendTest.CpuBaselines.ORDERS;
      double[] cpuLoss = new double[orders];
      List<ModelState> cpuStates = new ArrayList<>();
      for (int i = 0; i < orders; i++) {
        try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(true, 2))) {
          for (int e = 0; e < blocks.length; e++) {
            RowBlock h = i == 0 ? blocks[e] : FloatAgreement.permutedWithinBatches(blocks[e], BATCH, seeds.of(e, i));
            for (int s = 0; s < h.rows; s += BATCH) {
              int c = Math.min(BATCH, h.rows - s);
              if (i == 0) {
                refLoss += ref.weightedLossSum(h, s, c);
                ref.step(h, s, c);
              }
              cpu.trainStep(h, s, c);
            }
          }
          if (tail != null) {
            if (i == 0) {
              refLoss += ref.weightedLossSum(tail, tailStart, tailCount);
              ref.step(tail, tailStart, tailCount);
            }
            cpu.trainStep(tail, tailStart, tailCount);
          }
          cpuLoss[i] = cpu.drainLoss().weightedLoss();
          cpuStates.add(cpu.exportState());
        }
      }
      return new Baselines(ref, refLoss, cpuLoss, cpuStates);
    }
  }
}
