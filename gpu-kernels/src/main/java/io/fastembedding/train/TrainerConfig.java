package io.fastembedding.train;

import java.io.Serializable;

/**
 * How the trainer walks over a block.
 *
 * @param batchSize rows per training step, > 0
 * @param epochs passes over the block, > 0
 * @param shuffle whether each epoch visits the rows in a fresh seeded random order
 * @param seed seed of the shuffle; epoch e uses a stream derived from (seed, e)
 */
public record TrainerConfig(int batchSize, int epochs, boolean shuffle, long seed)
    implements Serializable {
  public TrainerConfig {
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batch size must be > 0, got " + batchSize);
    }
    if (epochs <= 0) {
      throw new IllegalArgumentException("epochs must be > 0, got " + epochs);
    }
  }
}
