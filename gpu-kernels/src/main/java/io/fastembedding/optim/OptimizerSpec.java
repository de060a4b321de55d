package io.fastembedding.optim;

import java.io.Serializable;

/**
 * Optimizer settings shared by every backend.
 *
 * @param type the update rule
 * @param learningRate step size, > 0
 * @param l2 L2 strength on the embedding rows (and FM first-order weights) a batch touches, >= 0
 * @param epsilon added to the root of the Adagrad accumulator, > 0
 */
public record OptimizerSpec(OptimizerType type, float learningRate, float l2, float epsilon)
    implements Serializable {
  public static final float DEFAULT_EPSILON = 1e-8f;

  public OptimizerSpec {
    if (type == null) {
      throw new IllegalArgumentException("optimizer type must not be null");
    }
    if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
      throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
    }
    if (!(l2 >= 0) || Float.isInfinite(l2)) {
      throw new IllegalArgumentException("L2 regularisation must be finite and >= 0, got " + l2);
    }
    if (!(epsilon > 0) || Float.isInfinite(epsilon)) {
      throw new IllegalArgumentException("epsilon must be finite and > 0, got " + epsilon);
    }
  }

  public static OptimizerSpec of(OptimizerType type, float learningRate, float l2) {
    return new OptimizerSpec(type, learningRate, l2, DEFAULT_EPSILON);
  }

  /** Floats of optimizer state per embedding row of {@code dim} floats ({@link Optimizer}). */
  public int stateFloatsPerRow(int dim) {
    return rule().stateFloatsPerRow(dim);
  }

  /** Whether the first-order weights and the head keep an accumulator (each per element). */
  public boolean hasState() {
    return rule().hasElementState();
  }

  /** The update rule and state layout of this optimizer. */
  public Optimizer rule() {
    return Optimizer.of(this);
  }
}
