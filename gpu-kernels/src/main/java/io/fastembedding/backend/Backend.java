package io.fastembedding.backend;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;

/**
 * One model on one device: the CPU backend and the CUDA backend implement the same contract, defined
 * in docs/model.md, so that the trainer and the Spark stage never know which one they drive.
 *
 * <p>Batches are contiguous row ranges of a {@link RowBlock}. A backend does not validate rows (the
 * trainer validates a block once, see {@link InputValidator}); out-of-range indices are undefined
 * behaviour here. Steps may run asynchronously: results are visible after any call that returns data.
 * A backend is used by one thread at a time.
 */
public interface Backend extends AutoCloseable {
  ModelSpec spec();

  /** A short description of the device, such as "cpu(2 threads)" or "cuda:0 NVIDIA H100". */
  String device();

  /**
   * One training step on rows {@code [start, start + count)} of {@code block}: forward, loss, backward
   * and the optimizer update of every parameter the batch touches. Loss is accumulated for
   * {@link #drainLoss()}.
   */
  void trainStep(RowBlock block, int start, int count);

  /**
   * One epoch over {@code block} in order: the same steps as calling {@link #trainStep} on
   * {@code [0, b)}, {@code [b, 2b)}, ... with {@code b = batchSize}, the last batch holding the rest. A
   * backend may override it to cut the per-step host cost (the CUDA backend uploads the block once),
   * but must give the same result as that loop (bit for bit in deterministic mode).
   */
  default void trainEpoch(RowBlock block, int batchSize) {
    if (block == null) {
      throw new IllegalArgumentException("block must not be null");
    }
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batchSize must be > 0, got " + batchSize);
    }
    for (int start = 0; start < block.rows; start += batchSize) {
      trainStep(block, start, Math.min(batchSize, block.rows - start));
    }
  }

  /**
   * One epoch over {@code block}'s rows in the order {@code order} (position i reads row
   * {@code order.apply(i)}), where the backend can do it without a host copy of the shuffled rows:
   * the same steps, bit for bit in deterministic mode, as {@link #trainEpoch} on the rows gathered in
   * that order. A backend may keep {@code block} on its device between calls (the block must then not
   * change while the backend holds it: the Spark stage's cached blocks do not). Returns false, having
   * done nothing, where it cannot (the CPU backend; a block the device cannot hold): the caller then
   * gathers the rows itself and calls {@link #trainEpoch}.
   */
  default boolean trainEpochPermuted(RowBlock block, io.fastembedding.train.EpochPermutation order,
      int batchSize) {
    return false;
  }

  /** Loss accumulated since the last drain, and reset it. */
  LossSum drainLoss();

  /**
   * The head's prediction for rows {@code [start, start + count)}: the probability for the logistic
   * loss, the raw output y for the squared loss; written to {@code out[outOffset + r]}.
   */
  void predict(RowBlock block, int start, int count, float[] out, int outOffset);

  /**
   * The concatenated embeddings of rows {@code [start, start + count)}: row r's vector of
   * {@code sumDims} floats at {@code out[outOffset + r * sumDims]}.
   */
  void embed(RowBlock block, int start, int count, float[] out, int outOffset);

  /** A copy of every trainable value and the optimizer state. */
  ModelState exportState();

  /** Replaces every value and the optimizer state, and clears the touch record. */
  void importState(ModelState state);

  /**
   * The rows touched since the last {@link #importState} or {@code exportTouched(true)}, with their
   * touch counts, current values and the head; {@code reset} clears the record.
   */
  TouchedRows exportTouched(boolean reset);

  /** Releases native resources; a closed backend must not be used. */
  @Override
  void close();
}
