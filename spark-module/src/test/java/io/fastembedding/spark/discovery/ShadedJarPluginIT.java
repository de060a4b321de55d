package io.fastembedding.spark.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The shaded jar (classifier "all") is what docs/gpu.md tells users to drop into $SPARK_HOME/jars
 * for the discovery plugin. A JVM with Spark's jars and that one jar only must let Spark load the
 * plugin by name and run it; with the thin jar alone it failed with NoClassDefFoundError
 * (io/fastembedding/backend/Backends). Runs in `mvn verify`, after the jar is built.
 */
class ShadedJarPluginIT {
  @Test
  void sparkLoadsAndRunsThePluginFromTheShadedJarAlone() throws Exception {
    Path shaded = Paths.get(System.getProperty("shaded.jar"));
    assertTrue(Files.isRegularFile(shaded), "no shaded jar at " + shaded);
    String sparkClasspath = Files.readString(Paths.get(System.getProperty("spark.classpath.file")))
        .trim();
    for (String entry : sparkClasspath.split(java.io.File.pathSeparator)) {
      assertFalse(entry.contains("gpu-kernels") || entry.contains("jcuda")
          || entry.contains("spark-fast-embedding"), "not Spark's: " + entry);
    }
    Path dir = Files.createTempDirectory("shaded-probe");
    Path script = dir.resolve("fallback.sh");
    // the address a real GPU never has here: seeing it means Spark fell back to the script
    Files.writeString(script, "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"97\"]}'\n");
    script.toFile().setExecutable(true);

    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    for (String flag : System.getProperty("spark.test.jvm.flags").trim().split("\\s+")) {
      cmd.add(flag);
    }
    cmd.add("-cp");
    cmd.add(sparkClasspath + java.io.File.pathSeparator + shaded);
    cmd.add(Paths.get("src", "test", "probe", "ShadedJarProbe.java").toString());
    cmd.add(script.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try (var in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the probe JVM did not finish");
    System.out.println(out);
    assertEquals(0, p.exitValue(), "the probe failed:\n" + out);
    assertFalse(out.contains("NoClassDefFoundError") || out.contains("ClassNotFoundException"),
        out);

    int devices = Integer.parseInt(field(out, "cuda-devices"));
    String found = field(out, "spark-found");
    if (devices == 0) {
      assertEquals("97", found, "no CUDA here, so the plugin must step aside for the script");
    } else {
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < devices; i++) {
        expected.add(Integer.toString(i));
      }
      assertEquals(String.join(",", expected), found, "the plugin must list every CUDA device");
    }
  }

  private static String field(String out, String key) throws IOException {
    Matcher m = Pattern.compile("(?m)^" + key + " (\\S+)$").matcher(out);
    assertTrue(m.find(), "no '" + key + "' line in:\n" + out);
    return m.group(1);
  }
}
