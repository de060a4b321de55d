package io.fastembedding.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The head layouts of docs/model.md, worked out by hand. */
class ModelSpecLayoutTest {
  @Test
  void fmHead() {
    ModelSpec s = ModelSpec.builder(new int[] {5, 6}, new int[] {3, 3}).numNumeric(2)
        .head(HeadType.FM).build();
    // [b, u0, u1, v0 (3), v1 (3)]
    assertEquals(0, s.fmBiasOffset());
    assertEquals(1, s.fmNumericLinearOffset());
    assertEquals(3, s.fmNumericLatentOffset());
    assertEquals(9, s.headSize());
    assertEquals(3, s.fmDim());
  }

  @Test
  void linearHead() {
    ModelSpec s = ModelSpec.builder(new int[] {5, 6}, new int[] {2, 3}).numNumeric(1)
        .head(HeadType.LINEAR).build();
    assertEquals(6, s.headInputWidth());
    assertEquals(6, s.linearBiasOffset());
    assertEquals(7, s.headSize());
  }

  @Test
  void mlpHead() {
    ModelSpec s = ModelSpec.builder(new int[] {5, 6}, new int[] {2, 2}).numNumeric(1)
        .head(HeadType.MLP).hiddenLayers(3, 2).build();
    // D = 5: W1 3x5 at 0, c1 at 15, W2 2x3 at 18, c2 at 24, w_out at 26, b_out at 28
    assertEquals(5, s.mlpLayerInput(0));
    assertEquals(3, s.mlpLayerInput(1));
    assertEquals(0, s.mlpWeightOffset(0));
    assertEquals(15, s.mlpBiasOffset(0));
    assertEquals(18, s.mlpWeightOffset(1));
    assertEquals(24, s.mlpBiasOffset(1));
    assertEquals(26, s.mlpOutputWeightOffset());
    assertEquals(28, s.mlpOutputBiasOffset());
    assertEquals(29, s.headSize());
  }

  @Test
  void mlpHeadTooLargeForAnArrayIsAClearError() {
    // 50000 x 50000 = 2.5e9 weights: the int arithmetic used to wrap to a negative size
    for (int h : new int[] {50_000, 70_000}) {
      String m = assertThrows(IllegalArgumentException.class,
          () -> ModelSpec.builder(new int[] {5, 6}, new int[] {2, 2}).head(HeadType.MLP)
              .hiddenLayers(h, h).build()).getMessage();
      long expected = (long) h * 4 + h + (long) h * h + h + h + 1; // by hand: W1, c1, W2, c2, w, b
      assertTrue(m.startsWith("the mlp head needs " + expected + " floats (hiddenLayers [" + h
          + ", " + h + "] on an input of 4 values)"), m);
    }
    // the largest that fits still builds and agrees with headSize()
    ModelSpec s = ModelSpec.builder(new int[] {5, 6}, new int[] {2, 2}).head(HeadType.MLP)
        .hiddenLayers(1000, 1000).build();
    assertEquals(1000 * 4 + 1000 + 1000 * 1000 + 1000 + 1000 + 1, s.headSize());
  }
}
