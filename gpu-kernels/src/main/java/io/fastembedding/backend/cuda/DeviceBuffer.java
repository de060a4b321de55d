package io.fastembedding.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * A named device allocation that only grows: batch-sized scratch is sized by the largest batch seen,
 * so steady-state training allocates nothing. Growing discards the contents.
 */
final class DeviceBuffer {
  private final DeviceContext ctx;
  final String name;
  private CUdeviceptr ptr;
  private long capacity;
  private int generation;

  DeviceBuffer(DeviceContext ctx, String name) {
    this.ctx = ctx;
    this.name = name;
  }

  DeviceBuffer(DeviceContext ctx, String name, long bytes) {
    this(ctx, name);
    ensure(bytes);
  }

  CUdeviceptr ptr() {
    if (ptr == null) {
      throw new IllegalStateException("device buffer '" + name + "' is not allocated");
    }
    return ptr;
  }

  /** The address {@code bytes} into the buffer. */
  CUdeviceptr at(long bytes) {
    return ptr().withByteOffset(bytes);
  }

  /** Changes whenever the allocation changes, so cached graphs that captured the old address go stale. */
  int generation() {
    return generation;
  }

  long capacity() {
    return capacity;
  }

  boolean allocated() {
    return ptr != null;
  }

  /**
   * Makes the buffer hold at least {@code bytes}; returns whether it was (re)allocated. The caller
   * must make sure no kernel still uses the old allocation.
   */
  boolean ensure(long bytes) {
    long want = Math.max(256, (bytes + 255) / 256 * 256);
    if (ptr != null && capacity >= want) {
      return false;
    }
    free();
    CUdeviceptr p = new CUdeviceptr();
    int r = JCudaDriver.cuMemAlloc(p, want);
    if (r != CUresult.CUDA_SUCCESS) {
      long[] mem = ctx.memInfo();
      String detail = r == CUresult.CUDA_ERROR_OUT_OF_MEMORY
          ? ": out of device memory, asked for " + want + " bytes (" + mib(want) + ") with " + mem[0]
              + " bytes (" + mib(mem[0]) + ") free of " + mem[1] + " (" + mib(mem[1]) + ")"
          : ": " + Cu.errorName(r);
      throw new CudaException("cuMemAlloc failed for device buffer '" + name + "' on " + ctx.describe()
          + detail, r);
    }
    ptr = p;
    capacity = want;
    generation++;
    return true;
  }

  void free() {
    if (ptr != null) {
      JCudaDriver.cuMemFree(ptr);
      ptr = null;
      capacity = 0;
    }
  }

  static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
  }
}
