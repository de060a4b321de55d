package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example scripts treat their environment as data: a variable's value is never evaluated as
 * code, words are not split or globbed where they should not be, and temporary folders are removed.
 * Java and Maven are fakes here, so no job runs.
 */
class ExampleScriptsTest {
  private static final Path ROOT = Paths.get("..").toAbsolutePath().normalize();

  @TempDir
  Path tmp;

  record Run(int status, String err) {}

  private Run run(String script, Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("bash", ROOT.resolve(script).toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("TMPDIR", tmp.resolve("tmpdir").toString());
    Files.createDirectories(tmp.resolve("tmpdir"));
    pb.environment().putAll(env);
    Path err = tmp.resolve("err.txt");
    pb.redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(err.toFile());
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the script did not finish");
    return new Run(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
  }

  private static void executable(Path p, String text) throws Exception {
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void flightsClusterScriptDoesNotEvaluateItsNumbers() throws Exception {
    Path marker = tmp.resolve("evaluated");
    for (String var : new String[] {"GPUS", "EXEC_CORES"}) {
      Run r = run("examples/flights-gpu-cluster.sh", Map.of(var, "cores[$(touch " + marker + ")]",
          "JAVA_HOME", tmp.resolve("no-java").toString()));
      assertEquals(2, r.status, r.err);
      assertMentions(r.err, var + " must be a whole number above 0, got 'cores[$(touch");
      assertFalse(Files.exists(marker), var + "'s value was run as a command");
    }
    Run heap = run("examples/flights-gpu-cluster.sh", Map.of("EXEC_MEM", "12g -Dx=$(touch "
        + marker + ")"));
    assertEquals(2, heap.status, heap.err);
    assertFalse(Files.exists(marker));
  }

  @Test
  void flightsClusterScriptRemovesItsTemporaryFolder() throws Exception {
    // a fake java: the discovery script extraction writes a script; the job itself fails
    Path javaHome = tmp.resolve("jdk");
    executable(javaHome.resolve("bin/java"), "#!/bin/bash\n"
        + "for a in \"$@\"; do last=\"$a\"; done\n"
        + "if [[ \"$*\" == *GpuDiscoveryScript* ]]; then\n"
        + "  echo \"echo '{\\\"name\\\":\\\"gpu\\\",\\\"addresses\\\":[\\\"0\\\"]}'\""
        + " > \"$last/getGpusResources.sh\"; chmod +x \"$last/getGpusResources.sh\"; exit 0\n"
        + "fi\n"
        + "exit 3\n");
    Run r = run("examples/flights-gpu-cluster.sh", Map.of("JAVA_HOME", javaHome.toString(),
        "CP", "none"));
    assertEquals(3, r.status, "the job's exit status comes back: " + r.err);
    try (Stream<Path> left = Files.list(tmp.resolve("tmpdir"))) {
      assertEquals(List.of(), left.toList(), "the script's temporary folder was left behind");
    }
  }

  @Test
  void runScriptQuotesItsVariables() throws Exception {
    Path marker = tmp.resolve("evaluated");
    Run heap = run("examples/run.sh", Map.of("JOB_HEAP", "6g $(touch " + marker + ")"));
    assertEquals(2, heap.status, heap.err);
    assertMentions(heap.err, "JOB_HEAP must be a JVM heap size such as 6g");
    assertFalse(Files.exists(marker));
    // MVN_FLAGS: split at spaces, never globbed; a fake mvn records what it was given
    Path bin = tmp.resolve("bin");
    Path args = tmp.resolve("mvn-args.txt");
    executable(bin.resolve("mvn"), "#!/bin/bash\nprintf '%s\\n' \"$@\" > " + args + "\nexit 1\n");
    Run mvn = run("examples/run.sh", Map.of("MVN_FLAGS", "-o  -Dglob=*", "PATH",
        bin + ":" + System.getenv("PATH")));
    assertEquals(1, mvn.status, mvn.err);
    assertEquals(List.of("-q", "-o", "-Dglob=*", "-pl", "examples", "-am", "package",
        "-DskipTests"), Files.readAllLines(args));
  }
}
