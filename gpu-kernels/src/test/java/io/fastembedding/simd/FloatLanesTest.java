package io.fastembedding.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.Optimizer;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.testutil.TestSeeds;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SIMD prefixes give the bits of the scalar loops they stand in for: each case runs the active form's
 * prefix and finishes with the scalar formula (as the callers do), against the scalar formula over the
 * whole run, and compares every element of every array bit for bit, at every length from 0 to 70 and at
 * odd offsets (so runs start mid-register and end in every tail). gpu-kernels' tests run with the SIMD
 * form (the default where the JVM has the Vector API); the surefire execution "scalar-loops" runs this
 * class and the CPU backend's tests again with it turned off.
 */
class FloatLanesTest {
  private static long seed;

  @BeforeAll
  static void seed() {
    seed = TestSeeds.base(FloatLanesTest.class);
  }

  @Test
  void theSimdFormIsActiveExactlyWhenNotTurnedOffAndTheJvmHasTheVectorApiAndC2() {
    boolean on = !"false".equalsIgnoreCase(System.getProperty("fastembedding.cpu.simd"));
    boolean module = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    boolean c2 = FloatLanes.c2Compiles();
    assertEquals(module && on && c2, FloatLanes.active().simd(),
        "module present " + module + ", turned on " + on + ", C2 " + c2);
  }

