package io.fastembedding.train;

/**
 * One pass over a block.
 *
 * @param epoch 0-based epoch number
 * @param meanLoss weighted mean training loss, measured before each step's update
 * @param rows rows trained
 * @param seconds wall time of the epoch, shuffle included
 */
public record EpochStats(int epoch, double meanLoss, long rows, double seconds) {
  public double rowsPerSecond() {
    return seconds > 0 ? rows / seconds : Double.NaN;
  }
}
