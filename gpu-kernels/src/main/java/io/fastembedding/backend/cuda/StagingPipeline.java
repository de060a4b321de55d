package io.fastembedding.backend.cuda;

import io.fastembedding.backend.RowBlock;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * How batches reach the device: two page-locked staging slots and two device slots that alternate, with
 * events that order each copy after the last step that read its slot (so the host runs at most two
 * steps ahead and the copy of batch i+1 overlaps the kernels of batch i); the upload of a whole epoch in
 * pinned chunks on the copy stream; the synchronous staging of rows to score and the copy of results
 * back. docs/gpu-kernels.md, "A training step", explains the design.
 */
final class StagingPipeline {
  /**
   * Bytes of one pinned upload chunk of an epoch: small enough that a chunk's steps overlap the staging
   * of the next one (8 MiB left the last chunks of a batch-8192 epoch without overlap); tests lower it
   * (through CudaBackend.epochChunkBytes) to cover several chunks.
   */
  static final long DEFAULT_EPOCH_CHUNK_BYTES = 1L << 20;
  /** Device memory an epoch upload leaves free when it sizes the block's buffer. */
  private static final long EPOCH_HEADROOM_BYTES = 256L << 20;

  /** Where each array of a batch lies in its staging and device buffers (byte offsets). */
  static final class Layout {
    final long idxOff;
    final long labelOff;
    final long weightOff;
    final long numericOff;
    final long total;
    final boolean weights;

    Layout(int count, boolean weights, int n, int k) {
      this.weights = weights;
      idxOff = 0;
      labelOff = align((long) count * n * 4);
      weightOff = labelOff + align(count * 4L);
      numericOff = weightOff + (weights ? align(count * 4L) : 0);
      total = numericOff + (long) count * k * 4;
    }
  }

  /** A batch on the device, ready for a step. */
  record Staged(DeviceBuffer buffer, Layout layout, int slot) {}

  /** Queues the step of {@code count} rows whose batch is at {@code batch} in the layout {@code st}. */
  interface StepRunner {
    void step(DeviceBuffer batch, Layout st, int count);
  }

  private final DeviceStreams streams;
  private final DeviceContext ctx;
  private final int n;
  private final int k;

  private final DeviceBuffer[] batchDev = new DeviceBuffer[2];
  private final PinnedBuffer[] batchHost = new PinnedBuffer[2];
  private final CUevent[] h2dDone = {new CUevent(), new CUevent()};
  private final CUevent[] computeDone = {new CUevent(), new CUevent()};
  private final boolean[] slotUsed = new boolean[2];
  private int slot;
  private final PinnedBuffer outHost;

  // epochs: the whole shuffled block on the device, batch after batch in the staging layout
  private final DeviceBuffer epochDev;
  private final PinnedBuffer[] epochHost = new PinnedBuffer[2];
  private final CUevent[] chunkCopied = {new CUevent(), new CUevent()};
  private final boolean[] chunkSlotUsed = new boolean[2];
  /** Recorded after an epoch's last step: the next epoch's upload must not overwrite what it reads. */
  private final CUevent epochRead = new CUevent();
  private boolean epochReadRecorded;
  private boolean warnedEpochFallback;

  /** Allocates the (empty) slots and creates the events; on failure frees what it made. */
  StagingPipeline(DeviceStreams streams, int n, int k) {
    this.streams = streams;
    this.ctx = streams.ctx;
    this.n = n;
    this.k = k;
    batchDev[0] = new DeviceBuffer(ctx, "batchA");
    batchDev[1] = new DeviceBuffer(ctx, "batchB");
    epochDev = new DeviceBuffer(ctx, "epochBatches");
    outHost = new PinnedBuffer(ctx, "resultStaging");
    try {
      batchDev[0].ensure(0);
      batchDev[1].ensure(0);
      batchHost[0] = new PinnedBuffer(ctx, "stagingA");
      batchHost[1] = new PinnedBuffer(ctx, "stagingB");
      epochHost[0] = new PinnedBuffer(ctx, "epochStagingA");
      epochHost[1] = new PinnedBuffer(ctx, "epochStagingB");
      for (int s = 0; s < 2; s++) {
        streams.createEvent(h2dDone[s]);
        streams.createEvent(computeDone[s]);
        streams.createEvent(chunkCopied[s]);
      }
      streams.createEvent(epochRead);
    } catch (RuntimeException e) {
      release();
      throw e;
    }
  }

  Layout layout(int count, boolean weights) {
    return new Layout(count, weights, n, k);
  }

