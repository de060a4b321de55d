package io.fastembedding.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fastembedding.backend.cuda.Kernels.Kind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every typed kernel wrapper ({@link Kernels}) passes exactly the parameters its kernel declares: the
 * count and, per position, pointer / 32-bit int / 64-bit int / float. Runs without a GPU: each wrapper is
 * called with a recording launcher and its packed arguments are compared with
 * <ul>
 *   <li>the {@code .entry} parameter list of the committed PTX of both architectures ({@code .u64} is a
 *       pointer or a 64-bit int, {@code .u32} a 32-bit int, {@code .f32} a float), and
 *   <li>the kernel's signature in the CUDA sources, which tells a pointer from a {@code long long}.
 * </ul>
 * A swapped int and pointer, a missing argument or a float passed as an int fails here, not on a GPU.
 */
class KernelSignatureTest {
  private static final String[] VARIANTS = {"compute_75", "compute_90"};
  private static final Path SOURCES = Path.of("src", "main", "cuda");

  /** Calls every wrapper once (both scatter tiles) and returns the kinds each kernel was given. */
  static Map<String, List<Kind>> recordedCalls() {
    Map<String, List<Kind>> calls = new TreeMap<>();
    Kernels k = new Kernels((kernel, gx, gy, gz, block, smem, args) -> {
      List<Kind> kinds = new ArrayList<>();
      for (int i = 0; i < args.size(); i++) {
        kinds.add(args.kinds[i]);
      }
      assertEquals(args.kinds.length, args.size(), kernel + ": the wrapper sized its arguments wrongly");
      assertTrue(calls.put(kernel, kinds) == null, kernel + " launched twice");
    });
    k.gatherConcat(1, null, null, null, 0, 0, 0, 0, null, null, 0, null, null);
    k.linearForward(1, 0, null, null, null, 0, 0, 0, 0, null, null, null, null, null, 0, 0, 0, 0, 0, 0f, 0f, 0,
        null, null, null, null, null, null);
    k.linearForwardLanes(1, 0, null, null, null, 0, 0, 0, 0, null, null, null, null, null, 0, 0, 1, 32, 0, 0, 0f,
        0f, 0, null, null, null, null, null, null);
    k.fmForward(1, 0, null, null, null, null, 0, 0, 0, 0, null, null, null, null, null, 0, 0, 0, 0, 0, 0, 0f, 0f,
        null, null, null, null, null, null, null);
    k.gemmTiled(1, 1, 1, 1, null, 0, 0, null, 0, 0, 0, 0, null, null, 0, null, 0, 0f, 0, 0L, 0, 0);
    k.mlpOutput(1, null, 0, null, 0, null, null, 0, 0, 0, 0, 0f, null, null, null, 0, null, null);
    for (int tile : new int[] {KernelConstants.SCATTER_TILE_SMALL, KernelConstants.SCATTER_TILE_LARGE}) {
      k.scatter(tile, 1, null, null, 0f, null, 0, 0, 0, null, 0, null, null, null, 0, null, null, 0, null, null,
          null, 0, null, null, null, null, null, null, null);
    }
    k.finishStep(1, null, null, null, 0, 0, null, 0, null, 0, 0f, 0f, 0, null, null, null, null, null, null, null,
        null, null, null, 0);
    k.detApplyRows(1, 32, 0, null, null, null, null, null, null, null, null, 0, 0, 0, 0, 0, 0, 0, null, 0, 0, null,
        null, null, null, null, 0, 0f, 0f);
    k.detApplyRows(1, 32, 0, null, null, null, null, null, null, null, null, 0, 0, 0, 0, 0, 0, 0, null, 0, 0, null,
        null, null, null, null, KernelConstants.OPT_ROWWISE_ADAM, 0f, 0f);
    k.detApplyCold(1, null, null, null, null, null, null, null, null, 0, 0, 0, 0, null, 0, 0, null, null, null, null,
        null, 0, 0f, 0f);
    k.detApplyCold(1, null, null, null, null, null, null, null, null, 0, 0, 0, 0, null, 0, 0, null, null, null, null,
        null, KernelConstants.OPT_ROWWISE_ADAM, 0f, 0f);
    k.gatherListedRows(1, null, 0L, 0, null, 0, null);
    k.epochGather(1, null, null, null, null, 0, 0, 0, 1, 0L, 1, 0, 0, 0, 0, null);
    return calls;
  }

