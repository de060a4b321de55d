package io.fastembedding.backend;

import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.ModelSpec;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Opens backends. The CUDA backend is reached by reflection so that a JVM without a CUDA driver never
 * loads JCuda's classes unless a GPU is asked for, and so that {@link #cudaDeviceCount()} can answer 0
 * instead of failing on a machine without the driver or the natives.
 */
public final class Backends {
  private static final String CUDA_BACKEND = "io.fastembedding.backend.cuda.CudaBackend";
  private static final String CUDA_DEVICES = "io.fastembedding.backend.cuda.CudaDevices";

  private Backends() {}

  public static Backend cpu(ModelSpec spec, BackendOptions options) {
    return new CpuBackend(spec, options);
  }

  /**
   * The CUDA backend on device {@code ordinal}.
   *
   * @throws IllegalStateException when CUDA is not usable here, saying why
   */
  public static Backend cuda(ModelSpec spec, BackendOptions options, int ordinal) {
    try {
      Method open = Class.forName(CUDA_BACKEND)
          .getMethod("open", ModelSpec.class, BackendOptions.class, int.class);
      return (Backend) open.invoke(null, spec, options, ordinal);
    } catch (InvocationTargetException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error err) {
        throw new IllegalStateException("the CUDA backend could not start on device " + ordinal
            + ": " + err, err);
      }
      throw new IllegalStateException("the CUDA backend could not start on device " + ordinal, c);
    } catch (ReflectiveOperationException | LinkageError e) {
      throw new IllegalStateException("the CUDA backend is not available in this build: " + e, e);
    }
  }

  /** CUDA devices usable by this JVM; 0 when there is no driver, no natives or no device. */
  public static int cudaDeviceCount() {
    try {
      return (Integer) Class.forName(CUDA_DEVICES).getMethod("count").invoke(null);
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return 0;
    }
  }

  /**
   * True when JCuda could not load because this machine has no NVIDIA driver: a CPU-only machine,
   * where training on the CPU is expected rather than a fault.
   */
  public static boolean cudaDriverMissing() {
    try {
      return (Boolean) Class.forName(CUDA_DEVICES).getMethod("noDriver").invoke(null);
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return false;
    }
  }

  /** {@link #cudaUnavailableReason()} with the underlying error's text (for DEBUG logs). */
  public static String cudaUnavailableDetail() {
    try {
      return (String) Class.forName(CUDA_DEVICES).getMethod("unavailableDetail").invoke(null);
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return cudaUnavailableReason();
    }
  }

  /** Why {@link #cudaDeviceCount()} is 0, or null when CUDA devices are usable. */
  public static String cudaUnavailableReason() {
    try {
      return (String) Class.forName(CUDA_DEVICES).getMethod("unavailableReason").invoke(null);
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return "the CUDA backend is not available in this build (" + e + ")";
    }
  }
}
