package io.fastembedding.backend.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * Typed host wrappers of the kernels: one method per kernel of src/main/cuda, whose parameters after
 * the launch shape are the kernel's, in its order, with its names and types (a pointer is a
 * {@link CUdeviceptr}, null for nullptr; {@code int} is a 32-bit int, {@code long} a {@code long long},
 * {@code float} a float). {@code KernelSignatureTest} checks every wrapper against the committed PTX of
 * both architectures and against the CUDA sources, without a GPU.
 *
 * <p>A wrapper only packs its arguments; the {@link Launcher} launches them (CudaBackend: on its compute
 * stream, with its error reporting; the test: a recorder).
 */
final class Kernels {
  /** Threads per block of every launch but det_apply_rows. */
  static final int THREADS = KernelConstants.KERNEL_THREADS;

  /** The kernels these wrappers launch: resolved when a backend opens, checked against the PTX. */
  static final String[] NAMES = {"gather_concat", "linear_forward", "linear_forward_lanes", "fm_forward",
      "gemm_tiled", "mlp_output", "scatter_atomic_256", "scatter_atomic_1024", "finish_step", "det_apply_rows",
      "det_apply_rows_adam", "det_apply_cold", "det_apply_cold_adam", "gather_listed_rows", "epoch_gather"};

  /** The kind of one kernel parameter. */
  enum Kind {
    PTR, I32, I64, F32
  }

  /** The packed arguments of one launch, in the kernel's parameter order. */
  static final class Args {
    final Kind[] kinds;
    final Object[] values;
    private int size;

    Args(int count) {
      kinds = new Kind[count];
      values = new Object[count];
    }

    int size() {
      return size;
    }

    Args ptr(CUdeviceptr p) {
      return add(Kind.PTR, p);
    }

    Args i32(int v) {
      return add(Kind.I32, v);
    }

    Args i64(long v) {
      return add(Kind.I64, v);
    }

    Args f32(float v) {
      return add(Kind.F32, v);
    }

    private Args add(Kind kind, Object v) {
      kinds[size] = kind;
      values[size++] = v;
      return this;
    }
  }

  /** Launches a kernel: grid gx x gy x gz of {@code block} threads with {@code smem} bytes of dynamic shared memory. */
  interface Launcher {
    void launch(String kernel, int gx, int gy, int gz, int block, int smem, Args args);
  }

  private final Launcher launcher;

  Kernels(Launcher launcher) {
    this.launcher = launcher;
  }

  /** forward.cuh: gathers every field's row of B batch rows (and the k numeric features) into out. */
  void gatherConcat(int grid, CUdeviceptr tables, CUdeviceptr meta, CUdeviceptr slots, int numSlots, int n,
      int sumDims, int k, CUdeviceptr idx, CUdeviceptr numeric, int B, CUdeviceptr out, CUdeviceptr touchedCount) {
    launcher.launch("gather_concat", grid, 1, 1, THREADS, 0, new Args(12).ptr(tables).ptr(meta).ptr(slots)
        .i32(numSlots).i32(n).i32(sumDims).i32(k).ptr(idx).ptr(numeric).i32(B).ptr(out).ptr(touchedCount));
  }

  /** forward.cuh: the fused forward (and, in MODE_TRAIN, loss and gradients) of the linear head. */
  void linearForward(int chunks, int smem, CUdeviceptr tables, CUdeviceptr meta, CUdeviceptr slots, int numSlots,
      int n, int sumDims, int k, CUdeviceptr idx, CUdeviceptr numeric, CUdeviceptr labels, CUdeviceptr weights,
      CUdeviceptr head, int B, int chunkRows, int tileRows, int mode, int lossType, float invB, float lambdaOverB,
      int writeG, CUdeviceptr gyOut, CUdeviceptr Gout, CUdeviceptr headPartials, CUdeviceptr lossPartials,
      CUdeviceptr predOut, CUdeviceptr touchedCount) {
    launcher.launch("linear_forward", chunks, 1, 1, THREADS, smem, new Args(26).ptr(tables).ptr(meta).ptr(slots)
        .i32(numSlots).i32(n).i32(sumDims).i32(k).ptr(idx).ptr(numeric).ptr(labels).ptr(weights).ptr(head).i32(B)
        .i32(chunkRows).i32(tileRows).i32(mode).i32(lossType).f32(invB).f32(lambdaOverB).i32(writeG).ptr(gyOut)
        .ptr(Gout).ptr(headPartials).ptr(lossPartials).ptr(predOut).ptr(touchedCount));
  }

