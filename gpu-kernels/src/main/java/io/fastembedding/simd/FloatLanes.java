package io.fastembedding.simd;

/**
 * The CPU backend's hottest loops over runs of floats, done a SIMD register at a time through the Vector
 * API (the {@code jdk.incubator.vector} module, which Spark 4's launcher adds to every JVM it starts), when
 * {@code -Dfastembedding.cpu.simd=true}: {@link #active()}. <b>Off by default</b>, because of a JDK 17
 * compiler cliff: in a JVM that had first fitted a model of small dims (Bank Marketing's 4), a flights fit
 * with the SIMD loops took, in five runs of eight, about twice the scalar loops' time, while on its own it
 * took about three quarters (docs/benchmarks.md, "The CPU backend's SIMD loops"). Turn it on for a JVM
 * that fits one model shape.
 *
 * <p>Each method does a <em>prefix</em> of one loop of its caller and returns how many elements it
 * did; the caller finishes the rest with its own scalar loop, which is the one home of the formula. This
 * class, the fallback, does nothing and returns 0. The SIMD form ({@code VectorFloatLanes}) does per
 * element exactly the caller's float operations in the caller's order: every lane op is one IEEE
 * operation (no fused multiply-add, no reordered sum), so both forms give the same bits
 * ({@code FloatLanesTest} checks it), and a fit's results do not depend on which one ran.
 *
 * <p>The JDK 17 C2 compiler does not vectorize these loops itself (the arrays may alias).
 */
public class FloatLanes {
  private static final FloatLanes ACTIVE = select();

  protected FloatLanes() {}

  /** The form in use in this JVM: SIMD when turned on and available, else this fallback. */
  public static FloatLanes active() {
    return ACTIVE;
  }

  /** Whether {@link #active()} is the SIMD form. */
  public boolean simd() {
    return false;
  }

  /** The lanes of the widest SIMD register (1 without SIMD). */
  public int width() {
    return 1;
  }

  /**
   * For k from 0: {@code v = src[s + k]; dst[d + k] = v; sum[k] += v; sq[k] += v * v}. Returns how many
   * k it did.
   */
  public int gatherSum(float[] src, int s, float[] dst, int d, float[] sum, float[] sq, int n) {
    return 0;
  }

  /** For k from 0: {@code e = z * w[o + k]; sum[k] += e; sq[k] += e * e}. Returns how many k it did. */
  public int scaledSum(float z, float[] w, int o, float[] sum, float[] sq, int n) {
    return 0;
  }

  /** For k from 0: {@code out[oo + k] = gy * (sum[k] - x[xo + k])}. Returns how many k it did. */
  public int scaledDifference(float gy, float[] sum, float[] x, int xo, float[] out, int oo, int n) {
    return 0;
  }

  /**
   * For k from 0, Adagrad's element update ({@code Adagrad.updateRow}): {@code gk = g[go + k] + reg *
   * p[b + k]; a = st[si + k] + gk * gk; st[si + k] = a; p[b + k] -= lr * gk / (sqrt(a) + eps)}. Returns
   * how many k it did.
   */
  public int adagrad(float[] p, int b, float[] st, int si, float[] g, int go, float reg, float lr,
      float eps, int n) {
    return 0;
  }

  private void runEachOnce() {
    int n = 4 * width() + 3;
    float[] a = new float[n];
    float[] b = new float[n];
    float[] c = new float[n];
    float[] d = new float[n];
    gatherSum(a, 0, b, 0, c, d, n);
    scaledSum(1f, a, 0, c, d, n);
    scaledDifference(1f, c, a, 0, b, 0, n);
    adagrad(a, 0, b, 0, c, 0, 0f, 0.1f, 1e-8f, n);
  }

  /**
   * The SIMD form when it is turned on, the Vector API is there, and each of its methods runs once
   * (the JVM links a method's calls into the module only when it first runs it); else the fallback.
   * Never throws: a JVM without the module, or with another version of its API, trains with the scalar
   * loops.
   */
  private static FloatLanes select() {
    if (!Boolean.getBoolean("fastembedding.cpu.simd")
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return new FloatLanes();
    }
    try {
      FloatLanes v = (FloatLanes) Class.forName("io.fastembedding.simd.VectorFloatLanes")
          .getDeclaredConstructor().newInstance();
      v.runEachOnce();
      return v;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return new FloatLanes();
    }
  }
}
