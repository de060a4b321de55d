package io.fastembedding.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The PTX shipped in the jar must be the compilation of the CUDA sources in src/main/cuda: users run
 * the committed PTX, so an edit to a kernel without rebuilding it would silently ship the old kernel.
 * Runs without a GPU; the regeneration check also needs nvcc of the same release.
 */
class PtxUpToDateTest {
  private static final Path SOURCES = Path.of("src", "main", "cuda");
  private static final String[] VARIANTS = {"compute_75", "compute_90"};

  /** SHA-256 over each source's name and bytes, in name order: what build-ptx.sh records. */
  static String sourcesHash() throws Exception {
    assumeTrue(Files.isDirectory(SOURCES), "run from the gpu-kernels module: " + SOURCES + " not found");
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    List<Path> files;
    try (Stream<Path> s = Files.list(SOURCES)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".cu")
          || p.getFileName().toString().endsWith(".cuh")).sorted().toList();
    }
    assertTrue(files.size() >= 2, "expected CUDA sources in " + SOURCES.toAbsolutePath());
    for (Path f : files) {
      md.update((f.getFileName().toString() + "\n").getBytes(StandardCharsets.UTF_8));
      md.update(Files.readAllBytes(f));
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static String committed(String variant) {
    return new String(DeviceContext.readPtx(variant), StandardCharsets.US_ASCII);
  }

  @Test
  void committedPtxWasBuiltFromTheCurrentSources() throws Exception {
    String hash = sourcesHash();
    for (String v : VARIANTS) {
      String first = committed(v).lines().findFirst().orElse("");
      assertEquals("// fastembedding-sources-sha256: " + hash, first, "the committed PTX " + v
          + " was built from other sources than src/main/cuda; run gpu-kernels/src/main/cuda/build-ptx.sh"
          + " (needs nvcc) and commit src/main/resources/io/fastembedding/backend/cuda/*.ptx");
    }
  }

  @Test
  void eachVariantTargetsItsArchitectureAndHasEveryKernel() {
    String[] kernels = {"gather_concat", "linear_forward", "fm_forward", "gemm_tiled", "mlp_output",
        "scatter_atomic_256", "scatter_atomic_1024", "finish_step", "det_apply_rows", "det_apply_cold",
        "gather_listed_rows"};
    for (String v : VARIANTS) {
      String ptx = committed(v);
      assertTrue(ptx.contains(".target sm_" + v.substring("compute_".length())), v + " has the wrong target");
      for (String k : kernels) {
        assertTrue(ptx.contains(".entry " + k + "("), v + " lacks kernel " + k);
      }
    }
    assertTrue(committed("compute_90").contains("red.global.add.v4.f32"),
        "the Hopper build should use vector atomics");
    assertTrue(!committed("compute_75").contains("red.global.add.v4.f32"),
        "the Turing build must not use sm_90 vector atomics");
  }

  @ParameterizedTest
  @ValueSource(strings = {"compute_75", "compute_90"})
  void regeneratingWithNvccGivesTheCommittedPtx(String variant) throws Exception {
    String version = run(List.of("nvcc", "--version"));
    assumeTrue(version != null, "nvcc is not on the PATH: only the source hash is checked");
    String tools = version.lines().filter(l -> l.startsWith("Cuda compilation tools")).findFirst().orElse("?");
    String ptx = committed(variant);
    assumeTrue(ptx.contains("// " + tools), "nvcc here (" + tools + ") differs from the one that built the "
        + "committed PTX; its output may differ legitimately");
    Path out = Files.createTempFile("fastembedding-" + variant, ".ptx");
    try {
      String r = run(List.of("nvcc", "-ptx", "-arch=" + variant, "-O3", "-std=c++17", "-o", out.toString(),
          SOURCES.resolve("fastembedding.cu").toString()));
      assertTrue(r != null, "nvcc failed to compile the kernels");
      String body = ptx.substring(ptx.indexOf('\n') + 1);
      assertArrayEquals(withoutPathHashes(Files.readString(out, StandardCharsets.US_ASCII)),
          withoutPathHashes(body),
          "the committed PTX " + variant + " differs from what nvcc makes of the sources;"
              + " run gpu-kernels/src/main/cuda/build-ptx.sh and commit the result");
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /**
   * nvcc names file-local symbols after a hash of the source file's absolute path, so the same
   * sources compiled in another checkout differ only in those names; compare with them blanked out.
   */
  private static byte[] withoutPathHashes(String ptx) {
    return ptx.replaceAll("_INTERNAL_[0-9a-f]+_[0-9]+_fastembedding_cu_[0-9a-f]+", "_INTERNAL_")
        .replaceAll("_GLOBAL__N__[0-9a-f]+_[0-9]+_fastembedding_cu_[0-9a-f]+", "_GLOBAL__N__")
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Output of a command, or null when it cannot run or fails. */
  private static String run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      p.getInputStream().transferTo(buf);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? buf.toString(StandardCharsets.UTF_8) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