  /**
   * forward.cuh: linear_forward for rows of at most 32 * slotsPerLane (1 or 2) slots and numeric features, P
   * lanes per row (a power of two, 32 with two slots a lane); {@code smem} = (THREADS / 32) * (sumDims + k + 1)
   * floats.
   */
  void linearForwardLanes(int chunks, int smem, CUdeviceptr tables, CUdeviceptr meta, CUdeviceptr slots,
      int numSlots, int n, int sumDims, int k, CUdeviceptr idx, CUdeviceptr numeric, CUdeviceptr labels,
      CUdeviceptr weights, CUdeviceptr head, int B, int chunkRows, int slotsPerLane, int P, int mode, int lossType,
      float invB, float lambdaOverB, int writeG, CUdeviceptr gyOut, CUdeviceptr Gout, CUdeviceptr headPartials,
      CUdeviceptr lossPartials, CUdeviceptr predOut, CUdeviceptr touchedCount) {
    launcher.launch("linear_forward_lanes", chunks, 1, 1, THREADS, smem, new Args(27).ptr(tables).ptr(meta)
        .ptr(slots).i32(numSlots).i32(n).i32(sumDims).i32(k).ptr(idx).ptr(numeric).ptr(labels).ptr(weights)
        .ptr(head).i32(B).i32(chunkRows).i32(slotsPerLane).i32(P).i32(mode).i32(lossType).f32(invB).f32(lambdaOverB)
        .i32(writeG).ptr(gyOut).ptr(Gout).ptr(headPartials).ptr(lossPartials).ptr(predOut).ptr(touchedCount));
  }

  /**
   * forward.cuh: the fused forward (and, in MODE_TRAIN, loss and gradients) of the fm head, or with
   * {@code pairOff > 0} of the fwfm head, whose pair weights start there in the head.
   */
  void fmForward(int chunks, int smem, CUdeviceptr tables, CUdeviceptr firstOrder, CUdeviceptr meta,
      CUdeviceptr slots, int numSlots, int n, int d, int k, CUdeviceptr idx, CUdeviceptr numeric,
      CUdeviceptr labels, CUdeviceptr weights, CUdeviceptr head, int pairOff, int B, int chunkRows, int tileRows,
      int mode, int lossType, float invB, float lambdaOverB, CUdeviceptr gyOut, CUdeviceptr Gout, CUdeviceptr G1out,
      CUdeviceptr headPartials, CUdeviceptr lossPartials, CUdeviceptr predOut, CUdeviceptr touchedCount) {
    launcher.launch("fm_forward", chunks, 1, 1, THREADS, smem, new Args(28).ptr(tables).ptr(firstOrder).ptr(meta)
        .ptr(slots).i32(numSlots).i32(n).i32(d).i32(k).ptr(idx).ptr(numeric).ptr(labels).ptr(weights).ptr(head)
        .i32(pairOff).i32(B).i32(chunkRows).i32(tileRows).i32(mode).i32(lossType).f32(invB).f32(lambdaOverB).ptr(gyOut)
        .ptr(Gout).ptr(G1out).ptr(headPartials).ptr(lossPartials).ptr(predOut).ptr(touchedCount));
  }

  /**
   * mlp.cuh: C = op(A) op(B) with epilogue {@code epi} (KernelConstants.EPI_*), M x N over GEMM_BM x
   * GEMM_BN tiles, {@code zCount} row chunks of kChunk for EPI_WEIGHT_PART.
   */
  void gemmTiled(int zCount, int M, int N, int K, CUdeviceptr A, int lda, int ta, CUdeviceptr Bm, int ldb,
      int tb, int onesCol, int epi, CUdeviceptr bias, CUdeviceptr C, int ldc, CUdeviceptr aux, int auxLd,
      float lambdaOverB, int kChunk, long partialStride, int woff, int coff) {
    int gx = (N + KernelConstants.GEMM_BN - 1) / KernelConstants.GEMM_BN;
    int gy = (M + KernelConstants.GEMM_BM - 1) / KernelConstants.GEMM_BM;
    launcher.launch("gemm_tiled", gx, gy, zCount, THREADS, 0, new Args(21).i32(M).i32(N).i32(K).ptr(A).i32(lda)
        .i32(ta).ptr(Bm).i32(ldb).i32(tb).i32(onesCol).i32(epi).ptr(bias).ptr(C).i32(ldc).ptr(aux).i32(auxLd)
        .f32(lambdaOverB).i32(kChunk).i64(partialStride).i32(woff).i32(coff));
  }

