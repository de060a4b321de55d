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
import org.apache.spark.sql.api.java.UDF11;
import org.apache.spark.sql.api.java.UDF12;
import org.apache.spark.sql.api.java.UDF13;
import org.apache.spark.sql.api.java.UDF14;
import org.apache.spark.sql.api.java.UDF15;
import org.apache.spark.sql.api.java.UDF16;
import org.apache.spark.sql.api.java.UDF17;
import org.apache.spark.sql.api.java.UDF18;
import org.apache.spark.sql.api.java.UDF19;
import org.apache.spark.sql.api.java.UDF20;
import org.apache.spark.sql.api.java.UDF21;
import org.apache.spark.sql.api.java.UDF22;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * The transform's UDFs, one per arity (generated; do not edit by hand). Passing each index column as
 * its own argument lets a row's vector be written straight into its output array: no array, struct
 * or row per input row. Past 22 columns (Spark's largest Java UDF) the indices come as one struct.
 */
final class IndexUdfs {
  private IndexUdfs() {}

  static final DataType VECTOR = SQLDataTypes.VectorType();
  static final int MAX_ARITY = 22;

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
      case 11 -> functions.udf((UDF11<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10);
        return Vectors.dense(o);
      }, VECTOR);
      case 12 -> functions.udf((UDF12<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11);
        return Vectors.dense(o);
      }, VECTOR);
      case 13 -> functions.udf((UDF13<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12);
        return Vectors.dense(o);
      }, VECTOR);
      case 14 -> functions.udf((UDF14<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13);
        return Vectors.dense(o);
      }, VECTOR);
      case 15 -> functions.udf((UDF15<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14);
        return Vectors.dense(o);
      }, VECTOR);
      case 16 -> functions.udf((UDF16<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15);
        return Vectors.dense(o);
      }, VECTOR);
      case 17 -> functions.udf((UDF17<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15); l.put(o, 16, a16);
        return Vectors.dense(o);
      }, VECTOR);
      case 18 -> functions.udf((UDF18<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15); l.put(o, 16, a16); l.put(o, 17, a17);
        return Vectors.dense(o);
      }, VECTOR);
      case 19 -> functions.udf((UDF19<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15); l.put(o, 16, a16); l.put(o, 17, a17); l.put(o, 18, a18);
        return Vectors.dense(o);
      }, VECTOR);
      case 20 -> functions.udf((UDF20<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15); l.put(o, 16, a16); l.put(o, 17, a17); l.put(o, 18, a18); l.put(o, 19, a19);
        return Vectors.dense(o);
      }, VECTOR);
      case 21 -> functions.udf((UDF21<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15); l.put(o, 16, a16); l.put(o, 17, a17); l.put(o, 18, a18); l.put(o, 19, a19); l.put(o, 20, a20);
        return Vectors.dense(o);
      }, VECTOR);
      case 22 -> functions.udf((UDF22<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Vector>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21) -> {
        double[] o = l.newOutput();
        l.put(o, 0, a0); l.put(o, 1, a1); l.put(o, 2, a2); l.put(o, 3, a3); l.put(o, 4, a4); l.put(o, 5, a5); l.put(o, 6, a6); l.put(o, 7, a7); l.put(o, 8, a8); l.put(o, 9, a9); l.put(o, 10, a10); l.put(o, 11, a11); l.put(o, 12, a12); l.put(o, 13, a13); l.put(o, 14, a14); l.put(o, 15, a15); l.put(o, 16, a16); l.put(o, 17, a17); l.put(o, 18, a18); l.put(o, 19, a19); l.put(o, 20, a20); l.put(o, 21, a21);
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
      case 11 -> functions.udf((UDF11<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 12 -> functions.udf((UDF12<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 13 -> functions.udf((UDF13<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 14 -> functions.udf((UDF14<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 15 -> functions.udf((UDF15<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 16 -> functions.udf((UDF16<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 17 -> functions.udf((UDF17<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15); s.set(16, a16);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 18 -> functions.udf((UDF18<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15); s.set(16, a16); s.set(17, a17);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 19 -> functions.udf((UDF19<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15); s.set(16, a16); s.set(17, a17); s.set(18, a18);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 20 -> functions.udf((UDF20<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15); s.set(16, a16); s.set(17, a17); s.set(18, a18); s.set(19, a19);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 21 -> functions.udf((UDF21<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15); s.set(16, a16); s.set(17, a17); s.set(18, a18); s.set(19, a19); s.set(20, a20);
          return s.predict();
        }
      }, DataTypes.DoubleType);
      case 22 -> functions.udf((UDF22<Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double>) (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21) -> {
        synchronized (s) {
          s.set(0, a0); s.set(1, a1); s.set(2, a2); s.set(3, a3); s.set(4, a4); s.set(5, a5); s.set(6, a6); s.set(7, a7); s.set(8, a8); s.set(9, a9); s.set(10, a10); s.set(11, a11); s.set(12, a12); s.set(13, a13); s.set(14, a14); s.set(15, a15); s.set(16, a16); s.set(17, a17); s.set(18, a18); s.set(19, a19); s.set(20, a20); s.set(21, a21);
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
