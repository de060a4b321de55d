package io.fastembedding.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Deterministic mode gives bit-identical results whatever the thread count. */
class CpuBackendDeterminismTest {
  /** Batch sizes that hit the chunking's edges: one row, one chunk plus one, many full chunks. */
  static final int[] BATCHES = {300, 1, 65, 5000, 300, 777};

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String h : Specs.HEADS) {
      for (OptimizerType o : OptimizerType.values()) {
        out.add(Arguments.of(h, o));
      }
    }
    return out.stream();
  }

  record Run(ModelState state, LossSum loss, float[] predictions) {}

  static Run train(ModelSpec spec, RowBlock data, int threads) {
    try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(true, threads))) {
      int start = 0;
      for (int b : BATCHES) {
        cpu.trainStep(data, start, b);
        start += b;
      }
      float[] p = new float[data.rows];
      cpu.predict(data, 0, data.rows, p, 0);
      return new Run(cpu.exportState(), cpu.drainLoss(), p);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void bitIdenticalForOneTwoAndThreeThreads(String head, OptimizerType opt) {
    ModelSpec spec = Specs.spec(head, 2, LossType.LOGISTIC, opt, opt == OptimizerType.SGD ? 0.5f : 0.05f,
        0.01f);
    int rows = 0;
    for (int b : BATCHES) {
      rows += b;
    }
    RowBlock data = Data.random(spec, rows, true, 5);
    Run one = train(spec, data, 1);
    assertFalse(one.state.bitEquals(ModelState.initial(spec)), "training changed nothing");
    for (int threads : new int[] {2, 3}) {
      Run other = train(spec, data, threads);
      assertTrue(one.state.bitEquals(other.state), "state with " + threads + " threads differs from 1");
      assertEquals(one.loss, other.loss, "loss sums with " + threads + " threads differ from 1");
      assertArrayEquals(one.predictions, other.predictions);
    }
    // and it is a function of the inputs: a second run with 1 thread repeats the first exactly
    assertTrue(one.state.bitEquals(train(spec, data, 1).state));
  }
}
