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
import io.fastembedding.optim.RowwiseOptimizer;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;
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
 * <p>This class orchestrates a step per head; the work is split by job: {@link StagingPipeline} moves
 * batches to the device, {@link DeviceState} holds the buffers and copies the state in and out,
 * {@link Kernels} has one typed method per kernel, {@link DeviceStreams} the streams and launch plumbing,
 * {@link StepGraphs} the captured steps.
 *
 * <p>Every device of a JVM is used through its primary context, shared by all backends on it
 * ({@link DeviceContext}); each backend owns its streams and buffers. A backend is used by one thread at
 * a time, but that thread may change between calls (Spark tasks).
 */
public final class CudaBackend implements Backend {
  private static final int THREADS = Kernels.THREADS;
  /** Rows scored per launch by predict and embed. */
  private static final int SCORE_ROWS = 65536;
  /** Upper bound of the forward chunks of a step (the head gradient is summed over them). */
  private static final int MAX_CHUNKS = 1024;
  private static final int MLP_MAX_CHUNKS = 32;
  /** Deterministic mode: shared memory det_apply_rows may take for its per-warp record lists. */
  private static final int DET_LIST_SHARED_BYTES = 46 * 1024;
  /**
   * Floats of the widest row per lane of det_apply_rows when choosing its lanes per row (it updates them
   * DET_MAXF = 4 per pass, backward.cuh); kept at 8 so that its lanes, hence the row-wise rules' sums of
   * squares, are those of the third pass.
   */
  private static final int DET_MAXF = 8;
  /** Floats per lane and pass of the deterministic apply (DET_MAXF in backward.cuh): det_apply_cold's lanes. */
  private static final int DET_PASS_FLOATS = 4;
  /** det_apply_rows' walk mode by default (DET_WALK_* bits). */
  static final int DET_WALK_DEFAULT = 0;
  private static final int DEFAULT_SHARED_BYTES = 46 * 1024;
  /** Replay each step's kernels as one CUDA graph (-Dfastembedding.cuda.graphs=false turns it off). */
  private static final boolean GRAPHS = !DeviceStreams.SYNC_EACH_LAUNCH
      && !"false".equals(System.getProperty("fastembedding.cuda.graphs"));
  /** Step graphs kept per backend (one per batch buffer and row count in use). */
  private static final int MAX_GRAPHS = 16;

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
  /** The rule needs the row's sum of squared gradients first (kRowStat in optim.cuh): the row-wise family. */
  private final boolean rowStatRule;
  private final float lr;
  private final float l2;
  private final float eps;
  private final boolean hasState;
  private final boolean deterministic;
  private final boolean implicitGrad;
  private final int[] hidden;

  private final DeviceStreams streams;
  private final Kernels kernels;
  private final DeviceState state;
  private final StagingPipeline staging;
  private final StepGraphs graphs = new StepGraphs();
  private final ResidentBlocks resident;
  /**
   * Keep training blocks on the device between epochs and shuffle them there
   * ({@code -Dfastembedding.cuda.residentBlocks=false} shuffles on the host and uploads every epoch).
   */
  static final boolean RESIDENT = !"false".equals(System.getProperty("fastembedding.cuda.residentBlocks"));
  private int capacityRows;

  /**
   * Bytes of one pinned upload chunk of trainEpoch (StagingPipeline.DEFAULT_EPOCH_CHUNK_BYTES); tests
   * lower it to cover several chunks.
   */
  static volatile long epochChunkBytes = StagingPipeline.DEFAULT_EPOCH_CHUNK_BYTES;

  private long rowsSinceDrain;
  private boolean closed;
  private int forwardSharedLimit = DEFAULT_SHARED_BYTES;

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
    this.lossType = lossCode(spec.loss());
    this.opt = spec.optimizer().type().kernelCode();
    this.rowStatRule = spec.optimizer().rule() instanceof RowwiseOptimizer;
    this.lr = spec.optimizer().learningRate();
    this.l2 = spec.optimizer().l2();
    this.eps = spec.optimizer().epsilon();
    this.hasState = spec.optimizer().hasState();
    this.deterministic = options.deterministic();
    this.implicitGrad = headType == HeadType.LINEAR && l2 == 0f;
    this.hidden = spec.hiddenLayers();

