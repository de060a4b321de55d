package io.fastembedding.spark.device;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/**
 * Driver-side checks, before any job starts, of configurations that would otherwise hang or fail
 * late inside a task.
 */
public final class GpuConfigCheck {
  private GpuConfigCheck() {}

  /**
   * The {@code spark.task.resource.NAME.amount} settings above 0, as "key = value", whatever the
   * resource's name: in local mode each makes every task wait forever (seen on Spark 4.2 with "gpu"
   * and "fpga"; executor amounts alone, without a task amount, do not block tasks).
   */
  static List<String> taskResourceAmounts(SparkConf conf) {
    List<String> out = new ArrayList<>();
    for (Tuple2<String, String> kv : conf.getAllWithPrefix("spark.task.resource.")) {
      if (kv._1().endsWith(".amount") && !isZero(kv._2())) {
        out.add("spark.task.resource." + kv._1() + " = " + kv._2());
      }
    }
    out.sort(null);
    return out;
  }

  private static boolean isZero(String v) {
    try {
      return Double.parseDouble(v.trim()) == 0;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Whether tasks run inside the driver JVM ({@code local}, {@code local[N]}, not local-cluster). */
  public static boolean isLocalMode(String master) {
    return master != null && (master.equals("local") || master.startsWith("local["));
  }

  public static void check(SparkConf conf, String master, String device, String resourceName,
      IntSupplier cudaDeviceCount, Supplier<String> cudaUnavailableReason) {
    check(conf, master, device, resourceName, false, cudaDeviceCount, cudaUnavailableReason);
  }

  /**
   * As {@link #check(SparkConf, String, String, String, IntSupplier, Supplier)}, where
   * {@code trainingProfile} says the training stage gets its own ResourceProfile with one GPU per
   * task (see {@code GpuTrainingPlan}), which schedules GPUs even without a task amount.
   */
  public static void check(SparkConf conf, String master, String device, String resourceName,
      boolean trainingProfile, IntSupplier cudaDeviceCount, Supplier<String> cudaUnavailableReason) {
    String taskAmount = "spark.task.resource." + resourceName + ".amount";
    boolean local = isLocalMode(master);
    if (local) {
      List<String> waiting = taskResourceAmounts(conf);
      if (!waiting.isEmpty()) {
        throw new IllegalArgumentException(String.join(", ", waiting) + (waiting.size() == 1
            ? " is" : " are") + " set, but the master is " + master + ": local mode offers tasks "
            + "no custom resources, so every job would wait forever for them, with no error. "
            + "Remove " + (waiting.size() == 1 ? "it" : "them") + " (in local mode the stage picks "
            + "the CUDA device by ordinal), or run on a cluster manager or local-cluster");
      }
    }
    if (!"gpu".equals(device)) {
      return;
    }
    if (local) {
      if (cudaDeviceCount.getAsInt() == 0) {
        throw new IllegalArgumentException("device = gpu, but no CUDA device is usable in this "
            + "JVM (local mode trains in the driver): " + cudaUnavailableReason.get()
            + ". Use device = auto to fall back to the CPU");
      }
      return;
    }
    if (!conf.contains(taskAmount) && !trainingProfile) {
      throw new IllegalArgumentException("device = gpu, but Spark schedules no GPUs to tasks: "
          + taskAmount + " is not set. Set spark.executor.resource." + resourceName + ".amount, "
          + taskAmount + " and a discovery script (spark.executor.resource." + resourceName
          + ".discoveryScript), or use device = auto");
    }
  }
}
