package io.fastembedding.spark.discovery;

import org.apache.spark.SparkConf;
import org.apache.spark.resource.ExecutorResourceRequests;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;

/**
 * ResourceProfiles that give every training task one whole GPU, whatever fraction the rest of
 * the application's tasks use. Attach one to the training RDD ({@code rdd.withResources(p)}):
 * Spark then runs at most one training task per GPU, each with its own address.
 */
public final class TrainingResourceProfiles {
  private TrainingResourceProfiles() {}

  /**
   * A task-only profile (Spark's TaskResourceProfile): one GPU and {@code taskCpus} cores per
   * task, on the application's executors. For dynamic allocation off.
   */
  public static ResourceProfile taskProfile(String resourceName, int taskCpus) {
    if (taskCpus < 1) {
      throw new IllegalArgumentException("task cpus must be at least 1, got " + taskCpus);
    }
    return new ResourceProfileBuilder()
        .require(new TaskResourceRequests().cpus(taskCpus).resource(resourceName, 1.0))
        .build();
  }

  /**
   * A profile with executor requests, for dynamic allocation on: executors with
   * {@code executorGpus} GPUs and {@code executorCores} cores (0: the application's default),
   * the application's memory settings, and one GPU per task.
   *
   * @param discoveryScript the executors' discovery script ("" for none: a discovery plugin)
   * @param vendor the GPU vendor for Kubernetes ("nvidia.com"), "" elsewhere
   */
  public static ResourceProfile executorProfile(String resourceName, long executorGpus,
      int executorCores, int taskCpus, String discoveryScript, String vendor) {
    if (executorGpus < 1) {
      throw new IllegalArgumentException("a training executor needs at least one '" + resourceName
          + "', got " + executorGpus);
    }
    if (executorCores != 0 && executorCores < taskCpus) {
      throw new IllegalArgumentException("executor cores (" + executorCores + ") are fewer than "
          + "the cores of one task (" + taskCpus + ")");
    }
    ExecutorResourceRequests executor = new ExecutorResourceRequests()
        .resource(resourceName, executorGpus, discoveryScript, vendor);
    if (executorCores > 0) {
      executor.cores(executorCores);
    }
    return new ResourceProfileBuilder()
        .require(executor)
        .require(new TaskResourceRequests().cpus(taskCpus).resource(resourceName, 1.0))
        .build();
  }

  /**
   * The training profile for this configuration and mode, taking the executor GPU amount, cores,
   * task cpus, discovery script and vendor from {@code conf}.
   *
   * @throws IllegalArgumentException for {@link StageLevelScheduling.Mode#UNAVAILABLE}, or when
   *     the executors have no GPU amount configured
   */
  public static ResourceProfile forTraining(SparkConf conf, String resourceName,
      StageLevelScheduling.Mode mode) {
    GpuResourceConf c = GpuResourceConf.read(conf, resourceName);
    if (mode == StageLevelScheduling.Mode.UNAVAILABLE) {
      throw new IllegalArgumentException("stage-level scheduling is not available here, so there "
          + "is no training profile to build");
    }
    if (c.executorAmount() == null || c.executorAmount() < 1) {
      throw new IllegalArgumentException("a training profile with one '" + resourceName
          + "' per task needs executors with GPUs, but " + c.executorKey() + " is "
          + (c.executorAmount() == null ? "not set" : "= " + c.executorAmount()));
    }
    if (mode == StageLevelScheduling.Mode.TASK_PROFILE) {
      return taskProfile(resourceName, c.taskCpus());
    }
    return executorProfile(resourceName, c.executorAmount(),
        c.executorCores() == null ? 0 : c.executorCores(), c.taskCpus(), c.discoveryScript(),
        c.vendor());
  }
}
