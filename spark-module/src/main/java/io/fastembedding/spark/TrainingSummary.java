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
 * @param bestRound the 1-based round whose weights the model kept: the round of the best
 *     validation metric (validationMetric) with validation rows, else the last round
 * @param stoppedEarly whether training stopped before maxIter because the validation metric had
 *     not improved for {@code patience} rounds
 * @param refitEpochs with refitOnAllRows, the epochs of the refit on every row (the best round's
 *     epochs), whose model the fit kept; 0 without a refit
 * @param crossFitFolds the fold models fitted for cross-fitted output (crossFitFolds), 0 if none
 */
public record TrainingSummary(List<Round> rounds, double fitSeconds, int numWorkers, int bestRound,
    boolean stoppedEarly, int refitEpochs, int crossFitFolds) implements Serializable {

  /** A summary without validation: the model is the last round's. */
  public TrainingSummary(List<Round> rounds, double fitSeconds, int numWorkers) {
    this(rounds, fitSeconds, numWorkers, rounds.size(), false, 0, 0);
  }

  public TrainingSummary(List<Round> rounds, double fitSeconds, int numWorkers, int bestRound,
      boolean stoppedEarly) {
    this(rounds, fitSeconds, numWorkers, bestRound, stoppedEarly, 0, 0);
  }

  /**
   * One round.
   *
   * @param round 1-based
   * @param epochs epochs each partition trained in this round
   * @param loss weighted mean training loss over the round's rows, measured before each step
   *     (progressive: each row is scored by the model of the moment, before its update)
   * @param rows rows trained over all partitions and epochs
   * @param seconds wall time of the round on the driver: broadcast, training, merge and evaluation
   * @param tasks one report per training partition: its device, rows, loss and time
   * @param trainLoss weighted mean loss of the round's merged model on a fixed sample of the
   *     training rows; NaN without validation
   * @param trainAuc AUC of the merged model on that sample; NaN without validation or for the
   *     squared loss
   * @param validationLoss weighted mean loss of the merged model on every validation row; NaN without
   *     validation
   * @param validationAuc AUC of the merged model on the validation rows; NaN without validation or
   *     for the squared loss
   */
  public record Round(int round, int epochs, double loss, long rows, double seconds,
      List<TaskReport> tasks, double trainLoss, double trainAuc, double validationLoss,
      double validationAuc, long pulledBytes, long pushedBytes) implements Serializable {

    /**
     * A round without traffic figures. {@code pulledBytes}: model bytes the tasks received (the
     * sharded path: the rows and state each partition pulled; the broadcast path: the model times
     * the executors that fetched its broadcast); {@code pushedBytes}: the touched rows the tasks
     * sent to the merge; -1 where not measured.
     */
    public Round(int round, int epochs, double loss, long rows, double seconds,
        List<TaskReport> tasks, double trainLoss, double trainAuc, double validationLoss,
        double validationAuc) {
      this(round, epochs, loss, rows, seconds, tasks, trainLoss, trainAuc, validationLoss,
          validationAuc, -1, -1);
    }

    /** A round without evaluation. */
    public Round(int round, int epochs, double loss, long rows, double seconds,
        List<TaskReport> tasks) {
      this(round, epochs, loss, rows, seconds, tasks, Double.NaN, Double.NaN, Double.NaN,
          Double.NaN);
    }

    public double rowsPerSecond() {
      return seconds > 0 ? rows / seconds : Double.NaN;
    }
  }

  /** The (progressive) training loss of each round, in order. */
  public double[] lossHistory() {
    return rounds.stream().mapToDouble(Round::loss).toArray();
  }

  /** The merged model's loss on the training sample after each round (NaN without validation). */
  public double[] trainLossHistory() {
    return rounds.stream().mapToDouble(Round::trainLoss).toArray();
  }

  /** The merged model's training-sample AUC after each round (NaN without validation). */
  public double[] trainAucHistory() {
    return rounds.stream().mapToDouble(Round::trainAuc).toArray();
  }

  /** The validation loss after each round (NaN without validation). */
  public double[] validationLossHistory() {
    return rounds.stream().mapToDouble(Round::validationLoss).toArray();
  }

  /** The validation AUC after each round (NaN without validation). */
  public double[] validationAucHistory() {
    return rounds.stream().mapToDouble(Round::validationAuc).toArray();
  }

  public int totalRounds() {
    return rounds.size();
  }

  /** The device of each training partition in the last round, such as "cpu(1 thread, hogwild, 16-lane SIMD)". */
  public List<String> devices() {
    return rounds.isEmpty() ? List.of()
        : rounds.get(rounds.size() - 1).tasks().stream()
            .map(t -> "partition " + t.partition() + ": " + t.device() + " on executor "
                + t.executorId() + " (" + t.deviceReason() + ")")
            .toList();
  }
}
