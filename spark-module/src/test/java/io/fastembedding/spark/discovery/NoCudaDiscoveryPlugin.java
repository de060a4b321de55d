package io.fastembedding.spark.discovery;

/**
 * The CUDA plugin as it behaves on a node without a driver, whatever machine runs the tests, so
 * the local-cluster test exercises Spark's fallback from the plugin to the discovery script.
 */
public class NoCudaDiscoveryPlugin extends CudaDiscoveryPlugin {
  public NoCudaDiscoveryPlugin() {
    super(() -> 0, () -> "no CUDA driver (test plugin)");
  }
}
