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
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link CudaBackend#trainEpoch} (the block uploaded once, steps replayed from device memory) against the
 * per-step loop of {@link CudaBackend#trainStep} on a second backend of the same type: bit for bit in
 * deterministic mode, within the rounding of reordered atomics otherwise. Skipped without a GPU.
 */
class CudaTrainEpochTest implements NeedsGpu {
  private static final long SEED = io.fastembedding.testutil.TestSeeds.base(CudaTrainEpochTest.class);
  /** 2 full epochs of 2500 rows in batches of 256: 9 full batches and one of 196. */
  private static final int ROWS = EpochFixtures.ROWS;
  private static final int BATCH = EpochFixtures.BATCH;
  /** A chunk of about two batches, so an epoch's upload takes several chunks and both staging slots. */
  private static final long SMALL_CHUNK = 16 * 1024;

  private static void stepLoop(CudaBackend b, RowBlock block, int batch) {
    for (int start = 0; start < block.rows; start += batch) {
      b.trainStep(block, start, Math.min(batch, block.rows - start));
    }
  }

  /**
   * Two epochs on two different blocks (as the trainer's reshuffles give), then a plain step, which
   * must see the epoch's writes and not race its reads of the shared input buffer.
   */
  private static void run(CudaBackend epoch, CudaBackend loop, RowBlock a, RowBlock b) {
    epoch.trainEpoch(a, BATCH);
    epoch.trainEpoch(b, BATCH);
    epoch.trainStep(a, 17, 100);
    stepLoop(loop, a, BATCH);
    stepLoop(loop, b, BATCH);
    loop.trainStep(a, 17, 100);
  }

  @ParameterizedTest(name = "{0} {1} weights={2} numeric={3} severalChunks={4}")
  @MethodSource("io.fastembedding.backend.cuda.EpochFixtures#cases")
  void deterministicEpochIsBitIdenticalToTheStepLoop(HeadType head, OptimizerType opt, boolean weights,
      boolean numeric, boolean severalChunks) {
    EpochFixtures.Case c = EpochFixtures.Case.draw(SEED, 31L, head, opt, weights, numeric, "UNIFORM",
        "weights=" + weights + " numeric=" + numeric);
    RowBlock a = c.a();
    RowBlock b = c.b();
    long saved = CudaBackend.epochChunkBytes;
    if (severalChunks) {
      CudaBackend.epochChunkBytes = SMALL_CHUNK;
    }
    try (CudaBackend epoch = CudaBackend.open(c.spec(), new BackendOptions(true, 0), 0);
        CudaBackend loop = CudaBackend.open(c.spec(), new BackendOptions(true, 0), 0)) {
      run(epoch, loop, a, b);
      ModelState s = loop.exportState();
      assertFalse(s.bitEquals(ModelState.initial(c.spec())), c.what() + ": training changed nothing");
      assertTrue(epoch.exportState().bitEquals(s), c.what() + ": trainEpoch differs from the trainStep loop");
      LossSum le = epoch.drainLoss();
      assertEquals(loop.drainLoss(), le, c.what() + ": loss sums");
      assertEquals(2L * ROWS + 100, le.rows(), c.what() + ": rows");
    } finally {
      CudaBackend.epochChunkBytes = saved;
    }
  }

  @ParameterizedTest(name = "{0} {1} weights={2} numeric={3} severalChunks={4}")
  @MethodSource("io.fastembedding.backend.cuda.EpochFixtures#cases")
  void atomicEpochMatchesTheStepLoop(HeadType head, OptimizerType opt, boolean weights, boolean numeric,
      boolean severalChunks) {
    EpochFixtures.Case c = EpochFixtures.Case.draw(SEED, 37L, head, opt, weights, numeric, "POW_1_2_K",
        "atomic");
    RowBlock a = c.a();
    RowBlock b = c.b();
    long saved = CudaBackend.epochChunkBytes;
    if (!severalChunks) {
      CudaBackend.epochChunkBytes = SMALL_CHUNK;
    }
    try (CudaBackend epoch = CudaBackend.open(c.spec(), new BackendOptions(false, 0), 0);
        CudaBackend loop = CudaBackend.open(c.spec(), new BackendOptions(false, 0), 0)) {
      run(epoch, loop, a, b);
      // the same steps on the double reference and on the CPU backend (the float32 baseline): blocks a
      // and b in batches, then rows [17, 117) of a
      EpochFixtures.Baselines base = EpochFixtures.Baselines.of(c.spec(), new RowBlock[] {a, b},
          (block, order) -> c.seed() * (block == 0 ? 31 : 37) + order, a, 17, 100);
      FloatAgreement.assertStates(c.what() + " trainEpoch", base.ref(), base.cpuStates(), epoch.exportState());
      FloatAgreement.assertStates(c.what() + " trainStep loop", base.ref(), base.cpuStates(), loop.exportState());
      LossSum le = epoch.drainLoss();
      LossSum ll = loop.drainLoss();
      assertEquals(ll.rows(), le.rows(), c.what() + ": rows");
      assertEquals(ll.weight(), le.weight(), 1e-6 * Math.max(1, ll.weight()), c.what() + ": weight sums");
      FloatAgreement.assertScalar(c.what() + ": loss sum", base.refLoss(), base.cpuLoss(), le.weightedLoss());
    } finally {
      CudaBackend.epochChunkBytes = saved;
    }
  }

  @Test
  void batchLargerThanTheBlockAndBadArguments() {
    ModelSpec spec = EpochFixtures.spec(HeadType.FM, OptimizerType.ADAGRAD, true, SEED);
    RowBlock block = CudaBackendTest.data(spec, 300, "UNIFORM", true, new SplittableRandom(SEED));
    try (CudaBackend epoch = CudaBackend.open(spec, new BackendOptions(true, 0), 0);
        CudaBackend loop = CudaBackend.open(spec, new BackendOptions(true, 0), 0)) {
      epoch.trainEpoch(block, 1000);
      loop.trainStep(block, 0, 300);
      assertTrue(epoch.exportState().bitEquals(loop.exportState()), "one batch of the whole block");
      assertThrows(IllegalArgumentException.class, () -> epoch.trainEpoch(block, 0));
      assertThrows(IllegalArgumentException.class, () -> epoch.trainEpoch(null, 10));
      RowBlock unlabelled = new RowBlock(block.numFields, block.numNumeric, block.rows, block.indices,
          block.numeric, null, null);
      assertThrows(IllegalArgumentException.class, () -> epoch.trainEpoch(unlabelled, 10));
      epoch.trainEpoch(RowBlock.allocate(3, 2, 0, false), 10);  // empty: nothing to do
      assertEquals(300, epoch.drainLoss().rows());
    }
  }
}
