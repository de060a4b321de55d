package io.fastembedding.optim;

/**
 * What the row-wise optimizers (FBGEMM's and TorchRec's row-wise family) share: the rule of an embedding
 * row is driven by one scalar, the mean of the row's squared gradient ({@code meanSquare}), its state is
 * a few vectors and scalars per row ({@link Optimizer}'s layout), and first-order weights and head
 * parameters use per-element Adagrad. Each subclass keeps only its row rule.
 */
public abstract sealed class RowwiseOptimizer extends Optimizer permits RowwiseAdagrad, RowwiseAdam {
  private final Adagrad elements;

  RowwiseOptimizer(OptimizerSpec spec, int rowVectors, int rowScalars) {
    super(spec, rowVectors, rowScalars);
    elements = new Adagrad(spec);
  }

  @Override
  public final boolean hasElementState() {
    return true;
  }

  @Override
  public final void updateElement(float[] p, int i, float[] state, float g) {
    elements.updateElement(p, i, state, g);
  }

  /** The mean over the row of its squared gradient ({@code rowGradient}), summed in k order. */
  static float meanSquare(float[] p, int base, int dim, float[] g, int gOff, float reg) {
    float sq = 0f;
    for (int k = 0; k < dim; k++) {
      float gk = rowGradient(p, base, g, gOff, reg, k);
      sq += gk * gk;
    }
    return sq / dim;
  }
}
