package io.fastembedding.backend;

import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.ModelSpec;
import java.util.ServiceLoader;

/**
 * Opens backends. Device backends are found through {@link ServiceLoader} ({@link BackendProvider}),
 * so this class names no implementation, a JVM without a CUDA driver never loads JCuda's classes
 * unless a GPU is asked for, and {@link #cudaDeviceCount()} answers 0 instead of failing on a machine
 * without the driver or the natives.
 */
public final class Backends {
  /** The provider name of the CUDA backend. */
  public static final String CUDA = "cuda";

  private Backends() {}

  public static Backend cpu(ModelSpec spec, BackendOptions options) {
    return new CpuBackend(spec, options);
  }

  /** The provider of device kind {@code name}, or null when none is on the class path. */
  public static BackendProvider provider(String name) {
    // the loader of this class: in Spark it is the one that loaded the library jar, services file included
    for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }

  /**
   * The CUDA backend on device {@code ordinal}.
   *
   * @throws IllegalStateException when CUDA is not usable here, saying why
   */
  public static Backend cuda(ModelSpec spec, BackendOptions options, int ordinal) {
    BackendProvider p = cudaProvider();
    try {
      return p.open(spec, options, ordinal);
    } catch (LinkageError e) {  // natives missing or failing to initialise
      throw new IllegalStateException("the CUDA backend could not start on device " + ordinal + ": " + e, e);
    }
  }

  /** CUDA devices usable by this JVM; 0 when there is no driver, no natives or no device. */
  public static int cudaDeviceCount() {
    try {
      BackendProvider p = provider(CUDA);
      return p == null ? 0 : p.deviceCount();
    } catch (LinkageError | RuntimeException e) {
      return 0;
    }
  }

  /** Why {@link #cudaDeviceCount()} is 0, or null when CUDA devices are usable. */
  public static String cudaUnavailableReason() {
    try {
      BackendProvider p = provider(CUDA);
      return p == null ? notInBuild() : p.unavailableReason();
    } catch (LinkageError | RuntimeException e) {
      return "the CUDA backend cannot be loaded (" + e + ")";
    }
  }

  private static BackendProvider cudaProvider() {
    BackendProvider p;
    try {
      p = provider(CUDA);
    } catch (LinkageError | RuntimeException e) {
      throw new IllegalStateException("the CUDA backend cannot be loaded: " + e, e);
    }
    if (p == null) {
      throw new IllegalStateException(notInBuild());
    }
    return p;
  }

  private static String notInBuild() {
    return "the CUDA backend is not available in this build (no " + BackendProvider.class.getName()
        + " named '" + CUDA + "' on the class path)";
  }
}
