package io.fastembedding.spark.discovery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged discovery script against a fake {@code nvidia-smi}. PATH holds only the fake's
 * directory, so a real nvidia-smi on the machine running the tests cannot leak in.
 */
class GpuDiscoveryScriptTest {
  private static final String FOUR_GPUS = "#!/bin/bash\n"
      + "case \"$*\" in\n"
      + "  *uuid*) printf '0, GPU-aaa111\\n1, GPU-bbb222\\n2, GPU-ccc333\\n3, GPU-ddd444\\n' ;;\n"
      + "  *) printf '0\\n1\\n2\\n3\\n' ;;\n"
      + "esac\n";

  @TempDir
  static Path dir;
  static Path script;
  static String bash;

  @BeforeAll
  static void extract() {
    script = GpuDiscoveryScript.extractTo(dir.resolve("conf"));
    bash = Files.isExecutable(Paths.get("/bin/bash")) ? "/bin/bash" : "/usr/bin/bash";
  }

  record Run(int status, String out, String err) {}

  /** Runs the script directly (by its shebang, as Spark does) with a fake nvidia-smi. */
  static Run run(String fakeSmi, Map<String, String> env) throws Exception {
    Path bin = Files.createTempDirectory(dir, "bin");
    if (fakeSmi != null) {
      Path smi = bin.resolve("nvidia-smi");
      Files.writeString(smi, fakeSmi);
      Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    // The shebang's `env bash` needs bash on PATH: put a forwarder next to the fake, so that
    // nothing else is on PATH.
    Path forwarder = bin.resolve("bash");
    Files.writeString(forwarder, "#!" + bash + "\nexec " + bash + " \"$@\"\n");
    Files.setPosixFilePermissions(forwarder, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessBuilder pb = new ProcessBuilder(script.toString());
    pb.environment().clear();
    pb.environment().put("PATH", bin.toString());
    pb.environment().putAll(env);
    Path out = bin.resolve("stdout");
    Path err = bin.resolve("stderr");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the script did not finish");
    return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8).trim(),
        Files.readString(err, StandardCharsets.UTF_8).trim());
  }

  static String[] addresses(Run r) {
    assertEquals(0, r.status, "stderr: " + r.err);
    // Spark's own parser must accept the output
    ResourceInformation info = ResourceInformation.parseJson(r.out);
    assertEquals("gpu", info.name());
    return info.addresses();
  }

  @Test
  void listsEveryGpuWhenCudaVisibleDevicesIsUnset() throws Exception {
    Run r = run(FOUR_GPUS, Map.of());
    assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\",\"2\",\"3\"]}", r.out);
    assertArrayEquals(new String[] {"0", "1", "2", "3"}, addresses(r));
  }

  @Test
  void oneGpu() throws Exception {
    assertArrayEquals(new String[] {"0"}, addresses(run("#!/bin/bash\necho 0\n", Map.of())));
  }

  @Test
  void cudaVisibleDevicesRenumbersTheNamedGpusFromZero() throws Exception {
    assertArrayEquals(new String[] {"0", "1"},
        addresses(run(FOUR_GPUS, Map.of("CUDA_VISIBLE_DEVICES", "2,3"))));
    // as CUDA does, stop at the first entry naming no GPU (7), and at a repeated one
    assertArrayEquals(new String[] {"0"},
        addresses(run(FOUR_GPUS, Map.of("CUDA_VISIBLE_DEVICES", "3,7,1"))));
    assertArrayEquals(new String[] {"0"},
        addresses(run(FOUR_GPUS, Map.of("CUDA_VISIBLE_DEVICES", "1,1"))));
    // UUID prefixes
    assertArrayEquals(new String[] {"0", "1"},
        addresses(run(FOUR_GPUS, Map.of("CUDA_VISIBLE_DEVICES", "GPU-ccc,GPU-a"))));
  }

  @Test
  void cudaVisibleDevicesHidingEverythingGivesNoAddresses() throws Exception {
    for (String hidden : new String[] {"", "-1"}) {
      Run r = run(FOUR_GPUS, Map.of("CUDA_VISIBLE_DEVICES", hidden));
      assertEquals(0, addresses(r).length, hidden);
      assertTrue(r.err.contains("hides every GPU"), r.err);
    }
  }

  @Test
  void nodeWithoutGpusGivesAnEmptyList() throws Exception {
    for (String exit : new String[] {"exit 6", "exit 0"}) {
      Run r = run("#!/bin/bash\necho 'No devices were found'\n" + exit + "\n", Map.of());
      assertEquals(0, addresses(r).length, exit);
      assertTrue(r.err.contains("no GPU"), r.err);
    }
    // a driver that lists nothing at all
    assertEquals(0, addresses(run("#!/bin/bash\n", Map.of())).length);
  }

  @Test
  void missingNvidiaSmiFailsWithAMessage() throws Exception {
    Run r = run(null, Map.of());
    assertNotEquals(0, r.status);
    assertEquals("", r.out);
    assertTrue(r.err.contains("nvidia-smi was not found on PATH"), r.err);
    assertTrue(r.err.contains(CudaDiscoveryPlugin.class.getName()), r.err);
  }

  @Test
  void failingNvidiaSmiFailsAndKeepsItsMessage() throws Exception {
    Run r = run("#!/bin/bash\necho 'NVIDIA-SMI has failed: no driver' >&2\nexit 9\n", Map.of());
    assertNotEquals(0, r.status);
    assertEquals("", r.out);
    assertTrue(r.err.contains("NVIDIA-SMI has failed: no driver"), r.err);
    assertTrue(r.err.contains("exit status 9"), r.err);
  }

  @Test
  void unexpectedOutputFails() throws Exception {
    Run r = run("#!/bin/bash\necho '[Not Supported]'\n", Map.of());
    assertNotEquals(0, r.status);
    assertTrue(r.err.contains("unexpected line"), r.err);
  }

  @Test
  void resourceNameCanBeChanged() throws Exception {
    Run r = run("#!/bin/bash\necho 0\necho 1\n", Map.of("FAST_EMBEDDING_GPU_RESOURCE_NAME", "cuda"));
    assertEquals(0, r.status, r.err);
    ResourceInformation info = ResourceInformation.parseJson(r.out);
    assertEquals("cuda", info.name());
    assertArrayEquals(new String[] {"0", "1"}, info.addresses());
  }

  @Test
  void unusualResourceNamesAreEscapedInTheJson() throws Exception {
    // the name is printed as a JSON string: quotes, backslashes and control characters cannot
    // change the structure (it used to print {"name":"gpu","addresses":["7","addresses":[...]})
    for (String name : new String[] {"gpu\",\"addresses\":[\"7", "a\\b", "tab\there\u0001",
        "gpu/0 x"}) {
      Run r = run("#!/bin/bash\necho 0\necho 1\n",
          Map.of("FAST_EMBEDDING_GPU_RESOURCE_NAME", name));
      assertEquals(0, r.status, r.err);
      ResourceInformation info = ResourceInformation.parseJson(r.out);
      assertEquals(name, info.name(), r.out);
      assertArrayEquals(new String[] {"0", "1"}, info.addresses(), r.out);
    }
  }

  @Test
  void extractedScriptIsExecutableAndMatchesTheResource() throws IOException {
    assertTrue(Files.isExecutable(script));
    try (var in = GpuDiscoveryScript.class.getClassLoader()
        .getResourceAsStream(GpuDiscoveryScript.RESOURCE)) {
      assertArrayEquals(in.readAllBytes(), Files.readAllBytes(script));
    }
  }
}
