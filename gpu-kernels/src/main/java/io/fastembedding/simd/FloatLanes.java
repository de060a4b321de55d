package io.fastembedding.simd;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.fastembedding.model.ModelSpec;
import java.lang.management.ManagementFactory;

/**
 * The CPU backend's hottest loops over runs of floats, done a SIMD register at a time through the Vector
 * API (the {@code jdk.incubator.vector} module, which Spark 4's launcher adds to every JVM it starts):
 * {@link #active()}. On wherever the JVM has the module and compiles hot code with C2 ({@link
 * #c2Compiles()}); {@code -Dfastembedding.cpu.simd=false} turns it off. Both forms give the same bits, so
 * the switch changes speed only.
 *
 * <p>Each method does a <em>prefix</em> of one loop of its caller and returns how many elements it
 * did; the caller finishes the rest with its own scalar loop, which is the one home of the formula. This
 * class, the fallback, does nothing and returns 0. The SIMD form ({@code VectorFloatLanes}) does per
 * element exactly the caller's float operations in the caller's order: every lane op is one IEEE
 * operation (no fused multiply-add, no reordered sum), so both forms give the same bits
 * ({@code FloatLanesTest} checks it), and a fit's results do not depend on which one ran.
 *
 * <p>The JDK 17 C2 compiler does not vectorize these loops itself (the arrays may alias).
 *
 * <p><b>The warm-up.</b> Before the SIMD form is used, each of its loops runs {@link #WARM_UP_CALLS}
 * times on rows two registers wide (about 0.2 s, once per JVM), so that the JIT's profile says the loops
 * are taken before any fit runs. Without it, a JVM whose first fit had rows narrower than a register (Bank
 * Marketing's dim 4: the loops are called, their bodies never run) went on, in 7 of 16 runs, to fit
 * flights at 0.5 to 0.7 times the scalar loops' speed. In one such JVM a quarter of the time was in the
 * Vector API's Java fallback for a store: the JIT had not turned that op into a SIMD instruction. With the
 * warm-up, 8 of 8 such JVMs ran at full speed (docs/benchmarks.md, "The CPU backend's SIMD loops").
 */
public class FloatLanes {
  private static final FloatLanes ACTIVE = select();

  /** Why this JVM has the scalar loops; null in the SIMD form. */
  private final String scalarBecause;

  protected FloatLanes() {
    this(null);
  }

  private FloatLanes(String scalarBecause) {
    this.scalarBecause = scalarBecause;
  }

  /** The form in use in this JVM: SIMD unless turned off or unusable here (the class comment), else this fallback. */
  public static FloatLanes active() {
    return ACTIVE;
  }

  /** Whether {@link #active()} is the SIMD form. */
  public boolean simd() {
    return false;
  }

