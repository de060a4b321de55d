package io.fastembedding.optim;

/** Plain SGD: {@code p -= lr g}; no state. */
public final class Sgd extends Optimizer {
  Sgd(OptimizerSpec spec) {
    super(spec, 0, 0);
  }

  @Override
  public boolean hasElementState() {
    return false;
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    for (int k = 0; k < dim; k++) {
      p[base + k] -= lr * rowGradient(p, base, g, gOff, reg, k);
    }
  }

  @Override
  public void updateElement(float[] p, int i, float[] state, float g) {
    p[i] -= lr * g;
  }
}
