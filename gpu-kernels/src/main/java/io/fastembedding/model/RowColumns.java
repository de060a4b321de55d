package io.fastembedding.model;

import io.fastembedding.backend.TouchedRows;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * Some embedding rows of a model, in ascending global row order (row {@code x} of field {@code f} is
 * global row {@code rowBase(f) + x}), with an optional touch count per row and one float array per
 * column of the {@link RowSchema} (values, first-order weight, each optimizer state column). Within a
 * column, rows follow each other with the field's width. This one container carries a partition's
 * touched rows, a piece of a shard, a merged shard, and a shard itself (a dense range of rows, stored
 * without a row list).
 */
public final class RowColumns implements Serializable {
  private static final long serialVersionUID = 1L;

  public final RowSchema schema;
  /** Ascending global rows, or null for the dense range {@code [first, first + size)}. */
  private final long[] rows;
  private final long first;
  public final int size;
  /** Touch counts (or merged totals), or null. */
  public final long[] counts;
  public final float[][] columns;
  /** [field]: index of the first row of that field (numFields + 1 entries). */
  private final int[] fieldStart;
  /** [column][field]: float offset of the field's first row in that column. */
  private final int[][] columnStart;

  private RowColumns(RowSchema schema, long[] rows, long first, int size, long[] counts,
      float[][] columns) {
    this.schema = schema;
    this.rows = rows;
    this.first = first;
    this.size = size;
    this.counts = counts;
    int nf = schema.numFields();
    fieldStart = new int[nf + 1];
    int i = 0;
    for (int f = 0; f < nf; f++) {
      fieldStart[f] = i;
      long end = f + 1 < nf ? schema.rowBase(f + 1) : Long.MAX_VALUE;
      while (i < size && row(i) < end) {
        i++;
      }
    }
    fieldStart[nf] = size;
    int nc = schema.numColumns();
    columnStart = new int[nc][nf + 1];
    for (int c = 0; c < nc; c++) {
      long off = 0;
      for (int f = 0; f < nf; f++) {
        columnStart[c][f] = Math.toIntExact(off);
        off += (long) (fieldStart[f + 1] - fieldStart[f]) * schema.width(c, f);
      }
      columnStart[c][nf] = Math.toIntExact(off);
    }
    if (columns == null) {
      columns = new float[nc][];
      for (int c = 0; c < nc; c++) {
        columns[c] = new float[columnStart[c][nf]];
      }
    } else {
      for (int c = 0; c < nc; c++) {
        if (columns[c].length != columnStart[c][nf]) {
          throw new IllegalArgumentException("column '" + schema.name(c) + "' has "
              + columns[c].length + " floats; " + size + " rows need " + columnStart[c][nf]);
        }
      }
    }
    this.columns = columns;
  }

  /** Zeroed rows {@code [first, end)}: a shard's row range. */
  public static RowColumns range(RowSchema schema, long first, long end) {
    return new RowColumns(schema, null, first, Math.toIntExact(end - first), null, null);
  }

  /** Zeroed rows {@code rows} (ascending, distinct), with {@code counts} (or null). */
  public static RowColumns of(RowSchema schema, long[] rows, long[] counts) {
    for (int i = 1; i < rows.length; i++) {
      if (rows[i] <= rows[i - 1]) {
        throw new IllegalArgumentException("rows must be ascending and distinct; row " + i + " is "
            + rows[i] + " after " + rows[i - 1]);
      }
    }
    return new RowColumns(schema, rows, 0, rows.length, counts, null);
  }

  /** Global row of entry {@code i}. */
  public long row(int i) {
    return rows == null ? first + i : rows[i];
  }

  /** Whether the rows are a dense range. */
  public boolean isRange() {
    return rows == null;
  }

  /** First global row of a range (or of the first entry). */
  public long firstRow() {
    return size == 0 ? first : row(0);
  }

  /** The entries of field {@code f}: {@code [fieldStart(f), fieldStart(f + 1))}. */
  public int fieldStart(int f) {
    return fieldStart[f];
  }

  /** The field of entry {@code i}. */
  public int fieldOfEntry(int i) {
    int f = Arrays.binarySearch(fieldStart, 0, fieldStart.length - 1, i);
    if (f < 0) {
      return -f - 2;
    }
    // empty fields share a start: the entry belongs to the last of them
    while (f + 1 < fieldStart.length - 1 && fieldStart[f + 1] == i) {
      f++;
    }
    return f;
  }

