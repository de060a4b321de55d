package io.fastembedding.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import jcuda.Pointer;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Page-locked host memory that only grows: the staging area of host-device copies. The driver copies
 * from it asynchronously at full PCIe speed, where a Java array would be copied synchronously at a
 * fraction of it. Views are in native byte order, so bulk puts are plain memory copies.
 */
final class PinnedBuffer {
  private final DeviceContext ctx;
  final String name;
  private Pointer ptr;
  private long capacity;
  private ByteBuffer bytes;
  private IntBuffer ints;
  private FloatBuffer floats;

  PinnedBuffer(DeviceContext ctx, String name) {
    this.ctx = ctx;
    this.name = name;
  }

  Pointer ptr() {
    return ptr;
  }

  Pointer at(long byteOffset) {
    return ptr.withByteOffset(byteOffset);
  }

  IntBuffer ints() {
    return ints;
  }

  FloatBuffer floats() {
    return floats;
  }

  ByteBuffer bytes() {
    return bytes;
  }

  /** Ensures {@code n} bytes; returns whether it was reallocated (contents lost). */
  boolean ensure(long n) {
    long want = Math.max(256, (n + 255) / 256 * 256);
    if (ptr != null && capacity >= want) {
      return false;
    }
    if (want > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("pinned staging buffer '" + name + "' would need " + want
          + " bytes; process fewer rows per call");
    }
    free();
    Pointer p = new Pointer();
    int r = JCudaDriver.cuMemHostAlloc(p, want, 0);
    if (r != CUresult.CUDA_SUCCESS) {
      throw new CudaException("cuMemHostAlloc failed for pinned buffer '" + name + "' of " + want
          + " bytes (" + DeviceBuffer.mib(want) + ") for " + ctx.describe() + ": " + Cu.errorName(r), r);
    }
    ptr = p;
    capacity = want;
    bytes = p.getByteBuffer(0, want).order(ByteOrder.nativeOrder());
    ints = bytes.asIntBuffer();
    floats = bytes.asFloatBuffer();
    return true;
  }

  void free() {
    if (ptr != null) {
      JCudaDriver.cuMemFreeHost(ptr);
      ptr = null;
      capacity = 0;
      bytes = null;
      ints = null;
      floats = null;
    }
  }
}
