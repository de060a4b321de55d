package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Orthogonal Procrustes against known rotations: vectors B = A Q for an orthogonal Q drawn at random
 * give back Q; any M gives an orthogonal factor; a rank-deficient M still gives an orthogonal R that
 * maps A onto B where B = A Q.
 */
class ProcrustesTest {
  private static final long SEED = Long.getLong("fastembedding.test.seed", System.nanoTime());

  /** A random orthogonal d x d matrix: Gram-Schmidt on a Gaussian one (row-major). */
  private static double[] randomOrthogonal(int d, SplittableRandom rnd) {
    double[] q = new double[d * d];
    for (int j = 0; j < d; j++) {
      double[] c = new double[d];
      for (int i = 0; i < d; i++) {
        c[i] = rnd.nextGaussian();
      }
      for (int k = 0; k < j; k++) {
        double dot = 0;
        for (int i = 0; i < d; i++) {
          dot += q[i * d + k] * c[i];
        }
        for (int i = 0; i < d; i++) {
          c[i] -= dot * q[i * d + k];
        }
      }
      double n = 0;
      for (double x : c) {
        n += x * x;
      }
      for (int i = 0; i < d; i++) {
        q[i * d + j] = c[i] / Math.sqrt(n);
      }
    }
    return q;
  }

  /**
   * R (row-major, d x d) minimising ||A R - B|| over the rows {@code a[i*d ..]}, {@code b[i*d ..]},
   * i < rows: A^T B summed and factored as CrossFitting.align does it.
   */
  private static double[] rotation(float[] a, float[] b, int rows, int d) {
    double[] m = new double[d * d];
    Procrustes.addCrossProduct(m, a, 0, b, 0, rows, d);
    return Procrustes.polarFactor(m, d);
  }

  private static float[] times(float[] a, int rows, int d, double[] q) {
    float[] b = new float[a.length];
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < d; j++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          s += a[r * d + k] * q[k * d + j];
        }
        b[r * d + j] = (float) s;
      }
    }
    return b;
  }

  private static void assertOrthogonal(double[] r, int d, String what) {
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          s += r[k * d + i] * r[k * d + j];
        }
        // R^T R = I in double: Jacobi's rounding is a few ulps of 1 per product
        assertEquals(i == j ? 1 : 0, s, 1e-12, what + ": (R^T R)[" + i + "][" + j + "]");
      }
    }
  }

  @Test
  void recoversARotationFromRotatedVectors() {
    System.out.println("ProcrustesTest seed " + SEED);
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (int d : new int[] {1, 2, 3, 4, 8, 17, 32}) {
      int rows = 5 * d + 3;
      float[] a = new float[rows * d];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) rnd.nextGaussian();
      }
      double[] q = randomOrthogonal(d, rnd);
      double[] r = rotation(a, times(a, rows, d, q), rows, d);
      String what = "d " + d + " (seed " + SEED + ")";
      assertOrthogonal(r, d, what);
      // B is A Q rounded to float: R equals Q within float rounding of B (relative 6e-8 per
      // element), amplified at most by A's condition number (Gaussian A of 5d rows: below 10)
      for (int i = 0; i < d * d; i++) {
        assertEquals(q[i], r[i], 1e-5, what + ": R[" + i + "]");
      }
    }
  }

  @Test
  void anyMatrixGivesAnOrthogonalFactor() {
    SplittableRandom rnd = new SplittableRandom(SEED + 1);
    for (int d : new int[] {2, 5, 16}) {
      double[] m = new double[d * d];
      for (int i = 0; i < m.length; i++) {
        m[i] = rnd.nextGaussian();
      }
      double[] r = Procrustes.polarFactor(m, d);
      assertOrthogonal(r, d, "random M, d " + d + " (seed " + SEED + ")");
      // the polar factor maximises trace(R^T M): no better than M's nuclear norm, and at least
      // what the identity gives
      double tr = 0;
      double id = 0;
      for (int i = 0; i < d; i++) {
        id += m[i * d + i];
        for (int k = 0; k < d; k++) {
          tr += r[k * d + i] * m[k * d + i];
        }
      }
      assertEquals(true, tr >= id - 1e-9, "trace " + tr + " below the identity's " + id);
    }
  }

  @Test
  void rankDeficientVectorsStillMapOntoTheirRotation() {
    SplittableRandom rnd = new SplittableRandom(SEED + 2);
    int d = 6;
    int rows = 40;
    // vectors in a 3-dimensional subspace: A's last three coordinates are 0
    float[] a = new float[rows * d];
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < 3; j++) {
        a[r * d + j] = (float) rnd.nextGaussian();
      }
    }
    double[] q = randomOrthogonal(d, rnd);
    float[] b = times(a, rows, d, q);
    double[] r = rotation(a, b, rows, d);
    assertOrthogonal(r, d, "rank 3 of 6 (seed " + SEED + ")");
    float[] ar = times(a, rows, d, r);
    for (int i = 0; i < ar.length; i++) {
      assertEquals(b[i], ar[i], 1e-5, "A R against B at " + i + " (seed " + SEED + ")");
    }
  }

  @Test
  void rotateMultipliesEachVectorByR() {
    // hand case: a quarter turn in the plane, two vectors at an offset
    double[] r = {0, 1, -1, 0};
    float[] x = {9, 1, 2, 3, 4};
    Procrustes.rotate(x, 1, 2, 2, r);
    // (1, 2) R = (1*0 + 2*(-1), 1*1 + 2*0) = (-2, 1); (3, 4) R = (-4, 3)
    assertEquals(9, x[0]);
    assertEquals(-2, x[1]);
    assertEquals(1, x[2]);
    assertEquals(-4, x[3]);
    assertEquals(3, x[4]);
  }
}
