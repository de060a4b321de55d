package io.fastembedding.spark;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;

/**
 * The head's prediction for one row at a time, in transform: the CPU backend's own forward pass (so
 * the math is the one definition of docs/model.md), fed through a one-row block reused for every
 * row. One per task, built on first use; callers synchronise on it.
 */
final class HeadScorer implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Broadcast<ModelData> data;
  private final EmbeddingLookup lookup;
  private final int numFields;
  private final String numericCol;
  private transient CpuBackend backend;
  private transient float[] mean;
  private transient float[] invStd;
  private transient RowBlock row;
  private transient float[] out;

  /** Which values: -1 the model fitted on all rows, else that cross-fitting fold's model. */
  private final int model;

  HeadScorer(Broadcast<ModelData> data, EmbeddingLookup lookup, int numFields, String numericCol) {
    this(data, lookup, numFields, numericCol, -1);
  }

  HeadScorer(Broadcast<ModelData> data, EmbeddingLookup lookup, int numFields, String numericCol,
      int model) {
    this.model = model;
    this.data = data;
    this.lookup = lookup;
    this.numFields = numFields;
    this.numericCol = numericCol;
  }

  private void open() {
    if (row == null) {
      ModelData d = model < 0 ? data.value() : data.value().foldModel(model);
      backend = new CpuBackend(d.scoringSpec(), new BackendOptions(false, 1), d.scoringState());
      int k = d.spec.numNumeric();
      row = new RowBlock(numFields, k, 1, new int[numFields], k > 0 ? new float[k] : null, null,
          null);
      mean = d.numericMean;
      invStd = ModelData.inverse(d.numericStd);
      out = new float[1];
    }
  }

  void set(int field, Double v) {
    open();
    row.indices[field] = lookup.index(field, v);
  }

  /** The row's numeric features, standardised as in fit; a bad vector fails naming the column. */
  void setNumeric(Vector v) {
    open();
    standardize(v, row.numNumeric, mean, invStd, numericCol, row.numeric, 0);
  }

  /**
   * Writes the row's {@code k} numeric features, standardised as in fit, to {@code out[off..]}; a
   * null vector, a vector of another size or a non-finite value fails naming the column.
   */
  static void standardize(Vector v, int k, float[] mean, float[] invStd, String numericCol,
      float[] out, int off) {
    checkNumeric(v, k, numericCol);
    for (int j = 0; j < k; j++) {
      // the same float arithmetic as the fit's standardisation of the training blocks
      out[off + j] = ((float) v.apply(j) - mean[j]) * invStd[j];
    }
  }

  /** A row's numeric vector: a null vector, another size than k or a non-finite value fails. */
  static void checkNumeric(Vector v, int k, String numericCol) {
    if (v == null) {
      throw new IllegalArgumentException("numeric column '" + numericCol + "' has a null vector; "
          + "the model's head needs its " + k + " numeric features in every row");
    }
    if (v.size() != k) {
      throw new IllegalArgumentException("numeric column '" + numericCol + "' has a vector of size "
          + v.size() + ", but the model was fit with " + k + " numeric features");
    }
    for (int j = 0; j < k; j++) {
      double x = v.apply(j);
      if (!Double.isFinite(x)) {
        throw new IllegalArgumentException("numeric column '" + numericCol + "' has the value " + x
            + " at feature " + j + "; numeric features must be finite");
      }
    }
  }

  double predict() {
    backend.predict(row, 0, 1, out, 0);
    return out[0];
  }

  /** The content hash of the row as set, as cross-fitting computed it for the training rows. */
  long contentHash(long seed) {
    open();
    return io.fastembedding.spark.data.CrossFitFolds.contentHash(seed, row, 0);
  }

  /** Gives {@code other} (a scorer of another model of the same shape) this row's inputs. */
  void copyRowTo(HeadScorer other) {
    open();
    other.open();
    row.copyRow(0, other.row, 0);
  }
}
