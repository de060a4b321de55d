package io.fastembedding.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FloatLanes} with the Vector API: the widest register the CPU has, then one 256-bit step and
 * 128-bit steps for what is left (the default dims are multiples of 4). Loaded by name only when the
 * module is there. Each lane op is the caller's scalar op (multiplies and adds stay separate; nothing is
 * summed across lanes), so the bits are the scalar loops'. Each op spells out its three steps: C2 turns a
 * vector op into instructions only where its species is a constant, so they are not folded into one
 * helper taking the op as a function.
 */
final class VectorFloatLanes extends FloatLanes {
  private static final VectorSpecies<Float> WIDE = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> MIDDLE = FloatVector.SPECIES_256;
  private static final VectorSpecies<Float> NARROW = FloatVector.SPECIES_128;

  @Override
  public boolean simd() {
    return true;
  }

  @Override
  public int width() {
    return WIDE.length();
  }

  @Override
  public int gatherSum(float[] src, int s, float[] dst, int d, float[] sum, float[] sq, int n) {
    int k = 0;
    for (; k <= n - WIDE.length(); k += WIDE.length()) {
      gatherSum(WIDE, src, s, dst, d, sum, sq, k);
    }
    if (WIDE.length() > MIDDLE.length() && k <= n - MIDDLE.length()) {
      gatherSum(MIDDLE, src, s, dst, d, sum, sq, k);
      k += MIDDLE.length();
    }
    for (; k <= n - NARROW.length(); k += NARROW.length()) {
      gatherSum(NARROW, src, s, dst, d, sum, sq, k);
    }
    return k;
  }

  private static void gatherSum(VectorSpecies<Float> sp, float[] src, int s, float[] dst, int d,
      float[] sum, float[] sq, int k) {
    FloatVector v = FloatVector.fromArray(sp, src, s + k);
    v.intoArray(dst, d + k);
    FloatVector.fromArray(sp, sum, k).add(v).intoArray(sum, k);
    FloatVector.fromArray(sp, sq, k).add(v.mul(v)).intoArray(sq, k);
  }

  @Override
  public int scaledSum(float z, float[] w, int o, float[] sum, float[] sq, int n) {
    int k = 0;
    for (; k <= n - WIDE.length(); k += WIDE.length()) {
      scaledSum(WIDE, z, w, o, sum, sq, k);
    }
    if (WIDE.length() > MIDDLE.length() && k <= n - MIDDLE.length()) {
      scaledSum(MIDDLE, z, w, o, sum, sq, k);
      k += MIDDLE.length();
    }
    for (; k <= n - NARROW.length(); k += NARROW.length()) {
      scaledSum(NARROW, z, w, o, sum, sq, k);
    }
    return k;
  }

  private static void scaledSum(VectorSpecies<Float> sp, float z, float[] w, int o, float[] sum,
      float[] sq, int k) {
    FloatVector e = FloatVector.fromArray(sp, w, o + k).mul(z);
    FloatVector.fromArray(sp, sum, k).add(e).intoArray(sum, k);
    FloatVector.fromArray(sp, sq, k).add(e.mul(e)).intoArray(sq, k);
  }

  @Override
  public int scaledDifference(float gy, float[] sum, float[] x, int xo, float[] out, int oo, int n) {
    int k = 0;
    for (; k <= n - WIDE.length(); k += WIDE.length()) {
      scaledDifference(WIDE, gy, sum, x, xo, out, oo, k);
    }
    if (WIDE.length() > MIDDLE.length() && k <= n - MIDDLE.length()) {
      scaledDifference(MIDDLE, gy, sum, x, xo, out, oo, k);
      k += MIDDLE.length();
    }
    for (; k <= n - NARROW.length(); k += NARROW.length()) {
      scaledDifference(NARROW, gy, sum, x, xo, out, oo, k);
    }
    return k;
  }

  private static void scaledDifference(VectorSpecies<Float> sp, float gy, float[] sum, float[] x,
      int xo, float[] out, int oo, int k) {
    FloatVector.fromArray(sp, sum, k).sub(FloatVector.fromArray(sp, x, xo + k)).mul(gy)
        .intoArray(out, oo + k);
  }

  @Override
  public int adagrad(float[] p, int b, float[] st, int si, float[] g, int go, float reg, float lr,
      float eps, int n) {
    int k = 0;
    for (; k <= n - WIDE.length(); k += WIDE.length()) {
      adagrad(WIDE, p, b, st, si, g, go, reg, lr, eps, k);
    }
    if (WIDE.length() > MIDDLE.length() && k <= n - MIDDLE.length()) {
      adagrad(MIDDLE, p, b, st, si, g, go, reg, lr, eps, k);
      k += MIDDLE.length();
    }
    for (; k <= n - NARROW.length(); k += NARROW.length()) {
      adagrad(NARROW, p, b, st, si, g, go, reg, lr, eps, k);
    }
    return k;
  }

  private static void adagrad(VectorSpecies<Float> sp, float[] p, int b, float[] st, int si,
      float[] g, int go, float reg, float lr, float eps, int k) {
    FloatVector pv = FloatVector.fromArray(sp, p, b + k);
    FloatVector gk = FloatVector.fromArray(sp, g, go + k).add(pv.mul(reg));
    FloatVector a = FloatVector.fromArray(sp, st, si + k).add(gk.mul(gk));
    a.intoArray(st, si + k);
    pv.sub(gk.mul(lr).div(a.lanewise(VectorOperators.SQRT).add(eps))).intoArray(p, b + k);
  }
}
