package io.fastembedding.spark.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

class GpuAmountCheckTest {
  static SparkConf conf(String master, String... keyValues) {
    SparkConf c = new SparkConf(false).setMaster(master);
    for (int i = 0; i < keyValues.length; i += 2) {
      c.set(keyValues[i], keyValues[i + 1]);
    }
    return c;
  }

  static void assertContains(String text, String... parts) {
    for (String p : parts) {
      assertTrue(text.contains(p), "'" + p + "' missing from: " + text);
    }
  }

  @Test
  void fractionalAmountSharingGpusIsAnErrorNamingKeysValuesAndFixes() {
    SparkConf c = conf("spark://host:7077", "spark.executor.resource.gpu.amount", "2",
        "spark.task.resource.gpu.amount", "0.25", "spark.executor.cores", "8");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GpuAmountCheck.check(c, "gpu", false, "the reason from availability"));
    assertContains(e.getMessage(), "spark.task.resource.gpu.amount = 0.25 fits 4 tasks on one GPU",
        "each executor runs up to 8 tasks at once (spark.executor.cores = 8, spark.task.cpus = 1)",
        "spark.executor.resource.gpu.amount = 2", "up to 4 training tasks would train on the same GPU",
        "the reason from availability", "set spark.task.resource.gpu.amount=1",
        GpuAmountCheck.ALLOW_SHARING_CONF + "=true");
  }

  @Test
  void coresLimitHowManyShare() {
    // 0.25 fits 4 per GPU, but 2 cores with 1 cpu per task run only 2 at once
    SparkConf c = conf("spark://h:7077", "spark.executor.resource.gpu.amount", "1",
        "spark.task.resource.gpu.amount", "0.25", "spark.executor.cores", "2");
    List<String> errors = GpuAmountCheck.findings(c, "gpu", false, "r").errors();
    assertEquals(1, errors.size());
    assertContains(errors.get(0), "up to 2 training tasks would train on the same GPU");
  }

  @Test
  void unknownExecutorCoresInStandaloneAreReportedAsSuch() {
    SparkConf c = conf("spark://h:7077", "spark.executor.resource.gpu.amount", "1",
        "spark.task.resource.gpu.amount", "0.5");
    String error = GpuAmountCheck.findings(c, "gpu", false, "r").errors().get(0);
    assertContains(error, "spark.executor.cores is not set, so an executor takes every free core "
        + "of its worker and may run a task on each at once", "up to 2 training tasks");
  }

  @Test
  void localClusterCoresComeFromTheMaster() {
    SparkConf c = conf("local-cluster[2,2,1024]", "spark.executor.resource.gpu.amount", "2",
        "spark.task.resource.gpu.amount", "0.5");
    assertContains(GpuAmountCheck.findings(c, "gpu", false, "r").errors().get(0),
        "local-cluster[2,2,1024] gives each executor 2 cores");
  }

  @Test
  void noSharingWhenOnlyOneTaskRunsPerExecutorOrOnlyOneFitsPerGpu() {
    // YARN and Kubernetes default to 1 core per executor
    assertTrue(GpuAmountCheck.findings(conf("yarn", "spark.executor.resource.gpu.amount", "1",
        "spark.task.resource.gpu.amount", "0.5"), "gpu", false, "r").ok());
    assertTrue(GpuAmountCheck.findings(conf("k8s://https://api:6443",
        "spark.executor.resource.gpu.amount", "1", "spark.task.resource.gpu.amount", "0.5",
        "spark.executor.cores", "4", "spark.task.cpus", "4"), "gpu", false, "r").ok());
    // 0.75 leaves 0.25 of a GPU: no second task fits
    assertTrue(GpuAmountCheck.findings(conf("spark://h:7077",
        "spark.executor.resource.gpu.amount", "1", "spark.task.resource.gpu.amount", "0.75",
        "spark.executor.cores", "8"), "gpu", false, "r").ok());
    // no task amount: tasks hold no GPU at all
    assertTrue(GpuAmountCheck.findings(conf("spark://h:7077",
        "spark.executor.resource.gpu.amount", "1", "spark.executor.cores", "8"), "gpu", false, "r")
        .ok());
  }

  @Test
  void aTrainingProfileMakesFractionsElsewhereHarmless() {
    SparkConf c = conf("spark://h:7077", "spark.executor.resource.gpu.amount", "2",
        "spark.task.resource.gpu.amount", "0.25", "spark.executor.cores", "8");
    GpuAmountCheck.Findings f = GpuAmountCheck.findings(c, "gpu", true, null);
    assertTrue(f.ok(), f.toString());
    assertTrue(f.warnings().isEmpty(), f.toString());
  }

  @Test
  void sharingOnPurposeIsAWarning() {
    SparkConf c = conf("spark://h:7077", "spark.executor.resource.gpu.amount", "1",
        "spark.task.resource.gpu.amount", "0.5", "spark.executor.cores", "4",
        GpuAmountCheck.ALLOW_SHARING_CONF, "true");
    List<String> warnings = GpuAmountCheck.check(c, "gpu", false, "r");
    assertEquals(1, warnings.size());
    assertContains(warnings.get(0), "up to 2 training tasks would train on the same GPU",
        "Sharing GPUs as " + GpuAmountCheck.ALLOW_SHARING_CONF + "=true asks");
  }

  @Test
  void aTrainingProfileWithoutExecutorGpusIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GpuAmountCheck.check(conf("spark://h:7077"), "gpu", true, null));
    assertContains(e.getMessage(), "asks for one 'gpu' per task",
        "spark.executor.resource.gpu.amount is not set", "would never start",
        "spark.worker.resource.gpu.discoveryScript", CudaDiscoveryPlugin.class.getName());
    assertContains(assertThrows(IllegalArgumentException.class, () -> GpuAmountCheck.check(
        conf("yarn", "spark.executor.resource.gpu.amount", "0"), "gpu", true, null)).getMessage(),
        "spark.executor.resource.gpu.amount = 0");
  }

  @Test
  void idleGpusAreAWarning() {
    SparkConf withProfile = conf("spark://h:7077", "spark.executor.resource.gpu.amount", "4",
        "spark.executor.cores", "2");
    List<String> w = GpuAmountCheck.check(withProfile, "gpu", true, null);
    assertEquals(1, w.size());
    assertContains(w.get(0), "spark.executor.resource.gpu.amount = 4",
        "spark.executor.cores = 2 and spark.task.cpus = 1 let an executor run only 2 training tasks",
        "2 of its GPUs stay idle", "at least 4 cores");
    // the same with a whole GPU per task in every stage
    SparkConf oneEach = conf("yarn", "spark.executor.resource.gpu.amount", "2",
        "spark.task.resource.gpu.amount", "1");
    assertContains(GpuAmountCheck.check(oneEach, "gpu", false, null).get(0),
        "YARN then gives each executor 1 core", "1 of its GPUs stays idle");
  }

  @Test
  void customResourceNameIsUsedInKeys() {
    SparkConf c = conf("spark://h:7077", "spark.executor.resource.cuda.amount", "1",
        "spark.task.resource.cuda.amount", "0.5", "spark.executor.cores", "2",
        "spark.task.resource.gpu.amount", "1");
    assertContains(GpuAmountCheck.findings(c, "cuda", false, "r").errors().get(0),
        "spark.task.resource.cuda.amount = 0.5", "spark.executor.resource.cuda.amount = 1",
        "set spark.task.resource.cuda.amount=1");
  }

  @Test
  void localModeIsLeftToTheLocalModeCheck() {
    assertTrue(GpuAmountCheck.findings(conf("local[4]", "spark.task.resource.gpu.amount", "0.25"),
        "gpu", false, "r").ok());
  }

  @Test
  void unreadableAmountsNameTheKey() {
    assertContains(assertThrows(IllegalArgumentException.class, () -> GpuAmountCheck.findings(
        conf("yarn", "spark.task.resource.gpu.amount", "half"), "gpu", false, "r")).getMessage(),
        "spark.task.resource.gpu.amount = 'half' is not a number");
  }
}
