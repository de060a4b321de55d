package io.fastembedding.backend;

/**
 * Training loss accumulated over the steps since it was last drained: the sum of w_r * loss_r, the sum
 * of weights w_r and the number of rows. Losses are those of the model before each step.
 */
public record LossSum(double weightedLoss, double weight, long rows) {
  public static final LossSum ZERO = new LossSum(0, 0, 0);

  /** Mean loss per unit weight, NaN when nothing was trained. */
  public double mean() {
    return weight > 0 ? weightedLoss / weight : Double.NaN;
  }

  public LossSum plus(LossSum o) {
    return new LossSum(weightedLoss + o.weightedLoss, weight + o.weight, rows + o.rows);
  }
}
