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
  private final int[] rowBases;
  /** Where each field's slice starts in the concatenated vector. */
  private final int[] outOffsets;
  private final int outWidth;
  /** Whether each field's slice starts with the row's FM first-order weight. */
  private final boolean firstOrder;
  private transient float[] tables;
  private transient float[] firstOrderWeights;

  /** Which values: -1 the model fitted on all rows, else that cross-fitting fold's model. */
  private final int model;

  EmbeddingLookup(Broadcast<ModelData> data, ModelData d, String[] cols, boolean keep,
      boolean withFirstOrder) {
    this(data, d, cols, keep, withFirstOrder, -1);
  }

  /**
   * @param cols the input columns: the output vector holds their fields; fields after them (the
   *     numeric features' buckets) are looked up by the head only
   */
  EmbeddingLookup(Broadcast<ModelData> data, ModelData d, String[] cols, boolean keep,
      boolean withFirstOrder, int model) {
    this.data = data;
    this.model = model;
    this.cols = cols.clone();
    this.validCounts = d.validCounts.clone();
    this.keep = keep;
    this.firstOrder = withFirstOrder && d.spec.hasFirstOrder();
    TableLayout l = d.spec.layout();
    int n = l.numFields();
    dims = l.dims();
    offsets = new int[n];
    rowBases = new int[n];
    outOffsets = new int[n];
    int w = 0;
    for (int f = 0; f < n; f++) {
      offsets[f] = Math.toIntExact(l.offset(f));
      rowBases[f] = Math.toIntExact(l.rowBase(f));
      outOffsets[f] = w;
      if (f < cols.length) {
        w += outDim(f);
      }
    }
    outWidth = w;
  }

  /** Width of field {@code f}'s slice of the output. */
  int outDim(int f) {
    return dims[f] + (firstOrder ? 1 : 0);
  }

  double[] newOutput() {
    return new double[outWidth];
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
    throw new IllegalArgumentException(IndexRules.describe(f < cols.length ? cols[f]
        : "the bucket of numeric feature " + (f - cols.length), v, validCounts[f],
        "as the model was fit") + "; set handleInvalid to 'skip' (drop such rows) or 'keep' (use "
        + "the reserved row, for a model fit with handleInvalid = 'keep')");
  }

  /** Writes field {@code f}'s vector into its slice of the concatenated vector {@code out}. */
  void put(double[] out, int f, Double v) {
    putAt(out, outOffsets[f], f, v);
  }

  void putAt(double[] out, int outOffset, int f, Double v) {
    float[] t = tables;
    if (t == null) {
      ModelData d = data.value();
      t = model < 0 ? d.tables : d.crossFit.tables()[model];
      firstOrderWeights = model < 0 ? d.firstOrder : d.crossFit.firstOrder()[model];
      tables = t;
    }
    int dim = dims[f];
    int x = index(f, v);
    int o = outOffset;
    if (firstOrder) {
      out[o++] = firstOrderWeights[rowBases[f] + x];
    }
    int src = offsets[f] + x * dim;
    for (int k = 0; k < dim; k++) {
      out[o + k] = t[src + k];
    }
  }
}
