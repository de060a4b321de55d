package io.fastembedding.train;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.InputValidator;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import java.util.ArrayList;
import java.util.List;

/**
 * Drives a backend over an in-memory block: epochs, a seeded shuffle per epoch, and mini-batches that
 * are contiguous ranges of the shuffled order, so a backend reads each batch sequentially and the
 * trainer allocates nothing per batch. The shuffle is an {@link EpochPermutation} per epoch: a
 * backend that keeps the block on its device applies it there
 * ({@link Backend#trainEpochPermuted}); otherwise the trainer gathers the rows into a host copy in the
 * same order.
 */
public final class Trainer {
  private final Backend backend;
  private final TrainerConfig config;
  private RowBlock shuffled;

  public Trainer(Backend backend, TrainerConfig config) {
    this.backend = backend;
    this.config = config;
  }

  /** Validates {@code block} once, then trains {@code config.epochs()} epochs on it. */
  public List<EpochStats> train(RowBlock block) {
    InputValidator.validateForTraining(backend.spec(), block);
    return trainValidated(block, 0);
  }

  /**
   * Trains on a block the caller already validated (the Spark stage validates once per partition and
   * trains many rounds). {@code firstEpoch} numbers the epochs and picks their shuffle streams, so that
   * round k of a multi-round fit does not repeat round 0's order.
   */
  public List<EpochStats> trainValidated(RowBlock block, int firstEpoch) {
    List<EpochStats> out = new ArrayList<>(config.epochs());
    backend.drainLoss();
    for (int e = firstEpoch; e < firstEpoch + config.epochs(); e++) {
      long t0 = System.nanoTime();
      if (!config.shuffle()) {
        backend.trainEpoch(block, config.batchSize());
      } else {
        EpochPermutation order = EpochPermutation.forEpoch(block.rows, config.seed(), e);
        if (!backend.trainEpochPermuted(block, order, config.batchSize())) {
          backend.trainEpoch(shuffle(block, order), config.batchSize());
        }
      }
      LossSum loss = backend.drainLoss();
      out.add(new EpochStats(e, loss.mean(), block.rows, (System.nanoTime() - t0) / 1e9));
    }
    return out;
  }

  private RowBlock shuffle(RowBlock src, EpochPermutation order) {
    int rows = src.rows;
    if (shuffled == null || shuffled.rows != rows || shuffled.numFields != src.numFields
        || shuffled.numNumeric != src.numNumeric || (shuffled.weights == null) != (src.weights == null)) {
      shuffled = RowBlock.allocate(src.numFields, src.numNumeric, rows, src.weights != null);
    }
    order.gather(src, shuffled);
    return shuffled;
  }
}
