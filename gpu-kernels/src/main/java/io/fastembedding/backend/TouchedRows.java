package io.fastembedding.backend;

import io.fastembedding.model.ModelSpec;

/**
 * The embedding rows a backend changed since its last sync, with how many batch occurrences touched
 * each, and the dense head: what a Spark partition sends to the merge. Per field, rows are in ascending
 * order; {@code values[f]} holds {@code rows[f].length * dim(f)} floats, the rows' current values.
 *
 * <p>{@code firstOrder}, {@code firstOrderAccum} and {@code accum} are null when the spec has no FM
 * first-order weights or no optimizer state; {@code accum[f]} holds {@code stateFloatsPerRow(dim)}
 * floats per row.
 */
public final class TouchedRows implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public final ModelSpec spec;
  public final int[][] rows;
  public final int[][] counts;
  public final float[][] values;
  public final float[][] firstOrder;
  public final float[][] accum;
  public final float[][] firstOrderAccum;
  public final float[] head;
  public final float[] headAccum;

  public TouchedRows(ModelSpec spec, int[][] rows, int[][] counts, float[][] values,
      float[][] firstOrder, float[][] accum, float[][] firstOrderAccum, float[] head,
      float[] headAccum) {
    this.spec = spec;
    this.rows = rows;
    this.counts = counts;
    this.values = values;
    this.firstOrder = firstOrder;
    this.accum = accum;
    this.firstOrderAccum = firstOrderAccum;
    this.head = head;
    this.headAccum = headAccum;
  }

  /** Rows touched over all fields. */
  public long totalRows() {
    long n = 0;
    for (int[] r : rows) {
      n += r.length;
    }
    return n;
  }
}
