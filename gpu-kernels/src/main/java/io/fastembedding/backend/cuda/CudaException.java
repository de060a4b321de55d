package io.fastembedding.backend.cuda;

/**
 * A CUDA driver call failed, or CUDA is not usable here. The message names the call, the kernel or
 * buffer it concerned, the CUDA error and the device, so that a failure in a Spark executor log can be
 * traced without a debugger. It is an {@link IllegalStateException}, which is what the
 * {@code Backends} factory promises when a GPU cannot be used.
 */
public class CudaException extends IllegalStateException {
  private static final long serialVersionUID = 1L;
  private final int code;

  public CudaException(String message, int code) {
    super(message);
    this.code = code;
  }

  public CudaException(String message, int code, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The CUresult code, or -1 when the failure did not come from a driver call. */
  public int code() {
    return code;
  }
}
