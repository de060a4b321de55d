package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.messages;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local[2] session with a task GPU amount, where every job waits forever (Spark offers local tasks
 * no custom resources): the fit fails at once, before any job, even when the stage's
 * gpuResourceName is another name than the one configured.
 */
class LocalModeResourcesTest {
  @TempDir
  Path tmp;

  @Test
  void taskResourceAmountInLocalModeFailsFastWhateverTheResourceName() throws Exception {
    Path script = tmp.resolve("gpus.sh");
    Files.writeString(script, "#!/usr/bin/env bash\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    SparkTestSession.stop();
    SparkSession spark = SparkSession.builder().master("local[2]").appName("local-gpu-amount")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.executor.resource.gpu.amount", "1")
        .config("spark.executor.resource.gpu.discoveryScript", script.toString())
        .config("spark.task.resource.gpu.amount", "1").getOrCreate();
    try {
      Dataset<Row> d = SparkTestSession.synthetic(spark, 100, 1);
      // a hang here would be the bug: fail the test instead of waiting with it
      String m = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> messages(assertThrows(
          Exception.class, () -> new MultiEmbedding().setInputCols("a", "b", "c")
              .setGpuResourceName("mygpu").setMaxIter(1).fit(d))));
      assertMentions(m, "spark.task.resource.gpu.amount = 1 is set, but the master is local[2]",
          "wait forever");
    } finally {
      spark.stop();
      SparkTestSession.stop();
    }
  }
}
