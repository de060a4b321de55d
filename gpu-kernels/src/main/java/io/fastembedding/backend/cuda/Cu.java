package io.fastembedding.backend.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** Turns CUresult codes into exceptions that name the call and what it was for. */
final class Cu {
  private Cu() {}

  static String errorName(int code) {
    try {
      String[] name = new String[1];
      String[] text = new String[1];
      JCudaDriver.cuGetErrorName(code, name);
      JCudaDriver.cuGetErrorString(code, text);
      if (name[0] != null) {
        return name[0] + (text[0] != null ? " (" + text[0] + ")" : "");
      }
    } catch (Throwable ignored) {
      // fall through to JCuda's own name table
    }
    return CUresult.stringFor(code);
  }

  /**
   * Throws a {@link CudaException} unless {@code result} is CUDA_SUCCESS.
   *
   * @param call the driver function, such as "cuLaunchKernel"
   * @param what what the call was for, such as "kernel scatter_atomic_256 on cuda:0 NVIDIA H100"
   */
  static void check(int result, String call, String what) {
    if (result != CUresult.CUDA_SUCCESS) {
      throw new CudaException(call + " failed for " + what + ": " + errorName(result), result);
    }
  }
}
