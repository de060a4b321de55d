package io.fastembedding.spark;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import org.apache.spark.ml.param.ParamValidators;
import scala.Function1;
import scala.runtime.AbstractFunction1;

/**
 * A param validator that says what it expects. Spark's params take a {@code scala.Function1<T,
 * Boolean>} (serializable: params travel with the stage), and on {@code false} Spark's own message
 * names neither what is allowed nor why; so a failed check here throws its own
 * IllegalArgumentException naming the param, the value and the allowed values or range, e.g.
 * {@code head given invalid value 'tree': allowed values are fm, linear, mlp}. Setters, copies and
 * the params reader all validate through it. The checks themselves are Spark's
 * {@link ParamValidators} where one fits.
 */
final class ParamCheck<T> extends AbstractFunction1<T, Object> implements Serializable {
  private static final long serialVersionUID = 2L;

  /** A serializable Java predicate. */
  @FunctionalInterface
  interface Test<T> extends Serializable {
    boolean test(T value);
  }

  private final Test<T> test;
  private final String expected;
  private final String name;

  private ParamCheck(Test<T> test, String expected, String name) {
    this.test = test;
    this.expected = expected;
    this.name = name;
  }

  /** @param expected what a valid value is, for the message: "an integer >= 1" */
  static <T> ParamCheck<T> of(Test<T> test, String expected) {
    return new ParamCheck<>(test, expected, null);
  }

  /** Spark's validator, with the description of what it accepts. */
  @SuppressWarnings("unchecked")
  private static <T> ParamCheck<T> spark(Function1<?, Object> validator, String expected) {
    Function1<T, Object> f = (Function1<T, Object>) validator;
    return of(v -> (Boolean) f.apply(v), expected);
  }

  /** This check, naming the param in its message. */
  ParamCheck<T> named(String paramName) {
    return new ParamCheck<>(test, expected, paramName);
  }

  @Override
  public Object apply(T value) {
    if (value != null && test.test(value)) {
      return true;
    }
    throw new IllegalArgumentException((name == null ? "param" : name) + " given invalid value "
        + shown(value) + ": " + expected);
  }

  private static String shown(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof String s) {
      return "'" + s + "'";
    }
    if (v instanceof int[] a) {
      return Arrays.toString(a);
    }
    if (v instanceof Object[] a) {
      return Arrays.toString(a);
    }
    return v.toString();
  }

  /** One of {@code allowed}, ignoring case (the value is normalised by the setter). */
  static ParamCheck<String> oneOf(String... allowed) {
    String[] copy = allowed.clone();
    Function1<String, Object> in = ParamValidators.inArray(copy);
    return of(v -> (Boolean) in.apply(v.toLowerCase(Locale.ROOT)),
        "allowed values are " + String.join(", ", copy));
  }

  static ParamCheck<Object> intAtLeast(int min) {
    return spark(ParamValidators.gtEq(min), "it must be an integer >= " + min);
  }

  static ParamCheck<Object> doubleAbove(double min) {
    ParamCheck<Object> gt = spark(ParamValidators.gt(min), "");
    return of(v -> gt.test.test(v) && !((Double) v).isInfinite(),
        "it must be a finite number > " + fmt(min));
  }

  static ParamCheck<Object> doubleAtLeast(double min) {
    ParamCheck<Object> gtEq = spark(ParamValidators.gtEq(min), "");
    return of(v -> gtEq.test.test(v) && !((Double) v).isInfinite(),
        "it must be a finite number >= " + fmt(min));
  }

  /** In [lo, hi). */
  static ParamCheck<Object> doubleInRange(double lo, double hi) {
    return spark(ParamValidators.inRange(lo, hi, true, false),
        "it must be in [" + fmt(lo) + ", " + fmt(hi) + ")");
  }

  /** A non-empty array of positive ints. */
  static ParamCheck<int[]> positiveInts() {
    return of(a -> a.length > 0 && Arrays.stream(a).allMatch(x -> x > 0),
        "it must be a non-empty list of integers > 0");
  }

  /** A non-empty array of non-empty, distinct names. */
  static ParamCheck<String[]> distinctNames() {
    return of(a -> a.length > 0 && Arrays.stream(a).allMatch(s -> s != null && !s.isEmpty())
        && Arrays.stream(a).distinct().count() == a.length,
        "it must be a non-empty list of distinct, non-empty column names");
  }

  static ParamCheck<String> nonEmpty() {
    return of(s -> !s.isEmpty(), "it must not be empty");
  }

  static ParamCheck<String> anyString() {
    return of(s -> true, "it must not be null");
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
