package io.fastembedding.spark.data;

import java.io.Serializable;
import java.util.Arrays;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.BinaryAttribute;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * How many categories each field has, and where that number came from: the numCategories param, the
 * column's NominalAttribute metadata (which StringIndexer writes), or a scan for the largest index.
 * With handleInvalid = keep, each table gets one more row, reserved for invalid and null indices.
 */
public final class TableSizes implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final String FROM_PARAM = "from the numCategories param";
  public static final String FROM_METADATA = "from the column's NominalAttribute metadata";
  public static final String FROM_SCAN = "from the largest index in the data";

  /** The input columns, for messages. */
  public final String[] cols;
  /** Valid categories per field (indices 0 to n-1); -1 where not known yet. */
  public final int[] validCounts;
  public final String[] sources;

  private TableSizes(String[] cols, int[] validCounts, String[] sources) {
    this.cols = cols.clone();
    this.validCounts = validCounts;
    this.sources = sources;
  }

  /** Counts known from elsewhere (a saved model's, or a test's). */
  public static TableSizes of(String[] cols, int[] validCounts, String source) {
    String[] sources = new String[cols.length];
    Arrays.fill(sources, source);
    return new TableSizes(cols, validCounts.clone(), sources);
  }

  /** What is known before reading the data: the param, else the metadata, else -1. */
  public static TableSizes beforeScan(StructType schema, String[] cols, int[] numCategories) {
    int n = cols.length;
    int[] counts = new int[n];
    String[] sources = new String[n];
    for (int f = 0; f < n; f++) {
      if (numCategories != null) {
        counts[f] = numCategories[f];
        sources[f] = FROM_PARAM;
        continue;
      }
      int fromMeta = fromMetadata(schema, cols[f]);
      counts[f] = fromMeta;
      sources[f] = fromMeta > 0 ? FROM_METADATA : FROM_SCAN;
    }
    return new TableSizes(cols, counts, sources);
  }

  /** The number of values in a column's nominal or binary attribute metadata, or -1. */
  static int fromMetadata(StructType schema, String col) {
    Attribute a = Attribute.fromStructField(schema.apply(col));
    if (a instanceof NominalAttribute na) {
      Option<Object> nv = na.getNumValues();
      if (nv.isDefined() && (Integer) nv.get() > 0) {
        return (Integer) nv.get();
      }
    } else if (a instanceof BinaryAttribute) {
      return 2;
    }
    return -1;
  }

  /** Fills the unknown counts from the scan's largest valid index. */
  public TableSizes afterScan(String[] cols, BlockStats stats) {
    int[] counts = validCounts.clone();
    for (int f = 0; f < counts.length; f++) {
      if (counts[f] < 0) {
        int max = stats.fields[f].maxValid;
        if (max < 0) {
          throw new IllegalArgumentException("input column '" + cols[f] + "' has no valid index "
              + "(only nulls, negative or non-integer values), so its number of categories cannot "
              + "be inferred; set numCategories, or index the column with StringIndexer");
        }
        counts[f] = max + 1;
      }
    }
    return new TableSizes(cols, counts, sources.clone());
  }

  /**
   * Rows of each table: the valid categories, plus the reserved row when {@code keep}.
   *
   * @throws IllegalArgumentException naming the column when a table would have more rows than an
   *     index can address
   */
  public int[] tableSizes(boolean keep) {
    int[] out = new int[validCounts.length];
    for (int f = 0; f < out.length; f++) {
      long rows = (long) validCounts[f] + (keep ? 1 : 0);
      if (rows > MAX_ROWS) {
        throw new IllegalArgumentException("input column '" + cols[f] + "' has " + validCounts[f]
            + " categories (" + sources[f] + ")" + (keep ? ", and handleInvalid = 'keep' adds a "
            + "reserved row: " + rows + " rows" : "") + ", more than a table can hold (at most "
            + MAX_ROWS + " rows: indices are ints)");
      }
      out[f] = (int) rows;
    }
    return out;
  }

  /**
   * The most rows a table can have: indices are ints, and {@link IndexRules} treats values from
   * {@code Integer.MAX_VALUE - 16} on as too large before a scan knows the count.
   */
  public static final int MAX_ROWS = IndexRules.MAX_INDEX + 1;
}
