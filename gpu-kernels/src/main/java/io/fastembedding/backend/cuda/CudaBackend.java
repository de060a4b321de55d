package io.fastembedding.backend.cuda;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.Optimizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * The model of docs/model.md trained on one CUDA device through JCuda's driver API and the kernels in
 * {@code src/main/cuda} (design: docs/gpu-kernels.md).
 *
 * <p>A training step copies the batch from the Java arrays into page-locked staging memory and from there
 * to the device on a copy stream, while the kernels of the previous step still run on the compute
 * stream; it then queues the step's kernels and returns without waiting for them. Two staging slots
 * alternate, and events order each copy after the last use of its slot, so the host runs at most two
 * steps ahead. The loss is summed on the device; {@link #drainLoss()} reads it. Buffers that depend on
 * the batch size only grow, so steady-state training allocates nothing.
 *
 * <p>Every device of a JVM is used through its primary context, shared by all backends on it
 * ({@link DeviceContext}); each backend owns its streams and buffers. A backend is used by one thread at
 * a time, but that thread may change between calls (Spark tasks).
 */
public final class CudaBackend implements Backend {
  private static final int THREADS = 256;
  /** Rows scored per launch by predict and embed. */
  private static final int SCORE_ROWS = 65536;
  /** Upper bound of the forward chunks of a step (the head gradient is summed over them). */
  private static final int MAX_CHUNKS = 1024;
  private static final int MLP_MAX_CHUNKS = 32;
  /** Deterministic mode: shared memory det_apply_rows may take for its per-warp record lists. */
  private static final int DET_LIST_SHARED_BYTES = 46 * 1024;
  private static final int DEFAULT_SHARED_BYTES = 46 * 1024;
  private static final boolean SYNC_EACH_LAUNCH = Boolean.getBoolean("fastembedding.cuda.syncEachLaunch");
  /** Replay each step's kernels as one CUDA graph (-Dfastembedding.cuda.graphs=false turns it off). */
  private static final boolean GRAPHS = !SYNC_EACH_LAUNCH
      && !"false".equals(System.getProperty("fastembedding.cuda.graphs"));
  /** Step graphs kept per backend (one per batch buffer and row count in use). */
  private static final int MAX_GRAPHS = 16;

  private static final String[] KERNELS = {"gather_concat", "linear_forward", "fm_forward", "gemm_tiled",
      "mlp_output", "scatter_atomic_256", "scatter_atomic_1024", "finish_step", "det_apply_rows",
      "gather_listed_rows"};

  private final ModelSpec spec;
  private final BackendOptions options;
  private final DeviceContext ctx;
  private final TableLayout layout;
  private final int n;
  private final int k;
  private final int sumDims;
  /** The widest embedding row. */
  private final int maxDim;
  private final int inputWidth;
  private final int headSize;
  private final HeadType headType;
  private final int lossType;
  private final int opt;
  private final float lr;
  private final float l2;
  private final float eps;
  private final boolean hasState;
  private final boolean deterministic;
  private final boolean implicitGrad;
  private final int[] hidden;
  private final int numSlots;
  private final int totalRows;

  // model
  private final DeviceBuffer tables;
  private final DeviceBuffer firstOrder;
  private final DeviceBuffer head;
  private final DeviceBuffer tableAccum;
  private final DeviceBuffer foAccum;
  private final DeviceBuffer headAccum;
  private final DeviceBuffer counts;
  private final DeviceBuffer gradScratch;
  private final DeviceBuffer foScratch;
  private final DeviceBuffer touchedFlag;
  private final DeviceBuffer touchedCount;
  private final DeviceBuffer lossAcc;
  private final DeviceBuffer meta;
  private final DeviceBuffer slots;
  private final List<DeviceBuffer> all = new ArrayList<>();

  // batch-sized, grow-only
  private final DeviceBuffer[] batchDev = new DeviceBuffer[2];
  private final PinnedBuffer[] batchHost = new PinnedBuffer[2];
  private final DeviceBuffer touchedList;
  private final DeviceBuffer gy;
  private final DeviceBuffer grad;
  private final DeviceBuffer grad1;
  private final DeviceBuffer headPartials;
  private final DeviceBuffer lossPartials;
  private final DeviceBuffer predOut;
  private final DeviceBuffer hbuf;
  private final DeviceBuffer[] act;
  private final DeviceBuffer[] dz = new DeviceBuffer[2];
  /** Deterministic mode: per row id, its last pushed record (-1 between steps). */
  private final DeviceBuffer listHead;
  /** Deterministic mode, per record (field x batch position): the next record of its row's list. */
  private final DeviceBuffer recNext;
  /** Deterministic mode, per record: the run's sum of gy (implicit gradients). */
  private final DeviceBuffer recS;
  /** Deterministic mode: the runs' gradient rows (B x sumDims, explicit gradients). */
  private final DeviceBuffer recG;
  /** Deterministic mode, per record: the run's first-order gradient (fm). */
  private final DeviceBuffer recS1;
  private final DeviceBuffer exportRows;
  private final DeviceBuffer exportOut;
  private final PinnedBuffer outHost;
  private int capacityRows;

  // trainEpoch: the whole shuffled block on the device, batch after batch in the staging layout
  private final DeviceBuffer epochDev;
  private final PinnedBuffer[] epochHost = new PinnedBuffer[2];
  private final CUevent[] chunkCopied = {new CUevent(), new CUevent()};
  private final boolean[] chunkSlotUsed = new boolean[2];
  /** Recorded after an epoch's last step: the next epoch's upload must not overwrite what it reads. */
  private final CUevent epochRead = new CUevent();
  private boolean epochReadRecorded;
  private boolean warnedEpochFallback;
  /**
   * Bytes of one pinned upload chunk of trainEpoch: small enough that a chunk's steps overlap the
   * staging of the next one (8 MiB left the last chunks of a batch-8192 epoch without overlap);
   * tests lower it to cover several chunks.
   */
  static volatile long epochChunkBytes = 1L << 20;
  /** Device memory trainEpoch leaves free when it sizes the block's buffer. */
  private static final long EPOCH_HEADROOM_BYTES = 256L << 20;

  /** The legacy default stream (handle 0), where synchronous copies run. */
  private static final CUstream DEFAULT_STREAM = new CUstream();
  private final CUstream compute = new CUstream();
  private final CUstream copy = new CUstream();
  private final CUevent[] h2dDone = {new CUevent(), new CUevent()};
  private final CUevent[] computeDone = {new CUevent(), new CUevent()};
  private final boolean[] slotUsed = new boolean[2];
  private int slot;
  private long rowsSinceDrain;
  private boolean closed;
  private final ArrayDeque<String> recentKernels = new ArrayDeque<>();
  private int forwardSharedLimit = DEFAULT_SHARED_BYTES;
  private final StepGraphs graphs = new StepGraphs();

  /**
   * Opens a backend for {@code spec} on CUDA device {@code deviceOrdinal}, initialised as
   * {@link ModelState#initial(ModelSpec)}.
   *
   * @throws CudaException when the device is missing, too old for the kernels, or out of memory
   */
  public static CudaBackend open(ModelSpec spec, BackendOptions options, int deviceOrdinal) {
    return open(spec, options, deviceOrdinal, null);
  }

  /**
   * Opens a backend that starts from {@code initial} (for instance the weights a Spark driver
   * broadcast), or from {@link ModelState#initial(ModelSpec)} when it is null.
   */
  public static CudaBackend open(ModelSpec spec, BackendOptions options, int deviceOrdinal,
      ModelState initial) {
    if (spec == null || options == null) {
      throw new IllegalArgumentException("spec and options must not be null");
    }
    if (initial != null && !initial.spec.equals(spec)) {
      throw new IllegalArgumentException("the initial state's spec " + initial.spec + " differs from " + spec);
    }
    DeviceContext ctx = DeviceContext.get(deviceOrdinal);
    return new CudaBackend(spec, options, ctx, initial);
  }

  private CudaBackend(ModelSpec spec, BackendOptions options, DeviceContext ctx, ModelState initial) {
    this.spec = spec;
    this.options = options;
    this.ctx = ctx;
    this.layout = spec.layout();
    this.n = spec.numFields();
    this.k = spec.numNumeric();
    this.sumDims = layout.sumDims();
    int widest = 1;
    for (int f = 0; f < layout.numFields(); f++) {
      widest = Math.max(widest, layout.dim(f));
    }
    this.maxDim = widest;
    this.inputWidth = spec.headInputWidth();
    this.headSize = spec.headSize();
    this.headType = spec.head();
    this.lossType = spec.loss() == LossType.LOGISTIC ? 0 : 1;
    Optimizer rule = spec.optimizer().rule();
    this.opt = rule.kernelCode();
    this.lr = spec.optimizer().learningRate();
    this.l2 = spec.optimizer().l2();
    this.eps = spec.optimizer().epsilon();
    this.hasState = spec.optimizer().hasState();
    this.deterministic = options.deterministic();
    this.implicitGrad = headType == HeadType.LINEAR && l2 == 0f;
    this.hidden = spec.hiddenLayers();
    this.totalRows = Math.toIntExact(layout.totalRows());
    long totalFloats = layout.totalFloats();
    boolean fm = headType == HeadType.FM;
    boolean scratch = hasState && !deterministic;

    checkSharedMemory();
    for (String kernel : KERNELS) {
      ctx.function(kernel);  // resolved now, so that graph capture only ever launches
    }
    try {
      tables = buf("tables", totalFloats * 4);
      firstOrder = fm ? buf("firstOrder", totalRows * 4L) : null;
      head = buf("head", headSize * 4L);
      long tableState = rule.tableStateLength(layout);
      tableAccum = tableState > 0 ? buf("tableAccum", tableState * 4) : null;
      foAccum = fm && hasState ? buf("firstOrderAccum", totalRows * 4L) : null;
      headAccum = hasState ? buf("headAccum", headSize * 4L) : null;
      counts = buf("touchCounts", totalRows * 4L);
      gradScratch = scratch ? buf("gradScratch", totalFloats * 4) : null;
      foScratch = scratch && fm ? buf("firstOrderScratch", totalRows * 4L) : null;
      touchedFlag = scratch ? buf("touchedFlag", totalRows * 4L) : null;
      touchedCount = buf("touchedCount", 4);
      lossAcc = buf("lossAcc", 16);
      int[][] ms = buildMeta();
      meta = buf("fieldMeta", ms[0].length * 4L);
      numSlots = ms[1].length / 4;
      slots = buf("gatherSlots", ms[1].length * 4L);
      touchedList = buf("touchedList", 0);
      gy = buf("gy", 0);
      grad = buf("embeddingGrad", 0);
      grad1 = buf("firstOrderGrad", 0);
      headPartials = buf("headPartials", 0);
      lossPartials = buf("lossPartials", 0);
      predOut = buf("predictions", 0);
      hbuf = buf("mlpInput", 0);
      act = new DeviceBuffer[hidden.length];
      for (int l = 0; l < hidden.length; l++) {
        act[l] = buf("mlpActivation" + l, 0);
      }
      dz[0] = buf("mlpGradA", 0);
      dz[1] = buf("mlpGradB", 0);
      listHead = deterministic ? buf("detListHead", totalRows * 4L) : null;
      recNext = buf("detRecordNext", 0);
      recS = buf("detRecordGy", 0);
      recG = buf("detRecordGrad", 0);
      recS1 = buf("detRecordFirstOrder", 0);
      exportRows = buf("exportRows", 0);
      exportOut = buf("exportOut", 0);
      batchDev[0] = buf("batchA", 0);
      batchDev[1] = buf("batchB", 0);
      batchHost[0] = new PinnedBuffer(ctx, "stagingA");
      batchHost[1] = new PinnedBuffer(ctx, "stagingB");
      epochDev = new DeviceBuffer(ctx, "epochBatches");
      all.add(epochDev);
      epochHost[0] = new PinnedBuffer(ctx, "epochStagingA");
      epochHost[1] = new PinnedBuffer(ctx, "epochStagingB");
      outHost = new PinnedBuffer(ctx, "resultStaging");

      Cu.check(JCudaDriver.cuStreamCreate(compute, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate",
          "compute stream on " + ctx.describe());
      Cu.check(JCudaDriver.cuStreamCreate(copy, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate",
          "copy stream on " + ctx.describe());
      for (int s = 0; s < 2; s++) {
        Cu.check(JCudaDriver.cuEventCreate(h2dDone[s], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate",
            ctx.describe());
        Cu.check(JCudaDriver.cuEventCreate(computeDone[s], CUevent_flags.CU_EVENT_DISABLE_TIMING),
            "cuEventCreate", ctx.describe());
        Cu.check(JCudaDriver.cuEventCreate(chunkCopied[s], CUevent_flags.CU_EVENT_DISABLE_TIMING),
            "cuEventCreate", ctx.describe());
      }
      Cu.check(JCudaDriver.cuEventCreate(epochRead, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate",
          ctx.describe());
      Cu.check(JCudaDriver.cuMemcpyHtoD(meta.ptr(), Pointer.to(ms[0]), ms[0].length * 4L), "cuMemcpyHtoD",
          "field metadata on " + ctx.describe());
      Cu.check(JCudaDriver.cuMemcpyHtoD(slots.ptr(), Pointer.to(ms[1]), ms[1].length * 4L), "cuMemcpyHtoD",
          "gather slots on " + ctx.describe());
      syncUploads("uploading field metadata");
      if (scratch) {
        memset(gradScratch, totalFloats * 4);
        memset(touchedFlag, totalRows * 4L);
        if (foScratch != null) {
          memset(foScratch, totalRows * 4L);
        }
      }
      if (listHead != null) {
        Cu.check(JCudaDriver.cuMemsetD32Async(listHead.ptr(), -1, totalRows, compute), "cuMemsetD32Async",
            "buffer '" + listHead.name + "' on " + ctx.describe());
      }
      memset(touchedCount, 4);
      memset(lossAcc, 16);
      writeState(initial != null ? initial : ModelState.initial(spec));
      syncCompute("initialising the model");
    } catch (RuntimeException e) {
      releaseAll();
      throw e;
    }
  }

  private DeviceBuffer buf(String name, long bytes) {
    DeviceBuffer b = new DeviceBuffer(ctx, name, bytes);
    all.add(b);
    return b;
  }

  /** Shared memory the fused forward needs for one row, and whether the device has enough. */
  private void checkSharedMemory() {
    if (headType == HeadType.MLP) {
      return;
    }
    int need = forwardSharedBytes(1);
    if (need > DEFAULT_SHARED_BYTES) {
      int optin = ctx.maxSharedOptin - 1024;
      if (need > optin) {
        throw new IllegalArgumentException("the " + headType.id() + " head over " + inputWidth
            + " inputs (embedding dims " + sumDims + " + " + k + " numeric) needs " + need
            + " bytes of shared memory per block on the GPU, more than " + ctx.describe() + " offers ("
            + optin + "); use head 'mlp', fewer or smaller fields, or the CPU backend");
      }
      forwardSharedLimit = optin;
      String kernel = headType == HeadType.FM ? "fm_forward" : "linear_forward";
      Cu.check(JCudaDriver.cuFuncSetAttribute(ctx.function(kernel),
          CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, optin), "cuFuncSetAttribute",
          "kernel " + kernel + " on " + ctx.describe());
    }
  }

  private int forwardRowFloats() {
    return headType == HeadType.FM ? (sumDims + k) + spec.fmDim() + n + 1 : inputWidth + 1;
  }

  private int forwardSharedBytes(int tileRows) {
    return 4 * (tileRows * forwardRowFloats() + Math.max(THREADS, headSize));
  }

  private int forwardTileRows() {
    int fixed = 4 * Math.max(THREADS, headSize);
    int rows = (forwardSharedLimit - fixed) / (4 * forwardRowFloats());
    return Math.max(1, Math.min(64, rows));
  }

  /** Field metadata (see common.cuh) and gather slots (see forward.cuh). */
  private int[][] buildMeta() {
    int[] m = new int[7 * n];
    List<int[]> sl = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int d = layout.dim(i);
      int v = d % 4 == 0 ? 4 : d % 2 == 0 ? 2 : 1;
      int dimOff = layout.dimOffset(i);
      m[i] = d;
      m[n + i] = dimOff;
      m[2 * n + i] = Math.toIntExact(layout.rowBase(i));
      m[3 * n + i] = layout.size(i);
      m[4 * n + i] = v;
      m[5 * n + i] = Math.toIntExact(layout.offset(i));
      m[6 * n + i] = (sumDims % v == 0 && dimOff % v == 0) ? v : 1;
      for (int c = 0; c < d / v; c++) {
        sl.add(new int[] {i, dimOff + c * v, c * v, v});
      }
    }
    int[] s = new int[sl.size() * 4];
    for (int j = 0; j < sl.size(); j++) {
      System.arraycopy(sl.get(j), 0, s, 4 * j, 4);
    }
    return new int[][] {m, s};
  }

  // ------------------------------------------------------------------------------------------------
  // Backend

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public String device() {
    return ctx.describe() + " (" + ctx.ptxVariant + (deterministic ? ", deterministic" : ", atomic") + ")";
  }

  /** The device's CUDA ordinal. */
  public int deviceOrdinal() {
    return ctx.ordinal;
  }

  @Override
  public void trainStep(RowBlock block, int start, int count) {
    checkOpen();
    checkBlock(block, start, count, true);
    if (count == 0) {
      return;
    }
    ctx.makeCurrent();
    ensureCapacity(count);
    int s = slot;
    slot ^= 1;
    boolean weights = block.weights != null;
    Staging st = new Staging(count, weights);
    if (slotUsed[s]) {
      // the copy that last read this staging slot must be done before it is refilled
      Cu.check(JCudaDriver.cuEventSynchronize(h2dDone[s]), "cuEventSynchronize", "staging slot " + s);
    }
    fillStaging(batchHost[s], st, block, start, count, true);
    if (slotUsed[s]) {
      // and the step that last read this device slot must be done before the copy overwrites it
      Cu.check(JCudaDriver.cuStreamWaitEvent(copy, computeDone[s], 0), "cuStreamWaitEvent", ctx.describe());
    }
    Cu.check(JCudaDriver.cuMemcpyHtoDAsync(batchDev[s].ptr(), batchHost[s].ptr(), st.total, copy),
        "cuMemcpyHtoDAsync", "batch of " + count + " rows (" + st.total + " bytes) to " + ctx.describe());
    Cu.check(JCudaDriver.cuEventRecord(h2dDone[s], copy), "cuEventRecord", ctx.describe());
    Cu.check(JCudaDriver.cuStreamWaitEvent(compute, h2dDone[s], 0), "cuStreamWaitEvent", ctx.describe());
    step(batchDev[s], st, count);
    Cu.check(JCudaDriver.cuEventRecord(computeDone[s], compute), "cuEventRecord", ctx.describe());
    slotUsed[s] = true;
    rowsSinceDrain += count;
  }

  /**
   * The epoch of {@link Backend#trainEpoch} with the host out of the per-step path: the block is staged
   * into pinned chunks and uploaded once, batch after batch in the staging layout, each chunk's copy
   * overlapping the steps of the chunk before; then each step costs two driver calls, a device-to-device
   * copy of its batch into the step graph's input buffer and the graph launch. The steps are the same
   * graphs on the same bytes as {@link #trainStep}'s, so deterministic results are bit-identical. When
   * the device cannot hold the block it falls back to the per-step loop.
   */
  @Override
  public void trainEpoch(RowBlock block, int batchSize) {
    checkOpen();
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batchSize must be > 0, got " + batchSize);
    }
    checkBlock(block, 0, block == null ? 0 : block.rows, true);
    int rows = block.rows;
    if (rows == 0) {
      return;
    }
    ctx.makeCurrent();
    int bs = Math.min(batchSize, rows);
    ensureCapacity(bs);
    boolean weights = block.weights != null;
    int batches = (int) (((long) rows + bs - 1) / bs);
    int lastCount = rows - (batches - 1) * bs;
    Staging full = new Staging(bs, weights);
    Staging last = lastCount == bs ? full : new Staging(lastCount, weights);
    long stride = (full.total + 255) / 256 * 256;
    long need = (batches - 1) * stride + last.total;
    if (!reserveEpochBuffer(need)) {
      Backend.super.trainEpoch(block, batchSize);
      return;
    }
    int perChunk = (int) Math.max(1, Math.min(batches, epochChunkBytes / stride));
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
      Cu.check(JCudaDriver.cuStreamWaitEvent(copy, epochRead, 0), "cuStreamWaitEvent",
          "epoch upload after the previous epoch on " + ctx.describe());
    }
    CUdeviceptr input = batchDev[0].ptr();
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
        fillStaging(host, (b - b0) * stride, isLast ? last : full, block, b * bs, isLast ? lastCount : bs, true);
      }
      long bytes = (long) (b1 - 1 - b0) * stride + (b1 == batches ? last.total : full.total);
      Cu.check(JCudaDriver.cuMemcpyHtoDAsync(epochDev.at(b0 * stride), host.ptr(), bytes, copy),
          "cuMemcpyHtoDAsync", "epoch chunk of batches [" + b0 + ", " + b1 + ") (" + bytes + " bytes) to "
              + ctx.describe());
      Cu.check(JCudaDriver.cuEventRecord(chunkCopied[p], copy), "cuEventRecord", ctx.describe());
      chunkSlotUsed[p] = true;
      Cu.check(JCudaDriver.cuStreamWaitEvent(compute, chunkCopied[p], 0), "cuStreamWaitEvent", ctx.describe());
      for (int b = b0; b < b1; b++) {
        boolean isLast = b == batches - 1;
        Staging st = isLast ? last : full;
        int count = isLast ? lastCount : bs;
        int r = JCudaDriver.cuMemcpyDtoDAsync(input, epochDev.at(b * stride), st.total, compute);
        if (r != 0) {  // the message only on failure: this is the per-step path
          Cu.check(r, "cuMemcpyDtoDAsync", "batch " + b + " of the epoch (" + st.total + " bytes) on "
              + ctx.describe());
        }
        step(batchDev[0], st, count);
      }
    }
    Cu.check(JCudaDriver.cuEventRecord(epochRead, compute), "cuEventRecord", ctx.describe());
    epochReadRecorded = true;
    // trainStep's next copy into device slot 0 must wait for these steps too
    Cu.check(JCudaDriver.cuEventRecord(computeDone[0], compute), "cuEventRecord", ctx.describe());
    slotUsed[0] = true;
    rowsSinceDrain += rows;
  }

  /**
   * Makes the epoch buffer hold {@code bytes}, or returns false when the device lacks the memory
   * (keeping {@link #EPOCH_HEADROOM_BYTES} free for the rest of the process).
   */
  private boolean reserveEpochBuffer(long bytes) {
    if (epochDev.allocated() && epochDev.capacity() >= bytes) {
      return true;
    }
    syncAll("growing the epoch buffer");
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

  @Override
  public LossSum drainLoss() {
    checkOpen();
    ctx.makeCurrent();
    double[] acc = new double[2];
    syncCompute("reading the loss");
    Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(acc), lossAcc.ptr(), 16), "cuMemcpyDtoH",
        "loss sums from " + ctx.describe());
    memset(lossAcc, 16);
    LossSum out = new LossSum(acc[0], acc[1], rowsSinceDrain);
    rowsSinceDrain = 0;
    return out;
  }

  @Override
  public void predict(RowBlock block, int start, int count, float[] out, int outOffset) {
    checkOpen();
    checkBlock(block, start, count, false);
    checkOut(out, outOffset, (long) count, "predict");
    ctx.makeCurrent();
    for (int done = 0; done < count; done += SCORE_ROWS) {
      int c = Math.min(SCORE_ROWS, count - done);
      ensureCapacity(c);
      Staging st = stageSync(block, start + done, c);
      predOut.ensure(c * 4L);
      runForward(batchDev[0], st, c, 1, predOut.ptr());
      copyOut(predOut, c, out, outOffset + done, "predictions");
    }
  }

  @Override
  public void embed(RowBlock block, int start, int count, float[] out, int outOffset) {
    checkOpen();
    checkBlock(block, start, count, false);
    checkOut(out, outOffset, (long) count * sumDims, "embed");
    ctx.makeCurrent();
    int rowsPer = Math.max(1, Math.min(SCORE_ROWS, (1 << 26) / sumDims));
    for (int done = 0; done < count; done += rowsPer) {
      int c = Math.min(rowsPer, count - done);
      ensureCapacity(c);
      Staging st = stageSync(block, start + done, c);
      exportOut.ensure((long) c * sumDims * 4);
      launch("gather_concat", gridFor((long) c * numSlots), 1, 1, THREADS, 0, tables, meta, slots, numSlots, n,
          sumDims, 0, batchDev[0].at(st.idxOff), null, c, exportOut, null);
      copyOut(exportOut, c * sumDims, out, outOffset + done * sumDims, "embeddings");
    }
  }

  @Override
  public ModelState exportState() {
    checkOpen();
    ctx.makeCurrent();
    syncAll("exporting the model");
    ModelState init = emptyState();
    download(tables, init.tables);
    download(firstOrder, init.firstOrder);
    download(head, init.head);
    download(tableAccum, init.tableAccum);
    download(foAccum, init.firstOrderAccum);
    download(headAccum, init.headAccum);
    return init;
  }

  @Override
  public void importState(ModelState state) {
    checkOpen();
    if (state == null || !state.spec.equals(spec)) {
      throw new IllegalArgumentException("the state's spec " + (state == null ? null : state.spec)
          + " differs from this backend's " + spec);
    }
    ctx.makeCurrent();
    syncAll("importing a model");
    writeState(state);
    syncCompute("importing a model");
  }

  @Override
  public TouchedRows exportTouched(boolean reset) {
    checkOpen();
    ctx.makeCurrent();
    syncAll("exporting touched rows");
    int[] c = new int[totalRows];
    Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(c), counts.ptr(), totalRows * 4L), "cuMemcpyDtoH",
        "touch counts from " + ctx.describe());
    boolean fm = headType == HeadType.FM;
    int[][] rows = new int[n][];
    int[][] cnt = new int[n][];
    float[][] values = new float[n][];
    float[][] fo = fm ? new float[n][] : null;
    float[][] acc = hasState ? new float[n][] : null;
    float[][] foAcc = fm && hasState ? new float[n][] : null;
    for (int f = 0; f < n; f++) {
      int base = Math.toIntExact(layout.rowBase(f));
      int size = layout.size(f);
      int m = 0;
      for (int x = 0; x < size; x++) {
        if (c[base + x] > 0) {
          m++;
        }
      }
      int[] r = new int[m];
      int[] rc = new int[m];
      int q = 0;
      for (int x = 0; x < size; x++) {
        if (c[base + x] > 0) {
          r[q] = x;
          rc[q++] = c[base + x];
        }
      }
      rows[f] = r;
      cnt[f] = rc;
      int d = layout.dim(f);
      if (m > 0) {
        exportRows.ensure(m * 4L);
        Cu.check(JCudaDriver.cuMemcpyHtoD(exportRows.ptr(), Pointer.to(r), m * 4L), "cuMemcpyHtoD",
            "touched row list to " + ctx.describe());
        syncUploads("uploading the touched row list");
      }
      values[f] = gatherRows(tables, layout.offset(f), d, m);
      if (fm) {
        fo[f] = gatherRows(firstOrder, base, 1, m);
      }
      if (acc != null) {
        Optimizer rule = spec.optimizer().rule();
        int w = rule.stateFloatsPerRow(d);
        // per-element state is laid out like the tables, per-row state like the row ids (for a table
        // of dim 1 the two differ: tables are 16-byte aligned)
        long off = rule.tableStateIndex(Math.toIntExact(layout.offset(f)), Math.toIntExact(base));
        acc[f] = gatherRows(tableAccum, off, w, m);
      }
      if (foAcc != null) {
        foAcc[f] = gatherRows(foAccum, base, 1, m);
      }
    }
    float[] h = new float[headSize];
    download(head, h);
    float[] ha = null;
    if (hasState) {
      ha = new float[headSize];
      download(headAccum, ha);
    }
    if (reset) {
      memset(counts, totalRows * 4L);
      syncCompute("clearing touch counts");
    }
    return new TouchedRows(spec, rows, cnt, values, fo, acc, foAcc, h, ha);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      ctx.makeCurrent();
      JCudaDriver.cuStreamSynchronize(compute);
      JCudaDriver.cuStreamSynchronize(copy);
    } finally {
      releaseAll();
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Device-resident batches and timing, for benchmarks and for data trained on many times.

  /** A batch uploaded once to the device; train on it with {@link #trainStep(ResidentBatch)}. */
  public static final class ResidentBatch implements AutoCloseable {
    private final CudaBackend owner;
    private final DeviceBuffer buffer;
    private final Staging staging;
    private final int count;

    private ResidentBatch(CudaBackend owner, DeviceBuffer buffer, Staging staging, int count) {
      this.owner = owner;
      this.buffer = buffer;
      this.staging = staging;
      this.count = count;
    }

    public int rows() {
      return count;
    }

    /** Frees the device copy once the steps queued on it have run. */
    @Override
    public void close() {
      if (!owner.closed) {
        owner.synchronize();
      }
      buffer.free();
    }
  }

  /** Copies rows {@code [start, start + count)} of {@code block} to the device, once. */
  public ResidentBatch upload(RowBlock block, int start, int count) {
    checkOpen();
    checkBlock(block, start, count, true);
    if (count == 0) {
      throw new IllegalArgumentException("a resident batch needs at least one row");
    }
    ctx.makeCurrent();
    Staging st = new Staging(count, block.weights != null);
    PinnedBuffer host = new PinnedBuffer(ctx, "uploadStaging");
    try {
      host.ensure(st.total);
      fillStaging(host, st, block, start, count, true);
      DeviceBuffer dev = new DeviceBuffer(ctx, "residentBatch", st.total);
      Cu.check(JCudaDriver.cuMemcpyHtoD(dev.ptr(), host.ptr(), st.total), "cuMemcpyHtoD",
          "resident batch of " + count + " rows to " + ctx.describe());
      return new ResidentBatch(this, dev, st, count);
    } finally {
      host.free();
    }
  }

  /** One training step on a batch already on the device; queues the kernels and returns. */
  public void trainStep(ResidentBatch batch) {
    checkOpen();
    ctx.makeCurrent();
    ensureCapacity(batch.count);
    step(batch.buffer, batch.staging, batch.count);
    rowsSinceDrain += batch.count;
  }

  /** A timing event of this backend's device, for {@link #record} and {@link #elapsedMillis}. */
  public CUevent newTimingEvent() {
    checkOpen();
    ctx.makeCurrent();
    CUevent e = new CUevent();
    Cu.check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate", ctx.describe());
    return e;
  }

  /** Records {@code event} on the compute stream, after the work queued so far. */
  public void record(CUevent event) {
    Cu.check(JCudaDriver.cuEventRecord(event, compute), "cuEventRecord", ctx.describe());
  }

  /** Milliseconds between two recorded events, waiting for the second. */
  public float elapsedMillis(CUevent start, CUevent end) {
    ctx.makeCurrent();
    Cu.check(JCudaDriver.cuEventSynchronize(end), "cuEventSynchronize",
        ctx.describe() + " after kernels " + recentKernels);
    float[] ms = new float[1];
    Cu.check(JCudaDriver.cuEventElapsedTime(ms, start, end), "cuEventElapsedTime", ctx.describe());
    recentKernels.clear();
    return ms[0];
  }

  /** Frees events of {@link #newTimingEvent()}. */
  public static void destroyEvents(CUevent... events) {
    for (CUevent e : events) {
      JCudaDriver.cuEventDestroy(e);
    }
  }

  /** Waits until every queued copy and kernel of this backend has finished. */
  public void synchronize() {
    checkOpen();
    ctx.makeCurrent();
    syncAll("synchronising");
  }

  // ------------------------------------------------------------------------------------------------
  // The step

  /** Where each array of a batch lies in its staging and device buffers (byte offsets). */
  private final class Staging {
    final long idxOff;
    final long labelOff;
    final long weightOff;
    final long numericOff;
    final long total;
    final boolean weights;

    Staging(int count, boolean weights) {
      this.weights = weights;
      idxOff = 0;
      labelOff = align((long) count * n * 4);
      weightOff = labelOff + align(count * 4L);
      numericOff = weightOff + (weights ? align(count * 4L) : 0);
      total = numericOff + (long) count * k * 4;
    }
  }

  private static long align(long bytes) {
    return (bytes + 15) / 16 * 16;
  }

  private void fillStaging(PinnedBuffer host, Staging st, RowBlock block, int start, int count,
      boolean labels) {
    fillStaging(host, 0, st, block, start, count, labels);
  }

  /** Writes a batch in the layout {@code st} at byte {@code base} of {@code host} (base a multiple of 16). */
  private void fillStaging(PinnedBuffer host, long base, Staging st, RowBlock block, int start, int count,
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
  private Staging stageSync(RowBlock block, int start, int count) {
    syncAll("staging rows to score");
    Staging st = new Staging(count, false);
    fillStaging(batchHost[0], st, block, start, count, false);
    Cu.check(JCudaDriver.cuMemcpyHtoDAsync(batchDev[0].ptr(), batchHost[0].ptr(), st.total, compute),
        "cuMemcpyHtoDAsync", "rows to score to " + ctx.describe());
    slotUsed[0] = false;
    return st;
  }

  private void copyOut(DeviceBuffer src, int floats, float[] out, int outOffset, String what) {
    outHost.ensure(floats * 4L);
    Cu.check(JCudaDriver.cuMemcpyDtoHAsync(outHost.ptr(), src.ptr(), floats * 4L, compute), "cuMemcpyDtoHAsync",
        what + " from " + ctx.describe());
    syncCompute("copying " + what + " back");
    outHost.floats().get(0, out, outOffset, floats);
  }

  private int chunkRows(int count) {
    if (headType == HeadType.MLP) {
      return Math.max(256, (count + MLP_MAX_CHUNKS - 1) / MLP_MAX_CHUNKS);
    }
    int maxChunks = maxChunks();
    return Math.max(32, (count + maxChunks - 1) / maxChunks);
  }

  /**
   * Chunks of rows whose head-gradient partials a step writes and then sums: enough blocks to fill the
   * device, but at most about 4M partial floats per step for wide heads.
   */
  private int maxChunks() {
    if (headType == HeadType.MLP) {
      return MLP_MAX_CHUNKS;
    }
    return Math.max(64, Math.min(MAX_CHUNKS, (1 << 22) / headSize));
  }

  private void ensureCapacity(int count) {
    if (count <= capacityRows) {
      return;
    }
    syncAll("growing batch buffers");
    graphs.clear();
    int cap = count;
    long rows = cap;
    Staging st = new Staging(cap, true);
    for (int s = 0; s < 2; s++) {
      batchDev[s].ensure(st.total);
      batchHost[s].ensure(st.total);
      slotUsed[s] = false;
    }
    gy.ensure(rows * 4);
    boolean explicit = !implicitGrad;
    if (explicit) {
      grad.ensure(rows * sumDims * 4);
    }
    if (headType == HeadType.FM) {
      grad1.ensure(rows * n * 4);
    }
    int maxChunks = maxChunks();
    headPartials.ensure((long) maxChunks * headSize * 4);
    lossPartials.ensure((long) maxChunks * 16);
    if (headType == HeadType.MLP) {
      hbuf.ensure(rows * inputWidth * 4);
      int maxH = 0;
      for (int l = 0; l < hidden.length; l++) {
        act[l].ensure(rows * hidden[l] * 4);
        maxH = Math.max(maxH, hidden[l]);
      }
      dz[0].ensure(rows * maxH * 4);
      dz[1].ensure(rows * maxH * 4);
    }
    long occ = rows * n;
    if (deterministic) {
      // a row's record list (one record per tile) must fit det_apply_rows' shared memory
      int tile = deterministicTile((int) cap);
      long maxList = (cap + tile - 1) / tile;
      if (8L * maxList > DET_LIST_SHARED_BYTES) {
        throw new IllegalArgumentException("deterministic mode takes batches of at most "
            + (DET_LIST_SHARED_BYTES / 8 * tile) + " rows on the GPU, got " + cap
            + "; use smaller batches or the atomic mode");
      }
      recNext.ensure(occ * 4);
      if (implicitGrad) {
        recS.ensure(occ * 4);
      } else {
        recG.ensure(rows * sumDims * 4);
      }
      if (headType == HeadType.FM) {
        recS1.ensure(occ * 4);
      }
      touchedList.ensure(Math.min(occ, totalRows) * 4);
    } else if (hasState) {
      touchedList.ensure(Math.min(occ, totalRows) * 4);
    }
    capacityRows = cap;
  }

  /**
   * Queues one training step. The first step on a given batch buffer and row count is captured into a
   * CUDA graph; later ones replay it with a single launch, which takes the host's per-kernel launch
   * cost (a few microseconds each through JCuda) out of every step.
   */
  private void step(DeviceBuffer batch, Staging st, int count) {
    if (!GRAPHS) {
      runTrainStep(batch, st, count);
      return;
    }
    StepGraphs.Key key = new StepGraphs.Key(batch, batch.generation(), count, st.weights);
    StepGraphs.Entry g = graphs.get(key);
    if (g == null) {
      int before = recentKernels.size();
      Cu.check(JCudaDriver.cuStreamBeginCapture(compute, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture", "training step of " + count + " rows on " + ctx.describe());
      CUgraph graph = new CUgraph();
      try {
        runTrainStep(batch, st, count);
      } catch (RuntimeException e) {
        JCudaDriver.cuStreamEndCapture(compute, graph);
        JCudaDriver.cuGraphDestroy(graph);
        throw e;
      }
      Cu.check(JCudaDriver.cuStreamEndCapture(compute, graph), "cuStreamEndCapture",
          "training step of " + count + " rows on " + ctx.describe());
      CUgraphExec exec = new CUgraphExec();
      int r = JCudaDriver.cuGraphInstantiate(exec, graph, 0);
      JCudaDriver.cuGraphDestroy(graph);
      Cu.check(r, "cuGraphInstantiate", "training step of " + count + " rows on " + ctx.describe());
      List<String> kernels = new ArrayList<>(recentKernels).subList(Math.min(before, recentKernels.size()),
          recentKernels.size());
      g = new StepGraphs.Entry(exec, "step graph [" + String.join(", ", kernels) + "]");
      if (graphs.size() >= MAX_GRAPHS) {
        syncCompute("retiring a step graph");
      }
      graphs.put(key, g);
    }
    int r = JCudaDriver.cuGraphLaunch(g.exec(), compute);
    if (r != 0) {  // the message only on failure: a string per step costs the host time graphs save
      Cu.check(r, "cuGraphLaunch", "training " + g.kernels() + " of " + count + " rows on " + ctx.describe());
    }
    noteKernel(g.kernels());
  }

  private void runTrainStep(DeviceBuffer batch, Staging st, int count) {
    if (headType == HeadType.MLP) {
      runMlp(batch, st, count, 0, null);
    } else {
      runForward(batch, st, count, 0, null);
    }
    if (deterministic) {
      scatterDeterministic(batch, st, count);
    } else {
      scatterAtomic(batch, st, count);
    }
    finish(count);
  }

  /** The fused forward of the linear and fm heads (mode 0 = train, 1 = predict into {@code pred}). */
  private void runForward(DeviceBuffer batch, Staging st, int count, int mode, CUdeviceptr pred) {
    if (headType == HeadType.MLP) {
      runMlp(batch, st, count, mode, pred);
      return;
    }
    int chunk = chunkRows(count);
    int chunks = (count + chunk - 1) / chunk;
    int tileRows = forwardTileRows();
    int smem = forwardSharedBytes(tileRows);
    float invB = 1f / count;
    float lambdaOverB = l2 / count;
    CUdeviceptr idx = batch.at(st.idxOff);
    CUdeviceptr labels = mode == 0 ? batch.at(st.labelOff) : null;
    CUdeviceptr weights = mode == 0 && st.weights ? batch.at(st.weightOff) : null;
    CUdeviceptr numeric = k > 0 ? batch.at(st.numericOff) : null;
    boolean train = mode == 0;
    if (headType == HeadType.LINEAR) {
      launch("linear_forward", chunks, 1, 1, THREADS, smem, tables, meta, slots, numSlots, n, sumDims, k, idx,
          numeric, labels, weights, head, count, chunk, tileRows, mode, lossType, invB, lambdaOverB,
          implicitGrad ? 0 : 1, train ? gy : null, train && !implicitGrad ? grad : null,
          train ? headPartials : null, train ? lossPartials : null, pred, train ? touchedCount : null);
    } else {
      launch("fm_forward", chunks, 1, 1, THREADS, smem, tables, firstOrder, meta, slots, numSlots, n,
          spec.fmDim(), k, idx, numeric, labels, weights, head, count, chunk, tileRows, mode, lossType, invB,
          lambdaOverB, train ? gy : null, train ? grad : null, train ? grad1 : null,
          train ? headPartials : null, train ? lossPartials : null, pred, train ? touchedCount : null);
    }
  }

  private static final int EPI_BIAS_RELU = 0;
  private static final int EPI_RELU_MASK = 1;
  private static final int EPI_EMB_GRAD = 2;
  private static final int EPI_WEIGHT_PART = 3;

  private void gemm(int m, int nn, int kk, CUdeviceptr a, int lda, int ta, CUdeviceptr b, int ldb, int tb,
      int onesCol, int epi, CUdeviceptr bias, CUdeviceptr c, int ldc, CUdeviceptr aux, int auxLd,
      float lambdaOverB, int kChunk, int zCount, long partialStride, int woff, int coff) {
    launch("gemm_tiled", (nn + 63) / 64, (m + 63) / 64, zCount, THREADS, 0, m, nn, kk, a, lda, ta, b, ldb, tb,
        onesCol, epi, bias, c, ldc, aux, auxLd, lambdaOverB, kChunk, partialStride, woff, coff);
  }

  /** The mlp head: gather, hidden layers, output and loss, and (mode 0) the backward to G. */
  private void runMlp(DeviceBuffer batch, Staging st, int count, int mode, CUdeviceptr pred) {
    boolean train = mode == 0;
    int L = hidden.length;
    int chunk = chunkRows(count);
    int chunks = (count + chunk - 1) / chunk;
    CUdeviceptr idx = batch.at(st.idxOff);
    CUdeviceptr numeric = k > 0 ? batch.at(st.numericOff) : null;
    launch("gather_concat", gridFor((long) count * numSlots), 1, 1, THREADS, 0, tables, meta, slots, numSlots, n,
        sumDims, k, idx, numeric, count, hbuf, train ? touchedCount : null);
    for (int l = 0; l < L; l++) {
      int in = spec.mlpLayerInput(l);
      CUdeviceptr prev = l == 0 ? hbuf.ptr() : act[l - 1].ptr();
      gemm(count, hidden[l], in, prev, in, 0, head.at(spec.mlpWeightOffset(l) * 4L), in, 1, 0, EPI_BIAS_RELU,
          head.at(spec.mlpBiasOffset(l) * 4L), act[l].ptr(), hidden[l], null, 0, 0f, 0, 1, 0, 0, 0);
    }
    float invB = 1f / count;
    launch("mlp_output", chunks, 1, 1, THREADS, 0, act[L - 1], hidden[L - 1], head, spec.mlpOutputWeightOffset(),
        train ? batch.at(st.labelOff) : null, train && st.weights ? batch.at(st.weightOff) : null, count, chunk,
        mode, lossType, invB, train ? gy : null, train ? dz[(L - 1) % 2] : null, train ? headPartials : null,
        headSize, train ? lossPartials : null, pred);
    if (!train) {
      return;
    }
    float lambdaOverB = l2 / count;
    for (int l = L - 1; l >= 0; l--) {
      int in = spec.mlpLayerInput(l);
      int h = hidden[l];
      CUdeviceptr dzCur = dz[l % 2].ptr();
      CUdeviceptr prev = l == 0 ? hbuf.ptr() : act[l - 1].ptr();
      gemm(h, in + 1, count, dzCur, h, 1, prev, in, 0, 1, EPI_WEIGHT_PART, null, headPartials.ptr(), 0, null, 0,
          0f, chunk, chunks, headSize, spec.mlpWeightOffset(l), spec.mlpBiasOffset(l));
      CUdeviceptr w = head.at(spec.mlpWeightOffset(l) * 4L);
      if (l > 0) {
        gemm(count, in, h, dzCur, h, 0, w, in, 0, 0, EPI_RELU_MASK, null, dz[(l - 1) % 2].ptr(), in,
            act[l - 1].ptr(), in, 0f, 0, 1, 0, 0, 0);
      } else {
        gemm(count, sumDims, h, dzCur, h, 0, w, in, 0, 0, EPI_EMB_GRAD, null, grad.ptr(), sumDims, hbuf.ptr(),
            inputWidth, lambdaOverB, 0, 1, 0, 0, 0);
      }
    }
  }

  /** Tests set this to 256 or 1024 to force a scatter tile size; 0 chooses by batch size. */
  static volatile int forcedScatterTile;

  private int scatterTile(int count) {
    if (forcedScatterTile != 0) {
      return forcedScatterTile;
    }
    long blocks1024 = (long) n * ((count + 1023) / 1024);
    return blocks1024 >= 2L * ctx.multiprocessors ? 1024 : 256;
  }

  private void scatterAtomic(DeviceBuffer batch, Staging st, int count) {
    int tile = scatterTile(count);
    int tilesPerField = (count + tile - 1) / tile;
    boolean sgd = opt == 0;
    launch(tile == 1024 ? "scatter_atomic_1024" : "scatter_atomic_256", n * tilesPerField, 1, 1, THREADS, 0,
        sgd ? tables : gradScratch, headType == HeadType.FM ? (sgd ? firstOrder : foScratch) : null,
        sgd ? -lr : 1f, meta, n, count, tilesPerField, batch.at(st.idxOff), implicitGrad ? 0 : 1, gy, head,
        implicitGrad ? null : grad, sumDims, headType == HeadType.FM ? grad1 : null, counts, sgd ? 0 : 1,
        sgd ? null : touchedFlag, sgd ? null : touchedList, sgd ? null : touchedCount, 0, null, null, null, null,
        null);
  }

  /**
   * The deterministic tile: chosen from the batch size alone (not the device), so that a given batch
   * gives the same sums, in the same order, on any GPU. The small tile gives more blocks when the batch
   * is small or has few fields; the large one keeps a row's record list (one record per tile that holds
   * the row, walked serially) short on large batches: at most 128 records at batch 131072.
   */
  private int deterministicTile(int count) {
    if (forcedScatterTile != 0) {
      return forcedScatterTile;
    }
    if (DET_LARGE_TILE_FROM > 0) {
      return count >= DET_LARGE_TILE_FROM ? 1024 : 256;
    }
    return count >= 65536 || (long) n * ((count + 1023) / 1024) >= 512 ? 1024 : 256;
  }

  /**
   * Benchmark knobs of the deterministic backward, compared side by side in docs/benchmarks.md:
   * {@code fastembedding.cuda.detLargeTileFrom} (batch rows from which the 1024-row tile is used; 0 =
   * the rule above) and {@code fastembedding.cuda.detRowLanes} (lanes per touched row; 0 = fit to the
   * widest row).
   */
  private static final int DET_LARGE_TILE_FROM = Integer.getInteger("fastembedding.cuda.detLargeTileFrom", 0);
  private static final int DET_ROW_LANES = Integer.getInteger("fastembedding.cuda.detRowLanes", 0);

  /**
   * Deterministic backward: the scatter in record mode (each tile's runs of equal indices summed in a
   * fixed order, written as records and linked per row), then one warp per touched row sums its records
   * in tile order and applies the optimizer.
   */
  private void scatterDeterministic(DeviceBuffer batch, Staging st, int count) {
    int tile = deterministicTile(count);
    int tilesPerField = (count + tile - 1) / tile;
    boolean fm = headType == HeadType.FM;
    launch(tile == 1024 ? "scatter_atomic_1024" : "scatter_atomic_256", n * tilesPerField, 1, 1, THREADS, 0,
        tables, fm ? firstOrder : null, 1f, meta, n, count, tilesPerField, batch.at(st.idxOff), implicitGrad ? 0 : 1, gy, head,
        implicitGrad ? null : grad, sumDims, fm ? grad1 : null, counts, 0, null, touchedList, touchedCount, 1,
        listHead, recNext, implicitGrad ? recS : null, implicitGrad ? null : recG, fm ? recS1 : null);
    int maxList = tilesPerField;
    // lanes per row: enough for the widest row (narrow tables put several rows in a warp), but each
    // warp's groups must find their record lists room in shared memory
    int g = 1;
    while (g < 32 && g < (DET_ROW_LANES > 0 ? DET_ROW_LANES : maxDim)) {
      g <<= 1;
    }
    while (g < 32 && (32L / g) * 8L * maxList > DET_LIST_SHARED_BYTES) {
      g <<= 1;
    }
    int perWarp = 32 / g;
    int groups = (int) Math.min(THREADS / g, DET_LIST_SHARED_BYTES / (8L * maxList));
    groups = Math.max(perWarp, groups / perWarp * perWarp);
    long maxTouched = Math.min((long) count * n, totalRows);
    int blocks = (int) Math.max(1, Math.min((maxTouched + groups - 1) / groups, 16L * ctx.multiprocessors));
    launch("det_apply_rows", blocks, 1, 1, groups * g, groups * 8 * maxList, touchedList,
        touchedCount, listHead, recNext, implicitGrad ? recS : null, implicitGrad ? null : recG,
        fm ? recS1 : null, count, sumDims, maxList, g, meta, n, implicitGrad ? 0 : 1, head, tables, tableAccum,
        firstOrder, foAccum, opt, lr, eps);
  }

  private void finish(int count) {
    int chunks = (count + chunkRows(count) - 1) / chunkRows(count);
    int headBlocks = (headSize + THREADS / 32 - 1) / (THREADS / 32);
    boolean rows = hasState && !deterministic;
    int rowBlocks = 0;
    if (rows) {
      long maxTouched = Math.min((long) count * n, totalRows);
      rowBlocks = (int) Math.max(1, Math.min((maxTouched + 7) / 8, 4L * ctx.multiprocessors));
    }
    launch("finish_step", headBlocks + 1 + rowBlocks, 1, 1, THREADS, 0, head, headAccum, headPartials, chunks,
        headSize, lossPartials, chunks, lossAcc, opt, lr, eps, headBlocks, tables, tableAccum,
        rows ? gradScratch : null, firstOrder, foAccum, rows ? foScratch : null, rows ? touchedFlag : null,
        rows ? touchedList : null, rows ? touchedCount : null, meta, n);
  }

  // ------------------------------------------------------------------------------------------------
  // State

  private ModelState emptyState() {
    TableLayout l = layout;
    boolean fm = headType == HeadType.FM;
    int fo = fm ? totalRows : 0;
    int tacc = Math.toIntExact(spec.optimizer().rule().tableStateLength(l));
    return new ModelState(spec, new float[Math.toIntExact(l.totalFloats())], new float[fo],
        new float[headSize], new float[tacc], new float[hasState ? fo : 0], new float[hasState ? headSize : 0]);
  }

  private void writeState(ModelState s) {
    upload(tables, s.tables);
    upload(firstOrder, s.firstOrder);
    upload(head, s.head);
    upload(tableAccum, s.tableAccum);
    upload(foAccum, s.firstOrderAccum);
    upload(headAccum, s.headAccum);
    syncUploads("uploading the model");
    memset(counts, totalRows * 4L);
  }

  private void upload(DeviceBuffer b, float[] host) {
    if (b == null || host.length == 0) {
      return;
    }
    Cu.check(JCudaDriver.cuMemcpyHtoD(b.ptr(), Pointer.to(host), host.length * 4L), "cuMemcpyHtoD",
        "buffer '" + b.name + "' (" + host.length * 4L + " bytes) to " + ctx.describe());
  }

  private void download(DeviceBuffer b, float[] host) {
    if (b == null || host.length == 0) {
      return;
    }
    Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(host), b.ptr(), host.length * 4L), "cuMemcpyDtoH",
        "buffer '" + b.name + "' (" + host.length * 4L + " bytes) from " + ctx.describe());
  }

  /** Copies {@code width} floats of each row listed in exportRows (m rows) from src + offset. */
  private float[] gatherRows(DeviceBuffer src, long offsetFloats, int width, int m) {
    float[] out = new float[m * width];
    if (m == 0) {
      return out;
    }
    exportOut.ensure((long) m * width * 4);
    launch("gather_listed_rows", gridFor((long) m * width), 1, 1, THREADS, 0, src, offsetFloats, width,
        exportRows, m, exportOut);
    syncCompute("gathering touched rows of '" + src.name + "'");
    download(exportOut, out);
    return out;
  }

  // ------------------------------------------------------------------------------------------------
  // Plumbing

  private int gridFor(long items) {
    long blocks = (items + THREADS - 1) / THREADS;
    return (int) Math.max(1, Math.min(blocks, 16L * ctx.multiprocessors * 8));
  }

  /**
   * Waits for synchronous copies from Java arrays: from pageable memory the driver may return before
   * the data has landed, and the non-blocking compute stream does not order itself after them.
   */
  private void syncUploads(String what) {
    Cu.check(JCudaDriver.cuStreamSynchronize(DEFAULT_STREAM), "cuStreamSynchronize (default stream)",
        what + " on " + ctx.describe());
  }

  private void memset(DeviceBuffer b, long bytes) {
    Cu.check(JCudaDriver.cuMemsetD8Async(b.ptr(), (byte) 0, bytes, compute), "cuMemsetD8Async",
        "buffer '" + b.name + "' on " + ctx.describe());
  }

  private void launch(String kernel, int gx, int gyDim, int gz, int block, int smem, Object... args) {
    NativePointerObject[] ps = new NativePointerObject[args.length];
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a == null) {
        ps[i] = Pointer.to(new long[] {0L});
      } else if (a instanceof DeviceBuffer b) {
        ps[i] = Pointer.to(b.ptr());
      } else if (a instanceof CUdeviceptr p) {
        ps[i] = Pointer.to(p);
      } else if (a instanceof Integer v) {
        ps[i] = Pointer.to(new int[] {v});
      } else if (a instanceof Long v) {
        ps[i] = Pointer.to(new long[] {v});
      } else if (a instanceof Float v) {
        ps[i] = Pointer.to(new float[] {v});
      } else if (a instanceof Double v) {
        ps[i] = Pointer.to(new double[] {v});
      } else {
        throw new IllegalArgumentException("kernel " + kernel + ": unsupported argument " + i + ": " + a);
      }
    }
    int r = JCudaDriver.cuLaunchKernel(ctx.function(kernel), gx, gyDim, gz, block, 1, 1, smem, compute,
        Pointer.to(ps), null);
    Cu.check(r, "cuLaunchKernel", "kernel " + kernel + " (grid " + gx + "x" + gyDim + "x" + gz + ", block "
        + block + ", " + smem + " bytes of dynamic shared memory) on " + ctx.describe());
    noteKernel(kernel);
    if (SYNC_EACH_LAUNCH) {
      syncCompute("running kernel " + kernel);
    }
  }

  private void noteKernel(String kernel) {
    if (recentKernels.size() >= 16) {
      recentKernels.removeFirst();
    }
    recentKernels.addLast(kernel);
  }

  private void syncCompute(String why) {
    int r = JCudaDriver.cuStreamSynchronize(compute);
    if (r != 0) {
      throw new CudaException("cuStreamSynchronize failed while " + why + " on " + ctx.describe() + ": "
          + Cu.errorName(r) + "; the failing work is one of the kernels queued since the last synchronisation "
          + recentKernels + " (run with -Dfastembedding.cuda.syncEachLaunch=true to name the one)", r);
    }
    recentKernels.clear();
  }

  private void syncAll(String why) {
    int r = JCudaDriver.cuStreamSynchronize(copy);
    if (r != 0) {
      throw new CudaException("cuStreamSynchronize (copy stream) failed while " + why + " on "
          + ctx.describe() + ": " + Cu.errorName(r), r);
    }
    syncCompute(why);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this CUDA backend (" + ctx.describe() + ") is closed");
    }
  }

  private void checkBlock(RowBlock block, int start, int count, boolean training) {
    if (block == null) {
      throw new IllegalArgumentException("block must not be null");
    }
    if (start < 0 || count < 0 || (long) start + count > block.rows) {
      throw new IllegalArgumentException("rows [" + start + ", " + ((long) start + count)
          + ") are outside the block of " + block.rows + " rows");
    }
    if (block.numFields != n || block.numNumeric != k) {
      throw new IllegalArgumentException("the block has " + block.numFields + " fields and "
          + block.numNumeric + " numeric features; the model has " + n + " and " + k);
    }
    if (training && block.labels == null) {
      throw new IllegalArgumentException("training rows need labels, but the block has none");
    }
  }

  private static void checkOut(float[] out, int outOffset, long need, String what) {
    if (out == null || outOffset < 0 || outOffset + need > out.length) {
      throw new IllegalArgumentException(what + ": the output array needs " + need + " floats from offset "
          + outOffset + ", but has " + (out == null ? "none" : out.length));
    }
  }

  private void releaseAll() {
    graphs.clear();
    for (DeviceBuffer b : all) {
      b.free();
    }
    for (PinnedBuffer p : new PinnedBuffer[] {batchHost[0], batchHost[1], outHost, epochHost[0], epochHost[1]}) {
      if (p != null) {
        p.free();
      }
    }
    for (int s = 0; s < 2; s++) {
      destroy(h2dDone[s]);
      destroy(computeDone[s]);
      destroy(chunkCopied[s]);
    }
    destroy(epochRead);
    destroyStream(compute);
    destroyStream(copy);
  }

  private static void destroy(CUevent e) {
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