    checkSharedMemory();
    for (String kernel : Kernels.NAMES) {
      ctx.function(kernel);  // resolved now, so that graph capture only ever launches
    }
    streams = new DeviceStreams(ctx);
    kernels = new Kernels(streams);
    DeviceState st = null;
    StagingPipeline sp = null;
    try {
      st = new DeviceState(spec, streams, kernels, deterministic, implicitGrad);
      sp = new StagingPipeline(streams, n, k);
      streams.create();
      st.initialise(initial != null ? initial : ModelState.initial(spec));
      streams.syncCompute("initialising the model");
    } catch (RuntimeException e) {
      if (sp != null) {
        sp.release();
      }
      if (st != null) {
        st.release();
      }
      streams.release();
      throw e;
    }
    state = st;
    staging = sp;
    resident = new ResidentBlocks(streams);
  }

  /** The kernels' code of a loss (KernelConstants.LOSS_*). */
  static int lossCode(LossType loss) {
    return switch (loss) {
      case LOGISTIC -> KernelConstants.LOSS_LOGISTIC;
      case SQUARED -> KernelConstants.LOSS_SQUARED;
    };
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
      String kernel = headType.factorized() ? "fm_forward" : "linear_forward";
      Cu.check(JCudaDriver.cuFuncSetAttribute(ctx.function(kernel),
          CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, optin), "cuFuncSetAttribute",
          "kernel " + kernel + " on " + ctx.describe());
    }
  }

  private int forwardRowFloats() {
    return headType.factorized() ? (sumDims + k) + spec.fmDim() + n + 1 : inputWidth + 1;
  }

  private int forwardSharedBytes(int tileRows) {
    return 4 * (tileRows * forwardRowFloats() + Math.max(THREADS, headSize));
  }

  private int forwardTileRows() {
    int fixed = 4 * Math.max(THREADS, headSize);
    int rows = (forwardSharedLimit - fixed) / (4 * forwardRowFloats());
    return Math.max(1, Math.min(64, rows));
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
    StagingPipeline.Staged b = staging.stageStep(block, start, count);
    step(b.buffer(), b.layout(), count);
    staging.stepQueued(b);
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
    if (!staging.epoch(block, bs, epochChunkBytes, this::step)) {
      Backend.super.trainEpoch(block, batchSize);
      return;
    }
    rowsSinceDrain += rows;
  }

  /**
   * The epoch of {@link #trainEpoch} from the block kept on the device ({@link ResidentBlocks}; uploaded
   * on its first epoch), shuffled there by {@code order}: the host moves no rows, and the steps read the
   * same bytes as after a host gather and upload, so deterministic results are bit-identical to that.
   * Returns false when the device cannot hold the block (then the trainer shuffles on the host).
   */
  @Override
  public boolean trainEpochPermuted(RowBlock block, io.fastembedding.train.EpochPermutation order,
      int batchSize) {
    checkOpen();
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batchSize must be > 0, got " + batchSize);
    }
    checkBlock(block, 0, block == null ? 0 : block.rows, true);
    if (order == null || order.rows() != block.rows) {
      throw new IllegalArgumentException("the permutation is of " + (order == null ? "no" : order.rows())
          + " rows; the block has " + block.rows);
    }
    if (!RESIDENT) {
      return false;
    }
    int rows = block.rows;
    if (rows == 0) {
      return true;
    }
    ctx.makeCurrent();
    int bs = Math.min(batchSize, rows);
    ensureCapacity(bs);
    long epochBytes = staging.epochBytes(rows, bs, block.weights != null);
    ResidentBlocks.Block rb = resident.get(block, epochBytes,
        () -> streams.syncAll("freeing a resident block"));
    if (rb == null || !staging.epochResident(rb, order, bs, kernels, this::step)) {
      return false;
    }
    rowsSinceDrain += rows;
    return true;
  }

  /** Blocks uploaded to keep on the device so far (tests). */
  long residentUploads() {
    return resident.uploads();
  }

  @Override
  public LossSum drainLoss() {
    checkOpen();
    ctx.makeCurrent();
    streams.syncCompute("reading the loss");
    double[] acc = state.drainLossSums();
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
      StagingPipeline.Layout st = staging.stageSync(block, start + done, c);
      state.predOut.ensure(c * 4L);
      runForward(staging.slot0(), st, c, KernelConstants.MODE_PREDICT, state.predOut.ptr());
      staging.copyOut(state.predOut, c, out, outOffset + done, "predictions");
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
      StagingPipeline.Layout st = staging.stageSync(block, start + done, c);
      state.exportOut.ensure((long) c * sumDims * 4);
      kernels.gatherConcat(gridFor(ctx, (long) c * state.numSlots), state.tables.ptr(), state.meta.ptr(),
          state.slots.ptr(), state.numSlots, n, sumDims, 0, staging.slot0().at(st.idxOff), null, c,
          state.exportOut.ptr(), null);
      staging.copyOut(state.exportOut, c * sumDims, out, outOffset + done * sumDims, "embeddings");
    }
  }

  @Override
  public ModelState exportState() {
    checkOpen();
    ctx.makeCurrent();
    streams.syncAll("exporting the model");
    return state.export();
  }

  @Override
  public void importState(ModelState s) {
    checkOpen();
    if (s == null || !s.spec.equals(spec)) {
      throw new IllegalArgumentException("the state's spec " + (s == null ? null : s.spec)
          + " differs from this backend's " + spec);
    }
    ctx.makeCurrent();
    streams.syncAll("importing a model");
    state.write(s);
    streams.syncCompute("importing a model");
  }

  @Override
  public TouchedRows exportTouched(boolean reset) {
    checkOpen();
    ctx.makeCurrent();
    streams.syncAll("exporting touched rows");
    return state.exportTouched(reset);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      ctx.makeCurrent();
      streams.drainQuietly();
    } finally {
      releaseAll();
    }
  }

  // ------------------------------------------------------------------------------------------------
  // For the benchmark-only API in test code (io.fastembedding.backend.cuda.ResidentBatches): device-resident
  // batches and timing on the compute stream.

  boolean isClosed() {
    return closed;
  }

  DeviceContext context() {
    return ctx;
  }

  DeviceStreams streams() {
    return streams;
  }

  StagingPipeline staging() {
    return staging;
  }

  /** Checks the backend is open and binds its device to this thread. */
  void bind() {
    checkOpen();
    ctx.makeCurrent();
  }

  /** Checks the backend is open and the rows fit the model, and binds the device to this thread. */
  void prepare(RowBlock block, int start, int count) {
    checkOpen();
    checkBlock(block, start, count, true);
    ctx.makeCurrent();
  }

  /** One training step on a batch already on the device in the layout {@code st}; queues and returns. */
  void trainStepOnDevice(DeviceBuffer batch, StagingPipeline.Layout st, int count) {
    checkOpen();
    ctx.makeCurrent();
    ensureCapacity(count);
    step(batch, st, count);
    rowsSinceDrain += count;
  }

  /** Waits until every queued copy and kernel of this backend has finished. */
  void synchronizeAll() {
    checkOpen();
    ctx.makeCurrent();
    streams.syncAll("synchronising");
  }

  // ------------------------------------------------------------------------------------------------
  // The step

  private void ensureCapacity(int count) {
    if (count <= capacityRows) {
      return;
    }
    streams.syncAll("growing batch buffers");
    graphs.clear();
    int cap = count;
    staging.ensureSlots(cap);
    if (deterministic) {
      // a row's record list (one record per tile) must fit det_apply_rows' shared memory
      int tile = deterministicTile(cap);
      int maxList = (cap + tile - 1) / tile;
      if (detGroupBytes(maxList) > DET_LIST_SHARED_BYTES) {
        int most = maxList;
        while (most > 1 && detGroupBytes(most) > DET_LIST_SHARED_BYTES) {
          most--;
        }
        throw new IllegalArgumentException("deterministic mode takes batches of at most "
            + ((long) most * tile) + " rows on the GPU, got " + cap
            + "; use smaller batches or the atomic mode");
      }
    }
    state.ensureWorkspace(cap, maxChunks());
    capacityRows = cap;
  }

  /**
   * Queues one training step. The first step on a given batch buffer and row count is captured into a
   * CUDA graph; later ones replay it with a single launch, which takes the host's per-kernel launch
   * cost (a few microseconds each through JCuda) out of every step.
   */
  private void step(DeviceBuffer batch, StagingPipeline.Layout st, int count) {
    if (!GRAPHS) {
      runTrainStep(batch, st, count);
      return;
    }
    StepGraphs.Key key = new StepGraphs.Key(batch, batch.generation(), count, st.weights);
    StepGraphs.Entry g = graphs.get(key);
    if (g == null) {
      int before = streams.recentKernels().size();
      Cu.check(JCudaDriver.cuStreamBeginCapture(streams.compute,
              CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture",
          "training step of " + count + " rows on " + ctx.describe());
      CUgraph graph = new CUgraph();
      try {
        runTrainStep(batch, st, count);
      } catch (RuntimeException e) {
        JCudaDriver.cuStreamEndCapture(streams.compute, graph);
        JCudaDriver.cuGraphDestroy(graph);
        throw e;
      }
      Cu.check(JCudaDriver.cuStreamEndCapture(streams.compute, graph), "cuStreamEndCapture",
          "training step of " + count + " rows on " + ctx.describe());
      CUgraphExec exec = new CUgraphExec();
      int r = JCudaDriver.cuGraphInstantiate(exec, graph, 0);
      JCudaDriver.cuGraphDestroy(graph);
      Cu.check(r, "cuGraphInstantiate", "training step of " + count + " rows on " + ctx.describe());
      var recent = streams.recentKernels();
      List<String> names = new ArrayList<>(recent).subList(Math.min(before, recent.size()), recent.size());
      g = new StepGraphs.Entry(exec, "step graph [" + String.join(", ", names) + "]");
      if (graphs.size() >= MAX_GRAPHS) {
        streams.syncCompute("retiring a step graph");
      }
      graphs.put(key, g);
    }
    int r = JCudaDriver.cuGraphLaunch(g.exec(), streams.compute);
    if (r != 0) {  // the message only on failure: a string per step costs the host time graphs save
      Cu.check(r, "cuGraphLaunch", "training " + g.kernels() + " of " + count + " rows on " + ctx.describe());
    }
    streams.noteKernel(g.kernels());
  }

  private void runTrainStep(DeviceBuffer batch, StagingPipeline.Layout st, int count) {
    if (headType == HeadType.MLP) {
      runMlp(batch, st, count, KernelConstants.MODE_TRAIN, null);
    } else {
      runForward(batch, st, count, KernelConstants.MODE_TRAIN, null);
    }
    if (deterministic) {
      scatterDeterministic(batch, st, count);
    } else {
      scatterAtomic(batch, st, count);
    }
    finish(count);
  }

  /**
   * Benchmark knob {@code fastembedding.cuda.linearForwardLanes} (default true): the linear head's rows that
   * fit a warp (slots and numeric features at most 64) take linear_forward_lanes, a warp per row with the
   * head in registers; false keeps every width on the shared-tile linear_forward.
   */
  static volatile boolean linearForwardLanes =
      !"false".equals(System.getProperty("fastembedding.cuda.linearForwardLanes"));

  /** 1 or 2 items per lane when the linear head's rows fit linear_forward_lanes, else 0. */
  private int linearSlotsPerLane() {
    if (headType != HeadType.LINEAR || !linearForwardLanes) {
      return 0;
    }
    int items = state.numSlots + k;
    return items <= 32 ? 1 : items <= 64 ? 2 : 0;
  }

  /**
   * Benchmark knob {@code fastembedding.cuda.linearLanesGroups} (default true): rows of at most 16 items
   * share a warp in linear_forward_lanes; false gives every row a whole warp.
   */
  static volatile boolean linearLanesGroups =
      !"false".equals(System.getProperty("fastembedding.cuda.linearLanesGroups"));

  /**
   * Lanes per row of linear_forward_lanes: the smallest power of two holding a row's items when they fit
   * one a lane, so that a warp takes 32 / P rows at once; 32 with two items a lane or without
   * {@link #linearLanesGroups}.
   */
  private int linearLanesPerRow() {
    int items = state.numSlots + k;
    if (items > 32 || !linearLanesGroups) {
      return 32;
    }
    return Integer.highestOneBit(Math.max(1, 2 * items - 1));
  }

  /** The fused forward of the linear and fm heads (mode 0 = train, 1 = predict into {@code pred}). */
  private void runForward(DeviceBuffer batch, StagingPipeline.Layout st, int count, int mode, CUdeviceptr pred) {
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
    boolean train = mode == KernelConstants.MODE_TRAIN;
    CUdeviceptr labels = train ? batch.at(st.labelOff) : null;
    CUdeviceptr weights = train && st.weights ? batch.at(st.weightOff) : null;
    CUdeviceptr numeric = k > 0 ? batch.at(st.numericOff) : null;
    int slotsPerLane = linearSlotsPerLane();
    if (slotsPerLane > 0) {
      kernels.linearForwardLanes(chunks, 4 * (THREADS / 32) * headSize, state.tables.ptr(), state.meta.ptr(),
          state.slots.ptr(), state.numSlots, n, sumDims, k, idx, numeric, labels, weights, state.head.ptr(), count,
          chunk, slotsPerLane, linearLanesPerRow(), mode, lossType, invB, lambdaOverB, implicitGrad ? 0 : 1,
          train ? state.gy.ptr() : null, train && !implicitGrad ? state.grad.ptr() : null,
          train ? state.headPartials.ptr() : null,
          train ? state.lossPartials.ptr() : null, pred, train ? state.touchedCount.ptr() : null);
    } else if (headType == HeadType.LINEAR) {
      kernels.linearForward(chunks, smem, state.tables.ptr(), state.meta.ptr(), state.slots.ptr(), state.numSlots, n,
          sumDims, k, idx, numeric, labels, weights, state.head.ptr(), count, chunk, tileRows, mode, lossType, invB,
          lambdaOverB, implicitGrad ? 0 : 1, train ? state.gy.ptr() : null,
          train && !implicitGrad ? state.grad.ptr() : null, train ? state.headPartials.ptr() : null,
          train ? state.lossPartials.ptr() : null, pred, train ? state.touchedCount.ptr() : null);
    } else {
      kernels.fmForward(chunks, smem, state.tables.ptr(), state.firstOrder.ptr(), state.meta.ptr(), state.slots.ptr(),
          state.numSlots, n, spec.fmDim(), k, idx, numeric, labels, weights, state.head.ptr(),
          spec.fwfmPairs() > 0 ? spec.fwfmPairOffset() : 0, count, chunk, tileRows,
          mode, lossType, invB, lambdaOverB, train ? state.gy.ptr() : null, train ? state.grad.ptr() : null,
          train ? state.grad1.ptr() : null, train ? state.headPartials.ptr() : null,
          train ? state.lossPartials.ptr() : null, pred, train ? state.touchedCount.ptr() : null);
    }
  }

  /** The mlp head: gather, hidden layers, output and loss, and (mode 0) the backward to G. */
  private void runMlp(DeviceBuffer batch, StagingPipeline.Layout st, int count, int mode, CUdeviceptr pred) {
    boolean train = mode == KernelConstants.MODE_TRAIN;
    int L = hidden.length;
    int chunk = chunkRows(count);
    int chunks = (count + chunk - 1) / chunk;
    CUdeviceptr idx = batch.at(st.idxOff);
    CUdeviceptr numeric = k > 0 ? batch.at(st.numericOff) : null;
    kernels.gatherConcat(gridFor(ctx, (long) count * state.numSlots), state.tables.ptr(), state.meta.ptr(),
        state.slots.ptr(), state.numSlots, n, sumDims, k, idx, numeric, count, state.hbuf.ptr(),
        train ? state.touchedCount.ptr() : null);
    for (int l = 0; l < L; l++) {
      int in = spec.mlpLayerInput(l);
      CUdeviceptr prev = l == 0 ? state.hbuf.ptr() : state.act[l - 1].ptr();
      kernels.gemmTiled(1, count, hidden[l], in, prev, in, 0, state.head.at(spec.mlpWeightOffset(l) * 4L), in, 1, 0,
          KernelConstants.EPI_BIAS_RELU, state.head.at(spec.mlpBiasOffset(l) * 4L), state.act[l].ptr(), hidden[l], null,
          0, 0f, 0, 0, 0, 0);
    }
    float invB = 1f / count;
    kernels.mlpOutput(chunks, state.act[L - 1].ptr(), hidden[L - 1], state.head.ptr(), spec.mlpOutputWeightOffset(),
        train ? batch.at(st.labelOff) : null, train && st.weights ? batch.at(st.weightOff) : null, count, chunk, mode,
        lossType, invB, train ? state.gy.ptr() : null, train ? state.dz[(L - 1) % 2].ptr() : null,
        train ? state.headPartials.ptr() : null, headSize, train ? state.lossPartials.ptr() : null, pred);
    if (!train) {
      return;
    }
    float lambdaOverB = l2 / count;
    for (int l = L - 1; l >= 0; l--) {
      int in = spec.mlpLayerInput(l);
      int h = hidden[l];
      CUdeviceptr dzCur = state.dz[l % 2].ptr();
      CUdeviceptr prev = l == 0 ? state.hbuf.ptr() : state.act[l - 1].ptr();
      kernels.gemmTiled(chunks, h, in + 1, count, dzCur, h, 1, prev, in, 0, 1, KernelConstants.EPI_WEIGHT_PART, null,
          state.headPartials.ptr(), 0, null, 0, 0f, chunk, headSize, spec.mlpWeightOffset(l), spec.mlpBiasOffset(l));
      CUdeviceptr w = state.head.at(spec.mlpWeightOffset(l) * 4L);
      if (l > 0) {
        kernels.gemmTiled(1, count, in, h, dzCur, h, 0, w, in, 0, 0, KernelConstants.EPI_RELU_MASK, null,
            state.dz[(l - 1) % 2].ptr(), in, state.act[l - 1].ptr(), in, 0f, 0, 0, 0, 0);
      } else {
        kernels.gemmTiled(1, count, sumDims, h, dzCur, h, 0, w, in, 0, 0, KernelConstants.EPI_EMB_GRAD, null,
            state.grad.ptr(), sumDims, state.hbuf.ptr(), inputWidth, lambdaOverB, 0, 0, 0, 0);
      }
    }
  }

  private static final int SCATTER_SMALL = KernelConstants.SCATTER_TILE_SMALL;
  private static final int SCATTER_LARGE = KernelConstants.SCATTER_TILE_LARGE;

  /** Tests set this to 256 or 1024 to force a scatter tile size; 0 chooses by batch size. */
  static volatile int forcedScatterTile;

  private int scatterTile(int count) {
    if (forcedScatterTile != 0) {
      return forcedScatterTile;
    }
    long blocks1024 = (long) n * ((count + SCATTER_LARGE - 1) / SCATTER_LARGE);
    return blocks1024 >= 2L * ctx.multiprocessors ? SCATTER_LARGE : SCATTER_SMALL;
  }

  private void scatterAtomic(DeviceBuffer batch, StagingPipeline.Layout st, int count) {
    int tile = scatterTile(count);
    int tilesPerField = (count + tile - 1) / tile;
    boolean sgd = opt == KernelConstants.OPT_SGD;
    kernels.scatter(tile, n * tilesPerField, sgd ? state.tables.ptr() : state.gradScratch.ptr(),
        headType.factorized() ? (sgd ? state.firstOrder : state.foScratch).ptr() : null, sgd ? -lr : 1f,
        state.meta.ptr(), n, count, tilesPerField, batch.at(st.idxOff), implicitGrad ? 0 : 1, state.gy.ptr(),
        state.head.ptr(), implicitGrad ? null : state.grad.ptr(), sumDims,
        headType.factorized() ? state.grad1.ptr() : null, state.counts.ptr(), sgd ? 0 : 1,
        sgd ? null : state.touchedFlag.ptr(), sgd ? null : state.touchedList.ptr(),
        sgd ? null : state.touchedCount.ptr(), 0, null, null, null, null, null, null, null);
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
      return count >= DET_LARGE_TILE_FROM ? SCATTER_LARGE : SCATTER_SMALL;
    }
    return count >= 65536 || (long) n * ((count + SCATTER_LARGE - 1) / SCATTER_LARGE) >= DET_LARGE_TILE_BLOCKS
        ? SCATTER_LARGE : SCATTER_SMALL;
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
   * The deterministic tile is the large one when the fields give at least this many large tiles (or from
   * batch 65536): fewer, longer tiles mean fewer records, so that more rows stay within det_apply_cold's
   * DET_COLD_RECORDS. Benchmark knob {@code fastembedding.cuda.detLargeTileBlocks} (the third pass: 512).
   */
  private static final int DET_LARGE_TILE_BLOCKS = Integer.getInteger("fastembedding.cuda.detLargeTileBlocks", 128);
  /**
   * det_apply_cold takes the step's rows of few records only when the step may touch at least this many rows
   * (batch x fields, or the tables' rows if fewer): on the H200 its extra launch cost more than it saved on
   * smaller steps (batch 1024 on one table). Both kernels give the same bits. Benchmark knob
   * {@code fastembedding.cuda.detColdMinRows}; tests set it to 0.
   */
  static volatile long detColdMinRows = Long.getLong("fastembedding.cuda.detColdMinRows", 16384);

  /**
   * det_apply_rows' walk (KernelConstants.DET_WALK_*): by default (0) the lanes of a row walk its sub-lists
   * at once while the step touched fewer than DET_PARALLEL_WALK_MAX_ROWS rows, and one after the other,
   * then a rank sort, on larger steps (DET_WALK_SERIAL forces that walk, also used when the lanes cannot
   * take a sub-list each; DET_WALK_PARALLEL forces the other). DET_WALK_NO_COLD sends every row through
   * det_apply_rows instead of the rows of few records through det_apply_cold. Every mode gives the same
   * order, so the same bits; tests compare them, and {@code fastembedding.cuda.detWalkMode} sets it for
   * benchmarks.
   */
  static volatile int detWalkMode = Integer.getInteger("fastembedding.cuda.detWalkMode", DET_WALK_DEFAULT);

  /**
   * Benchmark knob {@code fastembedding.cuda.detConcurrentApply} (default true): det_apply_rows runs on the
   * side stream beside det_apply_cold (they apply disjoint rows); false queues it after det_apply_cold on
   * the compute stream. Both give the same bits.
   */
  static volatile boolean detConcurrentApply =
      !"false".equals(System.getProperty("fastembedding.cuda.detConcurrentApply"));

  /**
   * Deterministic backward: the scatter in record mode (each tile's runs of equal indices summed in a
   * fixed order, written as records and linked per row; rows of more than DET_COLD_RECORDS records listed
   * as hot), then det_apply_cold (a lane walks each row of at most DET_COLD_RECORDS records) beside
   * det_apply_rows (the hot rows, a group of lanes each): each row's records summed in tile order and the
   * optimizer applied. On steps that may touch fewer than {@link #detColdMinRows} rows, det_apply_rows
   * alone applies every touched row.
   */
  private void scatterDeterministic(DeviceBuffer batch, StagingPipeline.Layout st, int count) {
    int tile = deterministicTile(count);
    int tilesPerField = (count + tile - 1) / tile;
    int maxList = tilesPerField;
    long maxTouched = Math.min((long) count * n, state.totalRows);
    boolean cold = (detWalkMode & KernelConstants.DET_WALK_NO_COLD) == 0 && maxTouched >= detColdMinRows;
    // a row has at most one record per tile: with no more tiles than DET_COLD_RECORDS, none is hot
    boolean hotRows = maxList > KernelConstants.DET_COLD_RECORDS;
    boolean fm = headType.factorized();
    kernels.scatter(tile, n * tilesPerField, state.tables.ptr(), fm ? state.firstOrder.ptr() : null, 1f,
        state.meta.ptr(), n, count, tilesPerField, batch.at(st.idxOff), implicitGrad ? 0 : 1, state.gy.ptr(),
        state.head.ptr(), implicitGrad ? null : state.grad.ptr(), sumDims, fm ? state.grad1.ptr() : null,
        state.counts.ptr(), 0, state.touchedFlag.ptr(), state.touchedList.ptr(), state.touchedCount.ptr(), 1,
        state.listHead.ptr(), state.recNext.ptr(), implicitGrad ? state.recS.ptr() : null,
        implicitGrad ? null : state.recG.ptr(), fm ? state.recS1.ptr() : null,
        cold && hotRows ? state.hotList.ptr() : null, cold && hotRows ? state.touchedCount.at(4) : null);
    // det_apply_rows' lanes per row: one per sub-list (they walk them at once), and enough for the widest
    // row to take one pass of DET_MAXF floats per lane; no more, since a group takes its rows one after the
    // other and each costs a few dependent loads (a warp per row on single d = 32 tables left 4 times fewer
    // rows in flight). Each warp's groups must also find their record lists room in shared memory.
    int g = 1;
    int want = DET_ROW_LANES > 0 ? DET_ROW_LANES
        : Math.max(KernelConstants.DET_SUBLISTS, (maxDim + DET_MAXF - 1) / DET_MAXF);
    while (g < 32 && g < want) {
      g <<= 1;
    }
    long groupBytes = detGroupBytes(maxList);
    while (g < 32 && (32L / g) * groupBytes > DET_LIST_SHARED_BYTES) {
      g <<= 1;
    }
    int rowLanes = g;
    Runnable rows = () -> {
      // the hot rows beside det_apply_cold (which clears their record counts), or every touched row
      long listed = cold ? Math.min(maxTouched, (long) count * n / (KernelConstants.DET_COLD_RECORDS + 1) + 1)
          : maxTouched;
      int perWarp = 32 / rowLanes;
      int groups = (int) Math.min(THREADS / rowLanes, DET_LIST_SHARED_BYTES / groupBytes);
      groups = Math.max(perWarp, groups / perWarp * perWarp);
      int blocks = (int) Math.max(1, Math.min((listed + groups - 1) / groups, 16L * ctx.multiprocessors));
      kernels.detApplyRows(blocks, groups * rowLanes, (int) (groups * groupBytes),
          cold ? state.hotList.ptr() : state.touchedList.ptr(),
          cold ? state.touchedCount.at(4) : state.touchedCount.ptr(), state.touchedFlag.ptr(), state.listHead.ptr(),
          state.recNext.ptr(), implicitGrad ? state.recS.ptr() : null, implicitGrad ? null : state.recG.ptr(),
          fm ? state.recS1.ptr() : null, count, sumDims, maxList, rowLanes, tile,
          detWalkMode & ~KernelConstants.DET_WALK_NO_COLD, cold ? 0 : 1, state.meta.ptr(), n, implicitGrad ? 0 : 1,
          state.head.ptr(), state.tables.ptr(), ptr(state.tableAccum), ptr(state.firstOrder), ptr(state.foAccum),
          opt, lr, eps);
    };
    if (!cold) {
      rows.run();
      return;
    }
    Runnable coldRows = () -> {
      // det_apply_cold: a lane walks each row of few records; a group of gc lanes applies it, DET_PASS_FLOATS
      // floats each per pass. The rules with a row statistic (row-wise Adagrad and Adam; kRowStat in
      // optim.cuh) sum its squares in a tree over the group's lanes, so they get det_apply_rows' g: a row
      // gives the same bits whichever kernel applies it.
      int gc = 1;
      while (gc < 32 && gc * DET_PASS_FLOATS < maxDim) {
        gc <<= 1;
      }
      if (rowStatRule) {
        gc = rowLanes;
      }
      // rows per warp: at most 4 for each group of the warp to apply in turn
      int r = Math.min(32, 4 * (32 / gc));
      long warps = (maxTouched + r - 1) / r;
      int coldBlocks = (int) Math.max(1, Math.min((warps + THREADS / 32 - 1) / (THREADS / 32),
          8L * ctx.multiprocessors));
      kernels.detApplyCold(coldBlocks, state.touchedList.ptr(), state.touchedCount.ptr(), state.touchedFlag.ptr(),
          state.listHead.ptr(), state.recNext.ptr(), implicitGrad ? state.recS.ptr() : null,
          implicitGrad ? null : state.recG.ptr(), fm ? state.recS1.ptr() : null, count, sumDims, gc, r,
          state.meta.ptr(), n, implicitGrad ? 0 : 1, state.head.ptr(), state.tables.ptr(), ptr(state.tableAccum),
          ptr(state.firstOrder), ptr(state.foAccum), opt, lr, eps);
    };
    if (!hotRows) {
      coldRows.run();
    } else if (detConcurrentApply) {
      streams.concurrently(rows, coldRows);
    } else {
      coldRows.run();
      rows.run();
    }
  }

  /**
   * Shared memory of one row group of det_apply_rows: a slot per tile of the row's sub-lists (rounded up
   * to whole sub-lists), the ordered records (maxList) and a count per sub-list.
   */
  static long detGroupBytes(int maxList) {
    int k = KernelConstants.DET_SUBLISTS;
    return 4L * ((long) k * ((maxList + k - 1) / k) + maxList + k);
  }

  private void finish(int count) {
    int chunks = (count + chunkRows(count) - 1) / chunkRows(count);
    int headBlocks = (headSize + THREADS / 32 - 1) / (THREADS / 32);
    boolean rows = hasState && !deterministic;
    int rowBlocks = 0;
    if (rows) {
      long maxTouched = Math.min((long) count * n, state.totalRows);
      rowBlocks = (int) Math.max(1, Math.min((maxTouched + 7) / 8, 4L * ctx.multiprocessors));
    }
    kernels.finishStep(headBlocks + 1 + rowBlocks, state.head.ptr(), ptr(state.headAccum), state.headPartials.ptr(),
        chunks, headSize, state.lossPartials.ptr(), chunks, state.lossAcc.ptr(), opt, lr, eps, headBlocks,
        state.tables.ptr(), ptr(state.tableAccum), rows ? state.gradScratch.ptr() : null, ptr(state.firstOrder),
        ptr(state.foAccum), rows ? ptr(state.foScratch) : null, rows ? state.touchedFlag.ptr() : null,
        rows ? state.touchedList.ptr() : null, rows ? state.touchedCount.ptr() : null, state.meta.ptr(), n);
  }

  // ------------------------------------------------------------------------------------------------
  // Plumbing

  static int gridFor(DeviceContext ctx, long items) {
    long blocks = (items + THREADS - 1) / THREADS;
    return (int) Math.max(1, Math.min(blocks, 16L * ctx.multiprocessors * 8));
  }

  /** A buffer's address, or null (nullptr) for a buffer this configuration does not have. */
  private static CUdeviceptr ptr(DeviceBuffer b) {
    return b == null ? null : b.ptr();
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
    resident.release();
    state.release();
    staging.release();
    streams.release();
  }
}