  private static long align(long bytes) {
    return (bytes + 15) / 16 * 16;
  }

  /** Device slot 0: where scoring and epoch steps read their batch. */
  DeviceBuffer slot0() {
    return batchDev[0];
  }

  /** Grows both slots to a batch of {@code rows} rows (with weights); the caller has synchronised. */
  void ensureSlots(int rows) {
    Layout st = layout(rows, true);
    for (int s = 0; s < 2; s++) {
      batchDev[s].ensure(st.total);
      batchHost[s].ensure(st.total);
      slotUsed[s] = false;
    }
  }

  /**
   * Stages rows {@code [start, start + count)} of {@code block} into the next slot and queues their copy
   * to its device slot; the compute stream waits for the copy. Call {@link #stepQueued} after the step.
   */
  Staged stageStep(RowBlock block, int start, int count) {
    int s = slot;
    slot ^= 1;
    boolean weights = block.weights != null;
    Layout st = layout(count, weights);
    if (slotUsed[s]) {
      // the copy that last read this staging slot must be done before it is refilled
      Cu.check(JCudaDriver.cuEventSynchronize(h2dDone[s]), "cuEventSynchronize", "staging slot " + s);
    }
    fill(batchHost[s], st, block, start, count, true);
    if (slotUsed[s]) {
      // and the step that last read this device slot must be done before the copy overwrites it
      Cu.check(JCudaDriver.cuStreamWaitEvent(streams.copy, computeDone[s], 0), "cuStreamWaitEvent",
          ctx.describe());
    }
    Cu.check(JCudaDriver.cuMemcpyHtoDAsync(batchDev[s].ptr(), batchHost[s].ptr(), st.total, streams.copy),
        "cuMemcpyHtoDAsync", "batch of " + count + " rows (" + st.total + " bytes) to " + ctx.describe());
    Cu.check(JCudaDriver.cuEventRecord(h2dDone[s], streams.copy), "cuEventRecord", ctx.describe());
    Cu.check(JCudaDriver.cuStreamWaitEvent(streams.compute, h2dDone[s], 0), "cuStreamWaitEvent", ctx.describe());
    return new Staged(batchDev[s], st, s);
  }

  /** Marks the step on {@code staged} as queued: the next copy into its slot waits for it. */
  void stepQueued(Staged staged) {
    Cu.check(JCudaDriver.cuEventRecord(computeDone[staged.slot()], streams.compute), "cuEventRecord",
        ctx.describe());
    slotUsed[staged.slot()] = true;
  }

  /**
   * Uploads the block, batch after batch in the staging layout, in pinned chunks whose copies overlap
   * the steps of the chunk before, and queues each batch's step on device slot 0 through {@code run}.
   * Returns false, having done nothing, when the device cannot hold the block. {@code bs} is at most the
   * block's rows, and the slots hold a batch of {@code bs} rows.
   */
  boolean epoch(RowBlock block, int bs, long chunkBytes, StepRunner run) {
    int rows = block.rows;
    boolean weights = block.weights != null;
    int batches = (int) (((long) rows + bs - 1) / bs);
    int lastCount = rows - (batches - 1) * bs;
    Layout full = layout(bs, weights);
    Layout last = lastCount == bs ? full : layout(lastCount, weights);
    long stride = (full.total + 255) / 256 * 256;
    long need = (batches - 1) * stride + last.total;
    if (!reserveEpochBuffer(need)) {
      return false;
    }
    int perChunk = (int) Math.max(1, Math.min(batches, chunkBytes / stride));
    for (int q = 0; q < 2; q++) {
      if (chunkSlotUsed[q]) {
        // a growing staging chunk is freed: the last epoch's copy out of it must have landed
        Cu.check(JCudaDriver.cuEventSynchronize(chunkCopied[q]), "cuEventSynchronize",
            "epoch staging chunk " + q + " on " + ctx.describe());
        chunkSlotUsed[q] = false;
      }
      epochHost[q].ensure(perChunk * stride);
    }
    if (epochReadRecorded) {
      // the previous epoch's steps read the buffer this upload overwrites
      Cu.check(JCudaDriver.cuStreamWaitEvent(streams.copy, epochRead, 0), "cuStreamWaitEvent",
          "epoch upload after the previous epoch on " + ctx.describe());
    }
    int p = 0;
    // the first chunks are small and double up to perChunk, so the device starts after a batch's
    // staging rather than a whole chunk's
    int grow = Math.max(1, (int) Math.min(perChunk, (256L << 10) / stride));
    for (int b0 = 0; b0 < batches; b0 += grow, grow = Math.min(perChunk, 2 * grow), p ^= 1) {
      int b1 = Math.min(batches, b0 + grow);
      if (chunkSlotUsed[p]) {
        Cu.check(JCudaDriver.cuEventSynchronize(chunkCopied[p]), "cuEventSynchronize",
            "epoch staging chunk " + p + " on " + ctx.describe());
      }
      PinnedBuffer host = epochHost[p];
      for (int b = b0; b < b1; b++) {
        boolean isLast = b == batches - 1;
        fill(host, (b - b0) * stride, isLast ? last : full, block, b * bs, isLast ? lastCount : bs, true);
      }
      long bytes = (long) (b1 - 1 - b0) * stride + (b1 == batches ? last.total : full.total);
      Cu.check(JCudaDriver.cuMemcpyHtoDAsync(epochDev.at(b0 * stride), host.ptr(), bytes, streams.copy),
          "cuMemcpyHtoDAsync", "epoch chunk of batches [" + b0 + ", " + b1 + ") (" + bytes + " bytes) to "
              + ctx.describe());
      Cu.check(JCudaDriver.cuEventRecord(chunkCopied[p], streams.copy), "cuEventRecord", ctx.describe());
      chunkSlotUsed[p] = true;
      Cu.check(JCudaDriver.cuStreamWaitEvent(streams.compute, chunkCopied[p], 0), "cuStreamWaitEvent",
          ctx.describe());
      runSteps(b0, b1, batches, bs, lastCount, stride, full, last, run);
    }
    epochQueued();
    return true;
  }

