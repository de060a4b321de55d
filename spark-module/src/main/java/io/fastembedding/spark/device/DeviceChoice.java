package io.fastembedding.spark.device;

/**
 * The device one task trains on.
 *
 * @param cuda true for a CUDA device, false for the CPU
 * @param ordinal the CUDA device ordinal (unused for the CPU)
 * @param why how it was chosen, for the training summary and logs
 */
public record DeviceChoice(boolean cuda, int ordinal, String why) {
  public static DeviceChoice cpu(String why) {
    return new DeviceChoice(false, -1, why);
  }

  public static DeviceChoice gpu(int ordinal, String why) {
    return new DeviceChoice(true, ordinal, why);
  }

  /** Pool key: tasks on the same device of one fit may reuse a backend. */
  public String key() {
    return cuda ? "cuda:" + ordinal : "cpu";
  }
}
