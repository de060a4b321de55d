package io.fastembedding.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.testutil.FloatAgreement;
import io.fastembedding.train.EpochPermutation;
import io.fastembedding.train.Trainer;
import io.fastembedding.train.TrainerConfig;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Epochs from a block kept on the device and shuffled there ({@link CudaBackend#trainEpochPermuted})
 * against the same epochs with the rows gathered on the host and uploaded each time
 * ({@link CudaBackend#trainEpoch}): bit for bit in deterministic mode; in atomic mode within the
 * GPU-vs-CPU agreement of {@link FloatAgreement} against the double reference. Also: the device's
 * permutation is the host's, a block is uploaded once for all its epochs, and the trainer uses the
 * resident path. Skipped without a GPU.
 */
class ResidentEpochTest implements NeedsGpu {
  private static final long SEED = io.fastembedding.testutil.TestSeeds.base(ResidentEpochTest.class);
  /** Not a multiple of the batch: the last batch of each epoch is short. */
  private static final int ROWS = EpochFixtures.ROWS;
  private static final int BATCH = EpochFixtures.BATCH;

  static RowBlock gathered(RowBlock src, EpochPermutation order) {
    RowBlock out = RowBlock.allocate(src.numFields, src.numNumeric, src.rows, src.weights != null);
    order.gather(src, out);
    return out;
  }

  /** Epochs 0 and 1 of block a, epoch 2 of block b, epoch 3 of a again (its upload reused). */
  static EpochPermutation[] orders(long seed) {
    EpochPermutation[] p = new EpochPermutation[4];
    for (int e = 0; e < 4; e++) {
      p[e] = EpochPermutation.forEpoch(ROWS, seed, e);
    }
    return p;
  }

  static RowBlock[] blocks(RowBlock a, RowBlock b) {
    return new RowBlock[] {a, a, b, a};
  }

  @ParameterizedTest(name = "{0} {1} weights={2} numeric={3}")
  @MethodSource("io.fastembedding.backend.cuda.EpochFixtures#cases")
  void deterministicResidentEpochsAreBitIdenticalToFreshUploads(HeadType head, OptimizerType opt,
      boolean weights, boolean numeric, boolean unused) {
    EpochFixtures.Case c = EpochFixtures.Case.draw(SEED, 41L, head, opt, weights, numeric, "UNIFORM",
        "weights=" + weights + " numeric=" + numeric);
    EpochPermutation[] p = orders(c.seed());
    RowBlock[] blk = blocks(c.a(), c.b());
    try (CudaBackend resident = CudaBackend.open(c.spec(), new BackendOptions(true, 0), 0);
        CudaBackend fresh = CudaBackend.open(c.spec(), new BackendOptions(true, 0), 0)) {
      for (int e = 0; e < p.length; e++) {
        assertTrue(resident.trainEpochPermuted(blk[e], p[e], BATCH), c.what() + ": the block fits the device");
        fresh.trainEpoch(gathered(blk[e], p[e]), BATCH);
      }
      assertEquals(2, resident.residentUploads(), c.what() + ": blocks a and b uploaded once each");
      ModelState s = fresh.exportState();
      assertFalse(s.bitEquals(ModelState.initial(c.spec())), c.what() + ": training changed nothing");
      assertTrue(resident.exportState().bitEquals(s), c.what() + ": resident epochs differ from fresh uploads");
      LossSum lr = resident.drainLoss();
      assertEquals(fresh.drainLoss(), lr, c.what() + ": loss sums");
      assertEquals(4L * ROWS, lr.rows(), c.what() + ": rows");
    }
  }

  @ParameterizedTest(name = "{0} {1} weights={2} numeric={3}")
  @MethodSource("io.fastembedding.backend.cuda.EpochFixtures#cases")
  void atomicResidentEpochsAgreeWithTheCpu(HeadType head, OptimizerType opt, boolean weights, boolean numeric,
      boolean unused) {
    EpochFixtures.Case c = EpochFixtures.Case.draw(SEED, 43L, head, opt, weights, numeric, "POW_1_2_K",
        "atomic");
    EpochPermutation[] p = orders(c.seed());
    RowBlock[] blk = blocks(c.a(), c.b());
    RowBlock[] host = new RowBlock[p.length];
    for (int e = 0; e < p.length; e++) {
      host[e] = gathered(blk[e], p[e]);
    }
    try (CudaBackend resident = CudaBackend.open(c.spec(), new BackendOptions(false, 0), 0)) {
      for (int e = 0; e < p.length; e++) {
        assertTrue(resident.trainEpochPermuted(blk[e], p[e], BATCH), c.what() + ": the block fits the device");
      }
      EpochFixtures.Baselines base = EpochFixtures.Baselines.of(c.spec(), host,
          (block, order) -> c.seed() * 31 + order + block, null, 0, 0);
      FloatAgreement.assertStates(c.what() + " resident epochs", base.ref(), base.cpuStates(), resident.exportState());
      LossSum lr = resident.drainLoss();
      assertEquals(4L * ROWS, lr.rows(), c.what() + ": rows");
      FloatAgreement.assertScalar(c.what() + ": loss sum", base.refLoss(), base.cpuLoss(), lr.weightedLoss());
    }
  }

  /** The trainer on the GPU takes the resident path, and gives what it gives on host-gathered rows. */
  @Test
  void trainerUsesTheResidentPathWithTheHostOrder() {
    ModelSpec spec = EpochFixtures.spec(HeadType.FM, OptimizerType.ADAGRAD, true, SEED);
    RowBlock block = CudaBackendTest.data(spec, ROWS, "UNIFORM", true, new SplittableRandom(SEED));
    TrainerConfig config = new TrainerConfig(BATCH, 3, true, SEED);
    try (CudaBackend viaTrainer = CudaBackend.open(spec, new BackendOptions(true, 0), 0);
        CudaBackend byHand = CudaBackend.open(spec, new BackendOptions(true, 0), 0)) {
      new Trainer(viaTrainer, config).trainValidated(block, 5);
      assertEquals(1, viaTrainer.residentUploads(), "one upload for three epochs");
      for (int e = 5; e < 8; e++) {
        byHand.trainEpoch(gathered(block, EpochPermutation.forEpoch(ROWS, SEED, e)), BATCH);
      }
      assertTrue(viaTrainer.exportState().bitEquals(byHand.exportState()),
          "the trainer's resident epochs differ from the host order (seed " + SEED + ")");
      EpochPermutation wrong = EpochPermutation.of(ROWS + 1, 1);
      assertThrows(IllegalArgumentException.class, () -> viaTrainer.trainEpochPermuted(block, wrong, BATCH));
    }
  }

  /** Blocks of at most 1024 rows take the longer network (8 rounds) on both sides, and a 1-row block. */
  @Test
  void smallBlocksTakeTheSameOrderOnTheDevice() {
    ModelSpec spec = EpochFixtures.spec(HeadType.FM, OptimizerType.ADAGRAD, true, SEED);
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (int rows : new int[] {1, 7, 300, 1024, 1025}) {
      RowBlock block = CudaBackendTest.data(spec, rows, "UNIFORM", true, rnd);
      try (CudaBackend resident = CudaBackend.open(spec, new BackendOptions(true, 0), 0);
          CudaBackend fresh = CudaBackend.open(spec, new BackendOptions(true, 0), 0)) {
        for (int e = 0; e < 2; e++) {
          EpochPermutation p = EpochPermutation.forEpoch(rows, SEED, e);
          assertTrue(resident.trainEpochPermuted(block, p, 64), "rows " + rows);
          fresh.trainEpoch(gathered(block, p), 64);
        }
        assertTrue(resident.exportState().bitEquals(fresh.exportState()),
            "rows " + rows + ": the device's order differs from the host's (seed " + SEED + ")");
      }
    }
  }
}
