package io.fastembedding.spark.data;

import java.util.Arrays;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Schema checks on the driver, with messages that name the column and say what to do. */
public final class ColumnChecks {
  private ColumnChecks() {}

  public static StructField require(StructType schema, String col, String role) {
    String[] names = schema.fieldNames();
    if (!Arrays.asList(names).contains(col)) {
      throw new IllegalArgumentException(role + " '" + col + "' does not exist; the data has columns "
          + Arrays.toString(names));
    }
    return schema.apply(col);
  }

  /** An index column: any numeric type (integral values are checked row by row). */
  public static void requireIndexColumn(StructType schema, String col) {
    StructField f = require(schema, col, "input column");
    DataType t = f.dataType();
    if (!(t instanceof NumericType)) {
      throw new IllegalArgumentException("input column '" + col + "' has type " + t.simpleString()
          + ", but it must hold category indices (integers 0, 1, 2, ...); index a "
          + (t.simpleString().equals("string") ? "string" : "categorical")
          + " column first, e.g. with StringIndexer");
    }
  }

  public static void requireNumericColumn(StructType schema, String col, String role) {
    StructField f = require(schema, col, role);
    if (!(f.dataType() instanceof NumericType)) {
      throw new IllegalArgumentException(role + " '" + col + "' must be numeric, but has type "
          + f.dataType().simpleString());
    }
  }

  /** A column of ML Vectors (VectorUDT), such as VectorAssembler's output. */
  public static void requireVectorColumn(StructType schema, String col, String role) {
    StructField f = require(schema, col, role);
    if (!(f.dataType() instanceof org.apache.spark.ml.linalg.VectorUDT)) {
      throw new IllegalArgumentException(role + " '" + col + "' must be a Vector column (e.g. "
          + "VectorAssembler's output), but has type " + f.dataType().simpleString());
    }
  }

  public static void requireBooleanColumn(StructType schema, String col, String role) {
    StructField f = require(schema, col, role);
    if (!(f.dataType() instanceof org.apache.spark.sql.types.BooleanType)) {
      throw new IllegalArgumentException(role + " '" + col + "' must be boolean (true marks a "
          + "validation row), but has type " + f.dataType().simpleString());
    }
  }

  public static void requireAbsent(StructType schema, String col) {
    if (Arrays.asList(schema.fieldNames()).contains(col)) {
      throw new IllegalArgumentException("output column '" + col + "' already exists; choose "
          + "another name");
    }
  }

  /** A per-field param must have one entry per input column. */
  public static void requireLength(String param, int actual, int fields, String[] inputCols) {
    if (actual != fields) {
      throw new IllegalArgumentException(param + " has " + actual + " entries, but there are "
          + fields + " input columns " + Arrays.toString(inputCols)
          + "; give one entry per input column");
    }
  }
}
