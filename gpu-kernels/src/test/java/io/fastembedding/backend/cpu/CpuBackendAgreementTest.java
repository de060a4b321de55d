package io.fastembedding.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.reference.ReferenceModel;
import io.fastembedding.testutil.Data;
import io.fastembedding.testutil.Specs;
import io.fastembedding.testutil.StateAssert;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend in deterministic mode against the double-precision reference, step by step: model
 * state, optimizer state, reported loss, predictions and embeddings.
 */
class CpuBackendAgreementTest {
  static final int STEPS = 10;
  static final int BATCH = 256;
  /** Float arithmetic over 10 steps: relative 2e-5 of a value, or 2e-6 of its array's largest value. */
  static final double RTOL = 2e-5;
  static final double ATOL = 2e-6;

  /**
   * Adagrad's first step on an element is lr * g / (|g| + eps): where a row's occurrences cancel to
   * |g| ~ eps, float rounding of g (relative error amplified by the cancellation) changes that step by
   * a visible fraction of lr. An eps well above such cancellation residues keeps the comparison well
   * conditioned, and makes eps itself matter to the result.
   */
  static final float EPSILON = 1e-4f;

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    // dim 19 for the factorized heads: a 16-lane SIMD register and a scalar tail in every latent loop
    List<String> heads = new ArrayList<>(List.of(Specs.HEADS));
    heads.addAll(List.of("fm@19", "fwfm@19"));
    for (String h : heads) {
      for (OptimizerType o : OptimizerType.values()) {
        for (int k : new int[] {0, 2}) {
          for (float l2 : new float[] {0f, 0.05f}) {
            out.add(Arguments.of(h, o, k, l2));
          }
        }
      }
    }
    return out.stream();
  }

  static float learningRate(OptimizerType o) {
    return o == OptimizerType.SGD ? 0.5f : 0.02f;
  }

  @ParameterizedTest(name = "{0} {1} numeric={2} l2={3}")
  @MethodSource("cases")
  void deterministicStepsMatchTheReference(String head, OptimizerType opt, int k, float l2) {
    // Both losses and both weightings are covered: each head and optimizer meets each combination.
    LossType loss = k == 0 ? LossType.LOGISTIC : LossType.SQUARED;
    boolean weights = l2 > 0;
    ModelSpec spec = Specs.spec(head, k, loss, new OptimizerSpec(opt, learningRate(opt), l2, EPSILON));
    RowBlock data = Data.random(spec, STEPS * BATCH, weights, 11);
    ReferenceModel ref = ReferenceModel.initial(spec);
    ModelState initial = ModelState.initial(spec);
    double refLoss = 0;
    double refWeight = 0;
    try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(true, 2))) {
      for (int s = 0; s < STEPS; s++) {
        refLoss += ref.weightedLossSum(data, s * BATCH, BATCH);
        for (int r = s * BATCH; r < (s + 1) * BATCH; r++) {
          refWeight += data.weight(r);
        }
        ref.step(data, s * BATCH, BATCH);
        cpu.trainStep(data, s * BATCH, BATCH);
      }
      ModelState got = cpu.exportState();
      StateAssert.assertClose("after " + STEPS + " steps", got, ref, RTOL, ATOL);

      LossSum ls = cpu.drainLoss();
      assertEquals((long) STEPS * BATCH, ls.rows());
      assertEquals(refWeight, ls.weight(), 1e-6 * refWeight);
      assertEquals(refLoss, ls.weightedLoss(), 1e-5 * refLoss);

      // scoring uses the trained model; more rows than the parallel-scoring threshold, no labels
      RowBlock labelled = Data.random(spec, 700, false, 12);
      RowBlock eval = new RowBlock(labelled.numFields, labelled.numNumeric, labelled.rows,
          labelled.indices, labelled.numeric, null, null);
      float[] p = new float[eval.rows + 3];
      cpu.predict(eval, 0, eval.rows, p, 3);
      int sd = spec.layout().sumDims();
      float[] e = new float[eval.rows * sd + 5];
      cpu.embed(eval, 0, eval.rows, e, 5);
      for (int r = 0; r < eval.rows; r++) {
        double want = ref.predict(eval, r);
        if (Math.abs(p[3 + r] - want) > 1e-4 * Math.max(1, Math.abs(want))) {
          fail("prediction of row " + r + ": " + p[3 + r] + " vs reference " + want);
        }
        double[] we = ref.embed(eval, r);
        for (int c = 0; c < sd; c++) {
          float g = e[5 + r * sd + c];
          if (Math.abs(g - we[c]) > RTOL * Math.abs(we[c]) + 1e-6) {
            fail("embedding of row " + r + ", column " + c + ": " + g + " vs reference " + we[c]);
          }
        }
      }
    }
    // The comparison is not vacuous: training moved the tables far more than the tolerance.
    assertTrue(moved(initial, ref) > 100 * ATOL, "the tables hardly moved: " + moved(initial, ref));
  }

  /** Largest change of a table value from the initial model, relative to the largest table value. */
  static double moved(ModelState initial, ReferenceModel ref) {
    double mx = 0;
    double scale = 0;
    for (int i = 0; i < ref.tables.length; i++) {
      mx = Math.max(mx, Math.abs(ref.tables[i] - initial.tables[i]));
      scale = Math.max(scale, Math.abs(ref.tables[i]));
    }
    return mx / scale;
  }
}
