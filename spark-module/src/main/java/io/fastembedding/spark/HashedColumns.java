package io.fastembedding.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Open vocabularies: a raw string or integer column hashed into a fixed number of table rows, so a
 * column of millions of values needs no StringIndexer (which collects every label to the driver).
 * The row of a value is Spark's {@code xxhash64} of it (seed 42, the same on every JVM and Spark
 * version) modulo the buckets; integer columns are widened to long first, so an int and a long
 * column with the same values hash alike. A null stays null and follows handleInvalid.
 *
 * <p>Collisions: two values that hash to the same row share one embedding. With {@code v} distinct
 * values in {@code b} rows, about {@code v - b (1 - (1 - 1/b)^v)} values share a row with another
 * (for v = b, about 37 % of the values); rare values colliding with frequent ones are pulled towards
 * them. Choose {@code b} a few times the number of values that matter.
 */
final class HashedColumns {
  private HashedColumns() {}

  /** The table row of each value of {@code raw} among {@code buckets} rows, as a double. */
  static Column index(Column raw, DataType type, int buckets) {
    Column v = type.equals(DataTypes.StringType) ? raw : raw.cast(DataTypes.LongType);
    return functions.when(raw.isNull(), functions.lit(null).cast(DataTypes.DoubleType))
        .otherwise(functions.pmod(functions.xxhash64(v), functions.lit((long) buckets))
            .cast(DataTypes.DoubleType));
  }

  /** Fails naming the column unless it holds strings or integers. */
  static void requireHashable(StructType schema, String col) {
    if (!java.util.Arrays.asList(schema.fieldNames()).contains(col)) {
      throw new IllegalArgumentException("input column '" + col + "' does not exist; the columns "
          + "are " + java.util.Arrays.toString(schema.fieldNames()));
    }
    DataType t = schema.apply(col).dataType();
    if (!(t.equals(DataTypes.StringType) || t.equals(DataTypes.LongType)
        || t.equals(DataTypes.IntegerType) || t.equals(DataTypes.ShortType)
        || t.equals(DataTypes.ByteType))) {
      throw new IllegalArgumentException("input column '" + col + "' is hashed (numHashBuckets > "
          + "0) but has type " + t.simpleString() + "; a hashed column must hold strings or "
          + "integers (cast it, e.g. to string)");
    }
  }
}
