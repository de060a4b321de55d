package io.fastembedding.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The packed layout, worked out by hand. */
class TableLayoutTest {
  @Test
  void offsetsAreAlignedRowsArePackedAndRowSpacesAreConsecutive() {
    TableLayout l = TableLayout.of(new int[] {3, 5, 2}, new int[] {3, 1, 2});
    // table 0: 9 floats -> next start 12; table 1: 5 floats, 12 + 5 = 17 -> 20; table 2: 4 floats
    assertEquals(0, l.offset(0));
    assertEquals(12, l.offset(1));
    assertEquals(20, l.offset(2));
    assertEquals(24, l.totalFloats());
    assertEquals(0, l.rowBase(0));
    assertEquals(3, l.rowBase(1));
    assertEquals(8, l.rowBase(2));
    assertEquals(10, l.totalRows());
    assertEquals(0, l.dimOffset(0));
    assertEquals(3, l.dimOffset(1));
    assertEquals(4, l.dimOffset(2));
    assertEquals(6, l.sumDims());
    assertFalse(l.uniformDim());
    assertTrue(TableLayout.of(new int[] {3, 5}, new int[] {4, 4}).uniformDim());
  }

  @Test
  void aSizeOfAMillionRowsUsesExactlyItsFloats() {
    TableLayout l = TableLayout.of(new int[] {1000, 1_000_000}, new int[] {1, 32});
    assertEquals(1000, l.offset(1));
    assertEquals(1000 + 32_000_000L, l.totalFloats());
  }

  @Test
  void tooLargeForOneBufferIsRefusedWithTheSize() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TableLayout.of(new int[] {100_000_000}, new int[] {32}));
    assertTrue(e.getMessage().contains("3200000000"), e.getMessage());
  }
}
