package io.fastembedding.backend.cuda;

import io.fastembedding.backend.TouchedRows;
import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.Optimizer;
import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

/**
 * What one backend keeps on its device: the model and optimizer state, the field metadata, and the
 * step's work buffers (batch-sized ones only grow); and the copies of the state in and out
 * ({@link #write}, {@link #export}, {@link #exportTouched}). The step's kernels read and write these
 * buffers directly (CudaBackend).
 */
final class DeviceState {
  private final ModelSpec spec;
  private final DeviceStreams streams;
  private final DeviceContext ctx;
  private final Kernels kernels;
  private final TableLayout layout;
  private final int n;
  private final int sumDims;
  private final int inputWidth;
  private final int headSize;
  private final HeadType headType;
  private final boolean hasState;
  private final boolean deterministic;
  private final boolean implicitGrad;
  private final int[] hidden;
  final int totalRows;
  final int numSlots;
  private final List<DeviceBuffer> all = new ArrayList<>();

  // model
  final DeviceBuffer tables;
  final DeviceBuffer firstOrder;
  final DeviceBuffer head;
  final DeviceBuffer tableAccum;
  final DeviceBuffer foAccum;
  final DeviceBuffer headAccum;
  final DeviceBuffer counts;
  final DeviceBuffer gradScratch;
  final DeviceBuffer foScratch;
  final DeviceBuffer touchedFlag;
  final DeviceBuffer touchedCount;
  final DeviceBuffer lossAcc;
  final DeviceBuffer meta;
  final DeviceBuffer slots;

  // batch-sized, grow-only
  final DeviceBuffer touchedList;
  /** Deterministic mode: the rows of more records than det_apply_cold takes (the scatter lists them). */
  final DeviceBuffer hotList;
  final DeviceBuffer gy;
  final DeviceBuffer grad;
  final DeviceBuffer grad1;
  final DeviceBuffer headPartials;
  final DeviceBuffer lossPartials;
  final DeviceBuffer predOut;
  final DeviceBuffer hbuf;
  final DeviceBuffer[] act;
  final DeviceBuffer[] dz = new DeviceBuffer[2];
  /** Deterministic mode: per row id, its last pushed record (-1 between steps). */
  final DeviceBuffer listHead;
  /** Deterministic mode, per record (field x batch position): the next record of its row's list. */
  final DeviceBuffer recNext;
  /** Deterministic mode, per record: the run's sum of gy (implicit gradients). */
  final DeviceBuffer recS;
  /** Deterministic mode: the runs' gradient rows (B x sumDims, explicit gradients). */
  final DeviceBuffer recG;
  /** Deterministic mode, per record: the run's first-order gradient (fm). */
  final DeviceBuffer recS1;
  final DeviceBuffer exportRows;
  final DeviceBuffer exportOut;
  private final int[][] metaHost;

