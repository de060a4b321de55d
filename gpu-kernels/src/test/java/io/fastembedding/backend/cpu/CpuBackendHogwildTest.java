package io.fastembedding.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.reference.ReferenceModel;
import io.fastembedding.testutil.Data;
import io.fastembedding.testutil.Specs;
import io.fastembedding.testutil.StateAssert;
import io.fastembedding.testutil.Synthetic;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hogwild mode (two threads racing, updates applied row by row) reaches the loss the reference reaches
 * with the same batches, on data with a learnable signal; and where no two rows of a batch share a table
 * row, it takes the reference's steps.
 */
class CpuBackendHogwildTest {
  static final int ROWS = 4096;
  static final int BATCH = 256;
  static final int EPOCHS = 4;

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String h : new String[] {"fm", "linear", "mlp:8"}) {
      for (OptimizerType o : OptimizerType.values()) {
        out.add(Arguments.of(h, o));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void hogwildReachesTheReferenceLoss(String head, OptimizerType opt) {
    float lr = opt != OptimizerType.SGD ? 0.05f : head.equals("linear") ? 4f : head.equals("fm") ? 2f : 1f;
    ModelSpec spec = Specs.builder(head, 0).loss(LossType.LOGISTIC)
        .optimizer(OptimizerSpec.of(opt, lr, 1e-3f)).initStd(0.1f).build();
    RowBlock data = new Synthetic.TrueFm(new int[] {50, 30, 80, 10}, 3, 0.7, 1.0, 31)
        .sample(ROWS, 32).block();
    ReferenceModel ref = ReferenceModel.initial(spec);
    double initial = ref.meanLoss(data, 0, ROWS);
    double hog;
    double det;
    try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(false, 2));
        CpuBackend dcpu = new CpuBackend(spec, new BackendOptions(true, 2))) {
      for (int e = 0; e < EPOCHS; e++) {
        for (int s = 0; s < ROWS; s += BATCH) {
          ref.step(data, s, BATCH);
          cpu.trainStep(data, s, BATCH);
          dcpu.trainStep(data, s, BATCH);
        }
      }
      hog = new ReferenceModel(cpu.exportState()).meanLoss(data, 0, ROWS);
      det = new ReferenceModel(dcpu.exportState()).meanLoss(data, 0, ROWS);
    }
    double fin = ref.meanLoss(data, 0, ROWS);
    String losses = "initial " + initial + ", reference " + fin + ", hogwild " + hog;
    assertTrue(fin < initial - 0.01, "the reference did not learn: " + losses);
    // deterministic mode follows the reference closely
    assertEquals(fin, det, 1e-4 * fin, losses + ", deterministic " + det);
    // Hogwild learns at least 80% as much as the reference...
    assertTrue(hog <= initial - 0.8 * (initial - fin), "hogwild learned too little: " + losses);
    // ...and not implausibly more: it applies each occurrence's update at once, so Adagrad takes
    // more, smaller-denominator steps than one update per batch (up to ~7% lower loss seen here).
    assertTrue(hog >= 0.85 * fin, "hogwild's loss is far below the reference's: " + losses);
  }

  static Stream<Arguments> disjointCases() {
    List<Arguments> out = new ArrayList<>();
    for (String h : new String[] {"fm", "fwfm", "fm@19", "fwfm@19", "linear", "mlp:8"}) {
      for (OptimizerType o : new OptimizerType[] {OptimizerType.SGD, OptimizerType.ADAGRAD}) {
        for (int k : new int[] {0, 2}) {
          out.add(Arguments.of(h, o, k));
        }
      }
    }
    return out.stream();
  }

  /**
   * Applying a row's updates at once changes nothing when no later row of the batch reads them: on
   * batches whose rows share no table row, Hogwild's steps are the batch rule's. So everything it
   * computes per row, the head's gradient (summed per thread, then over threads) included, is checked
   * here against the double reference, as CpuBackendAgreementTest checks deterministic mode, with its
   * tolerances.
   */
  @ParameterizedTest(name = "{0} {1} numeric={2}")
  @MethodSource("disjointCases")
  void hogwildOnRowsThatShareNoTableRowTakesTheReferenceSteps(String head, OptimizerType opt, int k) {
    int[] sizes = {300, 200, 400, 256};
    float lr = opt == OptimizerType.SGD ? 0.5f : 0.02f;
    ModelSpec spec = Specs.builder(head, k, sizes).loss(LossType.LOGISTIC).initStd(0.1f)
        .optimizer(new OptimizerSpec(opt, lr, 0.05f, CpuBackendAgreementTest.EPSILON)).build();
    int batch = 128;
    int steps = 6;
    RowBlock data = Data.random(spec, steps * batch, true, 21);
    // each step's rows take distinct rows of every table: the first `batch` of a shuffle of the table
    SplittableRandom rnd = new SplittableRandom(22);
    for (int s = 0; s < steps; s++) {
      for (int f = 0; f < sizes.length; f++) {
        int[] perm = new int[sizes[f]];
        for (int i = 0; i < perm.length; i++) {
          int j = rnd.nextInt(i + 1);
          perm[i] = perm[j];
          perm[j] = i;
        }
        for (int r = 0; r < batch; r++) {
          data.indices[(s * batch + r) * sizes.length + f] = perm[r];
        }
      }
    }
    ReferenceModel ref = ReferenceModel.initial(spec);
    try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(false, 2))) {
      for (int s = 0; s < steps; s++) {
        ref.step(data, s * batch, batch);
        cpu.trainStep(data, s * batch, batch);
      }
      StateAssert.assertClose("hogwild after " + steps + " steps", cpu.exportState(), ref,
          CpuBackendAgreementTest.RTOL, CpuBackendAgreementTest.ATOL);
    }
  }
}
