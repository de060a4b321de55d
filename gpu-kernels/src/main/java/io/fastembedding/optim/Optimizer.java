package io.fastembedding.optim;

import io.fastembedding.layout.TableLayout;

/**
 * One optimizer's update rule and where its state lives: the one home of both on the JVM. The CPU
 * backend applies {@link #updateRow} and {@link #updateElement}; {@code ModelState}, the CUDA backend
 * and the touched-row export size and index the state through {@link #tableStateLength},
 * {@link #tableStateIndex} and {@link #hasElementState}. docs/model.md gives the math; the CUDA kernels
 * implement the same rules (optim.cuh) and take {@link OptimizerType#kernelCode}.
 *
 * <p>Embedding rows: the gradient of element k is {@code g[gOff + k] + reg * p[base + k]} (the L2 term
 * from the value before the update). First-order weights and the dense head: per element.
 */
public abstract sealed class Optimizer permits Sgd, Adagrad, RowwiseOptimizer {
  protected final float lr;
  protected final float eps;
  private final int rowVectors;
  private final int rowScalars;

  /**
   * The state of an embedding row of {@code dim} floats is {@code rowVectors} vectors of dim floats then
   * {@code rowScalars} floats, rows packed in row-id order (as the tables are, with dim floats a row).
   */
  Optimizer(OptimizerSpec spec, int rowVectors, int rowScalars) {
    this.lr = spec.learningRate();
    this.eps = spec.epsilon();
    this.rowVectors = rowVectors;
    this.rowScalars = rowScalars;
  }

  /** The rule of {@code spec}. */
  public static Optimizer of(OptimizerSpec spec) {
    return switch (spec.type()) {
      case SGD -> new Sgd(spec);
      case ADAGRAD -> new Adagrad(spec);
      case ROWWISE_ADAGRAD -> new RowwiseAdagrad(spec);
      case ROWWISE_ADAM -> new RowwiseAdam(spec);
    };
  }

  /** Floats of state per embedding row of {@code dim} floats. */
  public final int stateFloatsPerRow(int dim) {
    return rowVectors * dim + rowScalars;
  }

  /** Whether first-order weights and head parameters keep one accumulator per element. */
  public abstract boolean hasElementState();

  /** Length of the embedding tables' state array ({@code ModelState.tableAccum}). */
  public final long tableStateLength(TableLayout layout) {
    return rowVectors * layout.totalFloats() + rowScalars * layout.totalRows();
  }

  /**
   * Where the state of the embedding row starting at table float {@code rowStart}, with row id
   * {@code rowId} in the scalar-per-row space, starts in the table state array: after the rows before it,
   * each {@code rowVectors * dim + rowScalars} floats.
   */
  public final int tableStateIndex(int rowStart, int rowId) {
    return Math.addExact(Math.multiplyExact(rowVectors, rowStart), Math.multiplyExact(rowScalars, rowId));
  }

  /** Element k of an embedding row's gradient: the batch's plus the L2 term of the value before the update. */
  static float rowGradient(float[] p, int base, float[] g, int gOff, float reg, int k) {
    return g[gOff + k] + reg * p[base + k];
  }

  /**
   * One embedding row's update: {@code p[base, base + dim)} with gradient {@code g[gOff + k] + reg *
   * p[base + k]}; its state starts at {@code state[stateIndex]}.
   */
  public abstract void updateRow(float[] p, int base, int dim, float[] state, int stateIndex, float[] g, int gOff,
      float reg);

  /**
   * The merged state of one row touched by {@code parts} partitions, from the sums over those
   * partitions of each of its {@code per} state floats ({@code sum[0, per)}), written to
   * {@code out[outOff, outOff + per)}. Every optimizer here merges its state as it merges the weights:
   * the mean over the partitions that touched the row (for row-wise Adam that includes its step count).
   */
  public void mergeRowState(double[] sum, int per, int parts, float[] out, int outOff) {
    for (int d = 0; d < per; d++) {
      out[outOff + d] = (float) (sum[d] / parts);
    }
  }

  /** One element's update: {@code p[i]} with gradient {@code g}, its state (if any) at {@code state[i]}. */
  public abstract void updateElement(float[] p, int i, float[] state, float g);
}