  /**
   * A JVM whose JIT stops at C1 gets the scalar loops: there every vector op would run the Vector API's
   * Java fallback, many times slower. The same child JVM without that flag gets the SIMD form, so the
   * check can tell the two apart.
   */
  @Test
  void aJvmWithoutC2GetsTheScalarLoops() throws Exception {
    assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), "no Vector API here");
    String simd = childJvm();
    assertTrue(simd.matches("simd=true c2=true [0-9]+-lane SIMD"), simd);
    assertEquals("simd=false c2=false scalar loops: no C2 JIT found in this JVM",
        childJvm("-XX:TieredStopAtLevel=1"));
    assertEquals("simd=false c2=true scalar loops: -Dfastembedding.cpu.simd=false",
        childJvm("-Dfastembedding.cpu.simd=false"));
  }

  /** What {@link PrintActive} prints in a new JVM with the Vector API module and the given flags. */
  private static String childJvm(String... flags) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector"));
    cmd.addAll(List.of(flags));
    cmd.addAll(List.of("-cp", System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path")), PrintActive.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM still running: " + cmd);
    return out.lines().filter(l -> l.startsWith("simd=")).findFirst().orElse("no result: " + out);
  }

  /** Prints which form this JVM selected. */
  public static final class PrintActive {
    public static void main(String[] args) {
      FloatLanes l = FloatLanes.active();
      System.out.println("simd=" + l.simd() + " c2=" + FloatLanes.c2Compiles() + " " + l.describe());
    }
  }

  /** Each op does whole registers and leaves the scalar tail less than one register. */
  @Test
  void prefixesLeaveLessThanOneRegisterToTheScalarTail() {
    FloatLanes l = FloatLanes.active();
    int w = l.width();
    for (int n = 0; n <= 70; n++) {
      float[] a = new float[n + 1];
      int[] done = {
          l.gatherSum(a, 0, new float[n], 0, new float[n], new float[n], n),
          l.scaledSum(1f, a, 0, new float[n], new float[n], n),
          l.scaledDifference(1f, new float[n], a, 0, new float[n], 0, n),
          l.adagrad(new float[n], 0, new float[n], 0, a, 0, 0f, 0.1f, 1e-8f, n),
          l.addTo(a, 0, new float[n], 0, n),
          l.scaledAddTo(1f, a, 0, new float[n], 0, n),
          l.scaled(1f, a, 0, new float[n], 0, n),
          l.pairSums(new float[3 * n], new float[3], 0, 3, n, new float[3 * n], new float[n]),
          l.addPairProducts(1f, new float[3 * n], 3, n, new float[3 * n])};
      for (int d : done) {
        if (l.simd()) {
          assertEquals(n - n % w, d, "n " + n + ", " + w + " lanes");
        } else {
          assertEquals(0, d, "n " + n);
        }
      }
    }
  }

  @Test
  void gatherSumGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed);
    for (int n = 0; n <= 70; n++) {
      int s = r.nextInt(9);
      int d = r.nextInt(9);
      float[] src = values(r, s + n + 5);
      float[] dst = values(r, d + n + 5);
      float[] sum = values(r, n + 3);
      float[] sq = values(r, n + 3);
      float[][] want = copies(dst, sum, sq);
      float[][] got = copies(dst, sum, sq);
      gatherSumScalar(src, s, want[0], d, want[1], want[2], 0, n);
      int k = FloatLanes.active().gatherSum(src, s, got[0], d, got[1], got[2], n);
      gatherSumScalar(src, s, got[0], d, got[1], got[2], k, n);
      assertSameBits(want, got, "gatherSum n " + n);
    }
  }

  @Test
  void scaledSumGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 1);
    for (int n = 0; n <= 70; n++) {
      int o = r.nextInt(9);
      float z = (float) r.nextGaussian() * 3;
      float[] w = values(r, o + n + 5);
      float[] sum = values(r, n + 3);
      float[] sq = values(r, n + 3);
      float[][] want = copies(sum, sq);
      float[][] got = copies(sum, sq);
      scaledSumScalar(z, w, o, want[0], want[1], 0, n);
      int k = FloatLanes.active().scaledSum(z, w, o, got[0], got[1], n);
      scaledSumScalar(z, w, o, got[0], got[1], k, n);
      assertSameBits(want, got, "scaledSum n " + n);
    }
  }

  @Test
  void scaledDifferenceGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 2);
    for (int n = 0; n <= 70; n++) {
      int xo = r.nextInt(9);
      int oo = r.nextInt(9);
      float gy = (float) r.nextGaussian() * 1e-3f;
      float[] sum = values(r, n + 3);
      float[] x = values(r, xo + n + 5);
      float[] out = values(r, oo + n + 5);
      float[][] want = copies(out);
      float[][] got = copies(out);
      for (int k = 0; k < n; k++) {
        want[0][oo + k] = gy * (sum[k] - x[xo + k]);
      }
      int done = FloatLanes.active().scaledDifference(gy, sum, x, xo, got[0], oo, n);
      for (int k = done; k < n; k++) {
        got[0][oo + k] = gy * (sum[k] - x[xo + k]);
      }
      assertSameBits(want, got, "scaledDifference n " + n);
    }
  }

  /** Through the optimizer itself: Adagrad's updateRow (prefix + its own tail) against the formula. */
  /** The deterministic mode's owner phase sums a row's occurrence gradients with this op. */
  @Test
  void addToGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 4);
    for (int n = 0; n <= 70; n++) {
      int so = r.nextInt(9);
      int d = r.nextInt(9);
      float[] src = values(r, so + n + 5);
      float[] dst = values(r, d + n + 5);
      float[][] want = copies(dst);
      float[][] got = copies(dst);
      for (int k = 0; k < n; k++) {
        want[0][d + k] += src[so + k];
      }
      int done = FloatLanes.active().addTo(src, so, got[0], d, n);
      for (int k = done; k < n; k++) {
        got[0][d + k] += src[so + k];
      }
      assertSameBits(want, got, "addTo n " + n);
    }
  }

  /** The fwfm head's g_a += r_ab lat_b, and its numeric latent vectors' head gradients. */
  @Test
  void scaledAddToGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 5);
    for (int n = 0; n <= 70; n++) {
      int so = r.nextInt(9);
      int d = r.nextInt(9);
      float f = (float) r.nextGaussian() * 2;
      float[] src = values(r, so + n + 5);
      float[] dst = values(r, d + n + 5);
      float[][] want = copies(dst);
      float[][] got = copies(dst);
      for (int k = 0; k < n; k++) {
        want[0][d + k] += f * src[so + k];
      }
      int done = FloatLanes.active().scaledAddTo(f, src, so, got[0], d, n);
      for (int k = done; k < n; k++) {
        got[0][d + k] += f * src[so + k];
      }
      assertSameBits(want, got, "scaledAddTo n " + n);
    }
  }

  /** The fwfm head's numeric latent vectors z v_j, and its input gradient gy g_a. */
  @Test
  void scaledGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 6);
    for (int n = 0; n <= 70; n++) {
      int so = r.nextInt(9);
      int d = r.nextInt(9);
      float g = (float) r.nextGaussian() * 1e-3f;
      float[] src = values(r, so + n + 5);
      float[] dst = values(r, d + n + 5);
      float[][] want = copies(dst);
      float[][] got = copies(dst);
      for (int k = 0; k < n; k++) {
        want[0][d + k] = g * src[so + k];
      }
      int done = FloatLanes.active().scaled(g, src, so, got[0], d, n);
      for (int k = done; k < n; k++) {
        got[0][d + k] = g * src[so + k];
      }
      assertSameBits(want, got, "scaled n " + n);
    }
  }

  /** The fwfm head's g_a = sum_{b != a} r_ab lat_b and the per-latent-index sum of lat_a g_a, for 1 to 7 vectors. */
  @Test
  void pairSumsGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 7);
    for (int n = 0; n <= 70; n++) {
      int m = 1 + r.nextInt(7);
      int wo = r.nextInt(9);
      float[] lat = values(r, m * n);
      float[] w = values(r, wo + m * (m - 1) / 2 + 3);
      float[][] want = copies(values(r, m * n), values(r, n));
      float[][] got = copies(want);
      pairSumsScalar(lat, w, wo, m, n, want[0], want[1], 0);
      int done = FloatLanes.active().pairSums(lat, w, wo, m, n, got[0], got[1]);
      pairSumsScalar(lat, w, wo, m, n, got[0], got[1], done);
      assertSameBits(want, got, "pairSums m " + m + " n " + n);
    }
  }

  /** The fwfm head's pair weights' gradients, kept per pair and latent index, for 1 to 7 vectors. */
  @Test
  void addPairProductsGivesTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 8);
    for (int n = 0; n <= 70; n++) {
      int m = 1 + r.nextInt(7);
      float g = (float) r.nextGaussian() * 1e-3f;
      float[] lat = values(r, m * n);
      float[][] want = {values(r, m * (m - 1) / 2 * n)};
      float[][] got = copies(want);
      addPairProductsScalar(g, lat, m, n, want[0], 0);
      int done = FloatLanes.active().addPairProducts(g, lat, m, n, got[0]);
      addPairProductsScalar(g, lat, m, n, got[0], done);
      assertSameBits(want, got, "addPairProducts m " + m + " n " + n);
    }
  }

  private static void pairSumsScalar(float[] lat, float[] w, int wo, int m, int n, float[] grad,
      float[] sum, int from) {
    for (int k = from; k < n; k++) {
      float s = 0f;
      for (int a = 0; a < m; a++) {
        float g = 0f;
        for (int b = 0; b < m; b++) {
          if (b != a) {
            g += w[wo + ModelSpec.fwfmPair(Math.min(a, b), Math.max(a, b), m)] * lat[b * n + k];
          }
        }
        grad[a * n + k] = g;
        s += lat[a * n + k] * g;
      }
      sum[k] = s;
    }
  }

  private static void addPairProductsScalar(float g, float[] lat, int m, int n, float[] acc, int from) {
    for (int k = from; k < n; k++) {
      for (int a = 0, p = 0; a < m; a++) {
        for (int b = a + 1; b < m; b++, p++) {
          acc[p * n + k] += g * lat[a * n + k] * lat[b * n + k];
        }
      }
    }
  }

  @Test
  void adagradRowsGiveTheScalarBits() {
    SplittableRandom r = new SplittableRandom(seed + 3);
    float lr = 0.03f;
    OptimizerSpec spec = OptimizerSpec.of(OptimizerType.ADAGRAD, lr, 1e-4f);
    float eps = spec.epsilon();
    Optimizer adagrad = Optimizer.of(spec);
    for (int n = 0; n <= 70; n++) {
      int b = r.nextInt(9);
      int go = r.nextInt(9);
      float reg = r.nextBoolean() ? 0f : (float) r.nextDouble() * 1e-3f;
      float[] p = values(r, b + n + 5);
      float[] st = new float[b + n + 5];
      for (int i = 0; i < st.length; i++) {
        st[i] = (float) r.nextDouble() * (r.nextBoolean() ? 1e-6f : 10f);
      }
      float[] g = values(r, go + n + 5);
      float[][] want = copies(p, st);
      float[][] got = copies(p, st);
      for (int k = 0; k < n; k++) {
        float gk = g[go + k] + reg * want[0][b + k];
        float a = want[1][b + k] + gk * gk;
        want[1][b + k] = a;
        want[0][b + k] -= lr * gk / ((float) Math.sqrt(a) + eps);
      }
      adagrad.updateRow(got[0], b, n, got[1], b, g, go, reg);
      assertSameBits(want, got, "adagrad n " + n + " reg " + reg);
    }
  }

  private static void gatherSumScalar(float[] src, int s, float[] dst, int d, float[] sum, float[] sq,
      int from, int n) {
    for (int k = from; k < n; k++) {
      float v = src[s + k];
      dst[d + k] = v;
      sum[k] += v;
      sq[k] += v * v;
    }
  }

  private static void scaledSumScalar(float z, float[] w, int o, float[] sum, float[] sq, int from,
      int n) {
    for (int k = from; k < n; k++) {
      float e = z * w[o + k];
      sum[k] += e;
      sq[k] += e * e;
    }
  }

  /** Gaussians over several scales, with zeros and subnormals among them. */
  private static float[] values(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      int kind = r.nextInt(10);
      v[i] = kind == 0 ? 0f : kind == 1 ? Float.MIN_NORMAL * (float) r.nextDouble()
          : (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
    }
    return v;
  }

  private static float[][] copies(float[]... arrays) {
    float[][] c = new float[arrays.length][];
    for (int i = 0; i < arrays.length; i++) {
      c[i] = arrays[i].clone();
    }
    return c;
  }

  private static void assertSameBits(float[][] want, float[][] got, String what) {
    for (int i = 0; i < want.length; i++) {
      int[] w = new int[want[i].length];
      int[] g = new int[got[i].length];
      for (int j = 0; j < w.length; j++) {
        w[j] = Float.floatToRawIntBits(want[i][j]);
        g[j] = Float.floatToRawIntBits(got[i][j]);
      }
      assertArrayEquals(w, g, what + ", array " + i + " (seed " + seed + ")");
    }
  }
}
