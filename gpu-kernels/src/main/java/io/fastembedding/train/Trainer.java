package io.fastembedding.train;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.InputValidator;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Drives a backend over an in-memory block: epochs, a seeded shuffle per epoch, and mini-batches that
 * are contiguous ranges of the shuffled copy, so a backend reads each batch sequentially and the
 * trainer allocates nothing per batch.
 */
public final class Trainer {
  private final Backend backend;
  private final TrainerConfig config;
  private RowBlock shuffled;
  private int[] order;

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
      RowBlock data = config.shuffle() ? shuffle(block, e) : block;
      backend.trainEpoch(data, config.batchSize());
      LossSum loss = backend.drainLoss();
      out.add(new EpochStats(e, loss.mean(), data.rows, (System.nanoTime() - t0) / 1e9));
    }
    return out;
  }

  private RowBlock shuffle(RowBlock src, int epoch) {
    int rows = src.rows;
    if (shuffled == null || shuffled.rows != rows || shuffled.numFields != src.numFields
        || shuffled.numNumeric != src.numNumeric || (shuffled.weights == null) != (src.weights == null)) {
      shuffled = RowBlock.allocate(src.numFields, src.numNumeric, rows, src.weights != null);
      order = new int[rows];
    }
    for (int i = 0; i < rows; i++) {
      order[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + epoch);
    for (int i = rows - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (int i = 0; i < rows; i++) {
      src.copyRow(order[i], shuffled, i);
    }
    return shuffled;
  }
}
