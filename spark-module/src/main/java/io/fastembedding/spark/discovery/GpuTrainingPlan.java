package io.fastembedding.spark.discovery;

import io.fastembedding.backend.Backends;
import java.util.List;
import java.util.Optional;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDDLike;
import org.apache.spark.resource.ResourceProfile;

/**
 * How the training stage gets its GPUs, decided once on the driver before any work starts:
 *
 * <ol>
 *   <li>device = cpu, or local mode: no GPU scheduling (local mode picks CUDA ordinals by
 *       partition);
 *   <li>executors have GPUs ({@code spark.executor.resource.gpu.amount}) and tasks do not
 *       already hold exactly one each: the training stage gets a profile with one GPU per task,
 *       where stage-level scheduling is available ({@link StageLevelScheduling});
 *   <li>otherwise the application's own task amount applies, and {@link GpuAmountCheck} refuses
 *       amounts that would make training tasks share a GPU.
 * </ol>
 *
 * <p>Use: {@code plan = GpuTrainingPlan.decide(sc.getConf(), sc.version(), resourceName, device)}
 * once per fit, log {@link #warnings()}, and {@link #applyTo} every training RDD.
 */
public final class GpuTrainingPlan {
  private final ResourceProfile profile;
  private final StageLevelScheduling.Availability availability;
  private final String description;
  private final List<String> warnings;
  /** Training tasks an executor runs at once when each holds a whole GPU, else 0 (unknown). */
  private final int gpuTasksPerExecutor;

  private GpuTrainingPlan(ResourceProfile profile, StageLevelScheduling.Availability availability,
      String description, List<String> warnings) {
    this(profile, availability, description, warnings, 0);
  }

  private GpuTrainingPlan(ResourceProfile profile, StageLevelScheduling.Availability availability,
      String description, List<String> warnings, int gpuTasksPerExecutor) {
    this.profile = profile;
    this.availability = availability;
    this.description = description;
    this.warnings = List.copyOf(warnings);
    this.gpuTasksPerExecutor = gpuTasksPerExecutor;
  }

  /**
   * Local mode's one line: a CPU-only machine says so plainly and nothing about CUDA; JCuda's own
   * error text is for DEBUG (TrainRound logs it there).
   */
  private static String localDescription(String device) {
    if (Backends.cudaDeviceCount() > 0 || !"auto".equals(device)) {
      return "local mode: each task picks CUDA device partition mod device count";
    }
    return Backends.cudaDriverMissing() ? "no NVIDIA driver: training on the CPU"
        : "no CUDA device (" + Backends.cudaUnavailableReason() + "): training on the CPU";
  }

  /**
   * @param conf the application's configuration ({@code SparkContext.getConf()})
   * @param sparkVersion {@code SparkContext.version()}
   * @param resourceName the GPU resource name ("gpu")
   * @param device the stage's device param: auto, cpu or gpu
   * @throws IllegalArgumentException when the GPU amounts would put several training tasks on one
   *     GPU and {@value GpuAmountCheck#ALLOW_SHARING_CONF} is not true, or when a bad amount is
   *     configured
   */
  public static GpuTrainingPlan decide(SparkConf conf, String sparkVersion, String resourceName,
      String device) {
    StageLevelScheduling.Availability availability =
        StageLevelScheduling.availability(conf, sparkVersion);
    if ("cpu".equals(device)) {
      return new GpuTrainingPlan(null, availability, "device = cpu: training holds no GPU",
          List.of());
    }
    GpuResourceConf c = GpuResourceConf.read(conf, resourceName);
    if (GpuResourceConf.isLocal(c.master())) {
      // the driver is the executor here: what it sees of CUDA is what the tasks will see
      return new GpuTrainingPlan(null, availability, localDescription(device), List.of());
    }
    boolean executorsHaveGpus = c.executorAmount() != null && c.executorAmount() >= 1;
    boolean oneEachAlready = c.taskAmount() != null && c.taskAmount() == 1.0;
    boolean useProfile = executorsHaveGpus && !oneEachAlready && availability.available();
    String description;
    if (useProfile) {
      description = "training stage profile: one '" + resourceName + "' per task ("
          + availability.reason() + ")";
    } else if (!executorsHaveGpus) {
      description = c.executorKey() + " is not set: Spark schedules no GPUs to training tasks";
    } else if (oneEachAlready) {
      description = c.taskKey() + " = 1: every task already holds one GPU";
    } else {
      description = "no training profile (" + availability.reason() + "); " + c.taskKey()
          + (c.taskAmount() == null ? " is not set" : " = " + c.taskAmount())
          + " applies to training";
    }
    List<String> warnings = GpuAmountCheck.check(conf, resourceName, useProfile,
        availability.available() ? null : availability.reason());
    ResourceProfile profile = useProfile
        ? TrainingResourceProfiles.forTraining(conf, resourceName, availability.mode())
        : null;
    // one whole GPU per training task (the profile, or a task amount of 1): an executor runs at
    // most as many training tasks at once as it has GPUs
    int gpuTasks = executorsHaveGpus && (useProfile || oneEachAlready)
        ? (int) Math.min(Integer.MAX_VALUE, c.executorAmount()) : 0;
    return new GpuTrainingPlan(profile, availability, description, warnings, gpuTasks);
  }

  /**
   * Training tasks one executor runs at once when each holds a whole GPU (its GPU count), for the
   * memory plan of the training tasks; empty when training tasks are not bounded by GPUs.
   */
  public java.util.OptionalInt trainingTasksPerExecutor() {
    return gpuTasksPerExecutor > 0 ? java.util.OptionalInt.of(gpuTasksPerExecutor)
        : java.util.OptionalInt.empty();
  }

  /** The training stage's profile, when it gets one. */
  public Optional<ResourceProfile> profile() {
    return Optional.ofNullable(profile);
  }

  public StageLevelScheduling.Availability availability() {
    return availability;
  }

  /** One line for logs and the training summary. */
  public String description() {
    return description;
  }

  /** Idle GPUs and GPU sharing that was asked for: worth a warning, not an error. */
  public List<String> warnings() {
    return warnings;
  }

  /**
   * Marks {@code rdd} to run with the training profile, if there is one. Spark applies a profile
   * to the whole stage that computes the RDD, so call it on the RDD whose partitions train (the
   * one the training function maps), not on an RDD after a shuffle.
   */
  public void applyTo(JavaRDDLike<?, ?> rdd) {
    if (profile != null) {
      rdd.rdd().withResources(profile);
    }
  }

  @Override
  public String toString() {
    return description;
  }
}
