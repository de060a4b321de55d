package io.fastembedding.spark.discovery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.Backends;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceID;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceRequest;
import org.junit.jupiter.api.Test;

class CudaDiscoveryPluginTest {
  static ResourceRequest request(String name, long amount, String vendor) {
    return new ResourceRequest(new ResourceID("spark.executor", name), amount, Optional.empty(),
        Optional.ofNullable(vendor));
  }

  static CudaDiscoveryPlugin withDevices(int count) {
    return new CudaDiscoveryPlugin(() -> count, () -> count > 0 ? null : "no driver (fake)");
  }

  @Test
  void realPluginMatchesWhatTheCudaBackendSees() {
    // No GPU in CI: the driver is missing, so the plugin must step aside. On a GPU machine it
    // must list exactly the devices the backend can open.
    Optional<ResourceInformation> found = new CudaDiscoveryPlugin()
        .discoverResource(request("gpu", 1, null), new SparkConf(false));
    int devices = Backends.cudaDeviceCount();
    if (devices == 0) {
      assertTrue(found.isEmpty(), "no CUDA here (" + Backends.cudaUnavailableReason()
          + "), yet the plugin returned " + found);
    } else {
      assertEquals(devices, found.orElseThrow().addresses().length);
    }
  }

  @Test
  void listsOneAddressPerDevice() {
    ResourceInformation info = withDevices(3)
        .discoverResource(request("gpu", 2, null), new SparkConf(false)).orElseThrow();
    assertEquals("gpu", info.name());
    assertArrayEquals(new String[] {"0", "1", "2"}, info.addresses());
  }

  @Test
  void noDeviceMeansNoAnswer() {
    assertTrue(withDevices(0).discoverResource(request("gpu", 1, null), new SparkConf(false))
        .isEmpty());
  }

  @Test
  void aBrokenDriverMeansNoAnswerNotAFailure() {
    CudaDiscoveryPlugin broken = new CudaDiscoveryPlugin(() -> {
      throw new UnsatisfiedLinkError("libcuda.so.1: cannot open shared object file");
    }, () -> "unreachable");
    assertTrue(broken.discoverResource(request("gpu", 1, null), new SparkConf(false)).isEmpty());
  }

  @Test
  void answersOnlyForTheGpuResourceName() {
    AtomicInteger probes = new AtomicInteger();
    CudaDiscoveryPlugin plugin = new CudaDiscoveryPlugin(() -> {
      probes.incrementAndGet();
      return 2;
    }, () -> null);
    assertTrue(plugin.discoverResource(request("fpga", 1, null), new SparkConf(false)).isEmpty());
    assertEquals(0, probes.get(), "other resources must not load the CUDA driver");

    SparkConf renamed = new SparkConf(false).set(CudaDiscoveryPlugin.RESOURCE_NAME_CONF, "cuda");
    assertTrue(plugin.discoverResource(request("gpu", 1, null), renamed).isEmpty());
    ResourceInformation info = plugin.discoverResource(request("cuda", 1, null), renamed)
        .orElseThrow();
    assertEquals("cuda", info.name());
    assertArrayEquals(new String[] {"0", "1"}, info.addresses());
  }

  @Test
  void answersForNvidiaOrUnnamedVendorsOnly() {
    CudaDiscoveryPlugin plugin = withDevices(1);
    SparkConf conf = new SparkConf(false);
    assertTrue(plugin.discoverResource(request("gpu", 1, "nvidia.com"), conf).isPresent());
    assertTrue(plugin.discoverResource(request("gpu", 1, ""), conf).isPresent());
    assertFalse(plugin.discoverResource(request("gpu", 1, "amd.com"), conf).isPresent());
  }

  @Test
  void fewerDevicesThanRequestedAreStillReportedSoSparkFailsWithItsOwnMessage() {
    ResourceInformation info = withDevices(1)
        .discoverResource(request("gpu", 2, null), new SparkConf(false)).orElseThrow();
    assertArrayEquals(new String[] {"0"}, info.addresses());
  }
}
