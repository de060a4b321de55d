package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fastembedding.backend.Backends;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;

/**
 * On a machine without an NVIDIA driver (CI), a device = auto fit in local mode says so in one INFO
 * line and nothing else about CUDA: no WARN, no JCuda loader text (that is DEBUG only).
 */
class CpuMachineLogTest {
  @Test
  void aCpuOnlyFitLogsOneLineAboutTheDevice() {
    assumeTrue(Backends.cudaDriverMissing(), "this machine has an NVIDIA driver");
    List<String> lines = new CopyOnWriteArrayList<>();
    AbstractAppender capture = new AbstractAppender("cpu-machine-capture", null, null, true,
        Property.EMPTY_ARRAY) {
      @Override
      public void append(LogEvent e) {
        if (e.getLevel().isMoreSpecificThan(Level.INFO)) {
          lines.add(e.getLevel() + " " + e.getMessage().getFormattedMessage());
        }
      }
    };
    capture.start();
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    // the stage's loggers at INFO, as the tests' log4j2.properties has them (Spark 3.5 may start
    // from its own default configuration, without that logger)
    Configurator.setLevel("io.fastembedding", Level.INFO);
    LoggerConfig stage = ctx.getConfiguration().getLoggerConfig("io.fastembedding");
    stage.addAppender(capture, null, null);
    ctx.updateLoggers();
    try {
      new MultiEmbedding().setInputCols("a", "b", "c").setMaxIter(2).setSeed(7)
          .fit(SparkTestSession.synthetic(SparkTestSession.get(), 600, 7));
    } finally {
      stage.removeAppender(capture.getName());
      ctx.updateLoggers();
    }
    List<String> device = lines.stream().filter(l -> l.contains("CUDA") || l.contains("NVIDIA")
        || l.contains("GPU") || l.contains("JCuda") || l.contains("training on the CPU")).toList();
    assertEquals(1, device.size(), "one line about the device, got " + device);
    assertFalse(device.get(0).contains("JCuda") || device.get(0).contains("UnsatisfiedLinkError"),
        device.get(0));
    assertEquals("INFO", device.get(0).split(" ")[0], device.get(0));
    assertEquals(true, device.get(0).endsWith("no NVIDIA driver: training on the CPU"),
        device.get(0));
    assertFalse(lines.stream().anyMatch(l -> l.startsWith("WARN") || l.startsWith("ERROR")),
        "no warning on a CPU-only machine: " + lines);
  }
}
