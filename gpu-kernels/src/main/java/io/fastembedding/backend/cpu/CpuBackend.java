package io.fastembedding.backend.cpu;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.Optimizer;
import io.fastembedding.simd.FloatLanes;
import java.util.Arrays;

/**
 * The CPU backend: the reference semantics of docs/model.md on primitive arrays, multi-threaded.
 *
 * <p><b>Hogwild</b> ({@code deterministic = false}): each thread takes a contiguous share of the batch
 * and, row by row, gathers, runs the head and immediately applies that row's update to the embedding
 * rows it touched, reading values other threads may be writing (the CPU analogue of the GPU's
 * atomicAdd: races may lose part of an update on a colliding row, but a float is always written whole).
 * The dense head, which every row touches, is updated once per step from per-thread gradient sums.
 *
 * <p><b>Deterministic</b>: phase 1 computes every row's output gradient from the pre-step values in
 * fixed chunks of rows; phase 2 gives each embedding row to one owner thread (by a hash of the row),
 * which sums that row's occurrences in batch order and applies the optimizer once. Neither the order of
 * any sum nor any value depends on the thread count, so results are bit-identical for 1 or N threads.
 */
public final class CpuBackend implements Backend {
  /** The SIMD prefix of the owner phase's sum of a row's occurrence gradients (same bits; see FloatLanes). */
  private static final FloatLanes LANES = FloatLanes.active();
  /** Upper bound on the chunks a batch's head gradient is split into (deterministic mode). */
  private static final int MAX_CHUNKS = 64;
  /** Below this many rows, scoring runs on the calling thread only. */
  private static final int PARALLEL_SCORING_ROWS = 512;

  private final ModelSpec spec;
  private final BackendOptions options;
  private final TableLayout layout;
  private final int numFields;
  private final int sumDims;
  private final int[] dims;
  private final int[] tableOffsets;
  private final int[] dimOffsets;
  private final int[] rowBases;
  private final boolean fm;
  private final Optimizer rule;
  private final float l2;

  private final float[] tables;
  private final float[] firstOrder;
  private final float[] head;
  private final float[] tableAccum;
  private final float[] firstOrderAccum;
  private final float[] headAccum;
  private final int[] touchCounts;

  private final WorkerPool pool;
  private final Worker[] workers;
  private final float[] headGrad;
  /** Owner-phase slot of a row in the scalar row space, or -1 (deterministic mode). */
  private final int[] slotOf;
  private float[] gradBuf = new float[0];
  private float[] gyBuf = new float[0];
  private float[] chunkHeadGrad = new float[0];
  private double[] chunkLoss = new double[MAX_CHUNKS];
  private double[] chunkWeight = new double[MAX_CHUNKS];

  private double lossSum;
  private double weightSum;
  private long rowSum;
  private boolean closed;

  public CpuBackend(ModelSpec spec, BackendOptions options) {
    this(spec, options, ModelState.initial(spec));
  }

