package io.fastembedding.spark.train;

import java.io.Serializable;

/**
 * What one training task did in one round.
 *
 * @param partition the training partition
 * @param executorId Spark executor id ("driver" in local mode)
 * @param host the executor's host
 * @param device the backend's own description, such as "cpu(1 thread, hogwild, 16-lane SIMD)"
 * @param deviceReason how the device was chosen
 * @param rows rows trained (over all epochs of the round)
 * @param weightedLoss sum over rows of weight * loss, measured before each step
 * @param weight sum of the weights of those rows
 * @param trainSeconds wall time of the local training (not the merge)
 */
public record TaskReport(int partition, String executorId, String host, String device,
    String deviceReason, long rows, double weightedLoss, double weight, double trainSeconds)
    implements Serializable {
  public double rowsPerSecond() {
    return trainSeconds > 0 ? rows / trainSeconds : Double.NaN;
  }
}
