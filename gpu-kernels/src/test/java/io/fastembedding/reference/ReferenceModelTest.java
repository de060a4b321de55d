package io.fastembedding.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import org.junit.jupiter.api.Test;

/** The reference model against values computed by hand from docs/model.md. */
class ReferenceModelTest {
  /** The optimizer's rates are floats: expected values use the float's exact value. */
  private static final double LR = 0.1f;
  private static final OptimizerSpec SGD = OptimizerSpec.of(OptimizerType.SGD, 0.1f, 0f);

  private static void setRow(ModelState s, int field, int row, float... v) {
    int start = Math.toIntExact(s.spec.layout().offset(field) + (long) row * s.spec.layout().dim(field));
    System.arraycopy(v, 0, s.tables, start, v.length);
  }

  private static RowBlock rows(int n, int k, int[] idx, float[] num, float[] labels) {
    return new RowBlock(n, k, labels.length, idx, num, labels, null);
  }

  @Test
  void fmOutputIsBiasPlusFirstOrderPlusAllPairwiseDotProducts() {
    ModelSpec spec = ModelSpec.builder(new int[] {3, 2}, new int[] {2, 2}).numNumeric(1)
        .head(HeadType.FM).optimizer(SGD).build();
    ModelState s = ModelState.initial(spec);
    setRow(s, 0, 1, 1, 2);
    setRow(s, 1, 0, 3, -1);
    s.firstOrder[Math.toIntExact(spec.layout().rowBase(0)) + 1] = 0.5f;
    s.firstOrder[Math.toIntExact(spec.layout().rowBase(1)) + 0] = -0.25f;
    s.head[spec.fmBiasOffset()] = 0.1f;
    s.head[spec.fmNumericLinearOffset()] = 2f;
    s.head[spec.fmNumericLatentOffset()] = 0.5f;
    s.head[spec.fmNumericLatentOffset() + 1] = 1f;
    RowBlock b = rows(2, 1, new int[] {1, 0}, new float[] {2f}, new float[] {1f});
    // 0.1 + 0.5 - 0.25 + u*z (4) + <e0,e1> (1) + <e0, z v> (5) + <e1, z v> (1)
    assertEquals(11.35, new ReferenceModel(s).output(b, 0), 1e-6);
  }

  @Test
  void linearOutputIsDotWithEmbeddingsThenNumeric() {
    ModelSpec spec = ModelSpec.builder(new int[] {2, 2}, new int[] {1, 2}).numNumeric(1)
        .head(HeadType.LINEAR).optimizer(SGD).build();
    ModelState s = ModelState.initial(spec);
    setRow(s, 0, 1, 2);
    setRow(s, 1, 0, 1, -1);
    System.arraycopy(new float[] {0.5f, 1f, 2f, -1f, 0.25f}, 0, s.head, 0, 5);
    RowBlock b = rows(2, 1, new int[] {1, 0}, new float[] {3f}, new float[] {1f});
    assertEquals(-2.75, new ReferenceModel(s).output(b, 0), 1e-6);
    assertArrayEquals(new double[] {2, 1, -1}, new ReferenceModel(s).embed(b, 0), 0);
  }

  @Test
  void mlpOutputAndInputGradientMaskInactiveUnits() {
    ModelSpec spec = ModelSpec.builder(new int[] {2}, new int[] {2}).head(HeadType.MLP)
        .hiddenLayers(2).loss(LossType.SQUARED).optimizer(SGD).build();
    ModelState s = ModelState.initial(spec);
    setRow(s, 0, 0, 1, 2);
    int w = spec.mlpWeightOffset(0);
    System.arraycopy(new float[] {1, 1, 1, -2}, 0, s.head, w, 4);
    s.head[spec.mlpBiasOffset(0)] = 0.5f;
    s.head[spec.mlpBiasOffset(0) + 1] = 0.5f;
    s.head[spec.mlpOutputWeightOffset()] = 2f;
    s.head[spec.mlpOutputWeightOffset() + 1] = 5f;
    s.head[spec.mlpOutputBiasOffset()] = -1f;
    RowBlock b = rows(1, 0, new int[] {0}, null, new float[] {4f});
    ReferenceModel m = new ReferenceModel(s);
    // pre-activations (3.5, -2.5): only unit 0 is active; y = 2 * 3.5 - 1
    assertEquals(6.0, m.output(b, 0), 1e-12);
    ReferenceModel.Gradient g = m.gradient(b, 0, 1);
    // dl/dy = y - t = 2; dy/dh = W1^T (w_out * relu') = (2, 2)
    assertEquals(4.0, g.tables[0], 1e-12);
    assertEquals(4.0, g.tables[1], 1e-12);
    // the inactive unit's weights get no gradient, the active one's get 2 * w_out * h
    assertArrayEquals(new double[] {4, 8, 0, 0}, java.util.Arrays.copyOfRange(g.head, w, w + 4), 1e-12);
    assertEquals(2 * 3.5, g.head[spec.mlpOutputWeightOffset()], 1e-12);
    assertEquals(0.0, g.head[spec.mlpOutputWeightOffset() + 1], 0);
  }

