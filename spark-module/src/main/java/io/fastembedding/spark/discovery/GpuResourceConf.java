package io.fastembedding.spark.discovery;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;

/**
 * The settings that decide how Spark hands GPUs to tasks, read once from a SparkConf, with the
 * defaults each cluster manager applies when a key is not set.
 *
 * @param master spark.master ("" when unset)
 * @param resourceName the GPU resource name ("gpu" by default)
 * @param executorAmount spark.executor.resource.NAME.amount, or null when unset
 * @param taskAmount spark.task.resource.NAME.amount, or null when unset
 * @param executorCores cores per executor, or null when the cluster decides at run time
 * @param coresOrigin where {@code executorCores} comes from, for messages
 * @param taskCpus spark.task.cpus
 * @param dynamicAllocation whether Spark considers dynamic allocation on
 * @param discoveryScript spark.executor.resource.NAME.discoveryScript ("" when unset)
 * @param vendor spark.executor.resource.NAME.vendor ("" when unset)
 */
record GpuResourceConf(String master, String resourceName, Long executorAmount, Double taskAmount,
    Integer executorCores, String coresOrigin, int taskCpus, boolean dynamicAllocation,
    String discoveryScript, String vendor) {

  private static final Pattern LOCAL_CLUSTER =
      Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");

  static GpuResourceConf read(SparkConf conf, String resourceName) {
    String master = conf.get("spark.master", "");
    String executorKey = executorAmountKey(resourceName);
    String taskKey = taskAmountKey(resourceName);
    Long executorAmount = conf.contains(executorKey) ? parseLong(conf, executorKey) : null;
    Double taskAmount = conf.contains(taskKey) ? parseDouble(conf, taskKey) : null;
    Integer cores;
    String origin;
    if (conf.contains("spark.executor.cores")) {
      cores = (int) parseLong(conf, "spark.executor.cores");
      origin = "spark.executor.cores = " + cores;
    } else if (isYarn(master) || isKubernetes(master)) {
      cores = 1;
      origin = "spark.executor.cores is not set, and " + (isYarn(master) ? "YARN" : "Kubernetes")
          + " then gives each executor 1 core";
    } else {
      Matcher m = LOCAL_CLUSTER.matcher(master);
      if (m.matches()) {
        cores = Integer.parseInt(m.group(2));
        origin = master + " gives each executor " + cores + " core" + (cores == 1 ? "" : "s");
      } else {
        cores = null;
        origin = "spark.executor.cores is not set, so an executor takes every free core of its "
            + "worker";
      }
    }
    int taskCpus = (int) (conf.contains("spark.task.cpus") ? parseLong(conf, "spark.task.cpus") : 1);
    boolean dynamic = dynamicAllocation(conf);
    String prefix = "spark.executor.resource." + resourceName + ".";
    return new GpuResourceConf(master, resourceName, executorAmount, taskAmount, cores, origin,
        taskCpus, dynamic, conf.get(prefix + "discoveryScript", ""),
        conf.get(prefix + "vendor", ""));
  }

  /** Spark's own rule (Utils.isDynamicAllocationEnabled): the flag, but never in local[N]. */
  static boolean dynamicAllocation(SparkConf conf) {
    return conf.getBoolean("spark.dynamicAllocation.enabled", false)
        && (!isLocal(conf.get("spark.master", ""))
            || conf.getBoolean("spark.dynamicAllocation.testing", false));
  }

  static String executorAmountKey(String resourceName) {
    return "spark.executor.resource." + resourceName + ".amount";
  }

  static String taskAmountKey(String resourceName) {
    return "spark.task.resource." + resourceName + ".amount";
  }

  String executorKey() {
    return executorAmountKey(resourceName);
  }

  String taskKey() {
    return taskAmountKey(resourceName);
  }

  /** Tasks run in the driver JVM, and Spark offers them no custom resources. */
  static boolean isLocal(String master) {
    return master.equals("local") || master.startsWith("local[");
  }

  static boolean isLocalCluster(String master) {
    return master.startsWith("local-cluster");
  }

  static boolean isStandalone(String master) {
    return master.startsWith("spark://");
  }

  static boolean isYarn(String master) {
    return master.equals("yarn");
  }

  static boolean isKubernetes(String master) {
    return master.startsWith("k8s://");
  }

  /** Tasks one executor runs at once as far as cores go, or null when unknown. */
  Integer coreSlots() {
    return executorCores == null ? null : executorCores / Math.max(1, taskCpus);
  }

  private static long parseLong(SparkConf conf, String key) {
    String v = conf.get(key).trim();
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + v + "' is not a whole number", e);
    }
  }

  private static double parseDouble(SparkConf conf, String key) {
    String v = conf.get(key).trim();
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + v + "' is not a number", e);
    }
  }
}