  /** Where entry {@code i} (of field {@code f}) starts in column {@code c}. */
  public int offset(int c, int f, int i) {
    return columnStart[c][f] + (i - fieldStart[f]) * schema.width(c, f);
  }

  /** The entry of global row {@code g}, or a negative number when it is absent. */
  public int find(long g) {
    if (rows == null) {
      long i = g - first;
      return i >= 0 && i < size ? (int) i : -1;
    }
    return Arrays.binarySearch(rows, g);
  }

  /** Bytes of the float columns and row lists. */
  public long bytes() {
    long b = (rows == null ? 0 : 8L * size) + (counts == null ? 0 : 8L * size);
    for (float[] c : columns) {
      b += 4L * c.length;
    }
    return b;
  }

  /** A deep copy. */
  public RowColumns copy() {
    float[][] cs = new float[columns.length][];
    for (int c = 0; c < cs.length; c++) {
      cs[c] = columns[c].clone();
    }
    return new RowColumns(schema, rows == null ? null : rows.clone(), first, size,
        counts == null ? null : counts.clone(), cs);
  }

  /** Copies entry {@code i} of {@code src} (same columns) into entry {@code j} of this. */
  public void copyEntry(RowColumns src, int i, int j) {
    int f = src.fieldOfEntry(i);
    int g = fieldOfEntry(j);
    for (int c = 0; c < columns.length; c++) {
      int w = schema.width(c, g);
      System.arraycopy(src.columns[c], src.offset(c, f, i), columns[c], offset(c, g, j), w);
    }
  }

  /** The rows {@code sortedRows} (ascending, all present) of this, copied, without counts. */
  public RowColumns gather(long[] sortedRows) {
    RowColumns out = of(schema, sortedRows, null);
    for (int j = 0; j < sortedRows.length; j++) {
      int i = find(sortedRows[j]);
      if (i < 0) {
        throw new IllegalArgumentException("row " + sortedRows[j] + " is not in these rows ["
            + firstRow() + ", ...]");
      }
      out.copyEntry(this, i, j);
    }
    return out;
  }

  /** Entries {@code [from, to)}, copied. */
  public RowColumns slice(int from, int to) {
    long[] r = new long[to - from];
    for (int i = from; i < to; i++) {
      r[i - from] = row(i);
    }
    RowColumns out = new RowColumns(schema, r, 0, r.length,
        counts == null ? null : Arrays.copyOfRange(counts, from, to), null);
    for (int c = 0; c < columns.length; c++) {
      int lo = from == to ? 0 : offset(c, fieldOfEntry(from), from);
      System.arraycopy(columns[c], lo, out.columns[c], 0, out.columns[c].length);
    }
    return out;
  }

  /** Writes every entry over the same global row of {@code target} (which must hold it). */
  public void writeOver(RowColumns target) {
    for (int i = 0; i < size; i++) {
      int j = target.find(row(i));
      if (j < 0) {
        throw new IllegalArgumentException("row " + row(i) + " is not in the target rows");
      }
      target.copyEntry(this, i, j);
    }
  }

  /**
   * Copies entry {@code i} into row {@code x} of field {@code f} of {@code state}, whose schema
   * {@code to} has the same columns (a partition's local model numbers its rows differently).
   */
  public void writeEntry(int i, int f, ModelState state, RowSchema to, long x) {
    for (int c = 0; c < columns.length; c++) {
      int w = schema.width(c, f);
      System.arraycopy(columns[c], offset(c, f, i), to.array(state, c),
          Math.toIntExact(to.stateOffset(c, f, x)), w);
    }
  }

  /** Reads row {@code x} of field {@code f} of {@code state} (schema {@code from}) into entry i. */
  public void readEntry(int i, int f, ModelState state, RowSchema from, long x) {
    for (int c = 0; c < columns.length; c++) {
      int w = schema.width(c, f);
      System.arraycopy(from.array(state, c), Math.toIntExact(from.stateOffset(c, f, x)),
          columns[c], offset(c, f, i), w);
    }
  }

  /** Writes every entry over its row of {@code state} (whose spec is this schema's). */
  public void writeInto(ModelState state) {
    for (int f = 0; f < schema.numFields(); f++) {
      for (int i = fieldStart[f]; i < fieldStart[f + 1]; i++) {
        writeEntry(i, f, state, schema, row(i) - schema.rowBase(f));
      }
    }
  }

