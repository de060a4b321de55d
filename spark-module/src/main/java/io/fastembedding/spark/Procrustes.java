package io.fastembedding.spark;

/**
 * Orthogonal Procrustes: the rotation R (d x d, orthogonal) that brings one set of d-dimensional
 * vectors closest to another, min ||A R - B|| (Frobenius) over the rows of A and B. With
 * M = A^T B = U S V^T (SVD), R = U V^T. The SVD is one-sided Jacobi on M in double precision,
 * which converges for any M; where M is rank-deficient, the missing columns of U are completed to
 * an orthonormal basis, so R is always orthogonal.
 *
 * <p>Cross-fitting uses it to express each fold model's fm vectors in the full model's basis: an
 * fm's scores depend on its vectors only through their dot products, which one rotation of every
 * vector leaves unchanged, so a fold model and its rotation are the same model.
 */
final class Procrustes {
  private static final int MAX_SWEEPS = 60;

  private Procrustes() {}

  /**
   * Adds A^T B to m (d x d) for the vectors {@code a[aOff + i*d ..]} and {@code b[bOff + i*d ..]},
   * i < rows: so a caller sums it over several blocks of vectors without copying them together.
   */
  static void addCrossProduct(double[] m, float[] a, long aOff, float[] b, long bOff, long rows,
      int d) {
    for (long i = 0; i < rows; i++) {
      int oa = (int) (aOff + i * d);
      int ob = (int) (bOff + i * d);
      for (int p = 0; p < d; p++) {
        double ap = a[oa + p];
        if (ap == 0) {
          continue;
        }
        for (int q = 0; q < d; q++) {
          m[p * d + q] += ap * b[ob + q];
        }
      }
    }
  }

  /** The orthogonal factor U V^T of M = U S V^T (row-major, d x d). */
  static double[] polarFactor(double[] m, int d) {
    double[] w = m.clone();  // its columns become U's columns scaled by the singular values
    double[] v = new double[d * d];
    for (int i = 0; i < d; i++) {
      v[i * d + i] = 1;
    }
    for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
      boolean rotated = false;
      for (int p = 0; p < d - 1; p++) {
        for (int q = p + 1; q < d; q++) {
          double alpha = 0;
          double beta = 0;
          double gamma = 0;
          for (int i = 0; i < d; i++) {
            double x = w[i * d + p];
            double y = w[i * d + q];
            alpha += x * x;
            beta += y * y;
            gamma += x * y;
          }
          if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
            continue;
          }
          rotated = true;
          double zeta = (beta - alpha) / (2 * gamma);
          double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
          if (zeta == 0) {
            t = 1;
          }
          double c = 1 / Math.sqrt(1 + t * t);
          double s = c * t;
          rotateColumns(w, d, p, q, c, s);
          rotateColumns(v, d, p, q, c, s);
        }
      }
      if (!rotated) {
        break;
      }
    }
    // U's columns: W's, normalised; those of (near) zero singular value completed by Gram-Schmidt
    double[] norms = new double[d];
    double largest = 0;
    for (int j = 0; j < d; j++) {
      double s = 0;
      for (int i = 0; i < d; i++) {
        s += w[i * d + j] * w[i * d + j];
      }
      norms[j] = Math.sqrt(s);
      largest = Math.max(largest, norms[j]);
    }
    double[] u = new double[d * d];
    boolean[] filled = new boolean[d];
    for (int j = 0; j < d; j++) {
      if (norms[j] > 1e-12 * largest && largest > 0) {
        for (int i = 0; i < d; i++) {
          u[i * d + j] = w[i * d + j] / norms[j];
        }
        filled[j] = true;
      }
    }
    int basis = 0;
    for (int j = 0; j < d; j++) {
      while (!filled[j]) {
        if (basis == d) {
          throw new IllegalStateException("no orthonormal completion found (d = " + d + ")");
        }
        // the next unit vector, less its parts along the filled columns
        double[] e = new double[d];
        e[basis++] = 1;
        for (int k = 0; k < d; k++) {
          if (filled[k]) {
            double dot = 0;
            for (int i = 0; i < d; i++) {
              dot += u[i * d + k] * e[i];
            }
            for (int i = 0; i < d; i++) {
              e[i] -= dot * u[i * d + k];
            }
          }
        }
        double s = 0;
        for (double x : e) {
          s += x * x;
        }
        if (s > 1e-6) {
          double inv = 1 / Math.sqrt(s);
          for (int i = 0; i < d; i++) {
            u[i * d + j] = e[i] * inv;
          }
          filled[j] = true;
        }
      }
    }
    double[] r = new double[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          s += u[i * d + k] * v[j * d + k];
        }
        r[i * d + j] = s;
      }
    }
    return r;
  }

  /** The vectors {@code x[off + i*d ..]}, i < rows, replaced by x R (in place). */
  static void rotate(float[] x, long off, long rows, int d, double[] r) {
    double[] tmp = new double[d];
    for (long i = 0; i < rows; i++) {
      int o = (int) (off + i * d);
      for (int q = 0; q < d; q++) {
        double s = 0;
        for (int p = 0; p < d; p++) {
          s += x[o + p] * r[p * d + q];
        }
        tmp[q] = s;
      }
      for (int q = 0; q < d; q++) {
        x[o + q] = (float) tmp[q];
      }
    }
  }

  private static void rotateColumns(double[] x, int d, int p, int q, double c, double s) {
    for (int i = 0; i < d; i++) {
      double xp = x[i * d + p];
      double xq = x[i * d + q];
      x[i * d + p] = c * xp - s * xq;
      x[i * d + q] = s * xp + c * xq;
    }
  }
}
