package io.fastembedding.spark.data;

/**
 * What counts as a valid category index, shared by fit and transform so that both treat a value the
 * same way: an integral, non-negative value below the number of valid categories.
 */
public final class IndexRules {
  private IndexRules() {}

  public static final int NEGATIVE = -1;
  public static final int NON_INTEGER = -2;
  public static final int TOO_LARGE = -3;
  /** The largest index a table can have: indices are ints, with room kept below int's limit. */
  public static final int MAX_INDEX = Integer.MAX_VALUE - 17;
  /** Marks an invalid index inside a block until the driver decides what to do with it. */
  public static final int INVALID = -1;

  /**
   * The index of {@code v}, or one of {@link #NEGATIVE}, {@link #NON_INTEGER}, {@link #TOO_LARGE}.
   *
   * @param validCount number of valid categories, or -1 when not known yet (then only int range)
   */
  public static int classify(double v, int validCount) {
    if (v != Math.rint(v) || Double.isInfinite(v)) {
      return NON_INTEGER;
    }
    if (v < 0) {
      return NEGATIVE;
    }
    if (validCount >= 0 ? v >= validCount : v > MAX_INDEX) {
      return TOO_LARGE;
    }
    return (int) v;
  }

  /** A message for an invalid value, naming the column. */
  public static String describe(String col, Double value, int validCount, String sizeSource) {
    if (value == null) {
      return "input column '" + col + "' has a null index";
    }
    double v = value;
    String shown = v == Math.rint(v) && !Double.isInfinite(v) ? Long.toString((long) v)
        : Double.toString(v);
    int c = classify(v, validCount);
    return switch (c) {
      case NEGATIVE -> "input column '" + col + "' has the negative index " + shown;
      case NON_INTEGER -> "input column '" + col + "' has the value " + shown
          + ", which is not an integer category index";
      case TOO_LARGE -> "input column '" + col + "' has the index " + shown
          + (validCount >= 0 ? ", but there are " + validCount + " categories (" + sizeSource
              + "), so valid indices are 0 to " + (validCount - 1)
              : ", too large for a table");
      default -> "input column '" + col + "' has the valid index " + shown;
    };
  }
}
