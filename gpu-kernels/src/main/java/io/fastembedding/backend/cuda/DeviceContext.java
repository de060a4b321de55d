package io.fastembedding.backend.cuda;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUjit_option;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.driver.JITOptions;

/**
 * One CUDA device as this JVM uses it: its primary context, retained once and shared by every backend
 * on the device (Spark runs several tasks per executor, and separate contexts would each hold their own
 * memory and compile the kernels again), and the kernels' module, loaded once. Any thread may use it;
 * {@link #makeCurrent()} binds the context to the calling thread.
 */
final class DeviceContext {
  /** Oldest device the PTX targets (compute capability 7.5, Turing). */
  static final int MIN_CC = 75;
  static final String PTX_RESOURCE_DIR = "/io/fastembedding/backend/cuda/";

  private static final Map<Integer, DeviceContext> CONTEXTS = new HashMap<>();

  final int ordinal;
  final CUdevice device;
  final CUcontext context;
  final String name;
  final int computeCapability;
  final int multiprocessors;
  final int maxSharedOptin;
  final String ptxVariant;
  final CUmodule module;
  private final Map<String, CUfunction> functions = new HashMap<>();

  /** The context of device {@code ordinal}, created on first use (thread-safe). */
  static DeviceContext get(int ordinal) {
    synchronized (CONTEXTS) {
      DeviceContext c = CONTEXTS.get(ordinal);
      if (c == null) {
        c = new DeviceContext(ordinal);
        CONTEXTS.put(ordinal, c);
      }
      c.makeCurrent();
      return c;
    }
  }

  private DeviceContext(int ordinal) {
    int count = CudaDevices.count();
    if (count == 0) {
      throw new CudaException("no CUDA device is available: " + CudaDevices.unavailableReason(), -1);
    }
    if (ordinal < 0 || ordinal >= count) {
      throw new CudaException("CUDA device ordinal " + ordinal + " does not exist; this machine has "
          + count + " CUDA device(s), ordinals 0 to " + (count - 1), CUresult.CUDA_ERROR_INVALID_DEVICE);
    }
    this.ordinal = ordinal;
    device = new CUdevice();
    Cu.check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet", "ordinal " + ordinal);
    byte[] nameBytes = new byte[256];
    Cu.check(JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName",
        "cuda:" + ordinal);
    int len = 0;
    while (len < nameBytes.length && nameBytes[len] != 0) {
      len++;
    }
    name = new String(nameBytes, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
    int major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    int minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    computeCapability = major * 10 + minor;
    multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    maxSharedOptin = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    if (computeCapability < MIN_CC) {
      throw new CudaException(describe() + " has compute capability " + major + "." + minor
          + "; the fast-embedding kernels need " + MIN_CC / 10 + "." + MIN_CC % 10
          + " (Turing) or newer. Use the CPU backend on this machine.", CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU);
    }
    context = new CUcontext();
    Cu.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain", describe());
    makeCurrent();
    // Hopper and newer get the build with vector atomics (red.global.add.v4.f32 needs sm_90).
    ptxVariant = computeCapability >= 90 ? "compute_90" : "compute_75";
    module = loadModule(ptxVariant);
  }

  String describe() {
    return "cuda:" + ordinal + (name != null ? " " + name : "");
  }

  void makeCurrent() {
    Cu.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent", describe());
  }

  private int attribute(int attr) {
    int[] v = new int[1];
    Cu.check(JCudaDriver.cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + attr + ")",
        "cuda:" + ordinal);
    return v[0];
  }

  static byte[] readPtx(String variant) {
    String path = PTX_RESOURCE_DIR + "fastembedding_" + variant + ".ptx";
    try (InputStream in = DeviceContext.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new CudaException("the kernels' PTX resource " + path + " is missing from the classpath;"
            + " the gpu-kernels jar is incomplete", -1);
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      in.transferTo(out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new CudaException("could not read the kernels' PTX resource " + path + ": " + e, -1, e);
    }
  }

  private CUmodule loadModule(String variant) {
    byte[] ptx = readPtx(variant);
    byte[] image = java.util.Arrays.copyOf(ptx, ptx.length + 1);  // the driver wants a C string
    CUmodule m = new CUmodule();
    JITOptions jit = new JITOptions();
    int logSize = 16384;
    jit.putBytes(CUjit_option.CU_JIT_ERROR_LOG_BUFFER, new byte[logSize]);
    jit.putInt(CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, logSize);
    int r = JCudaDriver.cuModuleLoadDataJIT(m, Pointer.to(image), jit);
    if (r == CUresult.CUDA_ERROR_INVALID_VALUE) {
      // some driver/JCuda combinations reject the log options; load without them
      r = JCudaDriver.cuModuleLoadData(m, image);
    }
    if (r != CUresult.CUDA_SUCCESS) {
      String log = "";
      try {
        log = jit.getString(CUjit_option.CU_JIT_ERROR_LOG_BUFFER);
      } catch (Throwable ignored) {
        // no log
      }
      int[] driver = new int[1];
      JCudaDriver.cuDriverGetVersion(driver);
      String driverVersion = driver[0] / 1000 + "." + (driver[0] % 1000) / 10;
      String hint;
      if (r == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
        hint = "the kernels were compiled by a newer CUDA (" + ptxToolkit(ptx) + ") than this driver "
            + "supports (CUDA " + driverVersion + "); update the NVIDIA driver";
      } else if (r == CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU) {
        hint = "the PTX (" + variant + ") cannot run on compute capability "
            + computeCapability / 10 + "." + computeCapability % 10;
      } else {
        hint = "the driver (CUDA " + driverVersion + ") could not compile the PTX";
      }
      throw new CudaException("cuModuleLoadData failed for the fast-embedding kernels (" + variant
          + ") on " + describe() + ": " + Cu.errorName(r) + "; " + hint
          + (log == null || log.isBlank() ? "" : ". JIT log: " + log.trim()), r);
    }
    return m;
  }

  private static String ptxToolkit(byte[] ptx) {
    String head = new String(ptx, 0, Math.min(ptx.length, 2000), java.nio.charset.StandardCharsets.US_ASCII);
    for (String line : head.split("\n")) {
      if (line.startsWith("// Cuda compilation tools")) {
        return line.substring(3).trim();
      }
    }
    return "unknown nvcc";
  }

  /** The kernel {@code name} of the module (cached). */
  synchronized CUfunction function(String name) {
    CUfunction f = functions.get(name);
    if (f == null) {
      f = new CUfunction();
      Cu.check(JCudaDriver.cuModuleGetFunction(f, module, name), "cuModuleGetFunction",
          "kernel " + name + " on " + describe());
      functions.put(name, f);
    }
    return f;
  }

  /** Free and total device memory in bytes. */
  long[] memInfo() {
    long[] free = new long[1];
    long[] total = new long[1];
    int r = JCudaDriver.cuMemGetInfo(free, total);
    if (r != 0) {
      return new long[] {-1, -1};
    }
    return new long[] {free[0], total[0]};
  }
}