  /** Rows {@code sortedRows} of a whole model {@code state}, copied. */
  public static RowColumns fromState(ModelState state, RowSchema schema, long[] sortedRows) {
    RowColumns out = of(schema, sortedRows, null);
    for (int f = 0; f < schema.numFields(); f++) {
      for (int i = out.fieldStart[f]; i < out.fieldStart[f + 1]; i++) {
        out.readEntry(i, f, state, schema, sortedRows[i] - schema.rowBase(f));
      }
    }
    return out;
  }

  /**
   * A backend's touched rows as global rows of {@code schema}. Field {@code f}'s touched row
   * {@code x} (a row of the backend's model) is row {@code globalOf[f][x]} of field f in
   * {@code schema}, or row x itself when {@code globalOf} is null (the backend holds the whole model).
   */
  public static RowColumns fromTouched(TouchedRows t, RowSchema schema, int[][] globalOf) {
    int nf = schema.numFields();
    int n = 0;
    for (int f = 0; f < nf; f++) {
      n += t.rows[f].length;
    }
    long[] rows = new long[n];
    long[] counts = new long[n];
    int i = 0;
    for (int f = 0; f < nf; f++) {
      int[] rs = t.rows[f];
      for (int j = 0; j < rs.length; j++) {
        rows[i] = schema.rowBase(f) + (globalOf == null ? rs[j] : globalOf[f][rs[j]]);
        counts[i] = t.counts[f][j];
        i++;
      }
    }
    RowColumns out = of(schema, rows, counts);
    for (int c = 0; c < schema.numColumns(); c++) {
      float[][] src = switch (schema.slot(c)) {
        case TABLES -> t.values;
        case FIRST_ORDER -> t.firstOrder;
        case TABLE_ACCUM -> t.accum;
        case FIRST_ORDER_ACCUM -> t.firstOrderAccum;
      };
      for (int f = 0; f < nf; f++) {
        int len = src[f].length;
        System.arraycopy(src[f], 0, out.columns[c], out.columnStart[c][f], len);
      }
    }
    return out;
  }

  /**
   * The mean over {@code pieces} (in the order given) of every row any of them holds: each row is
   * the mean of the pieces that hold it, summed in double in the given order, so the result does
   * not depend on the order in which pieces arrive when the caller sorts them. Counts are summed;
   * {@code touchedBy}, when not null, receives per merged row how many pieces held it.
   */
  public static RowColumns mean(RowSchema schema, List<RowColumns> pieces, int[][] touchedBy) {
    long[] all = new long[pieces.stream().mapToInt(p -> p.size).sum()];
    int k = 0;
    for (RowColumns p : pieces) {
      for (int i = 0; i < p.size; i++) {
        all[k++] = p.row(i);
      }
    }
    Arrays.sort(all);
    int n = 0;
    for (int i = 0; i < all.length; i++) {
      if (i == 0 || all[i] != all[i - 1]) {
        all[n++] = all[i];
      }
    }
    long[] rows = Arrays.copyOf(all, n);
    long[] counts = new long[n];
    int[] by = new int[n];
    RowColumns out = of(schema, rows, counts);
    int nc = schema.numColumns();
    double[][] sums = new double[nc][];
    for (int c = 0; c < nc; c++) {
      sums[c] = new double[out.columns[c].length];
    }
    for (RowColumns p : pieces) {
      int j = 0;
      for (int f = 0; f < schema.numFields(); f++) {
        for (int i = p.fieldStart[f]; i < p.fieldStart[f + 1]; i++) {
          long g = p.row(i);
          while (rows[j] != g) {
            j++;
          }
          by[j]++;
          if (p.counts != null) {
            counts[j] += p.counts[i];
          }
          for (int c = 0; c < nc; c++) {
            int w = schema.width(c, f);
            int src = p.offset(c, f, i);
            int dst = out.offset(c, f, j);
            float[] col = p.columns[c];
            double[] s = sums[c];
            for (int d = 0; d < w; d++) {
              s[dst + d] += col[src + d];
            }
          }
        }
      }
    }
    for (int f = 0; f < schema.numFields(); f++) {
      for (int j = out.fieldStart[f]; j < out.fieldStart[f + 1]; j++) {
        for (int c = 0; c < nc; c++) {
          int w = schema.width(c, f);
          int o = out.offset(c, f, j);
          for (int d = 0; d < w; d++) {
            out.columns[c][o + d] = (float) (sums[c][o + d] / by[j]);
          }
        }
      }
    }
    if (touchedBy != null) {
      touchedBy[0] = by;
    }
    return out;
  }
}
