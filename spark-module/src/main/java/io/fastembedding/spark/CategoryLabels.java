package io.fastembedding.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The category names of each input column, where its metadata has them: StringIndexer marks its
 * output as a nominal attribute whose values are the labels, index i being {@code values[i]}. Kept
 * by the model so that {@code getVectors} can say which category each vector is. A field without
 * nominal values has none (null).
 */
final class CategoryLabels implements Serializable {
  private static final long serialVersionUID = 1L;

  static final StructType SCHEMA = new StructType()
      .add("field", DataTypes.IntegerType, false)
      .add("labels", DataTypes.createArrayType(DataTypes.StringType, true), false);

  private final String[][] labels;

  private CategoryLabels(String[][] labels) {
    this.labels = labels;
  }

  static CategoryLabels none(int fields) {
    return new CategoryLabels(new String[fields][]);
  }

  /**
   * The nominal values of {@code cols} in {@code schema}, null for columns without them and for
   * hashed columns ({@code hashBuckets[f] > 0}), whose table rows are buckets, not the indices the
   * metadata names (and whose raw values need not be numeric, as the metadata reader requires).
   */
  static CategoryLabels fromSchema(StructType schema, String[] cols, int[] hashBuckets) {
    String[][] out = new String[cols.length][];
    for (int f = 0; f < cols.length; f++) {
      if (f < hashBuckets.length && hashBuckets[f] > 0) {
        continue;
      }
      StructField field = schema.apply(cols[f]);
      if (!(field.dataType() instanceof org.apache.spark.sql.types.NumericType)) {
        continue;
      }
      Attribute a = Attribute.fromStructField(field);
      if (a instanceof NominalAttribute n && n.values().isDefined()) {
        out[f] = n.values().get().clone();
      }
    }
    return new CategoryLabels(out);
  }

  /** Field {@code f}'s labels, or null. */
  String[] of(int f) {
    return f < labels.length ? labels[f] : null;
  }

  boolean isEmpty() {
    return Arrays.stream(labels).allMatch(l -> l == null);
  }

  /** One row per field that has labels, for the model's data/labels file. */
  List<Row> rows() {
    List<Row> out = new ArrayList<>();
    for (int f = 0; f < labels.length; f++) {
      if (labels[f] != null) {
        out.add(RowFactory.create(f, Arrays.asList(labels[f])));
      }
    }
    return out;
  }

  static CategoryLabels fromRows(List<Row> rows, int fields) {
    String[][] out = new String[fields][];
    for (Row r : rows) {
      List<String> l = r.getList(1);
      out[r.getInt(0)] = l.toArray(new String[0]);
    }
    return new CategoryLabels(out);
  }
}
