package io.fastembedding.backend;

import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;

/**
 * Checks a block against a spec once, before any backend sees it, and names the field, row and value
 * of the first bad entry. Backends trust validated blocks and do no per-row checks in their hot loops.
 */
public final class InputValidator {
  private InputValidator() {}

  /**
   * Validates rows for training: shape, indices, numeric features, labels and weights.
   *
   * @throws IllegalArgumentException describing the first problem found
   */
  public static void validateForTraining(ModelSpec spec, RowBlock block) {
    if (block.rows == 0) {
      throw new IllegalArgumentException("no rows to train on: the data is empty");
    }
    validateForScoring(spec, block);
    if (block.labels == null) {
      throw new IllegalArgumentException("training rows need labels, but the block has none");
    }
    boolean logistic = spec.loss() == LossType.LOGISTIC;
    for (int r = 0; r < block.rows; r++) {
      float y = block.labels[r];
      if (!Float.isFinite(y)) {
        throw new IllegalArgumentException("row " + r + ": label " + y + " is not a finite number");
      }
      if (logistic && y != 0f && y != 1f) {
        throw new IllegalArgumentException("row " + r + ": label " + y
            + " is not 0 or 1, which the logistic loss needs; use the squared loss for regression");
      }
    }
    if (block.weights != null) {
      for (int r = 0; r < block.rows; r++) {
        float w = block.weights[r];
        if (!(w >= 0) || Float.isInfinite(w)) {
          throw new IllegalArgumentException(
              "row " + r + ": weight " + w + " must be finite and >= 0");
        }
      }
    }
  }

  /**
   * Validates rows for prediction or embedding: shape, indices and numeric features.
   *
   * @throws IllegalArgumentException describing the first problem found
   */
  public static void validateForScoring(ModelSpec spec, RowBlock block) {
    int n = spec.numFields();
    if (block.numFields != n) {
      throw new IllegalArgumentException("the rows have " + block.numFields
          + " categorical fields but the model has " + n);
    }
    if (block.numNumeric != spec.numNumeric()) {
      throw new IllegalArgumentException("the rows have " + block.numNumeric
          + " numeric features but the model expects " + spec.numNumeric());
    }
    var layout = spec.layout();
    int[] idx = block.indices;
    for (int r = 0; r < block.rows; r++) {
      int base = r * n;
      for (int f = 0; f < n; f++) {
        int v = idx[base + f];
        if (v < 0 || v >= layout.size(f)) {
          throw new IllegalArgumentException(indexMessage(spec, f, r, v));
        }
      }
    }
    int k = block.numNumeric;
    for (int r = 0; r < block.rows; r++) {
      for (int j = 0; j < k; j++) {
        float x = block.numeric[r * k + j];
        if (!Float.isFinite(x)) {
          throw new IllegalArgumentException("row " + r + ": numeric feature " + j + " is " + x
              + "; numeric features must be finite");
        }
      }
    }
  }

  static String indexMessage(ModelSpec spec, int field, int row, int value) {
    int size = spec.layout().size(field);
    return "field '" + spec.fieldName(field) + "' (field " + field + "), row " + row + ": index "
        + value + (value < 0 ? " is negative" : " is out of range") + "; valid indices are 0 to "
        + (size - 1) + " (table size " + size + ")";
  }
}
