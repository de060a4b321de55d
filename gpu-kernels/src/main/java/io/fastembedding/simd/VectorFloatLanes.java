package io.fastembedding.simd;

import io.fastembedding.model.ModelSpec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FloatLanes} with the Vector API, in the widest register the CPU has (16 floats with AVX-512, 8
 * with AVX2); the callers' scalar loops do what is left. Loaded by name only when the module is there.
 * Each lane op is the caller's scalar op (multiplies and adds stay separate; nothing is summed across
 * lanes), so the bits are the scalar loops'.
 *
 * <p>One species only, on purpose. On JDK 17, once a JVM had run these loops with a second species (a
 * 256- or 128-bit step for the rows the wide register leaves), every loop of the wide species ran 7 to 12
 * times slower from then on (the Vector API's shared code then sees several vector classes). The JIT's
 * other trap, loops compiled before they were ever taken, is what {@link FloatLanes}' warm-up is for.
 * Scalars are broadcast once at the top of each op (the fwfm ops' pair weights and gradient, once per use), and
 * no vector leaves the method.
 */
final class VectorFloatLanes extends FloatLanes {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();

  @Override
  public boolean simd() {
    return true;
  }

  @Override
  public int width() {
    return L;
  }

  @Override
  public int gatherSum(float[] src, int s, float[] dst, int d, float[] sum, float[] sq, int n) {
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector v = FloatVector.fromArray(S, src, s + k);
      v.intoArray(dst, d + k);
      FloatVector.fromArray(S, sum, k).add(v).intoArray(sum, k);
      FloatVector.fromArray(S, sq, k).add(v.mul(v)).intoArray(sq, k);
    }
    return k;
  }

  @Override
  public int scaledSum(float z, float[] w, int o, float[] sum, float[] sq, int n) {
    FloatVector zv = FloatVector.broadcast(S, z);
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector e = FloatVector.fromArray(S, w, o + k).mul(zv);
      FloatVector.fromArray(S, sum, k).add(e).intoArray(sum, k);
      FloatVector.fromArray(S, sq, k).add(e.mul(e)).intoArray(sq, k);
    }
    return k;
  }

  @Override
  public int scaledDifference(float gy, float[] sum, float[] x, int xo, float[] out, int oo, int n) {
    FloatVector gyv = FloatVector.broadcast(S, gy);
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector.fromArray(S, sum, k).sub(FloatVector.fromArray(S, x, xo + k)).mul(gyv)
          .intoArray(out, oo + k);
    }
    return k;
  }

  @Override
  public int addTo(float[] src, int s, float[] dst, int d, int n) {
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector.fromArray(S, dst, d + k).add(FloatVector.fromArray(S, src, s + k)).intoArray(dst, d + k);
    }
    return k;
  }

  @Override
  public int scaledAddTo(float r, float[] src, int s, float[] dst, int d, int n) {
    FloatVector rv = FloatVector.broadcast(S, r);
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector.fromArray(S, dst, d + k).add(FloatVector.fromArray(S, src, s + k).mul(rv))
          .intoArray(dst, d + k);
    }
    return k;
  }

  @Override
  public int scaled(float g, float[] src, int s, float[] dst, int d, int n) {
    FloatVector gv = FloatVector.broadcast(S, g);
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector.fromArray(S, src, s + k).mul(gv).intoArray(dst, d + k);
    }
    return k;
  }

  @Override
  public int pairSums(float[] lat, float[] w, int wo, int m, int n, float[] grad, float[] sum) {
    // every vector is a temporary of one statement: sums carried from one iteration of a loop to the
    // next live in the arrays (held in vector variables across the pair loops, they made the step slower)
    FloatVector zero = FloatVector.zero(S);
    int k = 0;
    for (; k <= n - L; k += L) {
      zero.intoArray(sum, k);
      for (int a = 0; a < m; a++) {
        int ga = a * n + k;
        zero.intoArray(grad, ga);
        for (int b = 0; b < m; b++) {
          if (b != a) {
            float r = w[wo + (a < b ? ModelSpec.fwfmPair(a, b, m) : ModelSpec.fwfmPair(b, a, m))];
            FloatVector.fromArray(S, grad, ga)
                .add(FloatVector.fromArray(S, lat, b * n + k).mul(r)).intoArray(grad, ga);
          }
        }
        FloatVector.fromArray(S, sum, k)
            .add(FloatVector.fromArray(S, lat, ga).mul(FloatVector.fromArray(S, grad, ga))).intoArray(sum, k);
      }
    }
    return k;
  }

  @Override
  public int addPairProducts(float g, float[] lat, int m, int n, float[] acc) {
    int k = 0;
    for (; k <= n - L; k += L) {
      int p = 0;
      for (int a = 0; a < m; a++) {
        FloatVector ga = FloatVector.fromArray(S, lat, a * n + k).mul(g);
        for (int b = a + 1; b < m; b++, p++) {
          int o = p * n + k;
          FloatVector.fromArray(S, acc, o).add(ga.mul(FloatVector.fromArray(S, lat, b * n + k)))
              .intoArray(acc, o);
        }
      }
    }
    return k;
  }

  @Override
  public int adagrad(float[] p, int b, float[] st, int si, float[] g, int go, float reg, float lr,
      float eps, int n) {
    FloatVector regv = FloatVector.broadcast(S, reg);
    FloatVector lrv = FloatVector.broadcast(S, lr);
    FloatVector epsv = FloatVector.broadcast(S, eps);
    int k = 0;
    for (; k <= n - L; k += L) {
      FloatVector pv = FloatVector.fromArray(S, p, b + k);
      FloatVector gk = FloatVector.fromArray(S, g, go + k).add(pv.mul(regv));
      FloatVector a = FloatVector.fromArray(S, st, si + k).add(gk.mul(gk));
      a.intoArray(st, si + k);
      pv.sub(gk.mul(lrv).div(a.sqrt().add(epsv))).intoArray(p, b + k);
    }
    return k;
  }
}
