package io.fastembedding.spark;

import io.fastembedding.spark.data.NumericBuckets;
import java.util.Arrays;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * How the numeric features reach the head (param {@code numericEncoding}), and the column
 * expressions that do it, so that fit and transform encode a row the same way:
 * <ul>
 *   <li>{@code auto} (the default): {@code ple} when the training data has at most
 *       ParamDefs.EARLY_STOPPING_ROWS rows and a numeric column, else {@code linear};
 *   <li>{@code linear}: the (standardised) value only: the head is linear in it;
 *   <li>{@code bucket}: the value, and its quantile bucket as one more categorical field with its
 *       own embedding table and first-order weights (a step function of the value);
 *   <li>{@code ple}: the piecewise-linear encoding of the value over the bucket edges (Gorishniy
 *       et al. 2022) in its place: one head input per bucket.
 * </ul>
 * Both need no kernel of their own: a bucket is an index like any other, a PLE value a numeric
 * input like any other, so every backend has them.
 */
final class NumericEncoding {
  static final String AUTO = "auto";
  static final String LINEAR = "linear";
  static final String BUCKET = "bucket";
  static final String PLE = "ple";
  static final String[] ALL = {AUTO, LINEAR, BUCKET, PLE};

  /** Relative rank error of the quantiles (as QuantileDiscretizer's default). */
  static final double QUANTILE_ERROR = 0.001;

  private NumericEncoding() {}

  /** The name of the hidden vector column of the piecewise-linear encoding. */
  static String encodedColumn(String uid) {
    return "__" + uid + "_ple";
  }

  /** The name of the hidden index column of numeric feature j's bucket. */
  static String bucketColumn(String uid, int j) {
    return "__" + uid + "_bucket_" + j;
  }

  /**
   * The bucket edges of each of the k features of {@code numericCol}, from their approximate
   * quantiles over the rows (one pass, Greenwald-Khanna, as QuantileDiscretizer's).
   */
  static NumericBuckets learn(Dataset<?> data, String numericCol, int k, int numBuckets) {
    Dataset<Row> arr = data.select(org.apache.spark.ml.functions.vector_to_array(
        data.col(numericCol), "float64").as("v"));
    Column[] parts = new Column[k];
    String[] names = new String[k];
    for (int j = 0; j < k; j++) {
      names[j] = "x" + j;
      parts[j] = arr.col("v").getItem(j).as(names[j]);
    }
    Dataset<Row> cols = arr.select(parts);
    double[] probs = new double[numBuckets + 1];
    for (int b = 0; b <= numBuckets; b++) {
      probs[b] = (double) b / numBuckets;
    }
    double[][] q = cols.stat().approxQuantile(names, probs, QUANTILE_ERROR);
    return NumericBuckets.fromQuantiles(q);
  }

  /** Numeric feature j's bucket, as a double index column (nulls stay null: the checks name them). */
  static Column bucket(Column vector, NumericBuckets b, int j) {
    return functions.udf((UDF1<Vector, Double>) v -> v == null || v.size() <= j ? null
        : (double) b.bucket(j, v.apply(j)), DataTypes.DoubleType).apply(vector);
  }

  /** The piecewise-linear encoding of every feature, as one dense vector column. */
  static Column ple(Column vector, NumericBuckets b, String numericCol) {
    int width = b.totalEncodingWidth();
    return functions.udf((UDF1<Vector, Vector>) v -> {
      // the user's column and features, not the hidden encoded column's, name a bad row
      HeadScorer.checkNumeric(v, b.numFeatures(), numericCol);
      double[] out = new double[width];
      int at = 0;
      for (int j = 0; j < b.numFeatures(); j++) {
        b.encode(j, v.apply(j), out, at);
        at += b.encodingWidth(j);
      }
      return Vectors.dense(out);
    }, SQLDataTypes.VectorType()).apply(vector);
  }

  /** A short description of the edges, for logs. */
  static String describe(NumericBuckets b) {
    int[] counts = new int[b.numFeatures()];
    for (int j = 0; j < counts.length; j++) {
      counts[j] = b.numBuckets(j);
    }
    return "buckets per numeric feature " + Arrays.toString(counts);
  }
}
