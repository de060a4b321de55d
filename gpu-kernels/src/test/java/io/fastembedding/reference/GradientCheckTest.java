package io.fastembedding.reference;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.testutil.Data;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reference's analytic gradient of the batch objective L against central finite differences of L,
 * for every parameter (tables with alignment gaps, first-order weights, head), in double precision.
 */
class GradientCheckTest {
  private static final double STEP = 1e-6;
  private static final double REL_TOL = 1e-6;
  /** Central differences with this step are accurate to ~1e-10 here; gradients are ~1e-3..1. */
  private static final double ABS_TOL = 1e-8;

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    String[] heads = {"fm", "fwfm", "linear", "mlp:4", "mlp:5,3"};
    for (String h : heads) {
      for (LossType loss : LossType.values()) {
        for (int k : new int[] {0, 2}) {
          for (boolean weights : new boolean[] {false, true}) {
            for (float l2 : new float[] {0f, 0.3f}) {
              out.add(Arguments.of(h, loss, k, weights, l2));
            }
          }
        }
      }
    }
    return out.stream();
  }

  static ModelSpec spec(String head, LossType loss, int k, float l2) {
    boolean fm = head.equals("fm") || head.equals("fwfm");
    ModelSpec.Builder b = ModelSpec.builder(new int[] {5, 4, 6}, fm ? new int[] {3, 3, 3} : new int[] {2, 3, 1})
        .numNumeric(k).loss(loss).optimizer(OptimizerSpec.of(OptimizerType.SGD, 0.1f, l2));
    if (fm) {
      b.head(HeadType.fromId(head));
    } else if (head.equals("linear")) {
      b.head(HeadType.LINEAR);
    } else {
      String[] u = head.substring(4).split(",");
      int[] units = new int[u.length];
      for (int i = 0; i < u.length; i++) {
        units[i] = Integer.parseInt(u[i]);
      }
      b.head(HeadType.MLP).hiddenLayers(units);
    }
    return b.build();
  }

  @ParameterizedTest(name = "{0} {1} numeric={2} weights={3} l2={4}")
  @MethodSource("cases")
  void analyticGradientMatchesFiniteDifferences(String head, LossType loss, int k, boolean weights,
      float l2) {
    ModelSpec spec = spec(head, loss, k, l2);
    ReferenceModel m = ReferenceModel.initial(spec);
    // Values of order 1, so every term of the output matters (the default init is tiny).
    SplittableRandom rnd = new SplittableRandom(head.hashCode() * 31L + k);
    for (double[] a : new double[][] {m.tables, m.firstOrder, m.head}) {
      for (int i = 0; i < a.length; i++) {
        a[i] = 0.5 * Data.gaussian(rnd);
      }
    }
    int rows = 12;
    RowBlock b = Data.random(spec, rows, weights, 7 + k);
    if (spec.head() == HeadType.MLP) {
      // A perturbation of STEP moves a pre-activation by at most ~STEP * |input| * width.
      double margin = m.minAbsPreActivation(b, 0, rows);
      assertTrue(margin > 1e-4, "a ReLU sits at a kink (|pre-activation| = " + margin
          + "); the finite difference would be meaningless: change the seed");
    }
    ReferenceModel.Gradient g = m.gradient(b, 0, rows);
    check(m, b, rows, "tables", m.tables, g.tables);
    check(m, b, rows, "firstOrder", m.firstOrder, g.firstOrder);
    check(m, b, rows, "head", m.head, g.head);

    // Not vacuous: every kind of parameter the case has receives a real gradient.
    assertTrue(maxAbs(g.tables, 0, g.tables.length) > 1e-3, "table gradient is ~0");
    assertTrue(maxAbs(g.head, 0, g.head.length) > 1e-3, "head gradient is ~0");
    if (spec.fwfmPairs() > 0) {
      assertTrue(maxAbs(g.head, spec.fwfmPairOffset(), spec.headSize()) > 1e-3, "pair-weight gradient is ~0");
    }
    if (spec.hasFirstOrder()) {
      assertTrue(maxAbs(g.firstOrder, 0, g.firstOrder.length) > 1e-3, "first-order gradient is ~0");
    }
    if (k > 0) {
      double numericPart = switch (spec.head()) {
        case FM -> maxAbs(g.head, spec.fmNumericLinearOffset(), spec.headSize());
        case FWFM -> maxAbs(g.head, spec.fmNumericLinearOffset(), spec.fwfmPairOffset());
        case LINEAR -> maxAbs(g.head, spec.headInputWidth() - k, spec.headInputWidth());
        case MLP -> {
          double mx = 0;
          int in = spec.headInputWidth();
          for (int o = 0; o < spec.hiddenLayers()[0]; o++) {
            int row = spec.mlpWeightOffset(0) + o * in;
            mx = Math.max(mx, maxAbs(g.head, row + in - k, row + in));
          }
          yield mx;
        }
      };
      assertTrue(numericPart > 1e-3, "no gradient reaches the numeric features' head parameters");
    }
  }

  private static void check(ReferenceModel m, RowBlock b, int rows, String name, double[] p,
      double[] analytic) {
    for (int i = 0; i < p.length; i++) {
      double saved = p[i];
      p[i] = saved + STEP;
      double up = m.objective(b, 0, rows);
      p[i] = saved - STEP;
      double down = m.objective(b, 0, rows);
      p[i] = saved;
      double numeric = (up - down) / (2 * STEP);
      double err = Math.abs(numeric - analytic[i]);
      if (err > REL_TOL * Math.max(Math.abs(numeric), Math.abs(analytic[i])) + ABS_TOL) {
        fail(name + "[" + i + "]: analytic " + analytic[i] + " vs finite difference " + numeric);
      }
    }
  }

  private static double maxAbs(double[] a, int from, int to) {
    double mx = 0;
    for (int i = from; i < to; i++) {
      mx = Math.max(mx, Math.abs(a[i]));
    }
    return mx;
  }
}
