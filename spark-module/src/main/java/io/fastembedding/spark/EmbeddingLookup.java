package io.fastembedding.spark;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.spark.data.IndexRules;
import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;

/**
 * Index-to-vector lookup for transform, one copy per task: validates an index under the model's
 * handleInvalid and copies the row straight from the broadcast tables into the output vector.
 */
final class EmbeddingLookup implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Broadcast<ModelData> data;
  private final String[] cols;
  private final int[] validCounts;
  private final boolean keep;
  private final int[] dims;
  private final int[] offsets;
  private final int[] dimOffsets;
  private final int sumDims;
  private transient float[] tables;

  EmbeddingLookup(Broadcast<ModelData> data, ModelData d, String[] cols, boolean keep) {
    this.data = data;
    this.cols = cols.clone();
    this.validCounts = d.validCounts.clone();
    this.keep = keep;
    TableLayout l = d.spec.layout();
    int n = l.numFields();
    dims = l.dims();
    offsets = new int[n];
    dimOffsets = new int[n];
    for (int f = 0; f < n; f++) {
      offsets[f] = Math.toIntExact(l.offset(f));
      dimOffsets[f] = l.dimOffset(f);
    }
    sumDims = l.sumDims();
  }

  double[] newOutput() {
    return new double[sumDims];
  }

  /** The table row of field {@code f} for value {@code v}: the reserved row for invalid under keep. */
  int index(int f, Double v) {
    if (v != null) {
      int x = IndexRules.classify(v, validCounts[f]);
      if (x >= 0) {
        return x;
      }
    }
    if (keep) {
      return validCounts[f];
    }
    throw new IllegalArgumentException(IndexRules.describe(cols[f], v, validCounts[f],
        "as the model was fit") + "; set handleInvalid to 'skip' (drop such rows) or 'keep' (use "
        + "the reserved row, for a model fit with handleInvalid = 'keep')");
  }

  /** Writes field {@code f}'s vector into its slice of the concatenated vector {@code out}. */
  void put(double[] out, int f, Double v) {
    putAt(out, dimOffsets[f], f, v);
  }

  void putAt(double[] out, int outOffset, int f, Double v) {
    float[] t = tables;
    if (t == null) {
      t = data.value().tables;
      tables = t;
    }
    int dim = dims[f];
    int src = offsets[f] + index(f, v) * dim;
    for (int k = 0; k < dim; k++) {
      out[outOffset + k] = t[src + k];
    }
  }

  int dim(int f) {
    return dims[f];
  }
}
