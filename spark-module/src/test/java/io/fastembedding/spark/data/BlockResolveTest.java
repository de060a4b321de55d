package io.fastembedding.spark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.RowBlock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/**
 * A block is checked against the driver's table sizes whenever it is built: a block Spark rebuilds
 * from input that changed since the driver's check (here: column a shifted) fails with the driver's
 * message plus the row, or is resolved by handleInvalid; no index ever leaves its own table.
 */
class BlockResolveTest {
  private static final String[] COLS = {"a", "b"};

  /** Rows (a, b, label): a = r % 10 + shift, b = r % 5; 20 rows. */
  private static List<Row> rows(double shift) {
    List<Row> out = new ArrayList<>();
    for (int r = 0; r < 20; r++) {
      out.add(RowFactory.create((double) (r % 10) + shift, (double) (r % 5), (double) (r % 2)));
    }
    return out;
  }

  /** The blocks of the first pass, with sizes inferred by the scan as the driver does. */
  private static TableSizes scanned() {
    PartitionData first = BlockBuilder.build(3, rows(0).iterator(), new int[] {-1, -1}, false);
    TableSizes before = TableSizes.of(COLS, new int[] {-1, -1}, TableSizes.FROM_SCAN);
    return before.afterScan(COLS, first.stats);
  }

  private static BlockRules rules(TableSizes sizes, String handleInvalid) {
    return new BlockRules(COLS, sizes, handleInvalid, true, "label", "", "", 0, "", null, null);
  }

  private static PartitionData rebuilt(double shift) {
    // Spark rebuilds the block with what was known before the scan: the counts are unknown
    return BlockBuilder.build(3, rows(shift).iterator(), new int[] {-1, -1}, false);
  }

  @Test
  void firstBuildPassesUnchanged() {
    TableSizes sizes = scanned();
    assertEquals("[10, 5]", Arrays.toString(sizes.validCounts));
    PartitionData pd = rebuilt(0);
    assertSame(pd, BlockBuilder.resolve(pd, rules(sizes, "error")));
    assertSame(pd, BlockBuilder.resolve(pd, rules(sizes, "keep")));
    assertSame(pd, BlockBuilder.resolve(pd, rules(sizes, "skip")));
  }

  @Test
  void rebuiltFromShiftedInputFailsNamingColumnValueAndRow() {
    TableSizes sizes = scanned();
    for (double shift : new double[] {10, 100_000}) {
      String m = assertThrows(IllegalArgumentException.class,
          () -> BlockBuilder.resolve(rebuilt(shift), rules(sizes, "error"))).getMessage();
      // the largest shifted value is 9 + shift, first seen at row 9
      String value = Long.toString((long) (9 + shift));
      assertTrue(m.startsWith("input column 'a' has the index " + value + ", but there are 10 "
          + "categories (from the largest index in the data), so valid indices are 0 to 9, at row "
          + "9 of partition 3"), m);
      assertTrue(m.contains("built again") && m.contains("deterministic"), m);
    }
  }

  @Test
  void sameMessageAsTheDriversForAKnownCount() {
    // numCategories known before the build: the driver's check and a rebuilt block's agree
    TableSizes sizes = TableSizes.of(COLS, new int[] {10, 5}, TableSizes.FROM_PARAM);
    PartitionData bad = BlockBuilder.build(0, rows(3).iterator(), new int[] {10, 5}, false);
    String driver = assertThrows(IllegalArgumentException.class, () -> InputErrors.check(
        bad.stats, COLS, sizes, "error", true, "label", "")).getMessage();
    String task = assertThrows(IllegalArgumentException.class,
        () -> BlockBuilder.resolve(bad, rules(sizes, "error"))).getMessage();
    String common = "input column 'a' has the index 10, but there are 10 categories (from the "
        + "numCategories param), so valid indices are 0 to 9";
    assertTrue(driver.startsWith(common + " (6 invalid values"), driver);
    assertTrue(task.startsWith(common + ", at row 7 of partition 0 (6 invalid values"), task);
  }

  @Test
  void keepMapsRebuiltIndicesToTheirOwnReservedRow() {
    TableSizes sizes = scanned();
    PartitionData pd = BlockBuilder.resolve(rebuilt(10), rules(sizes, "keep"));
    int[] tables = sizes.tableSizes(true);
    RowBlock b = pd.block;
    assertEquals(20, b.rows);
    for (int r = 0; r < b.rows; r++) {
      assertEquals(10, b.index(r, 0), "every a is now past the 10 categories: reserved row");
      assertEquals(r % 5, b.index(r, 1), "b untouched");
      for (int f = 0; f < 2; f++) {
        assertTrue(b.index(r, f) >= 0 && b.index(r, f) < tables[f]);
      }
    }
    assertEquals(20.0, pd.weightSum);
  }

  @Test
  void skipDropsRebuiltRowsOutsideTheTables() {
    TableSizes sizes = scanned();
    PartitionData pd = BlockBuilder.resolve(rebuilt(5), rules(sizes, "skip"));
    // a = r % 10 + 5 is valid (< 10) for r % 10 < 5: 10 of 20 rows
    assertEquals(10, pd.block.rows);
    assertEquals(10.0, pd.weightSum);
    for (int r = 0; r < pd.block.rows; r++) {
      assertTrue(pd.block.index(r, 0) < 10);
    }
  }

  @Test
  void rebuiltLabelsAreCheckedWithTheDriversMessage() {
    TableSizes sizes = scanned();
    List<Row> rs = rows(0);
    rs.set(4, RowFactory.create(4.0, 4.0, 1e39));
    PartitionData pd = BlockBuilder.build(1, rs.iterator(), new int[] {-1, -1}, false);
    String m = assertThrows(IllegalArgumentException.class,
        () -> BlockBuilder.resolve(pd, rules(sizes, "error"))).getMessage();
    assertTrue(m.startsWith("label column 'label' has the value 1.0E39 (1 such row); labels must "
        + "be finite numbers within float range"), m);
    assertTrue(m.contains("built again"), m);
  }
}
