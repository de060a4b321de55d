package io.fastembedding.testutil;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.fastembedding.backend.TouchedRows;
import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.Optimizer;
import java.util.Arrays;

/** A touched-row export against the state it was taken from: every exported value bit for bit. */
public final class TouchedAssert {
  private TouchedAssert() {}

  /** Values, first-order weights and all optimizer state of each exported row, and the head. */
  public static void matchesState(String what, ModelState s, TouchedRows t) {
    TableLayout l = s.spec.layout();
    Optimizer rule = s.spec.optimizer().rule();
    for (int f = 0; f < l.numFields(); f++) {
      int d = l.dim(f);
      int per = rule.stateFloatsPerRow(d);
      for (int q = 0; q < t.rows[f].length; q++) {
        int x = t.rows[f][q];
        int start = Math.toIntExact(l.offset(f) + (long) x * d);
        int id = Math.toIntExact(l.rowBase(f) + x);
        String row = what + ": field " + f + ", row " + x;
        assertArrayEquals(Arrays.copyOfRange(s.tables, start, start + d),
            Arrays.copyOfRange(t.values[f], q * d, (q + 1) * d), row + ": values");
        if (t.firstOrder != null) {
          assertEquals(s.firstOrder[id], t.firstOrder[f][q], row + ": first-order weight");
        }
        if (per > 0) {
          int st = rule.tableStateIndex(start, id);
          assertArrayEquals(Arrays.copyOfRange(s.tableAccum, st, st + per),
              Arrays.copyOfRange(t.accum[f], q * per, (q + 1) * per), row + ": optimizer state");
        } else {
          assertNull(t.accum, what + ": optimizer state without an optimizer that keeps any");
        }
        if (t.firstOrderAccum != null) {
          assertEquals(s.firstOrderAccum[id], t.firstOrderAccum[f][q], row + ": first-order state");
        }
      }
    }
    assertArrayEquals(s.head, t.head, what + ": head");
    if (t.headAccum != null) {
      assertArrayEquals(s.headAccum, t.headAccum, what + ": head state");
    }
  }
}
