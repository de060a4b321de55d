package io.fastembedding.backend.cuda;

import jcuda.driver.JCudaDriver;

/**
 * Whether this JVM can use CUDA, and how many devices it sees. Safe to call anywhere: on a machine
 * without the NVIDIA driver, loading JCuda's natives fails with an {@link UnsatisfiedLinkError} (often
 * wrapped in an {@link ExceptionInInitializerError}); that, like any other failure to reach the driver,
 * means "no GPU" here, never an exception.
 */
public final class CudaDevices {
  private static final Object LOCK = new Object();
  private static volatile Probe probe;

  private CudaDevices() {}

  private record Probe(int count, String reason) {}

  /** Number of CUDA devices, or 0 when the driver, JCuda's natives or a device is missing. */
  public static int count() {
    return probe().count;
  }

  /** Why {@link #count()} is 0, for skip messages and logs; null when devices are available. */
  public static String unavailableReason() {
    Probe p = probe();
    return p.count > 0 ? null : p.reason;
  }

  private static Probe probe() {
    Probe p = probe;
    if (p == null) {
      synchronized (LOCK) {
        p = probe;
        if (p == null) {
          p = doProbe();
          probe = p;
        }
      }
    }
    return p;
  }

  private static Probe doProbe() {
    try {
      JCudaDriver.setExceptionsEnabled(false);
      int r = JCudaDriver.cuInit(0);
      if (r != 0) {
        return new Probe(0, "the CUDA driver could not be initialised (cuInit: " + Cu.errorName(r)
            + "); is an NVIDIA GPU and driver present?");
      }
      int[] n = new int[1];
      r = JCudaDriver.cuDeviceGetCount(n);
      if (r != 0) {
        return new Probe(0, "cuDeviceGetCount failed: " + Cu.errorName(r));
      }
      if (n[0] == 0) {
        return new Probe(0, "the NVIDIA driver reports no CUDA device");
      }
      return new Probe(n[0], "");
    } catch (Throwable t) {
      Throwable root = t;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String msg = String.valueOf(root.getMessage()).lines().findFirst().orElse("").trim();
      if (msg.length() > 300) {
        msg = msg.substring(0, 300) + "...";
      }
      return new Probe(0, "JCuda's native library could not be loaded (" + root.getClass().getSimpleName()
          + ": " + msg + "); this machine has no usable NVIDIA driver for "
          + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
    }
  }
}
