package io.fastembedding.backend;

/**
 * A block of training or scoring rows in primitive arrays, row-major: what a partition converts its
 * Spark rows into once, and what every backend reads. Batches are contiguous ranges of it.
 *
 * <ul>
 *   <li>{@code indices[r * numFields + i]}: category of field i in row r (0-based table row).
 *   <li>{@code numeric[r * numNumeric + j]}: numeric feature j of row r, fed to the head; may be null
 *       when {@code numNumeric == 0}.
 *   <li>{@code labels[r]}: the target; may be null for a block that is only scored.
 *   <li>{@code weights[r]}: optional per-row weight (null means 1 for every row).
 * </ul>
 */
public final class RowBlock implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public final int numFields;
  public final int numNumeric;
  public final int rows;
  public final int[] indices;
  public final float[] numeric;
  public final float[] labels;
  public final float[] weights;

  public RowBlock(int numFields, int numNumeric, int rows, int[] indices, float[] numeric,
      float[] labels, float[] weights) {
    if (numFields <= 0) {
      throw new IllegalArgumentException("a row block needs at least one field, got " + numFields);
    }
    if (numNumeric < 0 || rows < 0) {
      throw new IllegalArgumentException("numNumeric and rows must be >= 0, got " + numNumeric
          + " and " + rows);
    }
    checkLength("indices", indices == null ? -1 : indices.length, (long) rows * numFields);
    if (numNumeric > 0) {
      checkLength("numeric", numeric == null ? -1 : numeric.length, (long) rows * numNumeric);
    }
    if (labels != null) {
      checkLength("labels", labels.length, rows);
    }
    if (weights != null) {
      checkLength("weights", weights.length, rows);
    }
    this.numFields = numFields;
    this.numNumeric = numNumeric;
    this.rows = rows;
    this.indices = indices;
    this.numeric = numeric;
    this.labels = labels;
    this.weights = weights;
  }

  /** The rows' total weight: the row count when the block has no weights. */
  public double weightSum() {
    if (weights == null) {
      return rows;
    }
    double s = 0;
    for (int r = 0; r < rows; r++) {
      s += weights[r];
    }
    return s;
  }

  private static void checkLength(String name, long actual, long atLeast) {
    if (actual < atLeast) {
      throw new IllegalArgumentException("row block array '" + name + "' must hold at least "
          + atLeast + " values, got " + (actual < 0 ? "null" : actual));
    }
  }

  /** An empty block of {@code capacity} rows, for a trainer to copy batches into. */
  public static RowBlock allocate(int numFields, int numNumeric, int capacity, boolean withWeights) {
    return new RowBlock(numFields, numNumeric, capacity, new int[capacity * numFields],
        numNumeric > 0 ? new float[capacity * numNumeric] : null, new float[capacity],
        withWeights ? new float[capacity] : null);
  }

  /** A copy of rows {@code [start, start + count)} as a block of its own. */
  public RowBlock slice(int start, int count) {
    if (start < 0 || count < 0 || start + count > rows) {
      throw new IndexOutOfBoundsException("rows [" + start + ", " + (start + count)
          + ") are outside the block of " + rows + " rows");
    }
    return new RowBlock(numFields, numNumeric, count,
        java.util.Arrays.copyOfRange(indices, start * numFields, (start + count) * numFields),
        numNumeric > 0
            ? java.util.Arrays.copyOfRange(numeric, start * numNumeric, (start + count) * numNumeric)
            : null,
        labels == null ? null : java.util.Arrays.copyOfRange(labels, start, start + count),
        weights == null ? null : java.util.Arrays.copyOfRange(weights, start, start + count));
  }

  /**
   * Copies row {@code from} (indices, numeric features, label, weight) into row {@code at} of
   * {@code to}, a block of the same shape.
   */
  public void copyRow(int from, RowBlock to, int at) {
    System.arraycopy(indices, from * numFields, to.indices, at * numFields, numFields);
    if (numNumeric > 0) {
      System.arraycopy(numeric, from * numNumeric, to.numeric, at * numNumeric, numNumeric);
    }
    if (labels != null) {
      to.labels[at] = labels[from];
    }
    if (weights != null) {
      to.weights[at] = weights[from];
    }
  }

  public int index(int row, int field) {
    return indices[row * numFields + field];
  }

  public float weight(int row) {
    return weights == null ? 1f : weights[row];
  }
}
