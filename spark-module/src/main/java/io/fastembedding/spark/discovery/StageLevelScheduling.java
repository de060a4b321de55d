package io.fastembedding.spark.discovery;

import org.apache.spark.SparkConf;

/**
 * Whether the training stage can get its own ResourceProfile (one GPU per task) on this cluster,
 * and of which kind. The rules are Spark 4's (ResourceProfileManager.isSupported):
 *
 * <ul>
 *   <li>YARN, Kubernetes, standalone ({@code spark://}) and {@code local-cluster} with dynamic
 *       allocation off: a task-only profile ({@link Mode#TASK_PROFILE}); the stage runs on the
 *       application's executors and only changes what each task holds. Spark 4.0 fixed such a
 *       profile's GPU accounting when other stages use fractional amounts (SPARK-45527).
 *   <li>the same masters with dynamic allocation on: a profile with executor requests
 *       ({@link Mode#EXECUTOR_PROFILE}); Spark acquires executors for it.
 *   <li>local mode ({@code local}, {@code local[N]}): unavailable. Spark offers tasks no custom
 *       resources there, so a stage asking for a GPU would wait forever; tasks pick their CUDA
 *       device by partition instead.
 *   <li>anything else, or Spark before 4.0: unavailable; the fallback is
 *       {@code spark.task.resource.gpu.amount=1} for the whole application, which
 *       {@link GpuAmountCheck} asks for.
 * </ul>
 */
public final class StageLevelScheduling {
  private StageLevelScheduling() {}

  /** How (or whether) the training stage gets one GPU per task through stage-level scheduling. */
  public enum Mode {
    /** Task requests only; the default profile's executors run it (dynamic allocation off). */
    TASK_PROFILE,
    /** Executor and task requests; Spark acquires executors for it (dynamic allocation on). */
    EXECUTOR_PROFILE,
    /** Not available here; see {@link Availability#reason()}. */
    UNAVAILABLE
  }

  /** The mode, and why, in words for logs and error messages. */
  public record Availability(Mode mode, String reason) {
    public boolean available() {
      return mode != Mode.UNAVAILABLE;
    }
  }

  /**
   * @param conf the application's configuration (spark.master, spark.dynamicAllocation.enabled)
   * @param sparkVersion the running Spark's version, e.g. {@code SparkContext.version()}
   */
  public static Availability availability(SparkConf conf, String sparkVersion) {
    String master = conf.get("spark.master", "");
    int major = majorVersion(sparkVersion);
    if (major < 4) {
      return new Availability(Mode.UNAVAILABLE, "Spark " + sparkVersion + " is older than 4.0: "
          + "before 4.0 a stage asking one GPU per task could still share a GPU that "
          + "spark.task.resource.gpu.amount splits into fractions (SPARK-45527)");
    }
    if (GpuResourceConf.isLocal(master)) {
      return new Availability(Mode.UNAVAILABLE, "the master is " + master + ": local mode offers "
          + "tasks no custom resources, so tasks pick their CUDA device by partition instead");
    }
    boolean cluster = GpuResourceConf.isYarn(master) || GpuResourceConf.isKubernetes(master)
        || GpuResourceConf.isStandalone(master) || GpuResourceConf.isLocalCluster(master);
    if (!cluster) {
      return new Availability(Mode.UNAVAILABLE, "the master is '" + master + "': Spark supports "
          + "stage-level scheduling on YARN, Kubernetes and standalone (spark://, local-cluster) "
          + "only");
    }
    if (GpuResourceConf.dynamicAllocation(conf)) {
      return new Availability(Mode.EXECUTOR_PROFILE, "dynamic allocation is on: Spark acquires "
          + "executors for the training stage's profile");
    }
    return new Availability(Mode.TASK_PROFILE, "dynamic allocation is off: the training stage "
        + "runs on the application's executors, each task holding one whole GPU");
  }

  static int majorVersion(String version) {
    int i = 0;
    while (i < version.length() && Character.isDigit(version.charAt(i))) {
      i++;
    }
    if (i == 0) {
      throw new IllegalArgumentException("cannot read a Spark version from '" + version + "'");
    }
    return Integer.parseInt(version.substring(0, i));
  }
}