  /** A backend starting from {@code state} (copied). */
  public CpuBackend(ModelSpec spec, BackendOptions options, ModelState state) {
    this.spec = spec;
    this.options = options;
    this.layout = spec.layout();
    numFields = layout.numFields();
    sumDims = layout.sumDims();
    dims = layout.dims();
    tableOffsets = new int[numFields];
    dimOffsets = new int[numFields];
    rowBases = new int[numFields];
    for (int f = 0; f < numFields; f++) {
      tableOffsets[f] = Math.toIntExact(layout.offset(f));
      dimOffsets[f] = layout.dimOffset(f);
      rowBases[f] = Math.toIntExact(layout.rowBase(f));
    }
    fm = spec.hasFirstOrder();
    rule = spec.optimizer().rule();
    l2 = spec.optimizer().l2();
    if (!state.spec.equals(spec)) {
      throw new IllegalArgumentException("the state's spec differs from the backend's: "
          + state.spec + " vs " + spec);
    }
    ModelState s = state.copy();
    tables = s.tables;
    firstOrder = s.firstOrder;
    head = s.head;
    tableAccum = s.tableAccum;
    firstOrderAccum = s.firstOrderAccum;
    headAccum = s.headAccum;
    touchCounts = new int[Math.toIntExact(layout.totalRows())];
    int threads = options.effectiveThreads();
    pool = new WorkerPool(threads, "fast-embedding-cpu");
    workers = new Worker[threads];
    for (int t = 0; t < threads; t++) {
      workers[t] = new Worker();
    }
    headGrad = new float[spec.headSize()];
    if (options.deterministic()) {
      slotOf = new int[touchCounts.length];
      Arrays.fill(slotOf, -1);
    } else {
      slotOf = null;
    }
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public String device() {
    return "cpu(" + pool.threads() + " thread" + (pool.threads() == 1 ? "" : "s")
        + (options.deterministic() ? ", deterministic" : ", hogwild") + ", "
        + LANES.describe() + ")";
  }

  // ------------------------------------------------------------------ training

  @Override
  public void trainStep(RowBlock block, int start, int count) {
    checkOpen();
    checkRange(block, start, count);
    if (count == 0) {
      return;
    }
    if (options.deterministic()) {
      stepDeterministic(block, start, count);
    } else {
      stepHogwild(block, start, count);
    }
    rowSum += count;
  }

  private void stepHogwild(RowBlock b, int start, int count) {
    int threads = pool.threads();
    float invB = 1f / count;
    pool.run(t -> {
      Worker w = workers[t];
      // exact touch counts without races: each thread counts whole fields
      for (int f = t; f < numFields; f += threads) {
        int base = rowBases[f];
        for (int r = start; r < start + count; r++) {
          touchCounts[base + b.indices[r * numFields + f]]++;
        }
      }
      Arrays.fill(w.headGrad, 0f);
      w.loss = 0;
      w.weight = 0;
      int lo = start + (int) ((long) count * t / threads);
      int hi = start + (int) ((long) count * (t + 1) / threads);
      RowMath m = w.math;
      float[] g = m.inputGrad;
      for (int r = lo; r < hi; r++) {
        int ib = r * numFields;
        m.gather(tables, b.indices, ib, b.numeric, r * b.numNumeric);
        float y = m.forward(head, firstOrder, b.indices, ib);
        float t0 = b.labels[r];
        float wr = b.weights == null ? 1f : b.weights[r];
        float gy = wr * m.lossGrad(y, t0) * invB;
        w.loss += wr * (double) m.lastLoss;
        w.weight += wr;
        m.backward(gy, head, w.headGrad, 0);
        for (int f = 0; f < numFields; f++) {
          int x = b.indices[ib + f];
          updateRow(f, x, g, dimOffsets[f], 1, invB);
          if (fm) {
            updateFirstOrder(rowBases[f] + x, gy, 1, invB);
          }
        }
      }
      m.finishHeadGrad(w.headGrad, 0);
    });
    for (int t = 0; t < threads; t++) {
      Worker w = workers[t];
      lossSum += w.loss;
      weightSum += w.weight;
      if (t == 0) {
        System.arraycopy(w.headGrad, 0, headGrad, 0, headGrad.length);
      } else {
        float[] hg = w.headGrad;
        for (int i = 0; i < headGrad.length; i++) {
          headGrad[i] += hg[i];
        }
      }
    }
    updateHead(0, headGrad.length);
  }

  private void stepDeterministic(RowBlock b, int start, int count) {
    int threads = pool.threads();
    int hs = headGrad.length;
    int chunks = Math.min(MAX_CHUNKS, (count + 63) / 64);
    int chunkRows = (count + chunks - 1) / chunks;
    chunks = (count + chunkRows - 1) / chunkRows;
    ensureDeterministicBuffers(count, chunks, hs);
    float invB = 1f / count;
    int nc = chunks;
    // phase 1: outputs and gradients from the pre-step values, nothing written to the model
    pool.run(t -> {
      Worker w = workers[t];
      RowMath m = w.math;
      for (int c = t; c < nc; c += threads) {
        int off = c * hs;
        Arrays.fill(chunkHeadGrad, off, off + hs, 0f);
        double loss = 0;
        double weight = 0;
        int lo = c * chunkRows;
        int hi = Math.min(count, lo + chunkRows);
        for (int i = lo; i < hi; i++) {
          int r = start + i;
          int ib = r * numFields;
          m.gather(tables, b.indices, ib, b.numeric, r * b.numNumeric);
          float y = m.forward(head, firstOrder, b.indices, ib);
          float t0 = b.labels[r];
          float wr = b.weights == null ? 1f : b.weights[r];
          float gy = wr * m.lossGrad(y, t0) * invB;
          loss += wr * (double) m.lastLoss;
          weight += wr;
          gyBuf[i] = gy;
          m.backward(gy, head, chunkHeadGrad, off);
          System.arraycopy(m.inputGrad, 0, gradBuf, i * sumDims, sumDims);
        }
        m.finishHeadGrad(chunkHeadGrad, off);
        chunkLoss[c] = loss;
        chunkWeight[c] = weight;
      }
    });
    for (int c = 0; c < nc; c++) {
      lossSum += chunkLoss[c];
      weightSum += chunkWeight[c];
    }
    // phase 2: head slices and owned embedding rows, each summed in a fixed order
    pool.run(t -> {
      int lo = (int) ((long) hs * t / threads);
      int hi = (int) ((long) hs * (t + 1) / threads);
      for (int i = lo; i < hi; i++) {
        float s = 0f;
        for (int c = 0; c < nc; c++) {
          s += chunkHeadGrad[c * hs + i];
        }
        headGrad[i] = s;
      }
      updateHead(lo, hi);
      applyOwnedRows(workers[t], t, threads, b, start, count, invB);
    });
  }

  private void applyOwnedRows(Worker w, int t, int threads, RowBlock b, int start, int count,
      float invB) {
    for (int f = 0; f < numFields; f++) {
      int dim = dims[f];
      int dOff = dimOffsets[f];
      int base = rowBases[f];
      w.ensureSlots(count, dim);
      int used = 0;
      int[] slotRow = w.slotRow;
      int[] slotCount = w.slotCount;
      float[] slotGrad = w.slotGrad;
      float[] slotGy = w.slotGy;
      for (int i = 0; i < count; i++) {
        int x = b.indices[(start + i) * numFields + f];
        if (threads > 1 && owner(f, x, threads) != t) {
          continue;
        }
        int s = slotOf[base + x];
        int go = i * sumDims + dOff;
        if (s < 0) {
          s = used++;
          slotOf[base + x] = s;
          slotRow[s] = x;
          slotCount[s] = 1;
          System.arraycopy(gradBuf, go, slotGrad, s * dim, dim);
          slotGy[s] = gyBuf[i];
        } else {
          slotCount[s]++;
          int so = s * dim;
          for (int k = LANES.addTo(gradBuf, go, slotGrad, so, dim); k < dim; k++) {
            slotGrad[so + k] += gradBuf[go + k];
          }
          slotGy[s] += gyBuf[i];
        }
      }
      for (int s = 0; s < used; s++) {
        int x = slotRow[s];
        updateRow(f, x, slotGrad, s * dim, slotCount[s], invB);
        if (fm) {
          updateFirstOrder(base + x, slotGy[s], slotCount[s], invB);
        }
        touchCounts[base + x] += slotCount[s];
        slotOf[base + x] = -1;
      }
    }
  }

  private static int owner(int field, int row, int threads) {
    int h = (row * 0x9E3779B1) ^ (field * 0x85EBCA6B);
    h ^= h >>> 15;
    return (h & 0x7fffffff) % threads;
  }

  /**
   * Applies the optimizer to row x of field f: its summed occurrence gradient is
   * {@code grad[gOff, gOff + dim)}, plus {@code count} occurrences of the L2 term {@code l2/B * row}.
   */
  private void updateRow(int f, int x, float[] grad, int gOff, int count, float invB) {
    int dim = dims[f];
    int base = tableOffsets[f] + x * dim;
    rule.updateRow(tables, base, dim, tableAccum, rule.tableStateIndex(base, rowBases[f] + x), grad, gOff,
        l2 * count * invB);
  }

  private void updateFirstOrder(int ri, float gySum, int count, float invB) {
    rule.updateElement(firstOrder, ri, firstOrderAccum, gySum + l2 * count * invB * firstOrder[ri]);
  }

  private void updateHead(int lo, int hi) {
    for (int i = lo; i < hi; i++) {
      rule.updateElement(head, i, headAccum, headGrad[i]);
    }
  }

  private void ensureDeterministicBuffers(int count, int chunks, int hs) {
    if (gradBuf.length < count * sumDims) {
      gradBuf = new float[count * sumDims];
    }
    if (gyBuf.length < count) {
      gyBuf = new float[count];
    }
    if (chunkHeadGrad.length < chunks * hs) {
      chunkHeadGrad = new float[chunks * hs];
    }
  }

  @Override
  public LossSum drainLoss() {
    LossSum s = new LossSum(lossSum, weightSum, rowSum);
    lossSum = 0;
    weightSum = 0;
    rowSum = 0;
    return s;
  }

  // ------------------------------------------------------------------ scoring

  @Override
  public void predict(RowBlock b, int start, int count, float[] out, int outOffset) {
    checkOpen();
    checkRange(b, start, count);
    scoreRows(count, (w, lo, hi) -> {
      RowMath m = w.math;
      for (int i = lo; i < hi; i++) {
        int r = start + i;
        int ib = r * numFields;
        m.gather(tables, b.indices, ib, b.numeric, r * b.numNumeric);
        out[outOffset + i] = m.prediction(m.forward(head, firstOrder, b.indices, ib));
      }
    });
  }

  @Override
  public void embed(RowBlock b, int start, int count, float[] out, int outOffset) {
    checkOpen();
    checkRange(b, start, count);
    scoreRows(count, (w, lo, hi) -> {
      for (int i = lo; i < hi; i++) {
        int ib = (start + i) * numFields;
        int o = outOffset + i * sumDims;
        for (int f = 0; f < numFields; f++) {
          int dim = dims[f];
          System.arraycopy(tables, tableOffsets[f] + b.indices[ib + f] * dim, out, o + dimOffsets[f],
              dim);
        }
      }
    });
  }

  private interface RangeBody {
    void run(Worker w, int lo, int hi);
  }

  private void scoreRows(int count, RangeBody body) {
    int threads = pool.threads();
    if (count < PARALLEL_SCORING_ROWS || threads == 1) {
      body.run(workers[0], 0, count);
      return;
    }
    pool.run(t -> body.run(workers[t], (int) ((long) count * t / threads),
        (int) ((long) count * (t + 1) / threads)));
  }

  // ------------------------------------------------------------------ state

  @Override
  public ModelState exportState() {
    checkOpen();
    return new ModelState(spec, tables, firstOrder, head, tableAccum, firstOrderAccum, headAccum)
        .copy();
  }

  @Override
  public void importState(ModelState s) {
    checkOpen();
    if (!s.spec.equals(spec)) {
      throw new IllegalArgumentException("cannot import a state of another model: " + s.spec
          + " into " + spec);
    }
    System.arraycopy(s.tables, 0, tables, 0, tables.length);
    System.arraycopy(s.firstOrder, 0, firstOrder, 0, firstOrder.length);
    System.arraycopy(s.head, 0, head, 0, head.length);
    System.arraycopy(s.tableAccum, 0, tableAccum, 0, tableAccum.length);
    System.arraycopy(s.firstOrderAccum, 0, firstOrderAccum, 0, firstOrderAccum.length);
    System.arraycopy(s.headAccum, 0, headAccum, 0, headAccum.length);
    Arrays.fill(touchCounts, 0);
  }

  @Override
  public TouchedRows exportTouched(boolean reset) {
    checkOpen();
    int[][] rows = new int[numFields][];
    int[][] counts = new int[numFields][];
    float[][] values = new float[numFields][];
    float[][] fo = fm ? new float[numFields][] : null;
    boolean state = rule.hasElementState();
    float[][] acc = state ? new float[numFields][] : null;
    float[][] foAcc = state && fm ? new float[numFields][] : null;
    for (int f = 0; f < numFields; f++) {
      int base = rowBases[f];
      int size = layout.size(f);
      int n = 0;
      for (int x = 0; x < size; x++) {
        if (touchCounts[base + x] != 0) {
          n++;
        }
      }
      int dim = dims[f];
      int per = spec.optimizer().stateFloatsPerRow(dim);
      int[] rs = new int[n];
      int[] cs = new int[n];
      float[] vs = new float[n * dim];
      float[] fs = fo != null ? new float[n] : null;
      float[] as = acc != null ? new float[n * per] : null;
      float[] fas = foAcc != null ? new float[n] : null;
      int j = 0;
      for (int x = 0; x < size; x++) {
        int c = touchCounts[base + x];
        if (c == 0) {
          continue;
        }
        rs[j] = x;
        cs[j] = c;
        System.arraycopy(tables, tableOffsets[f] + x * dim, vs, j * dim, dim);
        if (fs != null) {
          fs[j] = firstOrder[base + x];
        }
        if (as != null) {
          int src = rule.tableStateIndex(tableOffsets[f] + x * dim, base + x);
          System.arraycopy(tableAccum, src, as, j * per, per);
        }
        if (fas != null) {
          fas[j] = firstOrderAccum[base + x];
        }
        if (reset) {
          touchCounts[base + x] = 0;
        }
        j++;
      }
      rows[f] = rs;
      counts[f] = cs;
      values[f] = vs;
      if (fo != null) {
        fo[f] = fs;
      }
      if (acc != null) {
        acc[f] = as;
      }
      if (foAcc != null) {
        foAcc[f] = fas;
      }
    }
    return new TouchedRows(spec, rows, counts, values, fo, acc, foAcc, head.clone(),
        state ? headAccum.clone() : null);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      pool.close();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this CPU backend is closed");
    }
  }

  private void checkRange(RowBlock b, int start, int count) {
    if (start < 0 || count < 0 || start + count > b.rows) {
      throw new IndexOutOfBoundsException("rows [" + start + ", " + (start + count)
          + ") are outside the block of " + b.rows + " rows");
    }
    if (b.numFields != numFields || b.numNumeric != spec.numNumeric()) {
      throw new IllegalArgumentException("the block has " + b.numFields + " fields and "
          + b.numNumeric + " numeric features; the model has " + numFields + " and "
          + spec.numNumeric());
    }
  }

  /** The scratch of one thread. */
  private final class Worker {
    final RowMath math = new RowMath(spec);
    final float[] headGrad = new float[spec.headSize()];
    double loss;
    double weight;
    int[] slotRow = new int[0];
    int[] slotCount = new int[0];
    float[] slotGrad = new float[0];
    float[] slotGy = new float[0];

    void ensureSlots(int rows, int dim) {
      if (slotRow.length < rows) {
        slotRow = new int[rows];
        slotCount = new int[rows];
        slotGy = new float[rows];
      }
      if (slotGrad.length < rows * dim) {
        slotGrad = new float[rows * dim];
      }
    }
  }
}
