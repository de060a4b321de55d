package io.fastembedding.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import org.junit.jupiter.api.Test;

/** Initial values follow docs/model.md: distributions, zeros and determinism. */
class InitializerTest {
  static double[] meanStd(float[] a, int from, int to) {
    double s = 0;
    double q = 0;
    for (int i = from; i < to; i++) {
      s += a[i];
      q += (double) a[i] * a[i];
    }
    int n = to - from;
    double m = s / n;
    return new double[] {m, Math.sqrt(q / n - m * m)};
  }

  static void allZero(float[] a, int from, int to, String what) {
    for (int i = from; i < to; i++) {
      assertEquals(0f, a[i], what + "[" + i + "]");
    }
  }

  @Test
  void tablesAreNormalWithTheConfiguredStdAndGapsStayZero() {
    ModelSpec spec = ModelSpec.builder(new int[] {1001, 2000}, new int[] {3, 5}).head(HeadType.LINEAR)
        .initStd(0.2f).optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.1f, 0f)).build();
    ModelState s = ModelState.initial(spec);
    TableLayout l = spec.layout();
    int end0 = 1001 * 3;
    double[] ms = meanStd(s.tables, 0, end0);
    assertEquals(0, ms[0], 4 * 0.2 / Math.sqrt(end0));
    assertEquals(0.2, ms[1], 0.2 * 0.05);
    allZero(s.tables, end0, (int) l.offset(1), "alignment gap");
    double[] ms1 = meanStd(s.tables, (int) l.offset(1), (int) l.totalFloats());
    assertEquals(0.2, ms1[1], 0.2 * 0.05);
    allZero(s.tableAccum, 0, s.tableAccum.length, "tableAccum");
    allZero(s.headAccum, 0, s.headAccum.length, "headAccum");
    // linear weights U(-1/sqrt(D), 1/sqrt(D)), bias 0
    double bound = 1 / Math.sqrt(8);
    double mx = 0;
    for (int i = 0; i < 8; i++) {
      assertTrue(Math.abs(s.head[i]) <= bound, "linear weight " + i + " = " + s.head[i]);
      mx = Math.max(mx, Math.abs(s.head[i]));
    }
    assertTrue(mx > bound / 4, "linear weights are all tiny");
    assertEquals(0f, s.head[spec.linearBiasOffset()]);
  }

  @Test
  void fmNumericLatentsAreNormalAndEverythingElseZero() {
    ModelSpec spec = ModelSpec.builder(new int[] {10, 10}, new int[] {400, 400}).numNumeric(3)
        .head(HeadType.FM).initStd(0.05f).build();
    ModelState s = ModelState.initial(spec);
    allZero(s.firstOrder, 0, s.firstOrder.length, "firstOrder");
    allZero(s.head, 0, spec.fmNumericLatentOffset(), "fm bias and numeric first-order weights");
    double[] ms = meanStd(s.head, spec.fmNumericLatentOffset(), spec.headSize());
    assertEquals(0.05, ms[1], 0.05 * 0.1);
  }

  @Test
  void mlpIsHeNormalThenUniformOutputWithZeroBiases() {
    ModelSpec spec = ModelSpec.builder(new int[] {10}, new int[] {100}).head(HeadType.MLP)
        .hiddenLayers(64, 16).build();
    ModelState s = ModelState.initial(spec);
    double[] ms = meanStd(s.head, spec.mlpWeightOffset(0), spec.mlpBiasOffset(0));
    assertEquals(Math.sqrt(2.0 / 100), ms[1], Math.sqrt(2.0 / 100) * 0.05);
    double[] ms2 = meanStd(s.head, spec.mlpWeightOffset(1), spec.mlpBiasOffset(1));
    assertEquals(Math.sqrt(2.0 / 64), ms2[1], Math.sqrt(2.0 / 64) * 0.1);
    allZero(s.head, spec.mlpBiasOffset(0), spec.mlpWeightOffset(1), "c1");
    allZero(s.head, spec.mlpBiasOffset(1), spec.mlpOutputWeightOffset(), "c2");
    for (int i = 0; i < 16; i++) {
      assertTrue(Math.abs(s.head[spec.mlpOutputWeightOffset() + i]) <= 0.25);
    }
    assertEquals(0f, s.head[spec.mlpOutputBiasOffset()]);
  }

  @Test
  void theInitialModelIsAFunctionOfTheSeed() {
    ModelSpec a = ModelSpec.builder(new int[] {50, 7}, new int[] {4, 4}).seed(9).build();
    assertTrue(ModelState.initial(a).bitEquals(ModelState.initial(a)));
    ModelSpec b = a.toBuilder().seed(10).build();
    assertFalse(java.util.Arrays.equals(ModelState.initial(a).tables, ModelState.initial(b).tables));
  }
}
