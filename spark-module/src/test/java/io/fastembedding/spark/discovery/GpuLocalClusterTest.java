package io.fastembedding.spark.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark GPU scheduling end to end in local-cluster[2,2,1024], without a GPU: two workers discover
 * two GPUs each through the packaged script (with a fake nvidia-smi), after the CUDA plugin finds
 * no driver and steps aside; each executor holds both; tasks report the addresses Spark gave them
 * and how many tasks held the same address at once.
 */
class GpuLocalClusterTest {
  private static final String[] TWO_GPUS = {"0", "1"};

  @TempDir
  static Path dir;
  static JavaSparkContext jsc;

  @BeforeAll
  static void startCluster() throws Exception {
    Path script = GpuDiscoveryScript.extractTo(dir.resolve("conf"));
    Path bin = Files.createDirectories(dir.resolve("fakebin"));
    writeExecutable(bin.resolve("nvidia-smi"), "#!/bin/bash\nprintf '0\\n1\\n'\n");
    // Spark runs the configured path with no arguments: a wrapper puts the fake first on PATH
    Path wrapper = writeExecutable(dir.resolve("discover.sh"), "#!/bin/bash\n"
        + "unset CUDA_VISIBLE_DEVICES\n"
        + "PATH=" + bin + ":$PATH exec " + script + "\n");

    // one SparkContext per JVM: stop a session another test class left running
    SparkSession.getDefaultSession().foreach(s -> {
      s.stop();
      return null;
    });
    SparkSession.getActiveSession().foreach(s -> {
      s.stop();
      return null;
    });
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();

    SparkConf conf = new SparkConf().setMaster("local-cluster[2,2,1024]")
        .setAppName("gpu-local-cluster")
        .set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.executor.memory", "512m")
        .set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
        .set("spark.executor.extraJavaOptions", System.getProperty("spark.test.jvm.flags", ""))
        .set("spark.resources.discoveryPlugin", NoCudaDiscoveryPlugin.class.getName())
        .set("spark.worker.resource.gpu.amount", "2")
        .set("spark.worker.resource.gpu.discoveryScript", wrapper.toString())
        .set("spark.executor.resource.gpu.amount", "2")
        .set("spark.task.resource.gpu.amount", "0.5");
    jsc = new JavaSparkContext(conf);
    jsc.setLogLevel("WARN");
    long deadline = System.nanoTime() + 60_000_000_000L;
    // the driver counts as one; wait for both executors so all tasks are offered at once
    while (jsc.sc().statusTracker().getExecutorInfos().length < 3) {
      assertTrue(System.nanoTime() < deadline, "the executors did not register within 60 s");
      Thread.sleep(100);
    }
  }

  @AfterAll
  static void stopCluster() {
    if (jsc != null) {
      jsc.stop();
    }
  }

  static Path writeExecutable(Path p, String text) throws Exception {
    Files.writeString(p, text);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  /** What one task saw. */
  record Seen(String executor, String[] addresses, int peakHolders) {
    static Seen parse(String s) {
      String[] f = s.split(";", -1);
      return new Seen(f[0], f[1].isEmpty() ? new String[0] : f[1].split(","),
          Integer.parseInt(f[2]));
    }
  }

  /**
   * Holds the task's GPU addresses for a while and reports the most tasks of this executor that
   * held one of them at the same time.
   */
  static final class HoldGpu implements FlatMapFunction<Iterator<Integer>, String> {
    private static final long serialVersionUID = 1L;
    static final ConcurrentHashMap<String, AtomicInteger> HOLDERS = new ConcurrentHashMap<>();

    @Override
    public Iterator<String> call(Iterator<Integer> it) throws Exception {
      ResourceInformation gpu = TaskContext.get().resourcesJMap().get("gpu");
      String[] addresses = gpu == null ? new String[0] : gpu.addresses();
      int peak = 0;
      for (String a : addresses) {
        peak = Math.max(peak, HOLDERS.computeIfAbsent(a, k -> new AtomicInteger()).incrementAndGet());
      }
      Thread.sleep(800);
      for (String a : addresses) {
        peak = Math.max(peak, HOLDERS.get(a).get());
      }
      for (String a : addresses) {
        HOLDERS.get(a).decrementAndGet();
      }
      return List.of(SparkEnv.get().executorId() + ";" + String.join(",", addresses) + ";" + peak)
          .iterator();
    }
  }

  static List<Seen> run(GpuTrainingPlan plan) {
    JavaRDD<String> tasks = jsc.parallelize(List.of(0, 1, 2, 3), 4).mapPartitions(new HoldGpu());
    if (plan != null) {
      plan.applyTo(tasks);
    }
    return tasks.collect().stream().map(Seen::parse).toList();
  }

  @Test
  void fractionalAmountsPutConcurrentTasksOnOneGpuAndTheCheckSaysSo() {
    List<Seen> seen = run(null);
    assertEquals(4, seen.size());
    Set<String> executors = new TreeSet<>();
    int peak = 0;
    for (Seen s : seen) {
      assertEquals(1, s.addresses.length, "each task holds half of one GPU");
      assertTrue(Set.of(TWO_GPUS).contains(s.addresses[0]), s.addresses[0]);
      executors.add(s.executor);
      peak = Math.max(peak, s.peakHolders);
    }
    assertEquals(2, executors.size(), "both executors ran tasks: " + executors);
    // Spark fills GPU 0 before GPU 1, although each executor has two GPUs for two cores
    assertEquals(2, peak, "two tasks held the same GPU at once");

    GpuAmountCheck.Findings f = GpuAmountCheck.findings(jsc.getConf(), "gpu", false,
        "no profile in this test");
    assertFalse(f.ok(), "the check must refuse what Spark just did");
    assertTrue(f.errors().get(0).contains("up to 2 training tasks would train on the same GPU"),
        f.errors().get(0));
  }

  @Test
  void theTrainingPlanGivesEachConcurrentTaskItsOwnGpu() {
    if (Integer.parseInt(jsc.version().split("\\.")[0]) < 4) {
      // Spark 3.5: no training profile (SPARK-45527), so the stage refuses the sharing amounts
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
          IllegalArgumentException.class,
          () -> GpuTrainingPlan.decide(jsc.getConf(), jsc.version(), "gpu", "auto"));
      assertTrue(e.getMessage().contains("older than 4.0")
          && e.getMessage().contains("spark.task.resource.gpu.amount=1"), e.getMessage());
      return;
    }
    GpuTrainingPlan plan = GpuTrainingPlan.decide(jsc.getConf(), jsc.version(), "gpu", "auto");
    assertEquals(StageLevelScheduling.Mode.TASK_PROFILE, plan.availability().mode());
    assertTrue(plan.profile().isPresent(), plan.description());
    List<Seen> seen = run(plan);
    assertEquals(4, seen.size());
    Set<String> used = new TreeSet<>();
    for (Seen s : seen) {
      assertEquals(1, s.addresses.length, "each training task holds one whole GPU");
      assertEquals(1, s.peakHolders, "no other task held GPU " + s.addresses[0] + " at once");
      used.add(s.addresses[0]);
    }
    // two tasks per executor ran side by side, one per GPU
    assertEquals(Set.of(TWO_GPUS), used);
  }
}
