package io.fastembedding.testutil;

import static org.junit.jupiter.api.Assertions.fail;

import io.fastembedding.model.ModelState;
import io.fastembedding.reference.ReferenceModel;

/**
 * Tolerances for comparing two float32 implementations of the same training: each is measured against
 * the double-precision {@link ReferenceModel}, and the candidate (say the GPU) passes when its error is
 * within {@link #FACTOR} times the baseline's (the CPU backend's).
 *
 * <p>Why a factor and not a fixed number: both backends compute the same float32 formulas and differ
 * only in the order of their sums (the GPU sums a row's occurrences per tile and then tile by tile,
 * reduces head partials in shuffle trees, and in atomic mode in whatever order the atomics land). A
 * different order gives an error of the same size, not the same error. How large that size is depends
 * on the data (cancellation in a sum, a logistic loss near saturation), so a fixed tolerance is either
 * loose for easy cases or fails on hard seeds; the CPU's own error measures the conditioning of the
 * very case under test. The baseline's error is taken as at least {@link #ROUNDINGS} times the error of
 * the reference merely rounded to float, so that a baseline that happens to land unusually close does
 * not turn ordinary rounding into a failure.
 */
public final class FloatAgreement {
  /**
   * How much further from the reference the candidate may be than the baseline. Two summation orders
   * of the same float32 sums give errors of one size with a spread of a few times; 8 leaves room for
   * that spread and still catches a dropped or doubled occurrence, a stale read or a wrong update,
   * which are orders of magnitude larger than rounding.
   */
  public static final double FACTOR = 8;
  /** The baseline error floor in units of the rounding error of the reference itself. */
  public static final double ROUNDINGS = 16;

  /** Set -Dfastembedding.test.agreement=print to print every comparison (to calibrate or inspect). */
  private static final boolean PRINT = "print".equals(System.getProperty("fastembedding.test.agreement"));

  private FloatAgreement() {}

  /** ||a - ref|| / ||ref|| (L2); infinite if a has a NaN; 0 when both are all zero. */
  public static double relErr(float[] a, double[] ref) {
    if (a.length != ref.length) {
      fail(a.length + " values, the reference has " + ref.length);
    }
    double num = 0;
    double den = 0;
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - ref[i];
      num += d * d;
      den += ref[i] * ref[i];
    }
    if (Double.isNaN(num) || Double.isInfinite(num)) {
      return Double.POSITIVE_INFINITY;
    }
    if (num == 0) {
      return 0;
    }
    return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  }

  public static double relErr(double[] a, double[] ref) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return relErr(f, ref);
  }

  /** The error of the reference rounded to float: the least error any float32 result can have. */
  public static double roundingError(double[] ref) {
    return relErr(ref, ref);
  }

  /**
   * Asserts that candidate's error against ref is at most FACTOR x max(baseline's error, ROUNDINGS x
   * rounding error), array by array. {@code what} should carry the seed that replays the case.
   */
  public static void assertStates(String what, ReferenceModel ref, ModelState baseline, ModelState candidate) {
    String[] names = {"tables", "firstOrder", "head", "tableAccum", "firstOrderAccum", "headAccum"};
    double[][] r = {ref.tables, ref.firstOrder, ref.head, ref.tableAccum, ref.firstOrderAccum, ref.headAccum};
    float[][] b = {baseline.tables, baseline.firstOrder, baseline.head, baseline.tableAccum,
        baseline.firstOrderAccum, baseline.headAccum};
    float[][] c = {candidate.tables, candidate.firstOrder, candidate.head, candidate.tableAccum,
        candidate.firstOrderAccum, candidate.headAccum};
    for (int i = 0; i < names.length; i++) {
      assertArray(what + ": " + names[i], r[i], b[i], c[i]);
    }
  }

  /** One array: see {@link #assertStates}. */
  public static void assertArray(String what, double[] ref, float[] baseline, float[] candidate) {
    if (ref.length == 0) {
      if (candidate.length != 0) {
        fail(what + ": " + candidate.length + " values where the reference has none");
      }
      return;
    }
    double eb = relErr(baseline, ref);
    double ec = relErr(candidate, ref);
    double er = roundingError(ref);
    double allowed = FACTOR * Math.max(eb, ROUNDINGS * er);
    if (PRINT) {
      System.out.printf("AGREEMENT %s baseline %.3e candidate %.3e rounding %.3e ratio %.2f%n", what, eb, ec, er,
          ec / Math.max(eb, ROUNDINGS * er));
    }
    if (!(ec <= allowed)) {
      fail(what + ": relative L2 error against the double reference " + ec + ", more than " + FACTOR
          + " x the baseline's " + eb + " (rounding alone: " + er + ")");
    }
  }
}
