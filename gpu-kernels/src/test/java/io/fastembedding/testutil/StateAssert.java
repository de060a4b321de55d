package io.fastembedding.testutil;

import static org.junit.jupiter.api.Assertions.fail;

import io.fastembedding.model.ModelState;
import io.fastembedding.reference.ReferenceModel;

/** Float-tolerance comparison of a backend's state with the reference's. */
public final class StateAssert {
  /** The worst element found so far and where it is. */
  public static final class Worst {
    public double ratio;
    public String where = "nowhere";

    void offer(double r, String name, int i, double a, double e) {
      if (Double.isNaN(r)) {
        r = Double.POSITIVE_INFINITY;
      }
      if (r > ratio) {
        ratio = r;
        where = name + "[" + i + "]: " + a + " vs reference " + e;
      }
    }
  }

  private StateAssert() {}

  /**
   * Every element's error measured as {@code |actual - expected| / (rtol * |expected| + atol *
   * scale)}, where scale is the largest |expected| of its array; a ratio of at most 1 passes.
   */
  public static Worst worst(ModelState actual, ReferenceModel expected, double rtol, double atol) {
    Worst w = new Worst();
    compare(w, "tables", actual.tables, expected.tables, rtol, atol);
    compare(w, "firstOrder", actual.firstOrder, expected.firstOrder, rtol, atol);
    compare(w, "head", actual.head, expected.head, rtol, atol);
    compare(w, "tableAccum", actual.tableAccum, expected.tableAccum, rtol, atol);
    compare(w, "firstOrderAccum", actual.firstOrderAccum, expected.firstOrderAccum, rtol, atol);
    compare(w, "headAccum", actual.headAccum, expected.headAccum, rtol, atol);
    return w;
  }

  public static void compare(Worst w, String name, float[] a, double[] e, double rtol, double atol) {
    if (a.length != e.length) {
      fail(name + ": " + a.length + " values, the reference has " + e.length);
    }
    double scale = 0;
    for (double v : e) {
      scale = Math.max(scale, Math.abs(v));
    }
    for (int i = 0; i < a.length; i++) {
      w.offer(Math.abs(a[i] - e[i]) / (rtol * Math.abs(e[i]) + atol * scale + 1e-30), name, i, a[i],
          e[i]);
    }
  }

  public static void assertClose(String what, ModelState actual, ReferenceModel expected, double rtol,
      double atol) {
    Worst w = worst(actual, expected, rtol, atol);
    if (!(w.ratio <= 1)) {
      fail(what + ": differs from the reference beyond tolerance (" + w.ratio + "x) at " + w.where);
    }
  }
}