  /**
   * Allocates every buffer (batch-sized ones empty); {@link #initialise} fills them. On failure it
   * frees what it allocated.
   */
  DeviceState(ModelSpec spec, DeviceStreams streams, Kernels kernels, boolean deterministic, boolean implicitGrad) {
    this.spec = spec;
    this.streams = streams;
    this.ctx = streams.ctx;
    this.kernels = kernels;
    this.layout = spec.layout();
    this.n = spec.numFields();
    this.sumDims = layout.sumDims();
    this.inputWidth = spec.headInputWidth();
    this.headSize = spec.headSize();
    this.headType = spec.head();
    this.hasState = spec.optimizer().hasState();
    this.deterministic = deterministic;
    this.implicitGrad = implicitGrad;
    this.hidden = spec.hiddenLayers();
    this.totalRows = Math.toIntExact(layout.totalRows());
    long totalFloats = layout.totalFloats();
    boolean fm = headType.factorized();
    boolean scratch = hasState && !deterministic;
    Optimizer rule = spec.optimizer().rule();
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
      // atomic Adagrad's touched rows; deterministic mode's first push of a row in a step
      touchedFlag = scratch || deterministic ? buf("touchedFlag", totalRows * 4L) : null;
      // [0] the rows the step touched; [1] deterministic mode's hot rows (hotList)
      touchedCount = buf("touchedCount", 8);
      lossAcc = buf("lossAcc", 16);
      metaHost = buildMeta();
      meta = buf("fieldMeta", metaHost[0].length * 4L);
      numSlots = metaHost[1].length / 4;
      slots = buf("gatherSlots", metaHost[1].length * 4L);
      touchedList = buf("touchedList", 0);
      hotList = buf("detHotRows", 0);
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
      listHead = deterministic ? buf("detListHead", totalRows * 4L * KernelConstants.DET_SUBLISTS) : null;
      recNext = buf("detRecordNext", 0);
      recS = buf("detRecordGy", 0);
      recG = buf("detRecordGrad", 0);
      recS1 = buf("detRecordFirstOrder", 0);
      exportRows = buf("exportRows", 0);
      exportOut = buf("exportOut", 0);
    } catch (RuntimeException e) {
      release();
      throw e;
    }
  }

  private DeviceBuffer buf(String name, long bytes) {
    DeviceBuffer b = new DeviceBuffer(ctx, name, bytes);
    all.add(b);
    return b;
  }

  /** Uploads the field metadata, clears the scratch and counters, and writes {@code initial} (queued). */
  void initialise(ModelState initial) {
    boolean scratch = hasState && !deterministic;
    long totalFloats = layout.totalFloats();
    int[][] ms = metaHost;
    Cu.check(JCudaDriver.cuMemcpyHtoD(meta.ptr(), Pointer.to(ms[0]), ms[0].length * 4L), "cuMemcpyHtoD",
        "field metadata on " + ctx.describe());
    Cu.check(JCudaDriver.cuMemcpyHtoD(slots.ptr(), Pointer.to(ms[1]), ms[1].length * 4L), "cuMemcpyHtoD",
        "gather slots on " + ctx.describe());
    streams.syncUploads("uploading field metadata");
    if (scratch) {
      streams.memset(gradScratch, totalFloats * 4);
      streams.memset(touchedFlag, totalRows * 4L);
      if (foScratch != null) {
        streams.memset(foScratch, totalRows * 4L);
      }
    }
    if (listHead != null) {
      streams.memset(touchedFlag, totalRows * 4L);
      Cu.check(JCudaDriver.cuMemsetD32Async(listHead.ptr(), -1, (long) totalRows * KernelConstants.DET_SUBLISTS,
          streams.compute), "cuMemsetD32Async",
          "buffer '" + listHead.name + "' on " + ctx.describe());
    }
    streams.memset(touchedCount, 8);
    streams.memset(lossAcc, 16);
    write(initial);
  }

  /** Field metadata (see KernelConstants.META_* and common.cuh) and gather slots (see forward.cuh). */
  private int[][] buildMeta() {
    int[] m = new int[KernelConstants.META_ENTRIES * n];
    List<int[]> sl = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int d = layout.dim(i);
      int v = d % 4 == 0 ? 4 : d % 2 == 0 ? 2 : 1;
      int dimOff = layout.dimOffset(i);
      m[KernelConstants.META_DIM * n + i] = d;
      m[KernelConstants.META_DIMOFF * n + i] = dimOff;
      m[KernelConstants.META_ROWBASE * n + i] = Math.toIntExact(layout.rowBase(i));
      m[KernelConstants.META_SIZE * n + i] = layout.size(i);
      m[KernelConstants.META_VEC * n + i] = v;
      m[KernelConstants.META_TABLEOFF * n + i] = Math.toIntExact(layout.offset(i));
      m[KernelConstants.META_GVEC * n + i] = (sumDims % v == 0 && dimOff % v == 0) ? v : 1;
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

  /**
   * Grows the batch-sized work buffers to {@code rows} rows; {@code maxChunks} bounds the head-gradient
   * partials.
   */
  void ensureWorkspace(long rows, int maxChunks) {
    gy.ensure(rows * 4);
    boolean explicit = !implicitGrad;
    if (explicit) {
      grad.ensure(rows * sumDims * 4);
    }
    if (headType.factorized()) {
      grad1.ensure(rows * n * 4);
    }
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
      recNext.ensure(occ * 4);
      if (implicitGrad) {
        recS.ensure(occ * 4);
      } else {
        recG.ensure(rows * sumDims * 4);
      }
      if (headType.factorized()) {
        recS1.ensure(occ * 4);
      }
      touchedList.ensure(Math.min(occ, totalRows) * 4);
      // a hot row has more than DET_COLD_RECORDS records, one per run of a tile
      hotList.ensure(Math.min(occ / (KernelConstants.DET_COLD_RECORDS + 1) + 1, totalRows) * 4);
    } else if (hasState) {
      touchedList.ensure(Math.min(occ, totalRows) * 4);
    }
  }

  /** The loss sums (loss, weight) since the last call, read after the compute stream drained; then zeroed. */
  double[] drainLossSums() {
    double[] acc = new double[2];
    Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(acc), lossAcc.ptr(), 16), "cuMemcpyDtoH",
        "loss sums from " + ctx.describe());
    streams.memset(lossAcc, 16);
    return acc;
  }

  // ------------------------------------------------------------------------------------------------
  // Import and export (the caller has synchronised the streams)

  private ModelState emptyState() {
    TableLayout l = layout;
    boolean fm = headType.factorized();
    int fo = fm ? totalRows : 0;
    int tacc = Math.toIntExact(spec.optimizer().rule().tableStateLength(l));
    return new ModelState(spec, new float[Math.toIntExact(l.totalFloats())], new float[fo],
        new float[headSize], new float[tacc], new float[hasState ? fo : 0], new float[hasState ? headSize : 0]);
  }

  /** Writes {@code s} to the device and clears the touch counts (the clear is queued on the compute stream). */
  void write(ModelState s) {
    upload(tables, s.tables);
    upload(firstOrder, s.firstOrder);
    upload(head, s.head);
    upload(tableAccum, s.tableAccum);
    upload(foAccum, s.firstOrderAccum);
    upload(headAccum, s.headAccum);
    streams.syncUploads("uploading the model");
    streams.memset(counts, totalRows * 4L);
  }

  /** The whole state, copied back. */
  ModelState export() {
    ModelState init = emptyState();
    download(tables, init.tables);
    download(firstOrder, init.firstOrder);
    download(head, init.head);
    download(tableAccum, init.tableAccum);
    download(foAccum, init.firstOrderAccum);
    download(headAccum, init.headAccum);
    return init;
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

  /**
   * The rows touched since the last reset, their counts and their values and state: the touch counts
   * come back whole, the rows are selected on the host and gathered on the device.
   */
  TouchedRows exportTouched(boolean reset) {
    int[] c = new int[totalRows];
    Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(c), counts.ptr(), totalRows * 4L), "cuMemcpyDtoH",
        "touch counts from " + ctx.describe());
    boolean fm = headType.factorized();
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
        streams.syncUploads("uploading the touched row list");
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
      streams.memset(counts, totalRows * 4L);
      streams.syncCompute("clearing touch counts");
    }
    return new TouchedRows(spec, rows, cnt, values, fo, acc, foAcc, h, ha);
  }

  /** Copies {@code width} floats of each row listed in exportRows (m rows) from src + offset. */
  private float[] gatherRows(DeviceBuffer src, long offsetFloats, int width, int m) {
    float[] out = new float[m * width];
    if (m == 0) {
      return out;
    }
    exportOut.ensure((long) m * width * 4);
    kernels.gatherListedRows(CudaBackend.gridFor(ctx, (long) m * width), src.ptr(), offsetFloats, width,
        exportRows.ptr(), m, exportOut.ptr());
    streams.syncCompute("gathering touched rows of '" + src.name + "'");
    download(exportOut, out);
    return out;
  }

  void release() {
    for (DeviceBuffer b : all) {
      b.free();
    }
  }
}
