package io.fastembedding.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.testutil.Data;
import io.fastembedding.testutil.Specs;
import org.junit.jupiter.api.Test;

/** The default trainEpoch is the loop of trainStep over contiguous batches, the last one partial. */
class CpuTrainEpochTest {
  @Test
  void defaultTrainEpochEqualsTheStepLoop() {
    for (String head : Specs.HEADS) {
      ModelSpec spec = Specs.spec(head, 2, LossType.LOGISTIC, OptimizerType.ADAGRAD, 0.05f, 0.01f);
      RowBlock data = Data.random(spec, 1000, true, 3);
      int bs = 96;  // 1000 = 10 * 96 + 40
      try (CpuBackend loop = new CpuBackend(spec, new BackendOptions(true, 2));
          CpuBackend epoch = new CpuBackend(spec, new BackendOptions(true, 2));
          CpuBackend oneBatch = new CpuBackend(spec, new BackendOptions(true, 2))) {
        for (int start = 0; start < data.rows; start += bs) {
          loop.trainStep(data, start, Math.min(bs, data.rows - start));
        }
        epoch.trainEpoch(data, bs);
        ModelState a = loop.exportState();
        assertFalse(a.bitEquals(ModelState.initial(spec)), head + ": training changed nothing");
        assertTrue(a.bitEquals(epoch.exportState()), head + ": trainEpoch differs from the step loop");
        LossSum la = loop.drainLoss();
        assertEquals(la, epoch.drainLoss(), head + ": loss sums");
        assertEquals(1000, la.rows());
        // batches really are of the given size: one batch of everything is a different model
        oneBatch.trainEpoch(data, data.rows);
        assertFalse(a.bitEquals(oneBatch.exportState()), head + ": batch size ignored");
        assertThrows(IllegalArgumentException.class, () -> epoch.trainEpoch(data, 0));
      }
    }
  }
}
