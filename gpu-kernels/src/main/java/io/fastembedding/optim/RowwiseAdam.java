package io.fastembedding.optim;

/**
 * Row-wise Adam (FBGEMM's {@code ROWWISE_ADAM}): per embedding row a momentum vector {@code m} (dim
 * floats), a scalar second moment {@code v} (the moving mean of the squared gradient over the row) and
 * the row's own step count {@code t}; docs/model.md gives the update. Each row's state is {@code dim + 2}
 * floats {@code [m_0 .. m_{dim-1}, v, t]}, packed in row-id order: the row starting at table float
 * {@code rowStart} with row id {@code rowId} keeps it at {@code rowStart + 2 rowId} (tables are packed
 * the same way with dim floats per row). First-order weights and head parameters use per-element Adagrad,
 * as with row-wise Adagrad. The CUDA rule is {@code RowwiseAdamRule} in optim.cuh.
 */
public final class RowwiseAdam extends RowwiseOptimizer {
  /** Decay of the momentum m (written once: KernelConstants passes it to the kernels as ADAM_BETA1). */
  public static final float BETA1 = 0.9f;
  /** Decay of the second moment v. */
  public static final float BETA2 = 0.999f;

  RowwiseAdam(OptimizerSpec spec) {
    super(spec, 1, 2);
  }

  @Override
  public void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg) {
    float meanSq = meanSquare(p, base, dim, g, gOff, reg);
    float t = state[stateIndex + dim + 1] + 1f;
    float v = BETA2 * state[stateIndex + dim] + (1f - BETA2) * meanSq;
    float c1 = 1f - (float) Math.pow(BETA1, t);
    float c2 = 1f - (float) Math.pow(BETA2, t);
    float denom = (float) Math.sqrt(v / c2) + eps;
    for (int k = 0; k < dim; k++) {
      float gk = rowGradient(p, base, g, gOff, reg, k);
      float m = BETA1 * state[stateIndex + k] + (1f - BETA1) * gk;
      state[stateIndex + k] = m;
      p[base + k] -= lr * (m / c1) / denom;
    }
    state[stateIndex + dim] = v;
    state[stateIndex + dim + 1] = t;
  }
}