  @Test
  void logisticLossIsStableForLargeOutputs() {
    assertEquals(0.0, ReferenceModel.loss(LossType.LOGISTIC, 800, 1), 1e-300);
    assertEquals(800.0, ReferenceModel.loss(LossType.LOGISTIC, 800, 0), 1e-9);
    assertEquals(800.0, ReferenceModel.loss(LossType.LOGISTIC, -800, 1), 1e-9);
    assertEquals(Math.log(2), ReferenceModel.loss(LossType.LOGISTIC, 0, 1), 1e-15);
    assertEquals(0.0, ReferenceModel.lossDerivative(LossType.LOGISTIC, 800, 1), 0);
    assertEquals(1.0, ReferenceModel.lossDerivative(LossType.LOGISTIC, 800, 0), 0);
    assertEquals(-1.0, ReferenceModel.lossDerivative(LossType.LOGISTIC, -800, 1), 0);
    assertEquals(2.0, ReferenceModel.loss(LossType.SQUARED, 3, 1), 0);
  }

  /** One field of dim 1, a row occurring twice: the L2 term counts once per occurrence. */
  @Test
  void sgdStepWithL2PerOccurrenceByHand() {
    ModelSpec spec = ModelSpec.builder(new int[] {3}, new int[] {1}).head(HeadType.LINEAR)
        .loss(LossType.SQUARED).optimizer(OptimizerSpec.of(OptimizerType.SGD, 0.1f, 0.5f)).build();
    ModelState s = ModelState.initial(spec);
    s.tables[0] = 7;
    s.tables[1] = 2;
    s.tables[2] = -3;
    s.head[0] = 0.5f;
    s.head[1] = 0f;
    RowBlock b = rows(1, 0, new int[] {1, 1}, null, new float[] {1f, 3f});
    ReferenceModel m = new ReferenceModel(s);
    // y = 1 for both rows; losses 0 and 2; each occurrence adds (0.5 / 2) * 2^2 = 1; B = 2
    assertEquals(2.0, m.objective(b, 0, 2), 1e-12);
    m.step(b, 0, 2);
    // g(T1) = (1/2) [(0 * 0.5 + 0.5 * 2) + (-2 * 0.5 + 0.5 * 2)] = 0.5
    assertEquals(2 - LR * 0.5, m.tables[1], 1e-12);
    // g(a) = (1/2) (0 * 2 - 2 * 2) = -2, g(b) = (1/2) (0 - 2) = -1
    assertEquals(0.5 + LR * 2, m.head[0], 1e-12);
    assertEquals(LR, m.head[1], 1e-12);
    // untouched rows do not move, L2 or not
    assertEquals(7.0, m.tables[0], 0);
    assertEquals(-3.0, m.tables[2], 0);
  }

  private static ReferenceModel adagradCase(OptimizerType type) {
    ModelSpec spec = ModelSpec.builder(new int[] {2}, new int[] {2}).head(HeadType.LINEAR)
        .loss(LossType.SQUARED).optimizer(OptimizerSpec.of(type, 0.1f, 0f)).build();
    ModelState s = ModelState.initial(spec);
    setRow(s, 0, 0, 1, 2);
    setRow(s, 0, 1, 4, 4);
    System.arraycopy(new float[] {1f, 2f, 0f}, 0, s.head, 0, 3);
    ReferenceModel m = new ReferenceModel(s);
    // y = 1 + 4 = 5, t = 0: dl/dy = 5; g(row 0) = (5, 10); g(a) = (5, 10); g(b) = 5
    m.step(rows(1, 0, new int[] {0}, null, new float[] {0f}), 0, 1);
    return m;
  }

  @Test
  void adagradStepByHand() {
    ReferenceModel m = adagradCase(OptimizerType.ADAGRAD);
    double eps = OptimizerSpec.DEFAULT_EPSILON;
    assertEquals(1 - LR * 5 / (5 + eps), m.tables[0], 1e-12);
    assertEquals(2 - LR * 10 / (10 + eps), m.tables[1], 1e-12);
    assertArrayEquals(new double[] {25, 100, 0, 0}, m.tableAccum, 1e-9);
    assertArrayEquals(new double[] {4, 4}, new double[] {m.tables[2], m.tables[3]}, 0);
    assertArrayEquals(new double[] {25, 100, 25}, m.headAccum, 1e-9);
    assertEquals(-LR * 5 / (5 + eps), m.head[2], 1e-12);
  }

