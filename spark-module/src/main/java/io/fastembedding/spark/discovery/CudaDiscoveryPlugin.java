package io.fastembedding.spark.discovery;

import io.fastembedding.backend.Backends;
import java.util.Optional;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.apache.spark.api.resource.ResourceDiscoveryPlugin;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds GPUs through the CUDA driver, so the nodes need no discovery script:
 *
 * <pre>
 * spark.resources.discoveryPlugin=io.fastembedding.spark.discovery.CudaDiscoveryPlugin
 * </pre>
 *
 * <p>It answers only for the GPU resource ({@value #RESOURCE_NAME_CONF}, default "gpu"), with the
 * addresses "0" .. "n-1" for the n CUDA devices the driver shows this JVM (the driver already
 * applies {@code CUDA_VISIBLE_DEVICES}, so these are the ordinals a task opens). Where there is no
 * driver, no JCuda natives or no device, it returns nothing and says why in the log: Spark then
 * asks the next plugin, then the discovery script if one is configured, and otherwise fails with
 * "None of the discovery plugins returned ResourceInformation for gpu".
 *
 * <p>Spark calls it where resources are discovered: executors on YARN and Kubernetes, workers in
 * standalone mode (executors there get their addresses from the worker), and the driver when
 * {@code spark.driver.resource.gpu.amount} is set. The class must be on that JVM's class path when
 * it starts (see docs/gpu.md).
 */
public class CudaDiscoveryPlugin implements ResourceDiscoveryPlugin {
  /** The resource name this plugin answers for. */
  public static final String RESOURCE_NAME_CONF = "spark.fastembedding.gpu.resourceName";
  public static final String DEFAULT_RESOURCE_NAME = "gpu";

  private static final Logger LOG = LoggerFactory.getLogger(CudaDiscoveryPlugin.class);

  private final IntSupplier deviceCount;
  private final Supplier<String> unavailableReason;

  /** The plugin Spark instantiates: devices come from the CUDA backend through {@link Backends}. */
  public CudaDiscoveryPlugin() {
    this(Backends::cudaDeviceCount, Backends::cudaUnavailableReason);
  }

  /** A plugin with another device-count source (tests, or a subclass with its own probe). */
  protected CudaDiscoveryPlugin(IntSupplier deviceCount, Supplier<String> unavailableReason) {
    this.deviceCount = deviceCount;
    this.unavailableReason = unavailableReason;
  }

  @Override
  public Optional<ResourceInformation> discoverResource(ResourceRequest request, SparkConf conf) {
    String name = request.id().resourceName();
    String component = request.id().componentName();
    String wanted = conf.get(RESOURCE_NAME_CONF, DEFAULT_RESOURCE_NAME);
    if (!name.equals(wanted)) {
      LOG.debug("not discovering '{}' for {}: this plugin answers only for '{}' ({})", name,
          component, wanted, RESOURCE_NAME_CONF);
      return Optional.empty();
    }
    if (request.vendor().isPresent() && !request.vendor().get().isEmpty()
        && !request.vendor().get().equals("nvidia.com")) {
      LOG.info("not discovering '{}' for {}: its vendor is {}, and this plugin finds NVIDIA GPUs "
          + "(nvidia.com) only", name, component, request.vendor().get());
      return Optional.empty();
    }
    int count;
    String reason;
    try {
      count = deviceCount.getAsInt();
      reason = count > 0 ? null : unavailableReason.get();
    } catch (RuntimeException | LinkageError e) {
      // the count source promises not to throw, but a broken native install must still mean
      // "no GPU from this plugin", never a failed executor start
      count = 0;
      reason = e.toString();
    }
    if (count <= 0) {
      LOG.warn("no CUDA device usable in this JVM, so {} gets no '{}' addresses from {} ({}); "
          + "Spark tries the next discovery plugin or the discovery script ({}) next",
          component, name, getClass().getSimpleName(),
          reason == null ? "the driver reports 0 devices" : reason,
          request.discoveryScript().orElse("none configured"));
      return Optional.empty();
    }
    String[] addresses = new String[count];
    for (int i = 0; i < count; i++) {
      addresses[i] = Integer.toString(i);
    }
    if (count < request.amount()) {
      LOG.warn("{} asks for {} '{}' but the CUDA driver shows only {} device{} to this JVM; Spark "
          + "will refuse to start it", component, request.amount(), name, count,
          count == 1 ? "" : "s");
    } else {
      LOG.info("{}: '{}' addresses {} from the CUDA driver", component, name,
          String.join(",", addresses));
    }
    return Optional.of(new ResourceInformation(name, addresses));
  }
}
