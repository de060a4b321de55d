package io.fastembedding.optim;

import io.fastembedding.simd.FloatLanes;

/** Adagrad: {@code a += g^2; p -= lr g / (sqrt(a) + eps)}, one accumulator per element. */
public final class Adagrad extends Optimizer {
  /** The SIMD prefix of updateRow's loop where usable (same bits; see FloatLanes). */
  private static final FloatLanes LANES = FloatLanes.active();

  Adagrad(OptimizerSpec spec) {
    super(spec, 1, 0);
  }

  @Override
  public boolean hasElementState() {
    return true;
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    for (int k = LANES.adagrad(p, base, state, stateIndex, g, gOff, reg, lr, eps, dim); k < dim; k++) {
      float gk = rowGradient(p, base, g, gOff, reg, k);
      float a = state[stateIndex + k] + gk * gk;
      state[stateIndex + k] = a;
      p[base + k] -= lr * gk / ((float) Math.sqrt(a) + eps);
    }
  }

  @Override
  public void updateElement(float[] p, int i, float[] state, float g) {
    float a = state[i] + g * g;
    state[i] = a;
    p[i] -= lr * g / ((float) Math.sqrt(a) + eps);
  }
}