  /**
   * The loops in a few words, for the backend's device string: "16-lane SIMD", or "scalar loops" and
   * why, so that a user who expected the SIMD form sees what to change.
   */
  public String describe() {
    return simd() ? width() + "-lane SIMD" : "scalar loops: " + scalarBecause;
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

  /** For k from 0: {@code dst[d + k] += src[s + k]}. Returns how many k it did. */
  public int addTo(float[] src, int s, float[] dst, int d, int n) {
    return 0;
  }

  /** For k from 0: {@code dst[d + k] += r * src[s + k]}. Returns how many k it did. */
  public int scaledAddTo(float r, float[] src, int s, float[] dst, int d, int n) {
    return 0;
  }

  /** For k from 0: {@code dst[d + k] = g * src[s + k]}. Returns how many k it did. */
  public int scaled(float g, float[] src, int s, float[] dst, int d, int n) {
    return 0;
  }

  /**
   * The fwfm head's pair sums over {@code m} vectors of {@code n} floats ({@code lat}, vector a at
   * {@code a * n}) with the pair weights {@code w[wo + p]}, pair p = (a &lt; b) numbered as
   * {@link ModelSpec#fwfmPair} numbers them. For k from 0: {@code s = 0; for a: { g = 0; for b != a,
   * ascending: g += w[wo + fwfmPair(min(a, b), max(a, b), m)] * lat[b * n + k]; grad[a * n + k] = g;
   * s += lat[a * n + k] * g; } sum[k] = s}. Returns how many k it did.
   */
  public int pairSums(float[] lat, float[] w, int wo, int m, int n, float[] grad, float[] sum) {
    return 0;
  }

  /**
   * The fwfm head's pair-weight gradients, kept per latent index: for k from 0, for each pair a &lt; b of
   * the {@code m} vectors of {@code n} floats in {@code lat}, numbered p in row-major upper-triangle order:
   * {@code acc[p * n + k] += g * lat[a * n + k] * lat[b * n + k]}. Returns how many k it did.
   */
  public int addPairProducts(float g, float[] lat, int m, int n, float[] acc) {
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

  /** How often {@link #warmUp} runs each loop: past the JIT's thresholds for an optimized compile. */
  static final int WARM_UP_CALLS = 20_000;

  /**
   * Runs each method {@link #WARM_UP_CALLS} times on rows of two registers and a tail, so that the JIT's
   * profile of every SIMD loop says "taken" before any fit runs (the class comment says why). The first
   * call also links each method's calls into the module.
   */
  private void warmUp() {
    int n = 2 * width() + 3;
    float[] a = new float[n];
    float[] b = new float[n];
    float[] c = new float[n];
    float[] d = new float[n];
    // the fwfm ops on two vectors of n floats: one pair, its weight and its gradients
    float[] lat = new float[2 * n];
    float[] grad = new float[2 * n];
    float[] r = {1f};
    for (int i = 0; i < WARM_UP_CALLS; i++) {
      gatherSum(a, 0, b, 0, c, d, n);
      scaledSum(1f, a, 0, c, d, n);
      scaledDifference(1f, c, a, 0, b, 0, n);
      adagrad(a, 0, b, 0, c, 0, 0f, 0.1f, 1e-8f, n);
      addTo(a, 0, b, 0, n);
      scaledAddTo(1f, a, 0, b, 0, n);
      scaled(1f, a, 0, b, 0, n);
      pairSums(lat, r, 0, 2, n, grad, c);
      addPairProducts(1f, lat, 2, n, d);
    }
  }

  /**
   * Whether this JVM compiles hot code with HotSpot's C2, the one JIT of JDK 17 that turns Vector API
   * calls into SIMD instructions. Without it ({@code -Xint}, {@code -XX:TieredStopAtLevel} below 4, a JVMCI
   * compiler such as Graal's as the top tier) every vector op runs the API's Java fallback: with C1 only, a
   * flights-shaped training step took more than 13 times as long as with the scalar loops. False when the
   * JVM's options cannot be read (the scalar loops are never that slow).
   */
  static boolean c2Compiles() {
    try {
      HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      boolean tiered = Boolean.parseBoolean(vm.getVMOption("TieredCompilation").getValue());
      return Boolean.parseBoolean(vm.getVMOption("UseCompiler").getValue())
          && (!tiered || Integer.parseInt(vm.getVMOption("TieredStopAtLevel").getValue()) >= 4)
          && !vmOptionIsTrue(vm, "UseJVMCICompiler");
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /** A boolean VM option's value; false where this JVM has no such option (JVMCI is not in every build). */
  private static boolean vmOptionIsTrue(HotSpotDiagnosticMXBean vm, String name) {
    try {
      return Boolean.parseBoolean(vm.getVMOption(name).getValue());
    } catch (IllegalArgumentException absent) {
      return false;
    }
  }

  /**
   * The SIMD form unless turned off ({@code -Dfastembedding.cpu.simd=false}), when the Vector API is
   * there, C2 compiles hot code ({@link #c2Compiles()}) and the warm-up runs (the JVM links a method's
   * calls into the module only when it first runs it); else the fallback. Never throws: a JVM without the
   * module, or with another version of its API, trains with the scalar loops.
   */
  private static FloatLanes select() {
    if ("false".equalsIgnoreCase(System.getProperty("fastembedding.cpu.simd"))) {
      return new FloatLanes("-Dfastembedding.cpu.simd=false");
    }
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return new FloatLanes("no --add-modules=jdk.incubator.vector in this JVM");
    }
    if (!c2Compiles()) {
      return new FloatLanes("no C2 JIT found in this JVM");
    }
    try {
      FloatLanes v = (FloatLanes) Class.forName("io.fastembedding.simd.VectorFloatLanes")
          .getDeclaredConstructor().newInstance();
      v.warmUp();
      return v;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return new FloatLanes("the Vector API failed: " + e);
    }
  }
}