  @Test
  void rowwiseAdagradStepByHand() {
    ReferenceModel m = adagradCase(OptimizerType.ROWWISE_ADAGRAD);
    double eps = OptimizerSpec.DEFAULT_EPSILON;
    double g = 62.5; // (25 + 100) / 2
    assertArrayEquals(new double[] {g, 0}, m.tableAccum, 1e-9);
    assertEquals(1 - LR * 5 / (Math.sqrt(g) + eps), m.tables[0], 1e-12);
    assertEquals(2 - LR * 10 / (Math.sqrt(g) + eps), m.tables[1], 1e-12);
    // the head stays per element
    assertArrayEquals(new double[] {25, 100, 25}, m.headAccum, 1e-9);
    assertEquals(1 - LR * 5 / (5 + eps), m.head[0], 1e-12);
    assertEquals(2 - LR * 10 / (10 + eps), m.head[1], 1e-12);
  }

  /**
   * Row-wise Adam's first step: m = (1 - b1) g and v = (1 - b2) mean(g^2), so the bias-corrected m^ = g
   * and v^ = mean(g^2) and the step equals row-wise Adagrad's first step; the state is [m, v, t] per row.
   */
  @Test
  void rowwiseAdamFirstStepByHand() {
    ReferenceModel m = adagradCase(OptimizerType.ROWWISE_ADAM);
    double eps = OptimizerSpec.DEFAULT_EPSILON;
    double b1 = io.fastembedding.optim.RowwiseAdam.BETA1;
    double b2 = io.fastembedding.optim.RowwiseAdam.BETA2;
    double g = 62.5; // (25 + 100) / 2
    assertArrayEquals(new double[] {(1 - b1) * 5, (1 - b1) * 10, (1 - b2) * g, 1, 0, 0, 0, 0}, m.tableAccum,
        1e-12);
    assertEquals(1 - LR * 5 / (Math.sqrt(g) + eps), m.tables[0], 1e-9);
    assertEquals(2 - LR * 10 / (Math.sqrt(g) + eps), m.tables[1], 1e-9);
    assertArrayEquals(new double[] {4, 4}, new double[] {m.tables[2], m.tables[3]}, 0);
    assertArrayEquals(new double[] {25, 100, 25}, m.headAccum, 1e-9);
  }

  /** Row-wise Adam's second step on the same row: the moments decay and t = 2 corrects both. */
  @Test
  void rowwiseAdamSecondStepByHand() {
    ModelSpec spec = ModelSpec.builder(new int[] {2}, new int[] {2}).head(HeadType.LINEAR)
        .loss(LossType.SQUARED).optimizer(OptimizerSpec.of(OptimizerType.ROWWISE_ADAM, 0.1f, 0f)).build();
    ModelState s = ModelState.initial(spec);
    setRow(s, 0, 0, 1, 2);
    System.arraycopy(new float[] {1f, 2f, 0f}, 0, s.head, 0, 3);
    // the state after an earlier step: m = (0.5, -1), v = 4, t = 1
    System.arraycopy(new float[] {0.5f, -1f, 4f, 1f}, 0, s.tableAccum, 0, 4);
    ReferenceModel m = new ReferenceModel(s);
    // y = 1 + 4 = 5, t = 0: dl/dy = 5; g(row 0) = (5, 10), mean g^2 = 62.5
    m.step(rows(1, 0, new int[] {0}, null, new float[] {0f}), 0, 1);
    double b1 = io.fastembedding.optim.RowwiseAdam.BETA1;
    double b2 = io.fastembedding.optim.RowwiseAdam.BETA2;
    double m0 = b1 * 0.5 + (1 - b1) * 5;
    double m1 = b1 * -1 + (1 - b1) * 10;
    double v = b2 * 4 + (1 - b2) * 62.5;
    double denom = Math.sqrt(v / (1 - b2 * b2)) + OptimizerSpec.DEFAULT_EPSILON;
    assertArrayEquals(new double[] {m0, m1, v, 2}, java.util.Arrays.copyOf(m.tableAccum, 4), 1e-12);
    assertEquals(1 - LR * (m0 / (1 - b1 * b1)) / denom, m.tables[0], 1e-12);
    assertEquals(2 - LR * (m1 / (1 - b1 * b1)) / denom, m.tables[1], 1e-12);
  }

  @Test
  void rowWeightsScaleTheLossButNotTheL2OrTheBatchSize() {
    ModelSpec spec = ModelSpec.builder(new int[] {2}, new int[] {1}).head(HeadType.LINEAR)
        .loss(LossType.SQUARED).optimizer(OptimizerSpec.of(OptimizerType.SGD, 0.1f, 1f)).build();
    ModelState s = ModelState.initial(spec);
    s.tables[0] = 1;
    s.tables[1] = 2;
    s.head[0] = 1f;
    s.head[1] = 0f;
    RowBlock b = new RowBlock(1, 0, 2, new int[] {0, 1}, null, new float[] {0f, 0f},
        new float[] {3f, 0f});
    // (1/2) [3 * 0.5 * 1 + 0.5 * 1 + 0 * 0.5 * 4 + 0.5 * 4]
    assertEquals(0.5 * (1.5 + 0.5 + 2), new ReferenceModel(s).objective(b, 0, 2), 1e-12);
  }
}
