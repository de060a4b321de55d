package io.fastembedding.backend.cuda;

import io.fastembedding.backend.RowBlock;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

/**
 * Training blocks kept on the device between epochs and between the rounds of a Spark fit, so that an
 * epoch moves no rows from the host: its shuffle is a gather on the device (shuffle.cuh). A block is
 * known by identity (the Spark stage trains the same cached block object every round; a block must
 * not change while it is held) and held only weakly, so a block the JVM dropped is freed here on the
 * next lookup. Memory is planned: a block is uploaded only when the device keeps
 * {@link #HEADROOM_BYTES} free besides it and the epoch buffer; otherwise the least recently used
 * blocks are freed first, and when even that is not enough the lookup returns null (the caller
 * trains from host memory, as before) after one warning with the numbers.
 */
final class ResidentBlocks {
  /** Device memory left free for the rest of the process (models, workspaces, other backends). */
  static final long HEADROOM_BYTES = 512L << 20;

  /** One block on the device: its indices, labels, weights (or null) and numeric features (or null). */
  static final class Block {
    final WeakReference<RowBlock> source;
    final int rows;
    final DeviceBuffer idx;
    final DeviceBuffer labels;
    final DeviceBuffer weights;
    final DeviceBuffer numeric;
    final long bytes;

    private Block(RowBlock b, DeviceStreams streams) {
      DeviceContext ctx = streams.ctx;
      source = new WeakReference<>(b);
      rows = b.rows;
      long bi = 4L * b.rows * b.numFields;
      long bl = 4L * b.rows;
      long bw = b.weights == null ? 0 : 4L * b.rows;
      long bn = b.numNumeric > 0 ? 4L * b.rows * b.numNumeric : 0;
      bytes = bi + bl + bw + bn;
      idx = new DeviceBuffer(ctx, "residentIndices");
      labels = new DeviceBuffer(ctx, "residentLabels");
      weights = bw > 0 ? new DeviceBuffer(ctx, "residentWeights") : null;
      numeric = bn > 0 ? new DeviceBuffer(ctx, "residentNumeric") : null;
      try {
        idx.ensure(bi);
        labels.ensure(bl);
        upload(idx, Pointer.to(b.indices), bi, ctx);
        upload(labels, Pointer.to(b.labels), bl, ctx);
        if (weights != null) {
          weights.ensure(bw);
          upload(weights, Pointer.to(b.weights), bw, ctx);
        }
        if (numeric != null) {
          numeric.ensure(bn);
          upload(numeric, Pointer.to(b.numeric), bn, ctx);
        }
        // a copy from pageable memory may return before its data has landed, and the non-blocking
        // compute stream, where epoch_gather reads the block, does not wait for it
        streams.syncUploads("uploading a resident block of " + b.rows + " rows");
      } catch (RuntimeException e) {
        free();
        throw e;
      }
    }

    private static void upload(DeviceBuffer to, Pointer from, long bytes, DeviceContext ctx) {
      if (bytes > 0) {
        Cu.check(JCudaDriver.cuMemcpyHtoD(to.ptr(), from, bytes), "cuMemcpyHtoD",
            "resident block (" + bytes + " bytes) to " + ctx.describe());
      }
    }

    void free() {
      for (DeviceBuffer d : new DeviceBuffer[] {idx, labels, weights, numeric}) {
        if (d != null) {
          d.free();
        }
      }
    }
  }

  private final DeviceContext ctx;
  private final DeviceStreams streams;
  /** Least recently used first. */
  private final List<Block> blocks = new ArrayList<>();
  private boolean warned;
  private long uploads;

  ResidentBlocks(DeviceStreams streams) {
    this.streams = streams;
    this.ctx = streams.ctx;
  }

  /** Bytes a block of this shape takes on the device. */
  static long bytesOf(RowBlock b) {
    return 4L * b.rows * (b.numFields + 1 + (b.weights == null ? 0 : 1) + b.numNumeric);
  }

  /**
   * {@code block} on the device, uploaded if it is not there yet; null when the device cannot hold it
   * with {@code alsoNeeded} more bytes (the epoch buffer still to grow) and the headroom.
   * {@code beforeFree} runs before any block is freed (it waits for the kernels that may read it).
   */
  Block get(RowBlock block, long alsoNeeded, Runnable beforeFree) {
    Block hit = null;
    for (Iterator<Block> it = blocks.iterator(); it.hasNext(); ) {
      Block b = it.next();
      RowBlock src = b.source.get();
      if (src == null) {
        beforeFree.run();
        b.free();
        it.remove();
      } else if (src == block && b.rows == block.rows) {
        hit = b;
      }
    }
    if (hit != null) {
      blocks.remove(hit);
      blocks.add(hit);
      return hit;
    }
    long need = bytesOf(block) + Math.max(0, alsoNeeded) + HEADROOM_BYTES;
    long free = ctx.memInfo()[0];
    while (free >= 0 && free < need && !blocks.isEmpty()) {
      Block lru = blocks.remove(0);
      beforeFree.run();
      lru.free();
      free = ctx.memInfo()[0];
    }
    if (free >= 0 && free < need) {
      if (!warned) {
        warned = true;
        System.getLogger(CudaBackend.class.getName()).log(System.Logger.Level.WARNING,
            "a training block of " + block.rows + " rows needs " + DeviceBuffer.mib(bytesOf(block))
                + " on " + ctx.describe() + " (plus " + DeviceBuffer.mib(Math.max(0, alsoNeeded))
                + " of epoch buffer and " + DeviceBuffer.mib(HEADROOM_BYTES) + " of headroom) but "
                + DeviceBuffer.mib(free) + " are free: its epochs are shuffled on the host and "
                + "uploaded each time (slower, same result); fewer rows per partition (more "
                + "numWorkers) keep blocks on the GPU");
      }
      return null;
    }
    Block b;
    try {
      b = new Block(block, streams);
    } catch (CudaException e) {
      if (e.code() != jcuda.driver.CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
        throw e;
      }
      return null;
    }
    uploads++;
    blocks.add(b);
    return b;
  }

  /** Blocks uploaded so far (tests: a second epoch of the same block uploads nothing). */
  long uploads() {
    return uploads;
  }

  /** Blocks held now. */
  int size() {
    return blocks.size();
  }

  void release() {
    for (Block b : blocks) {
      b.free();
    }
    blocks.clear();
  }
}