  /** mlp.cuh: the output unit of the mlp head, its loss and the gradient into the last hidden layer. */
  void mlpOutput(int chunks, CUdeviceptr gL, int HL, CUdeviceptr head, int woff, CUdeviceptr labels,
      CUdeviceptr weights, int B, int chunkRows, int mode, int lossType, float invB, CUdeviceptr gy,
      CUdeviceptr dZ, CUdeviceptr headPartials, int HS, CUdeviceptr lossPartials, CUdeviceptr predOut) {
    launcher.launch("mlp_output", chunks, 1, 1, THREADS, 0, new Args(17).ptr(gL).i32(HL).ptr(head).i32(woff)
        .ptr(labels).ptr(weights).i32(B).i32(chunkRows).i32(mode).i32(lossType).f32(invB).ptr(gy).ptr(dZ)
        .ptr(headPartials).i32(HS).ptr(lossPartials).ptr(predOut));
  }

  /**
   * backward.cuh: the scatter of {@code tile} (SCATTER_TILE_SMALL or SCATTER_TILE_LARGE) batch rows per
   * block: atomic adds, or with recordMode 1 the deterministic records.
   */
  void scatter(int tile, int grid, CUdeviceptr dst, CUdeviceptr dst1, float scale, CUdeviceptr meta, int n, int B,
      int tilesPerField, CUdeviceptr idx, int gradMode, CUdeviceptr gy, CUdeviceptr head, CUdeviceptr G,
      int gStride, CUdeviceptr G1, CUdeviceptr counts, int markTouched, CUdeviceptr touchedFlag,
      CUdeviceptr touchedList, CUdeviceptr touchedCount, int recordMode, CUdeviceptr listHead,
      CUdeviceptr recNext, CUdeviceptr recS, CUdeviceptr recG, CUdeviceptr recS1, CUdeviceptr hotList,
      CUdeviceptr hotCount) {
    String kernel;
    if (tile == KernelConstants.SCATTER_TILE_LARGE) {
      kernel = "scatter_atomic_1024";
    } else if (tile == KernelConstants.SCATTER_TILE_SMALL) {
      kernel = "scatter_atomic_256";
    } else {
      throw new IllegalArgumentException("no scatter kernel for tiles of " + tile + " rows");
    }
    launcher.launch(kernel, grid, 1, 1, THREADS, 0, new Args(27).ptr(dst).ptr(dst1).f32(scale).ptr(meta).i32(n)
        .i32(B).i32(tilesPerField).ptr(idx).i32(gradMode).ptr(gy).ptr(head).ptr(G).i32(gStride).ptr(G1)
        .ptr(counts).i32(markTouched).ptr(touchedFlag).ptr(touchedList).ptr(touchedCount).i32(recordMode)
        .ptr(listHead).ptr(recNext).ptr(recS).ptr(recG).ptr(recS1).ptr(hotList).ptr(hotCount));
  }

  /** backward.cuh: the head update, the loss sums and (Adagrad, atomic mode) the touched rows' update. */
  void finishStep(int grid, CUdeviceptr head, CUdeviceptr headAccum, CUdeviceptr headPartials, int P, int HS,
      CUdeviceptr lossPartials, int lossParts, CUdeviceptr lossAcc, int opt, float lr, float eps, int headBlocks,
      CUdeviceptr tables, CUdeviceptr tableAccum, CUdeviceptr gradScratch, CUdeviceptr firstOrder,
      CUdeviceptr foAccum, CUdeviceptr foScratch, CUdeviceptr touchedFlag, CUdeviceptr touchedList,
      CUdeviceptr touchedCount, CUdeviceptr meta, int n) {
    launcher.launch("finish_step", grid, 1, 1, THREADS, 0, new Args(23).ptr(head).ptr(headAccum)
        .ptr(headPartials).i32(P).i32(HS).ptr(lossPartials).i32(lossParts).ptr(lossAcc).i32(opt).f32(lr).f32(eps)
        .i32(headBlocks).ptr(tables).ptr(tableAccum).ptr(gradScratch).ptr(firstOrder).ptr(foAccum).ptr(foScratch)
        .ptr(touchedFlag).ptr(touchedList).ptr(touchedCount).ptr(meta).i32(n));
  }

