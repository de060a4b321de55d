package io.fastembedding.optim;

import io.fastembedding.layout.TableLayout;

/** Plain SGD: {@code p -= lr g}; no state. */
public final class Sgd extends Optimizer {
  Sgd(OptimizerSpec spec) {
    super(spec);
  }


  @Override
  public int stateFloatsPerRow(int dim) {
    return 0;
  }

  @Override
  public boolean hasElementState() {
    return false;
  }

  @Override
  public long tableStateLength(TableLayout layout) {
    return 0;
  }

  @Override
  public int tableStateIndex(int rowStart, int rowId) {
    return 0;
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    for (int k = 0; k < dim; k++) {
      float gk = g[gOff + k] + reg * p[base + k];
      p[base + k] -= lr * gk;
    }
  }

  @Override
  public void updateElement(float[] p, int i, float[] state, float g) {
    p[i] -= lr * g;
  }
}
