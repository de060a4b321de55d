package io.fastembedding.spark;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import scala.runtime.AbstractFunction1;

/**
 * A param validator written in Java. Spark's params take a {@code scala.Function1<T, Boolean>}, which
 * must be serializable because params travel with the stage; this adapter makes a Java lambda both.
 */
final class ParamCheck<T> extends AbstractFunction1<T, Object> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A serializable Java predicate. */
  @FunctionalInterface
  interface Test<T> extends Serializable {
    boolean test(T value);
  }

  private final Test<T> test;

  private ParamCheck(Test<T> test) {
    this.test = test;
  }

  static <T> ParamCheck<T> of(Test<T> test) {
    return new ParamCheck<>(test);
  }

  @Override
  public Object apply(T value) {
    return value != null && test.test(value);
  }

  /** One of {@code allowed}, ignoring case (the value is normalised by the setter). */
  static ParamCheck<String> oneOf(String... allowed) {
    String[] copy = allowed.clone();
    return of(v -> Arrays.asList(copy).contains(v.toLowerCase(Locale.ROOT)));
  }

  static ParamCheck<Object> intAtLeast(int min) {
    return of(v -> ((Integer) v) >= min);
  }

  static ParamCheck<Object> doubleAbove(double min) {
    return of(v -> ((Double) v) > min && !((Double) v).isInfinite());
  }

  static ParamCheck<Object> doubleAtLeast(double min) {
    return of(v -> ((Double) v) >= min && !((Double) v).isInfinite());
  }

  /** A non-empty array of positive ints. */
  static ParamCheck<int[]> positiveInts() {
    return of(a -> a.length > 0 && Arrays.stream(a).allMatch(x -> x > 0));
  }

  /** A non-empty array of non-empty, distinct names. */
  static ParamCheck<String[]> distinctNames() {
    return of(a -> a.length > 0 && Arrays.stream(a).allMatch(s -> s != null && !s.isEmpty())
        && Arrays.stream(a).distinct().count() == a.length);
  }
}
