package io.fastembedding.spark;

import io.fastembedding.spark.train.TaskReport;
import java.io.Serializable;
import java.util.List;

/**
 * What a fit did, round by round: kept on the fitted model, not persisted (as Spark's own training
 * summaries).
 *
 * @param rounds one entry per round (a round trains every partition, then merges)
 * @param fitSeconds wall time of the whole fit, conversion of the rows included
 * @param numWorkers training partitions
 */
public record TrainingSummary(List<Round> rounds, double fitSeconds, int numWorkers)
    implements Serializable {

  /**
   * One round.
   *
   * @param round 1-based
   * @param epochs epochs each partition trained in this round
   * @param loss weighted mean training loss over the round's rows, measured before each step
   * @param rows rows trained over all partitions and epochs
   * @param seconds wall time of the round on the driver: broadcast, training and merge
   * @param tasks one report per training partition: its device, rows, loss and time
   */
  public record Round(int round, int epochs, double loss, long rows, double seconds,
      List<TaskReport> tasks) implements Serializable {
    public double rowsPerSecond() {
      return seconds > 0 ? rows / seconds : Double.NaN;
    }
  }

  /** The loss of each round, in order. */
  public double[] lossHistory() {
    return rounds.stream().mapToDouble(Round::loss).toArray();
  }

  public int totalRounds() {
    return rounds.size();
  }

  /** The device of each training partition in the last round, such as "cpu(1 thread, hogwild)". */
  public List<String> devices() {
    return rounds.isEmpty() ? List.of()
        : rounds.get(rounds.size() - 1).tasks().stream()
            .map(t -> "partition " + t.partition() + ": " + t.device() + " on executor "
                + t.executorId() + " (" + t.deviceReason() + ")")
            .toList();
  }
}