  /** Queues the steps of batches [b0, b1) of the epoch buffer, each copied to device slot 0 first. */
  private void runSteps(int b0, int b1, int batches, int bs, int lastCount, long stride, Layout full,
      Layout last, StepRunner run) {
    CUdeviceptr input = batchDev[0].ptr();
    for (int b = b0; b < b1; b++) {
      boolean isLast = b == batches - 1;
      Layout st = isLast ? last : full;
      int count = isLast ? lastCount : bs;
      int r = JCudaDriver.cuMemcpyDtoDAsync(input, epochDev.at(b * stride), st.total, streams.compute);
      if (r != 0) {  // the message only on failure: this is the per-step path
        Cu.check(r, "cuMemcpyDtoDAsync", "batch " + b + " of the epoch (" + st.total + " bytes) on "
            + ctx.describe());
      }
      run.step(batchDev[0], st, count);
    }
  }

  /** After an epoch's steps: the next upload into the epoch buffer or device slot 0 waits for them. */
  private void epochQueued() {
    Cu.check(JCudaDriver.cuEventRecord(epochRead, streams.compute), "cuEventRecord", ctx.describe());
    epochReadRecorded = true;
    // the next step's copy into device slot 0 must wait for these steps too
    Cu.check(JCudaDriver.cuEventRecord(computeDone[0], streams.compute), "cuEventRecord", ctx.describe());
    slotUsed[0] = true;
  }

  /**
   * The epoch of {@link #epoch} from a block already on the device ({@code resident}), in the order
   * {@code order}: one kernel writes the permuted rows into the epoch buffer in the staging layout (on
   * the compute stream, after the steps that last read it), then the steps run as in {@link #epoch},
   * on the same bytes a host-shuffled upload gives. Returns false, having done nothing, when the
   * device cannot hold the epoch buffer.
   */
  boolean epochResident(ResidentBlocks.Block resident, io.fastembedding.train.EpochPermutation order,
      int bs, Kernels kernels, StepRunner run) {
    int rows = resident.rows;
    int batches = (int) (((long) rows + bs - 1) / bs);
    int lastCount = rows - (batches - 1) * bs;
    Layout full = layout(bs, resident.weights != null);
    Layout last = lastCount == bs ? full : layout(lastCount, resident.weights != null);
    long stride = (full.total + 255) / 256 * 256;
    long need = (batches - 1) * stride + last.total;
    if (!reserveEpochBuffer(need)) {
      return false;
    }
    kernels.epochGather(CudaBackend.gridFor(ctx, rows), resident.idx.ptr(), resident.labels.ptr(),
        resident.weights == null ? null : resident.weights.ptr(),
        resident.numeric == null ? null : resident.numeric.ptr(), rows, n, k, bs, stride, order.halfBits(),
        order.key(0), order.key(1), order.key(2), order.key(3), epochDev.ptr());
    runSteps(0, batches, batches, bs, lastCount, stride, full, last, run);
    epochQueued();
    return true;
  }

