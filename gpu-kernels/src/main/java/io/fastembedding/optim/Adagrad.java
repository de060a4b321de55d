package io.fastembedding.optim;

import io.fastembedding.layout.TableLayout;

/** Adagrad: {@code a += g^2; p -= lr g / (sqrt(a) + eps)}, one accumulator per element. */
public final class Adagrad extends Optimizer {
  Adagrad(OptimizerSpec spec) {
    super(spec);
  }


  @Override
  public int stateFloatsPerRow(int dim) {
    return dim;
  }

  @Override
  public boolean hasElementState() {
    return true;
  }

  @Override
  public long tableStateLength(TableLayout layout) {
    return layout.totalFloats();
  }

  @Override
  public int tableStateIndex(int rowStart, int rowId) {
    return rowStart;
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    for (int k = 0; k < dim; k++) {
      float gk = g[gOff + k] + reg * p[base + k];
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
