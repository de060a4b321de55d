package io.fastembedding.spark.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.apache.spark.resource.ResourceInformation;

/**
 * Picks each training task's device, in the task:
 *
 * <ol>
 *   <li>device = cpu: the CPU;
 *   <li>the task holds GPU addresses (Spark's resource scheduling, {@code TaskContext.resources()}):
 *       the first address as the CUDA ordinal;
 *   <li>local mode (no resources are ever offered there): CUDA ordinal = partition mod device count;
 *   <li>otherwise, or when CUDA is not usable: the CPU for device = auto, an error for device = gpu.
 * </ol>
 */
public final class DeviceChooser {
  private DeviceChooser() {}

  /**
   * Every device the task should train on: one per GPU address when the task holds several (an
   * executor's GPUs are all used, one backend each, not only the first), else {@link #choose}'s one.
   */
  public static List<DeviceChoice> chooseAll(DeviceRequest req, int partition,
      Map<String, ResourceInformation> resources, IntSupplier cudaDeviceCount,
      Supplier<String> cudaUnavailableReason) {
    ResourceInformation info = resources == null ? null : resources.get(req.resourceName());
    if (!"cpu".equals(req.device()) && info != null && info.addresses().length > 1
        && cudaDeviceCount.getAsInt() > 0) {
      String[] addresses = info.addresses();
      List<DeviceChoice> out = new ArrayList<>(addresses.length);
      for (int i = 0; i < addresses.length; i++) {
        out.add(DeviceChoice.gpu(ordinal(req, addresses[i]), "task resource '" + req.resourceName()
            + "' address " + addresses[i] + " (" + (i + 1) + " of " + addresses.length + ")"));
      }
      return out;
    }
    return List.of(choose(req, partition, resources, cudaDeviceCount, cudaUnavailableReason));
  }

  private static int ordinal(DeviceRequest req, String address) {
    try {
      return Integer.parseInt(address.trim());
    } catch (NumberFormatException e) {
      throw new IllegalStateException("the task's '" + req.resourceName() + "' resource address '"
          + address + "' is not a CUDA device ordinal; the discovery script must print ordinals "
          + "such as {\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}", e);
    }
  }

  public static DeviceChoice choose(DeviceRequest req, int partition,
      Map<String, ResourceInformation> resources, IntSupplier cudaDeviceCount,
      Supplier<String> cudaUnavailableReason) {
    String device = req.device();
    if ("cpu".equals(device)) {
      return DeviceChoice.cpu("device = cpu");
    }
    boolean required = "gpu".equals(device);
    ResourceInformation info = resources == null ? null : resources.get(req.resourceName());
    if (info != null && info.addresses().length > 0) {
      String address = info.addresses()[0];
      int ordinal = ordinal(req, address);
      if (cudaDeviceCount.getAsInt() > 0) {
        return DeviceChoice.gpu(ordinal, "task resource '" + req.resourceName() + "' address "
            + address);
      }
      if (required) {
        throw new IllegalStateException("device = gpu: Spark gave this task GPU address " + address
            + ", but CUDA is not usable on this executor: " + cudaUnavailableReason.get());
      }
      return DeviceChoice.cpuFallback("device = auto and CUDA unusable here ("
          + cudaUnavailableReason.get() + ")");
    }
    if (req.localMode()) {
      int count = cudaDeviceCount.getAsInt();
      if (count > 0) {
        int ordinal = Math.floorMod(partition, count);
        return DeviceChoice.gpu(ordinal, "local mode: partition " + partition + " mod " + count
            + " CUDA device" + (count == 1 ? "" : "s"));
      }
      if (required) {
        throw new IllegalStateException("device = gpu, but no CUDA device is usable in this JVM: "
            + cudaUnavailableReason.get());
      }
      return DeviceChoice.cpuFallback("device = auto and no CUDA device ("
          + cudaUnavailableReason.get() + ")");
    }
    if (required) {
      throw new IllegalStateException("device = gpu, but this task has no '" + req.resourceName()
          + "' resource: Spark did not schedule a GPU to it. Set spark.executor.resource."
          + req.resourceName() + ".amount and spark.task.resource." + req.resourceName()
          + ".amount (and a discovery script), or use device = auto or cpu");
    }
    return DeviceChoice.cpu("device = auto and no '" + req.resourceName() + "' resource on the task");
  }
}
