package io.fastembedding.spark;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.api.java.UDF4;
import org.apache.spark.sql.api.java.UDF5;
import org.apache.spark.sql.api.java.UDF6;
import org.apache.spark.sql.api.java.UDF7;
import org.apache.spark.sql.api.java.UDF8;
import org.apache.spark.sql.api.java.UDF9;
import org.apache.spark.sql.api.java.UDF10;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * The transform's UDFs, one per arity (generated; do not edit by hand). Passing each index column as
 * its own argument lets a row's vector be written straight into its output array: no array, struct
 * or row per input row. {@code functions.udf} takes Java UDFs of up to 10 arguments (UDF11 to UDF22
 * would fall to the untyped, disallowed overload), so past 10 columns the indices come as one struct.
 */
final class IndexUdfs {
  private IndexUdfs() {}

  static final DataType VECTOR = SQLDataTypes.VectorType();
  static final int MAX_ARITY = 10;

  /** The concatenated embedding of the index columns. */
  static UserDefinedFunction concat(EmbeddingLookup l, int n) {
    return switch (n) {
      case 1 -> functions.udf((UDF1<Double, Vector>) (a0) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0);
        return Vectors.dense(o);
      }, VECTOR);
      case 2 -> functions.udf((UDF2<Double, Double, Vector>) (a0, a1) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1);
        return Vectors.dense(o);
      }, VECTOR);
      case 3 -> functions.udf((UDF3<Double, Double, Double, Vector>) (a0, a1, a2) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2);
        return Vectors.dense(o);
      }, VECTOR);
      case 4 -> functions.udf((UDF4<Double, Double, Double, Double, Vector>) (a0, a1, a2, a3) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3);
        return Vectors.dense(o);
      }, VECTOR);
      case 5 -> functions.udf((UDF5<Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4);
        return Vectors.dense(o);
      }, VECTOR);
      case 6 -> functions.udf((UDF6<Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5);
        return Vectors.dense(o);
      }, VECTOR);
      case 7 -> functions.udf((UDF7<Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6);
        return Vectors.dense(o);
      }, VECTOR);
      case 8 -> functions.udf((UDF8<Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7);
        return Vectors.dense(o);
      }, VECTOR);
      case 9 -> functions.udf((UDF9<Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8);
        return Vectors.dense(o);
      }, VECTOR);
      case 10 -> functions.udf((UDF10<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9);
        return Vectors.dense(o);
      }, VECTOR);
      default -> functions.udf((UDF1<Row, Vector>) r -> {
        double[] o = l.newOutput();
        for (int i = 0; i < r.length(); i++) {
          l.put(o, i, r.isNullAt(i) ? null : r.getDouble(i));
        }
        return Vectors.dense(o);
      }, VECTOR);
    };
  }

  /** The head's prediction from the index columns. */
  static UserDefinedFunction predict(HeadScorer s, int n) {
    return switch (n) {
      case 1 -> functions.udf((UDF1<Double, Double>) (a0) -> {
        synchronized (s) {
          s.set(0, a0);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 2 -> functions.udf((UDF2<Double, Double, Double>) (a0, a1) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 3 -> functions.udf((UDF3<Double, Double, Double, Double>) (a0, a1, a2) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 4 -> functions.udf((UDF4<Double, Double, Double, Double, Double>) (a0, a1, a2, a3) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 5 -> functions.udf((UDF5<Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 6 -> functions.udf((UDF6<Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 7 -> functions.udf((UDF7<Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 8 -> functions.udf((UDF8<Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 9 -> functions.udf((UDF9<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 10 -> functions.udf((UDF10<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      default -> functions.udf((UDF1<Row, Double>) r -> {
        synchronized (s) {
          for (int i = 0; i < r.length(); i++) {
            s.set(i, r.isNullAt(i) ? null : r.getDouble(i));
          }
          return s.predict();
        }
      }, DataTypes.DoubleType);
    };
  }

  /** The columns to pass: one per field, or one struct of them all past {@link #MAX_ARITY}. */
  static Column[] arguments(Column[] indexColumns) {
    return indexColumns.length <= MAX_ARITY ? indexColumns
        : new Column[] {functions.struct(indexColumns)};
  }
}
