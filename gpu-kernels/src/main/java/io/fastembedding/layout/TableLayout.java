package io.fastembedding.layout;

import java.util.Arrays;

/**
 * Where each table lives in the one flat buffer that holds them all.
 *
 * <p>Field {@code i} has {@code size(i)} rows of {@code dim(i)} floats; row {@code r} of table {@code i}
 * starts at {@code offset(i) + r * dim(i)}. Rows are not padded, so a table of dim 1 costs one float per
 * row; only the start of each table is aligned to {@link #ALIGN} floats, which lets a kernel use vector
 * loads for tables whose dim is a multiple of 4 without any padding the user could see.
 *
 * <p>A second, scalar-per-row index space ({@link #rowBase(int)}) numbers every row of every table
 * consecutively. FM first-order weights, row-wise Adagrad accumulators and touch counts use it.
 */
public final class TableLayout {
  /** Table starts are aligned to this many floats (16 bytes). */
  public static final int ALIGN = 4;
  /** Largest buffer a Java float array (and so the CPU backend) can address. */
  public static final long MAX_FLOATS = Integer.MAX_VALUE - 16L;

  private final int[] sizes;
  private final int[] dims;
  private final long[] offsets;
  private final long[] rowBases;
  private final long totalFloats;
  private final long totalRows;
  private final int sumDims;
  private final int[] dimOffsets;

  private TableLayout(int[] sizes, int[] dims) {
    this.sizes = sizes;
    this.dims = dims;
    int n = sizes.length;
    offsets = new long[n];
    rowBases = new long[n];
    dimOffsets = new int[n];
    long off = 0;
    long rows = 0;
    int sd = 0;
    for (int i = 0; i < n; i++) {
      offsets[i] = off;
      rowBases[i] = rows;
      dimOffsets[i] = sd;
      off += (long) sizes[i] * dims[i];
      off = (off + ALIGN - 1) / ALIGN * ALIGN;
      rows += sizes[i];
      sd += dims[i];
    }
    totalFloats = off;
    totalRows = rows;
    sumDims = sd;
  }

  /**
   * Builds the layout of {@code sizes.length} tables.
   *
   * @throws IllegalArgumentException naming the field when the lengths differ, a size or dim is not
   *     positive, or the tables together exceed what one buffer can hold
   */
  public static TableLayout of(int[] sizes, int[] dims) {
    if (sizes == null || dims == null) {
      throw new IllegalArgumentException("sizes and dims must not be null");
    }
    if (sizes.length == 0) {
      throw new IllegalArgumentException("at least one field (table) is needed; sizes is empty");
    }
    if (sizes.length != dims.length) {
      throw new IllegalArgumentException("sizes and dims must have one entry per field: sizes has "
          + sizes.length + " entries " + Arrays.toString(sizes) + ", dims has " + dims.length
          + " entries " + Arrays.toString(dims));
    }
    for (int i = 0; i < sizes.length; i++) {
      if (sizes[i] <= 0) {
        throw new IllegalArgumentException("field " + i + ": table size must be > 0, got " + sizes[i]);
      }
      if (dims[i] <= 0) {
        throw new IllegalArgumentException("field " + i + ": embedding dim must be > 0, got " + dims[i]);
      }
    }
    TableLayout l = new TableLayout(sizes.clone(), dims.clone());
    if (l.totalFloats > MAX_FLOATS) {
      throw new IllegalArgumentException("the tables need " + l.totalFloats + " floats ("
          + (l.totalFloats * 4 / (1L << 20)) + " MiB), more than one buffer of " + MAX_FLOATS
          + " floats can hold; reduce the table sizes or dims");
    }
    return l;
  }

  public int numFields() {
    return sizes.length;
  }

  public int size(int field) {
    return sizes[field];
  }

  public int dim(int field) {
    return dims[field];
  }

  /** Float offset of the first row of {@code field} in the packed buffer. */
  public long offset(int field) {
    return offsets[field];
  }

  /** Index of the first row of {@code field} in the scalar-per-row space. */
  public long rowBase(int field) {
    return rowBases[field];
  }

  /** Offset of {@code field}'s slice in a concatenated embedding vector of {@link #sumDims()} floats. */
  public int dimOffset(int field) {
    return dimOffsets[field];
  }

  /** Floats in the packed buffer, alignment gaps included. */
  public long totalFloats() {
    return totalFloats;
  }

  /** Rows over all tables. */
  public long totalRows() {
    return totalRows;
  }

  /** Width of the concatenated embedding vector: the sum of all dims. */
  public int sumDims() {
    return sumDims;
  }

  public int[] sizes() {
    return sizes.clone();
  }

  public int[] dims() {
    return dims.clone();
  }

  /** True when every field has the same dim (the FM head needs this). */
  public boolean uniformDim() {
    for (int d : dims) {
      if (d != dims[0]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TableLayout t && Arrays.equals(sizes, t.sizes) && Arrays.equals(dims, t.dims);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(sizes) + Arrays.hashCode(dims);
  }

  @Override
  public String toString() {
    return "TableLayout(sizes=" + Arrays.toString(sizes) + ", dims=" + Arrays.toString(dims) + ")";
  }
}
