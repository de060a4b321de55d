package io.fastembedding.optim;

import io.fastembedding.layout.TableLayout;

/**
 * Row-wise Adagrad (FBGEMM, TorchRec): one accumulator per embedding row, {@code a += mean_k g_k^2;
 * p -= lr g / (sqrt(a) + eps)}; first-order weights and head parameters use per-element Adagrad.
 */
public final class RowwiseAdagrad extends Optimizer {
  private final Adagrad elements;

  RowwiseAdagrad(OptimizerSpec spec) {
    super(spec);
    elements = new Adagrad(spec);
  }


  @Override
  public int stateFloatsPerRow(int dim) {
    return 1;
  }

  @Override
  public boolean hasElementState() {
    return true;
  }

  @Override
  public long tableStateLength(TableLayout layout) {
    return layout.totalRows();
  }

  @Override
  public int tableStateIndex(int rowStart, int rowId) {
    return rowId;
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    float sq = 0f;
    for (int k = 0; k < dim; k++) {
      float gk = g[gOff + k] + reg * p[base + k];
      sq += gk * gk;
    }
    float a = state[stateIndex] + sq / dim;
    state[stateIndex] = a;
    float step = lr / ((float) Math.sqrt(a) + eps);
    for (int k = 0; k < dim; k++) {
      float gk = g[gOff + k] + reg * p[base + k];
      p[base + k] -= step * gk;
    }
  }

  @Override
  public void updateElement(float[] p, int i, float[] state, float g) {
    elements.updateElement(p, i, state, g);
  }
}
