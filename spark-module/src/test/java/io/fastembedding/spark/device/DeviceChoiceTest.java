package io.fastembedding.spark.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

/** Device choice in a task and the driver's checks, without Spark running. */
class DeviceChoiceTest {
  private static final DeviceRequest AUTO = new DeviceRequest("auto", "gpu", false);
  private static final DeviceRequest GPU = new DeviceRequest("gpu", "gpu", false);
  private static final DeviceRequest AUTO_LOCAL = new DeviceRequest("auto", "gpu", true);
  private static final DeviceRequest GPU_LOCAL = new DeviceRequest("gpu", "gpu", true);

  private static Map<String, ResourceInformation> gpus(String name, String... addresses) {
    return Map.of(name, new ResourceInformation(name, addresses));
  }

  @Test
  void cpuIsTheCpuWhateverTheTaskHolds() {
    DeviceChoice c = DeviceChooser.choose(new DeviceRequest("cpu", "gpu", false), 0,
        gpus("gpu", "0"), () -> 1, () -> null);
    assertFalse(c.cuda());
  }

  @Test
  void theTasksGpuAddressIsTheOrdinal() {
    DeviceChoice c = DeviceChooser.choose(AUTO, 5, gpus("gpu", "1"), () -> 2, () -> null);
    assertTrue(c.cuda());
    assertEquals(1, c.ordinal());
    assertTrue(c.why().contains("address 1"), c.why());
  }

  @Test
  void aCustomResourceName() {
    DeviceRequest req = new DeviceRequest("gpu", "nvidia", false);
    assertEquals(3, DeviceChooser.choose(req, 0, gpus("nvidia", "3"), () -> 4, () -> null)
        .ordinal());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> DeviceChooser.choose(req, 0, gpus("gpu", "0"), () -> 4, () -> null));
    assertTrue(e.getMessage().contains("spark.task.resource.nvidia.amount"), e.getMessage());
  }

  @Test
  void aGpuAddressWithoutCuda() {
    DeviceChoice auto = DeviceChooser.choose(AUTO, 0, gpus("gpu", "0"), () -> 0,
        () -> "no driver");
    assertFalse(auto.cuda());
    assertTrue(auto.why().contains("no driver"), auto.why());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> DeviceChooser.choose(GPU, 0, gpus("gpu", "0"), () -> 0, () -> "no driver"));
    assertTrue(e.getMessage().contains("GPU address 0") && e.getMessage().contains("no driver"),
        e.getMessage());
  }

  @Test
  void anAddressThatIsNotAnOrdinal() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> DeviceChooser.choose(AUTO, 0, gpus("gpu", "GPU-1234"), () -> 1, () -> null));
    assertTrue(e.getMessage().contains("'GPU-1234'"), e.getMessage());
  }

  @Test
  void localModeSpreadsPartitionsOverTheDevices() {
    assertEquals(1, DeviceChooser.choose(AUTO_LOCAL, 3, Map.of(), () -> 2, () -> null).ordinal());
    assertEquals(0, DeviceChooser.choose(GPU_LOCAL, 4, Map.of(), () -> 2, () -> null).ordinal());
    assertFalse(DeviceChooser.choose(AUTO_LOCAL, 0, Map.of(), () -> 0, () -> "none").cuda());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> DeviceChooser.choose(GPU_LOCAL, 0, Map.of(), () -> 0, () -> "no libcuda"));
    assertTrue(e.getMessage().contains("no libcuda"), e.getMessage());
  }

  @Test
  void aClusterTaskWithoutAGpu() {
    assertFalse(DeviceChooser.choose(AUTO, 0, Map.of(), () -> 1, () -> null).cuda());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> DeviceChooser.choose(GPU, 0, Map.of(), () -> 1, () -> null));
    assertTrue(e.getMessage().contains("spark.executor.resource.gpu.amount"), e.getMessage());
  }

  @Test
  void localModeWithATaskGpuAmountWouldHangSoItFails() {
    SparkConf conf = new SparkConf().set("spark.task.resource.gpu.amount", "1");
    for (String master : new String[] {"local", "local[2]", "local[*]"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> GpuConfigCheck.check(conf, master, "auto", "gpu", () -> 0, () -> "none"));
      assertTrue(e.getMessage().contains("wait forever"), e.getMessage());
    }
    // local-cluster and real clusters do schedule resources
    GpuConfigCheck.check(conf, "local-cluster[2,1,1024]", "gpu", "gpu", () -> 0, () -> "none");
    GpuConfigCheck.check(conf, "spark://host:7077", "gpu", "gpu", () -> 0, () -> "none");
  }

  @Test
  void localModeFailsOnAnyTaskResourceWhateverTheGpuResourceName() {
    SparkConf conf = new SparkConf().set("spark.task.resource.gpu.amount", "0.5")
        .set("spark.task.resource.fpga.amount", "1").set("spark.executor.resource.gpu.amount", "1");
    for (String device : new String[] {"auto", "cpu", "gpu"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> GpuConfigCheck.check(conf, "local[2]", device, "mygpu", () -> 1, () -> "none"));
      assertTrue(e.getMessage().startsWith("spark.task.resource.fpga.amount = 1, "
          + "spark.task.resource.gpu.amount = 0.5 are set, but the master is local[2]"),
          e.getMessage());
      assertTrue(e.getMessage().contains("wait forever"), e.getMessage());
    }
    // an amount of 0 asks for nothing; executor amounts alone do not block tasks
    GpuConfigCheck.check(new SparkConf().set("spark.task.resource.gpu.amount", "0")
        .set("spark.executor.resource.gpu.amount", "1"), "local[2]", "auto", "mygpu", () -> 0,
        () -> "none");
  }

  @Test
  void gpuOnAClusterNeedsTaskGpus() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GpuConfigCheck.check(new SparkConf(), "yarn", "gpu", "gpu", () -> 0, () -> null));
    assertTrue(e.getMessage().contains("spark.task.resource.gpu.amount is not set"),
        e.getMessage());
    GpuConfigCheck.check(new SparkConf(), "yarn", "auto", "gpu", () -> 0, () -> null);
  }

  @Test
  void aTrainingProfileSchedulesGpusWithoutATaskAmount() {
    SparkConf conf = new SparkConf().set("spark.executor.resource.gpu.amount", "2");
    // no task amount, but the training stage's own profile gives each task one GPU
    GpuConfigCheck.check(conf, "yarn", "gpu", "gpu", true, () -> 0, () -> null);
    assertThrows(IllegalArgumentException.class,
        () -> GpuConfigCheck.check(conf, "yarn", "gpu", "gpu", false, () -> 0, () -> null));
  }

  @Test
  void gpuInLocalModeNeedsCuda() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GpuConfigCheck.check(new SparkConf(), "local[2]", "gpu", "gpu", () -> 0,
            () -> "libcuda.so not found"));
    assertTrue(e.getMessage().contains("libcuda.so not found"), e.getMessage());
    GpuConfigCheck.check(new SparkConf(), "local[2]", "gpu", "gpu", () -> 1, () -> null);
  }
}