  /** The parameter types of every {@code .entry} of a PTX text, by kernel. */
  static Map<String, List<String>> ptxEntries(String ptx) {
    Map<String, List<String>> out = new TreeMap<>();
    Matcher m = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)").matcher(ptx);
    while (m.find()) {
      List<String> types = new ArrayList<>();
      Matcher p = Pattern.compile("\\.param\\s+\\.(\\w+)\\s+\\w+").matcher(m.group(2));
      while (p.find()) {
        types.add(p.group(1));
      }
      out.put(m.group(1), types);
    }
    return out;
  }

  private static String ptxType(Kind k) {
    return switch (k) {
      case PTR, I64 -> "u64";
      case I32 -> "u32";
      case F32 -> "f32";
    };
  }

  @Test
  void everyWrapperMatchesItsKernelInBothPtxBuilds() {
    Map<String, List<Kind>> calls = recordedCalls();
    assertEquals(new TreeSet<>(List.of(Kernels.NAMES)), calls.keySet(),
        "Kernels.NAMES must list exactly the kernels the wrappers launch");
    for (String v : VARIANTS) {
      String ptx = new String(DeviceContext.readPtx(v), StandardCharsets.US_ASCII);
      Map<String, List<String>> entries = ptxEntries(ptx);
      assertEquals(calls.keySet(), entries.keySet(), v + ": the PTX's kernels and the Java wrappers differ");
      for (Map.Entry<String, List<Kind>> c : calls.entrySet()) {
        List<String> want = entries.get(c.getKey());
        List<String> got = c.getValue().stream().map(KernelSignatureTest::ptxType).toList();
        assertEquals(want.size(), got.size(), v + " " + c.getKey() + ": the kernel takes " + want.size()
            + " parameters, the wrapper passes " + got.size());
        for (int i = 0; i < want.size(); i++) {
          assertEquals(want.get(i), got.get(i), v + " " + c.getKey() + ": parameter " + i + " is ." + want.get(i)
              + " in the PTX, the wrapper passes " + c.getValue().get(i));
        }
      }
    }
  }

  /** The kinds of every extern "C" __global__ kernel's parameters in the CUDA sources. */
  static Map<String, List<Kind>> sourceSignatures() throws Exception {
    StringBuilder all = new StringBuilder();
    List<Path> files;
    try (Stream<Path> s = Files.list(SOURCES)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".cuh")).sorted().toList();
    }
    for (Path f : files) {
      all.append(Files.readString(f)).append('\n');
    }
    String src = all.toString().replaceAll("(?m)//.*$", "").replace("\\\n", " ");
    // expand the one parameter macro the kernels use (#define NAME <params> on one logical line)
    Matcher d = Pattern.compile("#define\\s+(\\w+_PARAMS)\\s+([^\\n]*)").matcher(src);
    Map<String, String> macros = new TreeMap<>();
    while (d.find()) {
      macros.put(d.group(1), d.group(2));
    }
    for (Map.Entry<String, String> e : macros.entrySet()) {
      src = src.replace("(" + e.getKey() + ")", "(" + e.getValue() + ")");
    }
    Map<String, List<Kind>> out = new TreeMap<>();
    Matcher m = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?"
        + "(\\w+)\\s*\\(([^)]*)\\)").matcher(src);
    while (m.find()) {
      List<Kind> kinds = new ArrayList<>();
      for (String p : m.group(2).split(",")) {
        String t = p.trim();
        Kind k;
        if (t.contains("*")) {
          k = Kind.PTR;
        } else if (t.startsWith("long long ") || t.startsWith("int64_t ") || t.startsWith("size_t ")) {
          k = Kind.I64;
        } else if (t.startsWith("int ") || t.startsWith("unsigned ")) {
          k = Kind.I32;
        } else if (t.startsWith("float ")) {
          k = Kind.F32;
        } else {
          throw new AssertionError("kernel " + m.group(1) + ": unknown parameter type in '" + t + "'");
        }
        kinds.add(k);
      }
      out.put(m.group(1), kinds);
    }
    return out;
  }

  @Test
  void everyWrapperMatchesItsKernelInTheSources() throws Exception {
    assumeTrue(Files.isDirectory(SOURCES), "run from the gpu-kernels module: " + SOURCES + " not found");
    Map<String, List<Kind>> calls = recordedCalls();
    Map<String, List<Kind>> sources = sourceSignatures();
    assertEquals(calls.keySet(), sources.keySet(), "the kernels in src/main/cuda and the Java wrappers differ");
    for (Map.Entry<String, List<Kind>> c : calls.entrySet()) {
      assertEquals(sources.get(c.getKey()), c.getValue(), c.getKey() + ": the wrapper's parameters (pointer,"
          + " 32/64-bit int, float, in order) differ from the kernel's in src/main/cuda");
    }
  }

  /**
   * Each wrapper's declared Java parameters end with the kernel's, in its order and kind: a wrapper
   * cannot pack its arguments in another order than it declares them unless the kinds agree too.
   */
  @Test
  void everyWrapperDeclaresTheParametersItPasses() {
    Map<String, List<Kind>> calls = recordedCalls();
    Map<String, String> kernelOf = Map.ofEntries(Map.entry("gatherConcat", "gather_concat"),
        Map.entry("linearForward", "linear_forward"), Map.entry("linearForwardLanes", "linear_forward_lanes"),
        Map.entry("fmForward", "fm_forward"),
        Map.entry("gemmTiled", "gemm_tiled"), Map.entry("mlpOutput", "mlp_output"),
        Map.entry("scatter", "scatter_atomic_256"), Map.entry("finishStep", "finish_step"),
        Map.entry("detApplyRows", "det_apply_rows"), Map.entry("detApplyCold", "det_apply_cold"),
        Map.entry("gatherListedRows", "gather_listed_rows"), Map.entry("epochGather", "epoch_gather"));
    int checked = 0;
    for (java.lang.reflect.Method m : Kernels.class.getDeclaredMethods()) {
      if (m.isSynthetic() || java.lang.reflect.Modifier.isPrivate(m.getModifiers())
          || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      String kernel = kernelOf.get(m.getName());
      assertTrue(kernel != null, "Kernels." + m.getName() + " is not known to this test");
      List<Kind> want = calls.get(kernel);
      Class<?>[] types = m.getParameterTypes();
      assertTrue(types.length >= want.size(), m.getName() + " declares fewer parameters than it passes");
      for (int i = 0; i < want.size(); i++) {
        Class<?> t = types[types.length - want.size() + i];
        Kind declared = t == jcuda.driver.CUdeviceptr.class ? Kind.PTR : t == int.class ? Kind.I32
            : t == long.class ? Kind.I64 : t == float.class ? Kind.F32 : null;
        assertEquals(want.get(i), declared, m.getName() + ": declared parameter "
            + (types.length - want.size() + i) + " (" + t.getSimpleName() + ") vs the kernel's parameter " + i);
      }
      checked++;
    }
    assertEquals(kernelOf.size(), checked, "every wrapper checked");
  }

  /** The parser itself: a hand-written entry, so that an empty match cannot pass the tests above. */
  @Test
  void ptxParserReadsParameterTypes() {
    String ptx = ".visible .entry k(\n\t.param .u64 k_param_0,\n\t.param .u32 k_param_1,\n"
        + "\t.param .f32 k_param_2\n)\n{";
    assertEquals(Map.of("k", List.of("u64", "u32", "f32")), ptxEntries(ptx));
  }
}
