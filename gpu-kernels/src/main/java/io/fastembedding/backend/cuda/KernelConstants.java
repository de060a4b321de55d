package io.fastembedding.backend.cuda;

import io.fastembedding.optim.OptimizerType;
import io.fastembedding.optim.RowwiseAdam;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The constants the JVM and the CUDA kernels share, written once: here, but for the optimizers' codes and
 * row-wise Adam's decays, which the optimizer package owns ({@link OptimizerType#kernelCode},
 * {@link RowwiseAdam}) and this class only names for the kernels. {@code src/main/cuda/
 * kernel_constants.cuh} is generated from this class by {@link #main} (build-ptx.sh compiles it with
 * {@code javac -sourcepath}, so this class and what it reads must depend on nothing but the JDK: the
 * optim and layout packages do); {@code KernelConstantsTest} checks that the committed header is up to date.
 *
 * <p>Every constant below is a {@code public static final int} listed in {@link #DEFINES} with its
 * comment; the header holds one {@code #define} per entry, in that order.
 */
public final class KernelConstants {
  private KernelConstants() {}

  // Field metadata: one int array of META_ENTRIES * n entries written by the host
  // (DeviceState.buildMeta); entry e of field f is at e * n + f.
  /** Embedding dim of the field. */
  public static final int META_DIM = 0;
  /** Offset of the field's vector in the concatenated embedding. */
  public static final int META_DIMOFF = 1;
  /** First row id of the field in the scalar-per-row space. */
  public static final int META_ROWBASE = 2;
  /** Rows of the field's table. */
  public static final int META_SIZE = 3;
  /** Vector width (4, 2 or 1 floats) usable on the table's rows. */
  public static final int META_VEC = 4;
  /** Float offset of the table in the packed tables buffer. */
  public static final int META_TABLEOFF = 5;
  /** Vector width usable on the gradient rows G (row stride sumDims). */
  public static final int META_GVEC = 6;
  /** Entries per field. */
  public static final int META_ENTRIES = 7;

  /** Loss codes (the kernels' lossType). */
  public static final int LOSS_LOGISTIC = 0;
  public static final int LOSS_SQUARED = 1;

  /** Optimizer codes (the kernels' opt): written once, in {@link OptimizerType#kernelCode}. */
  public static final int OPT_SGD = OptimizerType.SGD.kernelCode();
  public static final int OPT_ADAGRAD = OptimizerType.ADAGRAD.kernelCode();
  public static final int OPT_ROWWISE = OptimizerType.ROWWISE_ADAGRAD.kernelCode();
  public static final int OPT_ROWWISE_ADAM = OptimizerType.ROWWISE_ADAM.kernelCode();
  /** Row-wise Adam's decay of the momentum and of the second moment: written once, in {@link RowwiseAdam}. */
  public static final float ADAM_BETA1 = RowwiseAdam.BETA1;
  public static final float ADAM_BETA2 = RowwiseAdam.BETA2;

  /** Forward modes (the kernels' mode): train (loss, gradients) or predict (predOut only). */
  public static final int MODE_TRAIN = 0;
  public static final int MODE_PREDICT = 1;

  /** Epilogues of gemm_tiled (mlp.cuh says what each computes). */
  public static final int EPI_BIAS_RELU = 0;
  public static final int EPI_RELU_MASK = 1;
  public static final int EPI_EMB_GRAD = 2;
  public static final int EPI_WEIGHT_PART = 3;

  /** Tile of gemm_tiled: rows (BM) and columns (BN) of the result per block, shared dimension step (BK). */
  public static final int GEMM_BM = 64;
  public static final int GEMM_BN = 64;
  public static final int GEMM_BK = 16;

  /** Threads per block of the kernels with launch bounds (and of every launch but det_apply_rows). */
  public static final int KERNEL_THREADS = 256;
  /** Batch rows per scatter tile: scatter_atomic_256 and scatter_atomic_1024. */
  public static final int SCATTER_TILE_SMALL = 256;
  public static final int SCATTER_TILE_LARGE = 1024;
  /**
   * Deterministic mode: record lists per row, sub-list k for the k-th of DET_SUBLISTS equal ranges of a
   * field's tiles, so that det_apply_rows walks a hot row's records with that many lanes at once.
   */
  public static final int DET_SUBLISTS = 8;
  /**
   * det_apply_rows' walkMode bits (0: the parallel walk below DET_PARALLEL_WALK_MAX_ROWS touched rows, else
   * the serial one): walk the sub-lists one after the other and rank-sort (also the fallback); and three
   * benchmark variants of the parallel walk, measured no faster (docs/benchmarks.md): keep record ids, not
   * implicit-gradient values; step the row's lanes together until its longest sub-list ends.
   */
  public static final int DET_WALK_SERIAL = 1;
  public static final int DET_WALK_NO_INLINE = 2;
  public static final int DET_WALK_UNIFORM = 4;
  /** det_apply_rows walkMode bit: the sub-lists' record counts summed through shared memory, not shuffles. */
  public static final int DET_WALK_SMEM_SCAN = 8;
  /** det_apply_rows walkMode bit: the parallel walk whatever the number of touched rows. */
  public static final int DET_WALK_PARALLEL = 16;
  /**
   * det_apply_rows walks in parallel (walkMode 0) only while a step touched fewer rows than this: chosen on
   * the H200 benchmark grid of 2026-11-30 (docs/benchmarks.md), where the serial walk was the faster one
   * on the steps of more touched rows measured (61 454 and up) and the parallel one below 48 230.
   */
  public static final int DET_PARALLEL_WALK_MAX_ROWS = 49152;
  /**
   * Deterministic mode: det_apply_cold applies, a lane walking each, the touched rows of at most this many
   * records in the step; it leaves the rows of more to det_apply_rows (the hot list).
   */
  public static final int DET_COLD_RECORDS = 16;
  /** Deterministic-mode walk bit (host side): every row through det_apply_rows, no det_apply_cold. */
  public static final int DET_WALK_NO_COLD = 32;

  /** Name, value and comment of each #define of the header, in order. */
  static final Object[][] DEFINES = {
      {"META_DIM", META_DIM, "field metadata: embedding dim"},
      {"META_DIMOFF", META_DIMOFF, "field metadata: offset in the concatenated vector"},
      {"META_ROWBASE", META_ROWBASE, "field metadata: first row id in the scalar-per-row space"},
      {"META_SIZE", META_SIZE, "field metadata: table rows"},
      {"META_VEC", META_VEC, "field metadata: vector width usable on the table (4, 2 or 1)"},
      {"META_TABLEOFF", META_TABLEOFF, "field metadata: float offset of the table in the packed buffer"},
      {"META_GVEC", META_GVEC, "field metadata: vector width usable on the gradient rows G (stride sumDims)"},
      {"META_ENTRIES", META_ENTRIES, "field metadata: entries per field (the array has META_ENTRIES * n ints)"},
      {"LOSS_LOGISTIC", LOSS_LOGISTIC, "lossType"},
      {"LOSS_SQUARED", LOSS_SQUARED, "lossType"},
      {"OPT_SGD", OPT_SGD, "opt"},
      {"OPT_ADAGRAD", OPT_ADAGRAD, "opt"},
      {"OPT_ROWWISE", OPT_ROWWISE, "opt"},
      {"OPT_ROWWISE_ADAM", OPT_ROWWISE_ADAM, "opt"},
      {"ADAM_BETA1", ADAM_BETA1, "row-wise Adam: decay of the momentum m"},
      {"ADAM_BETA2", ADAM_BETA2, "row-wise Adam: decay of the second moment v"},
      {"MODE_TRAIN", MODE_TRAIN, "forward mode: loss and gradients"},
      {"MODE_PREDICT", MODE_PREDICT, "forward mode: predictions only"},
      {"EPI_BIAS_RELU", EPI_BIAS_RELU, "gemm_tiled epilogue"},
      {"EPI_RELU_MASK", EPI_RELU_MASK, "gemm_tiled epilogue"},
      {"EPI_EMB_GRAD", EPI_EMB_GRAD, "gemm_tiled epilogue"},
      {"EPI_WEIGHT_PART", EPI_WEIGHT_PART, "gemm_tiled epilogue"},
      {"GEMM_BM", GEMM_BM, "gemm_tiled: result rows per block"},
      {"GEMM_BN", GEMM_BN, "gemm_tiled: result columns per block"},
      {"GEMM_BK", GEMM_BK, "gemm_tiled: shared-dimension step"},
      {"KERNEL_THREADS", KERNEL_THREADS, "threads per block (launch bounds)"},
      {"SCATTER_TILE_SMALL", SCATTER_TILE_SMALL, "batch rows per tile of scatter_atomic_256"},
      {"SCATTER_TILE_LARGE", SCATTER_TILE_LARGE, "batch rows per tile of scatter_atomic_1024"},
      {"DET_SUBLISTS", DET_SUBLISTS, "deterministic mode: record lists per row (by range of tiles)"},
      {"DET_WALK_SERIAL", DET_WALK_SERIAL, "det_apply_rows walkMode: sub-lists one after the other, rank sort"},
      {"DET_WALK_NO_INLINE", DET_WALK_NO_INLINE, "det_apply_rows walkMode: record ids, not values"},
      {"DET_WALK_UNIFORM", DET_WALK_UNIFORM, "det_apply_rows walkMode: a row's lanes step together"},
      {"DET_WALK_SMEM_SCAN", DET_WALK_SMEM_SCAN, "det_apply_rows walkMode: counts summed in shared memory"},
      {"DET_WALK_PARALLEL", DET_WALK_PARALLEL, "det_apply_rows walkMode: parallel walk at any row count"},
      {"DET_PARALLEL_WALK_MAX_ROWS", DET_PARALLEL_WALK_MAX_ROWS, "det_apply_rows: walkMode 0 walks in parallel below"},
      {"DET_COLD_RECORDS", DET_COLD_RECORDS, "det_apply_cold: most records of a row it applies (more: hot list)"},
      {"DET_WALK_NO_COLD", DET_WALK_NO_COLD, "walkMode (host): every row through det_apply_rows"},
  };

  /** The text of kernel_constants.cuh. */
  public static String header() {
    StringBuilder sb = new StringBuilder();
    sb.append("// GENERATED from gpu-kernels/src/main/java/io/fastembedding/backend/cuda/KernelConstants.java\n");
    sb.append("// by build-ptx.sh; do not edit. Constants the host (Java) and the kernels share.\n");
    sb.append("#pragma once\n\n");
    for (Object[] d : DEFINES) {
      // a float is written as a float literal (Java's shortest decimal, read back to the same float)
      String value = d[1] instanceof Float x ? x + "f" : String.valueOf(d[1]);
      String def = "#define " + d[0] + " " + value;
      sb.append(def).append(" ".repeat(Math.max(1, 32 - def.length()))).append("// ").append(d[2]).append('\n');
    }
    return sb.toString();
  }

  /** Writes the header to {@code args[0]} when its content differs (keeping the file's time otherwise). */
  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      throw new IllegalArgumentException("usage: KernelConstants <path of kernel_constants.cuh>");
    }
    Path out = Path.of(args[0]);
    String text = header();
    if (Files.exists(out) && Files.readString(out, StandardCharsets.UTF_8).equals(text)) {
      return;
    }
    Files.writeString(out, text, StandardCharsets.UTF_8);
    System.out.println("[build-ptx] wrote " + out);
  }
}
