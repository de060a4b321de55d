package io.fastembedding.spark;

import java.lang.reflect.Constructor;
import org.apache.spark.ml.param.Param;
import scala.Function1;

/**
 * The few places where Spark 3.5 and Spark 4 differ in API this module calls; everything else
 * compiles against both (see docs/spark.md, "Spark versions").
 */
final class SparkCompat {
  private SparkCompat() {}

  /** Spark 4's Param(parent, name, doc, isValid, Class), or null on Spark 3.5. */
  private static final Constructor<?> PARAM_WITH_CLASS = paramWithClass();

  private static Constructor<?> paramWithClass() {
    try {
      return Param.class.getConstructor(String.class, String.class, String.class, Function1.class,
          Class.class);
    } catch (NoSuchMethodException e) {
      return null; // Spark 3.5
    }
  }

  /** A String-valued param, with its value class where the running Spark records one. */
  @SuppressWarnings("unchecked")
  static Param<String> stringParam(String parent, String name, String doc,
      Function1<String, Object> isValid) {
    if (PARAM_WITH_CLASS == null) {
      return new Param<>(parent, name, doc, isValid);
    }
    try {
      return (Param<String>) PARAM_WITH_CLASS.newInstance(parent, name, doc, isValid, String.class);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("could not create param " + name + ": " + e, e);
    }
  }
}
