import java.util.Optional;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceID;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceRequest;
import org.apache.spark.resource.ResourceUtils$;

/**
 * Run by ShadedJarPluginIT as a single-file program (java -cp SPARK:SHADED ShadedJarProbe.java
 * SCRIPT) in a JVM whose class path holds Spark's jars and the shaded jar only, as
 * $SPARK_HOME/jars does on a cluster. Spark itself loads the plugin by its class name, as an
 * executor does at start-up; the discovery script is the fallback Spark runs when the plugin finds
 * no GPU.
 */
public class ShadedJarProbe {
  public static void main(String[] args) throws Exception {
    SparkConf conf = new SparkConf(false)
        .set("spark.resources.discoveryPlugin",
            "io.fastembedding.spark.discovery.CudaDiscoveryPlugin");
    ResourceRequest request = new ResourceRequest(new ResourceID("spark.executor", "gpu"), 1,
        Optional.of(args[0]), Optional.empty());
    ResourceInformation found = ResourceUtils$.MODULE$.discoverResource(conf, request);
    System.out.println("spark-found " + String.join(",", found.addresses()));
    // by name, so that a jar without gpu-kernels fails at run time as on a cluster, not here
    Object devices = Class.forName("io.fastembedding.backend.Backends")
        .getMethod("cudaDeviceCount").invoke(null);
    System.out.println("cuda-devices " + devices);
  }
}
