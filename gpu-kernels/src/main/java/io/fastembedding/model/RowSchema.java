package io.fastembedding.model;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.Optimizer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The per-row columns every embedding row of a model carries, and how many floats each takes per row
 * of each field: the row's values ({@code dim} floats), the FM first-order weight (1), and each
 * optimizer state column ({@link OptimizerSpec#stateFloatsPerRow}; first-order state 1). A
 * {@link RowColumns} holds some rows in these columns; this class also says where each column lives in
 * a {@link ModelState}, so rows can move between a whole model and a set of rows with one loop over
 * the columns, whatever the optimizer.
 */
public final class RowSchema implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The {@link ModelState} array a column is stored in. */
  public enum Slot {
    TABLES, FIRST_ORDER, TABLE_ACCUM, FIRST_ORDER_ACCUM
  }

  private final ModelSpec spec;
  private final String[] names;
  private final Slot[] slots;
  /** [column][field]: floats per row. */
  private final int[][] widths;
  /** [column]: whether the column is indexed like the packed tables (else by global row). */
  private final boolean[] packed;
  private final long[] rowBases;
  private transient Optimizer rule;

  private RowSchema(ModelSpec spec, List<String> names, List<Slot> slots, List<int[]> widths,
      List<Boolean> packed) {
    this.spec = spec;
    this.names = names.toArray(new String[0]);
    this.slots = slots.toArray(new Slot[0]);
    this.widths = widths.toArray(new int[0][]);
    this.packed = new boolean[packed.size()];
    for (int i = 0; i < this.packed.length; i++) {
      this.packed[i] = packed.get(i);
    }
    TableLayout l = spec.layout();
    rowBases = new long[l.numFields()];
    for (int f = 0; f < rowBases.length; f++) {
      rowBases[f] = l.rowBase(f);
    }
  }

  /** The columns of {@code spec}'s rows: values, then first-order, then the optimizer's state. */
  public static RowSchema of(ModelSpec spec) {
    TableLayout l = spec.layout();
    int n = l.numFields();
    OptimizerSpec opt = spec.optimizer();
    List<String> names = new ArrayList<>();
    List<Slot> slots = new ArrayList<>();
    List<int[]> widths = new ArrayList<>();
    List<Boolean> packed = new ArrayList<>();
    names.add("values");
    slots.add(Slot.TABLES);
    widths.add(l.dims());
    packed.add(true);
    int[] ones = new int[n];
    Arrays.fill(ones, 1);
    if (spec.hasFirstOrder()) {
      names.add("firstOrder");
      slots.add(Slot.FIRST_ORDER);
      widths.add(ones);
      packed.add(false);
    }
    if (opt.hasState()) {
      int[] w = new int[n];
      for (int f = 0; f < n; f++) {
        w[f] = opt.stateFloatsPerRow(l.dim(f));
      }
      names.add("state");
      slots.add(Slot.TABLE_ACCUM);
      widths.add(w);
      // placed by the optimizer's own rule (stateOffset), not by the column's width
      packed.add(false);
      if (spec.hasFirstOrder()) {
        names.add("firstOrderState");
        slots.add(Slot.FIRST_ORDER_ACCUM);
        widths.add(ones);
        packed.add(false);
      }
    }
    return new RowSchema(spec, names, slots, widths, packed);
  }

  private Optimizer rule() {
    if (rule == null) {
      rule = spec.optimizer().rule();
    }
    return rule;
  }

  public ModelSpec spec() {
    return spec;
  }

  public int numColumns() {
    return names.length;
  }

  public int numFields() {
    return rowBases.length;
  }

  public String name(int column) {
    return names[column];
  }

  /** The column named {@code name}, or -1. */
  public int column(String name) {
    return Arrays.asList(names).indexOf(name);
  }

  public Slot slot(int column) {
    return slots[column];
  }

  /** Floats per row of field {@code field} in column {@code column}. */
  public int width(int column, int field) {
    return widths[column][field];
  }

  /** Floats per row of {@code field} over all columns. */
  public int floatsPerRow(int field) {
    int s = 0;
    for (int[] w : widths) {
      s += w[field];
    }
    return s;
  }

  /** Global row of row {@code x} of {@code field}. */
  public long rowBase(int field) {
    return rowBases[field];
  }

  /** The field that global row {@code g} belongs to. */
  public int fieldOf(long g) {
    int i = Arrays.binarySearch(rowBases, g);
    return i >= 0 ? lastWithBase(i) : -i - 2;
  }

  private int lastWithBase(int i) {
    // tables have at least one row, so bases are distinct; kept for clarity
    return i;
  }

  /** The array of {@code s} that holds column {@code column}. */
  public float[] array(ModelState s, int column) {
    return switch (slots[column]) {
      case TABLES -> s.tables;
      case FIRST_ORDER -> s.firstOrder;
      case TABLE_ACCUM -> s.tableAccum;
      case FIRST_ORDER_ACCUM -> s.firstOrderAccum;
    };
  }

  /** Where row {@code x} of {@code field} starts in {@link #array}{@code (s, column)}. */
  public long stateOffset(int column, int field, long x) {
    if (slots[column] == Slot.TABLE_ACCUM) {
      // each optimizer says where a row's state starts (per element, per row, or packed by row id)
      TableLayout l = spec.layout();
      return rule().tableStateIndex(Math.toIntExact(l.offset(field) + x * l.dim(field)),
          Math.toIntExact(rowBases[field] + x));
    }
    int w = widths[column][field];
    if (packed[column]) {
      return spec.layout().offset(field) + x * w;
    }
    return (rowBases[field] + x) * w;
  }

  /** Same columns and widths (the spec's sizes may differ: a partition's local model). */
  public boolean sameColumns(RowSchema o) {
    return Arrays.equals(names, o.names) && Arrays.deepEquals(widths, o.widths);
  }
}
