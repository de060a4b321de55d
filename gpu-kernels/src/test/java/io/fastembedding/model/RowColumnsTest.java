package io.fastembedding.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The row container against hand-computed layouts and means. */
class RowColumnsTest {
  // field 0: 3 rows of dim 2 (global 0..2); field 1: 2 rows of dim 3 (global 3..4); field 2: 4 rows
  // of dim 1 (global 5..8); fm with per-element Adagrad: values, firstOrder, state, firstOrderState
  private static final ModelSpec SPEC = ModelSpec.builder(new int[] {3, 2, 4}, new int[] {2, 3, 1})
      .head(HeadType.LINEAR).optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.1f, 0f)).build();

  @Test
  void schemaColumnsFollowTheOptimizer() {
    RowSchema s = RowSchema.of(SPEC);
    assertEquals(2, s.numColumns(), "linear + adagrad: values and state");
    assertEquals(3, s.width(1, 1));
    RowSchema rw = RowSchema.of(ModelSpec.builder(new int[] {3, 2, 4}, new int[] {3, 3, 3})
        .head(HeadType.FM).optimizer(OptimizerSpec.of(OptimizerType.ROWWISE_ADAGRAD, 0.1f, 0f))
        .build());
    assertEquals(4, rw.numColumns());
    assertEquals(1, rw.width(rw.column("state"), 1), "row-wise: one float per row");
    assertEquals(3 + 1 + 1 + 1, rw.floatsPerRow(1));
  }

  @Test
  void sparseRowsSkippingAFieldAreLaidOutFieldByField() {
    RowSchema s = RowSchema.of(SPEC);
    // rows 1 (field 0), 6 and 8 (field 2); field 1 has none
    RowColumns rc = RowColumns.of(s, new long[] {1, 6, 8}, new long[] {2, 1, 5});
    assertEquals(0, rc.fieldOfEntry(0));
    assertEquals(2, rc.fieldOfEntry(1));
    assertEquals(2, rc.fieldOfEntry(2));
    assertEquals(2 + 1 + 1, rc.columns[0].length);
    assertEquals(2, rc.offset(0, 2, 1));
    assertEquals(3, rc.offset(0, 2, 2));
    assertEquals(1, rc.find(6));
    assertTrue(rc.find(3) < 0);
    assertThrows(IllegalArgumentException.class, () -> RowColumns.of(s, new long[] {3, 3}, null));
  }

  @Test
  void meanOverThePiecesThatHoldARow() {
    RowSchema s = RowSchema.of(SPEC);
    RowColumns a = RowColumns.of(s, new long[] {1, 3}, new long[] {1, 2});
    a.columns[0] = new float[] {1, 2, 10, 20, 30};
    a.columns[1] = new float[] {1, 1, 4, 4, 4};
    RowColumns b = RowColumns.of(s, new long[] {3, 7}, new long[] {3, 1});
    b.columns[0] = new float[] {20, 40, 60, 9};
    b.columns[1] = new float[] {2, 2, 2, 8};
    int[][] by = new int[1][];
    RowColumns m = RowColumns.mean(s, List.of(a, b), by);
    assertEquals(3, m.size);
    assertArrayEquals(new int[] {1, 2, 1}, by[0]);
    assertArrayEquals(new long[] {1, 5, 1}, m.counts);
    // row 1 alone: whole; row 3: (10 + 20) / 2 ...; row 7 alone
    assertArrayEquals(new float[] {1, 2, 15, 30, 45, 9}, m.columns[0]);
    assertArrayEquals(new float[] {1, 1, 3, 3, 3, 8}, m.columns[1]);
  }

  @Test
  void rangeGatherSliceAndStateRoundTrip() {
    RowSchema s = RowSchema.of(SPEC);
    ModelState st = ModelState.initial(SPEC);
    for (int i = 0; i < st.tableAccum.length; i++) {
      st.tableAccum[i] = i;
    }
    long[] all = new long[9];
    for (int i = 0; i < 9; i++) {
      all[i] = i;
    }
    RowColumns whole = RowColumns.fromState(st, s, all);
    RowColumns range = RowColumns.range(s, 2, 7);
    RowColumns piece = whole.slice(2, 7);
    piece.writeOver(range);
    assertArrayEquals(piece.columns[0], range.columns[0]);
    RowColumns g = range.gather(new long[] {2, 4, 6});
    assertArrayEquals(st.row(0, 2), new float[] {g.columns[0][0], g.columns[0][1]});
    assertArrayEquals(st.row(1, 1), new float[] {g.columns[0][2], g.columns[0][3],
        g.columns[0][4]});
    assertEquals(st.row(2, 1)[0], g.columns[0][5]);
    ModelState z = ModelState.zeros(SPEC);
    whole.writeInto(z);
    // alignment gaps between tables belong to no row: compare the rows
    RowColumns back = RowColumns.fromState(z, s, all);
    assertArrayEquals(whole.columns[0], back.columns[0]);
    assertArrayEquals(whole.columns[1], back.columns[1]);
    assertEquals(st.tableAccum[8], z.tableAccum[8], "field 1 starts after the gap");
  }
}
