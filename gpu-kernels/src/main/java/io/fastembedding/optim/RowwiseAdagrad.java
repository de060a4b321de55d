package io.fastembedding.optim;

/**
 * Row-wise Adagrad (FBGEMM, TorchRec): one accumulator per embedding row, {@code a += mean_k g_k^2;
 * p -= lr g / (sqrt(a) + eps)}; first-order weights and head parameters use per-element Adagrad. Each
 * row's state is that one float, packed in row-id order.
 */
public final class RowwiseAdagrad extends RowwiseOptimizer {
  RowwiseAdagrad(OptimizerSpec spec) {
    super(spec, 0, 1);
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    float a = state[stateIndex] + meanSquare(p, base, dim, g, gOff, reg);
    state[stateIndex] = a;
    float step = lr / ((float) Math.sqrt(a) + eps);
    for (int k = 0; k < dim; k++) {
      p[base + k] -= step * rowGradient(p, base, g, gOff, reg, k);
    }
  }
}