  /**
   * backward.cuh: deterministic mode, a group of G lanes per listed row sums its records and updates it
   * (det_apply_rows, or det_apply_rows_adam for row-wise Adam); clearFlags = 0 leaves the rows' record
   * counts to det_apply_cold.
   */
  void detApplyRows(int grid, int block, int smem, CUdeviceptr touchedList, CUdeviceptr touchedCount,
      CUdeviceptr touchedFlag, CUdeviceptr listHead, CUdeviceptr recNext, CUdeviceptr recS, CUdeviceptr recG,
      CUdeviceptr recS1, int B, int gStride, int maxList, int G, int tileRows, int walkMode, int clearFlags,
      CUdeviceptr meta, int n, int gradMode, CUdeviceptr head, CUdeviceptr tables, CUdeviceptr tableAccum,
      CUdeviceptr firstOrder, CUdeviceptr foAccum, int opt, float lr, float eps) {
    // row-wise Adam has its own entry (the same parameters): in det_apply_rows it made every optimizer spill
    String kernel = opt == KernelConstants.OPT_ROWWISE_ADAM ? "det_apply_rows_adam" : "det_apply_rows";
    launcher.launch(kernel, grid, 1, 1, block, smem, new Args(26).ptr(touchedList).ptr(touchedCount)
        .ptr(touchedFlag).ptr(listHead).ptr(recNext).ptr(recS).ptr(recG).ptr(recS1).i32(B).i32(gStride)
        .i32(maxList).i32(G).i32(tileRows).i32(walkMode).i32(clearFlags).ptr(meta).i32(n).i32(gradMode)
        .ptr(head).ptr(tables).ptr(tableAccum).ptr(firstOrder).ptr(foAccum).i32(opt).f32(lr).f32(eps));
  }

  /**
   * backward.cuh: deterministic mode, the touched rows of at most DET_COLD_RECORDS records (a lane walks each);
   * of the others (listed as hot by the scatter, for {@link #detApplyRows}) it only clears the record
   * counts. Static shared memory; block KERNEL_THREADS.
   */
  void detApplyCold(int grid, CUdeviceptr touchedList, CUdeviceptr touchedCount, CUdeviceptr touchedFlag,
      CUdeviceptr listHead, CUdeviceptr recNext, CUdeviceptr recS, CUdeviceptr recG, CUdeviceptr recS1, int B,
      int gStride, int G, int R, CUdeviceptr meta, int n, int gradMode, CUdeviceptr head, CUdeviceptr tables,
      CUdeviceptr tableAccum, CUdeviceptr firstOrder, CUdeviceptr foAccum, int opt, float lr, float eps) {
    // row-wise Adam has its own entry, as for det_apply_rows
    String kernel = opt == KernelConstants.OPT_ROWWISE_ADAM ? "det_apply_cold_adam" : "det_apply_cold";
    launcher.launch(kernel, grid, 1, 1, THREADS, 0, new Args(23).ptr(touchedList).ptr(touchedCount)
        .ptr(touchedFlag).ptr(listHead).ptr(recNext).ptr(recS).ptr(recG).ptr(recS1).i32(B).i32(gStride).i32(G)
        .i32(R).ptr(meta).i32(n).i32(gradMode).ptr(head).ptr(tables).ptr(tableAccum).ptr(firstOrder).ptr(foAccum)
        .i32(opt).f32(lr).f32(eps));
  }

  /** backward.cuh: dst[q * width + j] = src[srcOff + rows[q] * width + j] for the m listed rows. */
  void gatherListedRows(int grid, CUdeviceptr src, long srcOff, int width, CUdeviceptr rows, int m,
      CUdeviceptr dst) {
    launcher.launch("gather_listed_rows", grid, 1, 1, THREADS, 0, new Args(6).ptr(src).i64(srcOff).i32(width)
        .ptr(rows).i32(m).ptr(dst));
  }

  /**
   * shuffle.cuh: writes the rows of a block resident on the device, in the order of an
   * EpochPermutation (halfBits, keys), into the staging layout of an epoch's batches of {@code bs}
   * rows, batch b at byte b * stride of out.
   */
  void epochGather(int grid, CUdeviceptr idx, CUdeviceptr labels, CUdeviceptr weights, CUdeviceptr numeric,
      int rows, int n, int k, int bs, long stride, int halfBits, int key0, int key1, int key2, int key3,
      CUdeviceptr out) {
    launcher.launch("epoch_gather", grid, 1, 1, THREADS, 0, new Args(15).ptr(idx).ptr(labels).ptr(weights)
        .ptr(numeric).i32(rows).i32(n).i32(k).i32(bs).i64(stride).i32(halfBits).i32(key0).i32(key1).i32(key2)
        .i32(key3).ptr(out));
  }
}
