package io.fastembedding.backend.cuda;

import java.util.ArrayDeque;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * One backend's streams and the launch plumbing: the compute stream the kernels run on, a side stream
 * for a kernel that may run beside another of the same step ({@link #concurrently}), the copy stream of
 * the uploads, the kernels queued since the last synchronisation (named when one fails) and the
 * synchronisations that report them. It is the {@link Kernels.Launcher} of the backend's typed kernel
 * wrappers.
 */
final class DeviceStreams implements Kernels.Launcher {
  static final boolean SYNC_EACH_LAUNCH = Boolean.getBoolean("fastembedding.cuda.syncEachLaunch");
  /** The legacy default stream (handle 0), where synchronous copies run. */
  private static final CUstream DEFAULT_STREAM = new CUstream();

  final DeviceContext ctx;
  final CUstream compute = new CUstream();
  final CUstream copy = new CUstream();
  /** Work forked from the compute stream and joined back to it within a step (captured in its graph). */
  private final CUstream side = new CUstream();
  private final CUevent forkEvent = new CUevent();
  private final CUevent joinEvent = new CUevent();
  /** Where {@link #launch} queues: the compute stream, or the side stream inside {@link #concurrently}. */
  private CUstream launchStream = compute;
  private final ArrayDeque<String> recentKernels = new ArrayDeque<>();

  DeviceStreams(DeviceContext ctx) {
    this.ctx = ctx;
  }

  /** Creates the streams; {@link #release} destroys what was created. */
  void create() {
    Cu.check(JCudaDriver.cuStreamCreate(compute, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate",
        "compute stream on " + ctx.describe());
    Cu.check(JCudaDriver.cuStreamCreate(copy, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate",
        "copy stream on " + ctx.describe());
    Cu.check(JCudaDriver.cuStreamCreate(side, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate",
        "side stream on " + ctx.describe());
    createEvent(forkEvent);
    createEvent(joinEvent);
  }

  /**
   * Queues {@code onSide}'s launches on the side stream and {@code onCompute}'s on the compute stream,
   * both after the work queued so far and before whatever is queued next: the two may run at once on
   * the device (the caller guarantees they touch disjoint memory). Inside a graph capture this forks and
   * joins the captured graph.
   */
  void concurrently(Runnable onSide, Runnable onCompute) {
    Cu.check(JCudaDriver.cuEventRecord(forkEvent, compute), "cuEventRecord", "fork on " + ctx.describe());
    Cu.check(JCudaDriver.cuStreamWaitEvent(side, forkEvent, 0), "cuStreamWaitEvent", "fork on " + ctx.describe());
    launchStream = side;
    try {
      onSide.run();
    } finally {
      launchStream = compute;
    }
    Cu.check(JCudaDriver.cuEventRecord(joinEvent, side), "cuEventRecord", "join on " + ctx.describe());
    onCompute.run();
    Cu.check(JCudaDriver.cuStreamWaitEvent(compute, joinEvent, 0), "cuStreamWaitEvent", "join on " + ctx.describe());
  }

  /** A new event without timing. */
  void createEvent(CUevent e) {
    Cu.check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate", ctx.describe());
  }

  /** Launches a kernel on the compute stream; the typed wrappers of {@link Kernels} call this. */
  @Override
  public void launch(String kernel, int gx, int gyDim, int gz, int block, int smem, Kernels.Args args) {
    NativePointerObject[] ps = new NativePointerObject[args.size()];
    for (int i = 0; i < ps.length; i++) {
      Object a = args.values[i];
      ps[i] = switch (args.kinds[i]) {
        case PTR -> a == null ? Pointer.to(new long[] {0L}) : Pointer.to((CUdeviceptr) a);
        case I32 -> Pointer.to(new int[] {(Integer) a});
        case I64 -> Pointer.to(new long[] {(Long) a});
        case F32 -> Pointer.to(new float[] {(Float) a});
      };
    }
    int r = JCudaDriver.cuLaunchKernel(ctx.function(kernel), gx, gyDim, gz, block, 1, 1, smem, launchStream,
        Pointer.to(ps), null);
    Cu.check(r, "cuLaunchKernel", "kernel " + kernel + " (grid " + gx + "x" + gyDim + "x" + gz + ", block "
        + block + ", " + smem + " bytes of dynamic shared memory) on " + ctx.describe());
    noteKernel(kernel);
    if (SYNC_EACH_LAUNCH) {
      if (launchStream == side) {
        Cu.check(JCudaDriver.cuStreamSynchronize(side), "cuStreamSynchronize (side stream)",
            "running kernel " + kernel + " on " + ctx.describe());
      }
      syncCompute("running kernel " + kernel);
    }
  }

  /** Remembers a kernel (or a graph's kernel list) as queued, for the next failure's message. */
  void noteKernel(String kernel) {
    if (recentKernels.size() >= 16) {
      recentKernels.removeFirst();
    }
    recentKernels.addLast(kernel);
  }

  /** The kernels queued since the last synchronisation, oldest first. */
  ArrayDeque<String> recentKernels() {
    return recentKernels;
  }

  void syncCompute(String why) {
    int r = JCudaDriver.cuStreamSynchronize(compute);
    if (r != 0) {
      throw new CudaException("cuStreamSynchronize failed while " + why + " on " + ctx.describe() + ": "
          + Cu.errorName(r) + "; the failing work is one of the kernels queued since the last synchronisation "
          + recentKernels + " (run with -Dfastembedding.cuda.syncEachLaunch=true to name the one)", r);
    }
    recentKernels.clear();
  }

  void syncAll(String why) {
    int r = JCudaDriver.cuStreamSynchronize(copy);
    if (r != 0) {
      throw new CudaException("cuStreamSynchronize (copy stream) failed while " + why + " on "
          + ctx.describe() + ": " + Cu.errorName(r), r);
    }
    syncCompute(why);
  }

  /**
   * Waits for synchronous copies from Java arrays: from pageable memory the driver may return before
   * the data has landed, and the non-blocking compute stream does not order itself after them.
   */
  void syncUploads(String what) {
    Cu.check(JCudaDriver.cuStreamSynchronize(DEFAULT_STREAM), "cuStreamSynchronize (default stream)",
        what + " on " + ctx.describe());
  }

  /** Zeroes the first {@code bytes} of {@code b}, in order on the compute stream. */
  void memset(DeviceBuffer b, long bytes) {
    Cu.check(JCudaDriver.cuMemsetD8Async(b.ptr(), (byte) 0, bytes, compute), "cuMemsetD8Async",
        "buffer '" + b.name + "' on " + ctx.describe());
  }

  /** Waits for both streams, ignoring errors (closing). */
  void drainQuietly() {
    JCudaDriver.cuStreamSynchronize(compute);
    JCudaDriver.cuStreamSynchronize(side);
    JCudaDriver.cuStreamSynchronize(copy);
  }

  void release() {
    destroyStream(compute);
    destroyStream(side);
    destroyStream(copy);
    destroy(forkEvent);
    destroy(joinEvent);
  }

  static void destroy(CUevent e) {
    try {
      JCudaDriver.cuEventDestroy(e);
    } catch (Throwable ignored) {
      // never created
    }
  }

  private static void destroyStream(CUstream s) {
    try {
      JCudaDriver.cuStreamDestroy(s);
    } catch (Throwable ignored) {
      // never created
    }
  }
}
