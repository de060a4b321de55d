package io.fastembedding.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * {@code explainParam} in Spark's format ({@code name: doc (default: d, current: c)} or
 * {@code (undefined)}), except that array values are written as the param's JSON
 * ({@code [64,32]}, {@code ["a","b"]}): Spark's own concatenates them as {@code [I@64aad6db}.
 */
final class ParamText {
  private ParamText() {}

  @SuppressWarnings("unchecked")
  static String explain(Params owner, Param<?> param) {
    Param<Object> p = (Param<Object>) param;
    String values;
    if (owner.isDefined(p)) {
      List<String> parts = new ArrayList<>(2);
      if (owner.hasDefault(p)) {
        parts.add("default: " + text(p, owner.getDefault(p).get()));
      }
      if (owner.isSet(p)) {
        parts.add("current: " + text(p, owner.get(p).get()));
      }
      values = "(" + String.join(", ", parts) + ")";
    } else {
      values = "(undefined)";
    }
    return param.name() + ": " + param.doc() + " " + values;
  }

  private static String text(Param<Object> p, Object value) {
    return value != null && value.getClass().isArray() ? p.jsonEncode(value)
        : String.valueOf(value);
  }
}
