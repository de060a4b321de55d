package io.fastembedding.spark.discovery;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The GPU discovery script shipped inside this jar ({@value #RESOURCE}), and a way to write it out
 * as an executable file for {@code spark.executor.resource.gpu.discoveryScript},
 * {@code spark.worker.resource.gpu.discoveryScript} or {@code spark-submit --files}.
 *
 * <p>The jar is the one canonical copy, so the script a cluster runs always matches the library
 * version. From a shell, with nothing but the jar:
 *
 * <pre>
 * java -cp spark-fast-embedding.jar io.fastembedding.spark.discovery.GpuDiscoveryScript /opt/spark/conf
 * </pre>
 *
 * <p>This class uses only the JDK, so that command needs no Spark on the class path.
 */
public final class GpuDiscoveryScript {
  /** Class-path location of the script. */
  public static final String RESOURCE = "io/fastembedding/spark/discovery/getGpusResources.sh";
  /** File name the script is written under. */
  public static final String FILE_NAME = "getGpusResources.sh";

  private GpuDiscoveryScript() {}

  /**
   * Writes the script into {@code dir} as {@value #FILE_NAME}, readable and executable by all,
   * replacing an older copy.
   *
   * @return the script's path
   */
  public static Path extractTo(Path dir) {
    try (InputStream in = GpuDiscoveryScript.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the discovery script " + RESOURCE
            + " is missing from the class path: is spark-fast-embedding's jar complete?");
      }
      Files.createDirectories(dir);
      Path target = dir.resolve(FILE_NAME);
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      try {
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system; Spark only runs the script on Linux nodes anyway
        target.toFile().setExecutable(true, false);
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("could not write the discovery script into " + dir, e);
    }
  }

  /** Writes the script into the directory given as the only argument (default: the current one). */
  public static void main(String[] args) {
    if (args.length > 1) {
      System.err.println("usage: java -cp <spark-fast-embedding jar> "
          + GpuDiscoveryScript.class.getName() + " [directory]");
      System.exit(2);
    }
    Path dir = Paths.get(args.length == 1 ? args[0] : ".").toAbsolutePath().normalize();
    System.out.println(extractTo(dir));
  }
}