  /** Bytes of the epoch buffer for {@code rows} rows in batches of {@code bs}. */
  long epochBytes(int rows, int bs, boolean weights) {
    int batches = (int) (((long) rows + bs - 1) / bs);
    int lastCount = rows - (batches - 1) * bs;
    long stride = (layout(bs, weights).total + 255) / 256 * 256;
    return (batches - 1) * stride + layout(lastCount, weights).total;
  }

  /**
   * Makes the epoch buffer hold {@code bytes}, or returns false when the device lacks the memory
   * (keeping {@link #EPOCH_HEADROOM_BYTES} free for the rest of the process).
   */
  private boolean reserveEpochBuffer(long bytes) {
    if (epochDev.allocated() && epochDev.capacity() >= bytes) {
      return true;
    }
    streams.syncAll("growing the epoch buffer");
    epochDev.free();
    epochReadRecorded = false;
    long[] mem = ctx.memInfo();
    boolean fits = mem[0] < 0 || bytes + EPOCH_HEADROOM_BYTES <= mem[0];
    if (fits) {
      try {
        epochDev.ensure(bytes);
        return true;
      } catch (CudaException e) {
        if (e.code() != jcuda.driver.CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
          throw e;
        }
      }
    }
    if (!warnedEpochFallback) {
      warnedEpochFallback = true;
      System.getLogger(CudaBackend.class.getName()).log(System.Logger.Level.WARNING,
          "trainEpoch: a block of " + bytes + " bytes (" + DeviceBuffer.mib(bytes) + ") does not fit on "
              + ctx.describe() + " with " + mem[0] + " bytes free; training it step by step from host memory");
    }
    return false;
  }

  void fill(PinnedBuffer host, Layout st, RowBlock block, int start, int count, boolean labels) {
    fill(host, 0, st, block, start, count, labels);
  }

  /** Writes a batch in the layout {@code st} at byte {@code base} of {@code host} (base a multiple of 16). */
  private void fill(PinnedBuffer host, long base, Layout st, RowBlock block, int start, int count,
      boolean labels) {
    host.ints().put((int) ((base + st.idxOff) / 4), block.indices, start * n, count * n);
    if (labels && block.labels != null) {
      host.floats().put((int) ((base + st.labelOff) / 4), block.labels, start, count);
    }
    if (st.weights) {
      host.floats().put((int) ((base + st.weightOff) / 4), block.weights, start, count);
    }
    if (k > 0) {
      host.floats().put((int) ((base + st.numericOff) / 4), block.numeric, start * k, count * k);
    }
  }

  /** Stages rows for scoring through slot 0 and waits for the copy (scoring returns data anyway). */
  Layout stageSync(RowBlock block, int start, int count) {
    streams.syncAll("staging rows to score");
    Layout st = layout(count, false);
    fill(batchHost[0], st, block, start, count, false);
    Cu.check(JCudaDriver.cuMemcpyHtoDAsync(batchDev[0].ptr(), batchHost[0].ptr(), st.total, streams.compute),
        "cuMemcpyHtoDAsync", "rows to score to " + ctx.describe());
    slotUsed[0] = false;
    return st;
  }

  /** Copies {@code floats} results from {@code src} into {@code out} through pinned memory, waiting. */
  void copyOut(DeviceBuffer src, int floats, float[] out, int outOffset, String what) {
    outHost.ensure(floats * 4L);
    Cu.check(JCudaDriver.cuMemcpyDtoHAsync(outHost.ptr(), src.ptr(), floats * 4L, streams.compute),
        "cuMemcpyDtoHAsync", what + " from " + ctx.describe());
    streams.syncCompute("copying " + what + " back");
    outHost.floats().get(0, out, outOffset, floats);
  }

  void release() {
    for (DeviceBuffer b : new DeviceBuffer[] {batchDev[0], batchDev[1], epochDev}) {
      if (b != null) {
        b.free();
      }
    }
    for (PinnedBuffer p : new PinnedBuffer[] {batchHost[0], batchHost[1], outHost, epochHost[0], epochHost[1]}) {
      if (p != null) {
        p.free();
      }
    }
    for (int s = 0; s < 2; s++) {
      DeviceStreams.destroy(h2dDone[s]);
      DeviceStreams.destroy(computeDone[s]);
      DeviceStreams.destroy(chunkCopied[s]);
    }
    DeviceStreams.destroy(epochRead);
  }
}
