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
  /** The platforms whose JCuda natives the build carries (jcuda-natives, linux-x86_64). */
  private static final java.util.regex.Pattern JCUDA_NATIVES_PLATFORM =
      java.util.regex.Pattern.compile("(?i)linux/(amd64|x86_64)");
  private static volatile Probe probe;

  private CudaDevices() {}

  /**
   * @param reason one line for users: why there is no device
   * @param detail the reason with the underlying error's text (JCuda's loader message), for DEBUG
   * @param noDriver true when JCuda's natives could not load at all: no NVIDIA driver (libcuda) on
   *     this machine, the usual state of a CPU-only machine rather than a fault
   */
  private record Probe(int count, String reason, String detail, boolean noDriver) {
    Probe(int count, String reason) {
      this(count, reason, reason, false);
    }
  }

  /** Number of CUDA devices, or 0 when the driver, JCuda's natives or a device is missing. */
  public static int count() {
    return probe().count;
  }

  /** Why {@link #count()} is 0, for skip messages and logs; null when devices are available. */
  public static String unavailableReason() {
    Probe p = probe();
    return p.count > 0 ? null : p.reason;
  }

  /**
   * True when this machine has no NVIDIA driver for JCuda to load (a CPU-only machine), as opposed
   * to a driver that is there but fails or shows no device.
   */
  public static boolean noDriver() {
    return probe().noDriver;
  }

  /** {@link #unavailableReason()} with the underlying error's text; null when devices are there. */
  public static String unavailableDetail() {
    Probe p = probe();
    return p.count > 0 ? null : p.detail;
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
      String platform = System.getProperty("os.name") + "/" + System.getProperty("os.arch");
      String detail = "JCuda's native library could not be loaded ("
          + root.getClass().getSimpleName() + ": " + msg + ")";
      if (!JCUDA_NATIVES_PLATFORM.matcher(platform).matches()) {
        return new Probe(0, "this build carries JCuda's natives for Linux/x86_64 only, and this is "
            + platform, detail, false);
      }
      return new Probe(0, "no NVIDIA driver", detail + "; this machine has no usable NVIDIA "
          + "driver for " + platform, true);
    }
  }
}
