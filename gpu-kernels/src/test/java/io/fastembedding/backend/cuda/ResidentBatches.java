package io.fastembedding.backend.cuda;

import io.fastembedding.backend.RowBlock;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.JCudaDriver;

/**
 * The benchmark-only API of the CUDA backend (test code): batches uploaded once and trained on from
 * the device, as PyTorch's index tensors already on the GPU, and CUDA-event timing on the backend's
 * compute stream. Used by the benchmark harness (io.fastembedding.bench.cuda) and CudaBackendTest.
 */
public final class ResidentBatches {
  private ResidentBatches() {}

  /** A batch uploaded once to the device; train on it with {@link #trainStep}. */
  public static final class ResidentBatch implements AutoCloseable {
    private final CudaBackend owner;
    private final DeviceBuffer buffer;
    private final StagingPipeline.Layout layout;
    private final int count;

    private ResidentBatch(CudaBackend owner, DeviceBuffer buffer, StagingPipeline.Layout layout, int count) {
      this.owner = owner;
      this.buffer = buffer;
      this.layout = layout;
      this.count = count;
    }

    public int rows() {
      return count;
    }

    /** Frees the device copy once the steps queued on it have run. */
    @Override
    public void close() {
      if (!owner.isClosed()) {
        owner.synchronizeAll();
      }
      buffer.free();
    }
  }

  /** Copies rows {@code [start, start + count)} of {@code block} to the device of {@code be}, once. */
  public static ResidentBatch upload(CudaBackend be, RowBlock block, int start, int count) {
    be.prepare(block, start, count);
    if (count == 0) {
      throw new IllegalArgumentException("a resident batch needs at least one row");
    }
    DeviceContext ctx = be.context();
    StagingPipeline.Layout st = be.staging().layout(count, block.weights != null);
    PinnedBuffer host = new PinnedBuffer(ctx, "uploadStaging");
    try {
      host.ensure(st.total);
      be.staging().fill(host, st, block, start, count, true);
      DeviceBuffer dev = new DeviceBuffer(ctx, "residentBatch", st.total);
      Cu.check(JCudaDriver.cuMemcpyHtoD(dev.ptr(), host.ptr(), st.total), "cuMemcpyHtoD",
          "resident batch of " + count + " rows to " + ctx.describe());
      return new ResidentBatch(be, dev, st, count);
    } finally {
      host.free();
    }
  }

  /** One training step on a batch already on the device; queues the kernels and returns. */
  public static void trainStep(CudaBackend be, ResidentBatch batch) {
    be.trainStepOnDevice(batch.buffer, batch.layout, batch.count);
  }

  /** A timing event of the backend's device, for {@link #record} and {@link #elapsedMillis}. */
  public static CUevent newTimingEvent(CudaBackend be) {
    be.bind();
    CUevent e = new CUevent();
    Cu.check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate",
        be.context().describe());
    return e;
  }

  /** Records {@code event} on the compute stream, after the work queued so far. */
  public static void record(CudaBackend be, CUevent event) {
    Cu.check(JCudaDriver.cuEventRecord(event, be.streams().compute), "cuEventRecord", be.context().describe());
  }

  /** Milliseconds between two recorded events, waiting for the second. */
  public static float elapsedMillis(CudaBackend be, CUevent start, CUevent end) {
    be.context().makeCurrent();
    Cu.check(JCudaDriver.cuEventSynchronize(end), "cuEventSynchronize",
        be.context().describe() + " after kernels " + be.streams().recentKernels());
    float[] ms = new float[1];
    Cu.check(JCudaDriver.cuEventElapsedTime(ms, start, end), "cuEventElapsedTime", be.context().describe());
    be.streams().recentKernels().clear();
    return ms[0];
  }

  /** Frees events of {@link #newTimingEvent}. */
  public static void destroyEvents(CUevent... events) {
    for (CUevent e : events) {
      JCudaDriver.cuEventDestroy(e);
    }
  }

  /** Waits until every queued copy and kernel of the backend has finished. */
  public static void synchronize(CudaBackend be) {
    be.synchronizeAll();
  }
}
