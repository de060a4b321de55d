package io.fastembedding.model;

import io.fastembedding.layout.TableLayout;
import java.io.Serializable;
import java.util.Arrays;

/**
 * All trainable values of a model and its optimizer state, in host memory, in the layouts that
 * {@link TableLayout} and {@link ModelSpec} define. This is what backends export and import, what the
 * Spark stage broadcasts and what a saved model stores.
 *
 * <ul>
 *   <li>{@code tables}: the packed embedding buffer ({@link TableLayout#totalFloats()}).
 *   <li>{@code firstOrder}: FM first-order weight per row ({@link TableLayout#totalRows()}), else empty.
 *   <li>{@code head}: the dense head ({@link ModelSpec#headSize()}).
 *   <li>{@code tableAccum}: Adagrad, one per table float; row-wise Adagrad, one per row; SGD, empty.
 *   <li>{@code firstOrderAccum}, {@code headAccum}: per element for both Adagrads; SGD, empty.
 * </ul>
 */
public final class ModelState implements Serializable {
  private static final long serialVersionUID = 1L;

  public final ModelSpec spec;
  public final float[] tables;
  public final float[] firstOrder;
  public final float[] head;
  public final float[] tableAccum;
  public final float[] firstOrderAccum;
  public final float[] headAccum;

  public ModelState(ModelSpec spec, float[] tables, float[] firstOrder, float[] head,
      float[] tableAccum, float[] firstOrderAccum, float[] headAccum) {
    this.spec = spec;
    this.tables = tables;
    this.firstOrder = firstOrder;
    this.head = head;
    this.tableAccum = tableAccum;
    this.firstOrderAccum = firstOrderAccum;
    this.headAccum = headAccum;
    check("tables", tables, tablesLength(spec));
    check("firstOrder", firstOrder, firstOrderLength(spec));
    check("head", head, spec.headSize());
    check("tableAccum", tableAccum, tableAccumLength(spec));
    check("firstOrderAccum", firstOrderAccum,
        spec.optimizer().hasState() ? firstOrderLength(spec) : 0);
    check("headAccum", headAccum, spec.optimizer().hasState() ? spec.headSize() : 0);
  }

  private static void check(String name, float[] a, long expected) {
    if (a == null || a.length != expected) {
      throw new IllegalArgumentException("model state '" + name + "' must have " + expected
          + " floats for this spec, got " + (a == null ? "null" : a.length));
    }
  }

  static int tablesLength(ModelSpec spec) {
    return Math.toIntExact(spec.layout().totalFloats());
  }

  static int firstOrderLength(ModelSpec spec) {
    return spec.hasFirstOrder() ? Math.toIntExact(spec.layout().totalRows()) : 0;
  }

  static int tableAccumLength(ModelSpec spec) {
    return Math.toIntExact(spec.optimizer().rule().tableStateLength(spec.layout()));
  }

  /** A freshly initialised model (seeded, see {@link Initializer}) with zero optimizer state. */
  public static ModelState initial(ModelSpec spec) {
    float[] tables = new float[tablesLength(spec)];
    Initializer.initTables(spec, tables);
    float[] head = new float[spec.headSize()];
    Initializer.initHead(spec, head);
    boolean st = spec.optimizer().hasState();
    return new ModelState(spec, tables, new float[firstOrderLength(spec)], head,
        new float[tableAccumLength(spec)], new float[st ? firstOrderLength(spec) : 0],
        new float[st ? spec.headSize() : 0]);
  }

  /** A deep copy. */
  public ModelState copy() {
    return new ModelState(spec, tables.clone(), firstOrder.clone(), head.clone(), tableAccum.clone(),
        firstOrderAccum.clone(), headAccum.clone());
  }

  /** Row {@code row} of field {@code field}'s table, copied. */
  public float[] row(int field, int row) {
    TableLayout l = spec.layout();
    int start = Math.toIntExact(l.offset(field) + (long) row * l.dim(field));
    return Arrays.copyOfRange(tables, start, start + l.dim(field));
  }

  /** Whether every array equals {@code o}'s bit for bit. */
  public boolean bitEquals(ModelState o) {
    return spec.equals(o.spec) && Arrays.equals(tables, o.tables) && Arrays.equals(firstOrder, o.firstOrder)
        && Arrays.equals(head, o.head) && Arrays.equals(tableAccum, o.tableAccum)
        && Arrays.equals(firstOrderAccum, o.firstOrderAccum) && Arrays.equals(headAccum, o.headAccum);
  }
}
