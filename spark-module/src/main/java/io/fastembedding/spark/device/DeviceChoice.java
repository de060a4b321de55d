package io.fastembedding.spark.device;

/**
 * The device one task trains on.
 *
 * @param cuda true for a CUDA device, false for the CPU
 * @param ordinal the CUDA device ordinal (unused for the CPU)
 * @param why how it was chosen, for the training summary and logs
 * @param fallback true when a GPU was expected (device = auto with a GPU scheduled, or local mode)
 *     but CUDA is not usable in this JVM, so the CPU trains instead
 */
public record DeviceChoice(boolean cuda, int ordinal, String why, boolean fallback) {
  public static DeviceChoice cpu(String why) {
    return new DeviceChoice(false, -1, why, false);
  }

  /** The CPU, standing in for a GPU that CUDA cannot reach here (device = auto). */
  public static DeviceChoice cpuFallback(String why) {
    return new DeviceChoice(false, -1, why, true);
  }

  public static DeviceChoice gpu(int ordinal, String why) {
    return new DeviceChoice(true, ordinal, why, false);
  }

  /** Pool key: tasks on the same device of one fit may reuse a backend. */
  public String key() {
    return cuda ? "cuda:" + ordinal : "cpu";
  }
}
