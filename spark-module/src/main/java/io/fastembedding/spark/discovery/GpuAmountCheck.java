package io.fastembedding.spark.discovery;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkConf;

/**
 * Driver-side check, before training starts, of GPU amounts that would put several training
 * tasks on one GPU when nobody asked for that, or leave GPUs idle.
 *
 * <p>Spark hands fractional GPU amounts out by filling one GPU before the next: with
 * {@code spark.task.resource.gpu.amount=0.5}, two tasks running together on an executor both get
 * address "0" even when the executor holds two GPUs (seen in local-cluster, Spark 4.2). Training
 * tasks sharing a GPU compete for its memory and run slower than one after the other, so that is
 * an error unless {@value #ALLOW_SHARING_CONF}{@code =true}. When the training stage runs with a
 * profile of its own ({@link TrainingResourceProfiles}), fractions elsewhere do not matter.
 *
 * <p>Local mode ({@code local[N]}) is not checked here: Spark offers no resources there, and the
 * stage's own local-mode check covers {@code spark.task.resource.gpu.amount} in local mode.
 */
public final class GpuAmountCheck {
  /** Set to true to let training tasks share GPUs on purpose (small models, many partitions). */
  public static final String ALLOW_SHARING_CONF = "spark.fastembedding.gpu.allowSharing";

  private GpuAmountCheck() {}

  /** Problems that stop training ({@code errors}) and ones worth a log line ({@code warnings}). */
  public record Findings(List<String> errors, List<String> warnings) {
    public boolean ok() {
      return errors.isEmpty();
    }
  }

  /**
   * @param oneGpuPerTrainingTask whether the training stage runs with a training profile (one
   *     GPU per task)
   * @param whyNoProfile when it does not, why (from {@link StageLevelScheduling.Availability}),
   *     for the message
   */
  public static Findings findings(SparkConf conf, String resourceName,
      boolean oneGpuPerTrainingTask, String whyNoProfile) {
    GpuResourceConf c = GpuResourceConf.read(conf, resourceName);
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    if (GpuResourceConf.isLocal(c.master())) {
      return new Findings(errors, warnings);
    }
    Long gpus = c.executorAmount();
    Integer slots = c.coreSlots();
    if (oneGpuPerTrainingTask) {
      if (gpus == null || gpus < 1) {
        errors.add("the training stage asks for one '" + resourceName + "' per task, but "
            + c.executorKey() + (gpus == null ? " is not set" : " = " + gpus) + ": no executor has "
            + "a GPU to give, so the stage would never start. Set " + c.executorKey()
            + " to the GPUs per executor, with a discovery script (spark.executor.resource."
            + resourceName + ".discoveryScript, or spark.worker.resource." + resourceName
            + ".discoveryScript in standalone) or spark.resources.discoveryPlugin="
            + CudaDiscoveryPlugin.class.getName());
      } else {
        idleGpus(c, gpus, slots, warnings);
      }
      return new Findings(errors, warnings);
    }
    Double amount = c.taskAmount();
    if (amount == null) {
      return new Findings(errors, warnings);
    }
    if (amount < 1) {
      int perGpu = (int) Math.floor(1 / amount + 1e-9);
      if (perGpu >= 2 && (slots == null || slots >= 2)) {
        boolean allowed = conf.getBoolean(ALLOW_SHARING_CONF, false);
        String message = sharing(c, amount, perGpu, slots, whyNoProfile, allowed);
        (allowed ? warnings : errors).add(message);
      }
    } else if (amount == 1 && gpus != null) {
      idleGpus(c, gpus, slots, warnings);
    }
    return new Findings(errors, warnings);
  }

  /**
   * Runs {@link #findings} and throws when there are errors.
   *
   * @return the warnings, for the caller to log
   * @throws IllegalArgumentException with every error, one per line
   */
  public static List<String> check(SparkConf conf, String resourceName,
      boolean oneGpuPerTrainingTask, String whyNoProfile) {
    Findings f = findings(conf, resourceName, oneGpuPerTrainingTask, whyNoProfile);
    if (!f.ok()) {
      throw new IllegalArgumentException(String.join("\n", f.errors()));
    }
    return f.warnings();
  }

  private static String sharing(GpuResourceConf c, double amount, int perGpu, Integer slots,
      String whyNoProfile, boolean allowed) {
    int together = slots == null ? perGpu : Math.min(perGpu, slots);
    String concurrency = slots == null
        ? c.coresOrigin() + " and may run a task on each at once"
        : "each executor runs up to " + slots + " task" + (slots == 1 ? "" : "s") + " at once ("
            + c.coresOrigin() + ", spark.task.cpus = " + c.taskCpus() + ")";
    String head = c.taskKey() + " = " + fmt(amount) + " fits " + perGpu + " tasks on one GPU, and "
        + concurrency + ". Spark fills one GPU before it hands out the next"
        + (c.executorAmount() == null ? "" : " (" + c.executorKey() + " = " + c.executorAmount()
            + ")")
        + ", so up to " + (slots == null ? perGpu : together) + " training tasks would train on the "
        + "same GPU at the same time, competing for its memory and compute.";
    if (allowed) {
      return head + " Sharing GPUs as " + ALLOW_SHARING_CONF + "=true asks.";
    }
    return head + " The training stage cannot ask for a whole GPU per task here: "
        + (whyNoProfile == null || whyNoProfile.isEmpty() ? "no training profile is used"
            : whyNoProfile)
        + ". Fix: set " + c.taskKey() + "=1 (one task per GPU in every stage), or run on YARN, "
        + "Kubernetes or standalone with Spark 4+, where training asks for one GPU per task "
        + "itself, or set " + ALLOW_SHARING_CONF + "=true to share GPUs on purpose.";
  }

  private static void idleGpus(GpuResourceConf c, long gpus, Integer slots,
      List<String> warnings) {
    if (slots == null || slots >= gpus) {
      return;
    }
    long idle = gpus - slots;
    warnings.add(c.executorKey() + " = " + gpus + ", but " + c.coresOrigin()
        + " and spark.task.cpus = " + c.taskCpus() + " let an executor run only " + slots
        + " training task" + (slots == 1 ? "" : "s") + " at once, so " + idle + " of its GPUs "
        + (idle == 1 ? "stays" : "stay") + " idle during training. Give executors at least "
        + gpus * c.taskCpus() + " cores (spark.executor.cores), or fewer GPUs.");
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
  }
}
