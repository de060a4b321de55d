package io.fastembedding.spark.train;

import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.TrainingSummary;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.discovery.GpuTrainingPlan;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergePiece;
import io.fastembedding.spark.merge.MergeResult;
import io.fastembedding.spark.merge.MergedShard;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.train.Metrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rounds of a fit, on blocks already built and cached: each round broadcasts the model, trains
 * every partition ({@link TrainRound}), merges the touched rows by shard and the heads
 * ({@link MergeShards}), evaluates the merged model when there are validation rows, logs the round,
 * and stops early when the validation loss has not improved for {@code patience} rounds.
 */
public final class FitRounds {
  /** The stage's logger, which docs/spark.md names for the round lines. */
  private static final Logger LOG =
      LoggerFactory.getLogger("io.fastembedding.spark.MultiEmbedding");

  /** Rows scored per round for the training metrics, and validation scores kept for the AUC. */
  public static final int EVALUATION_ROWS = 500_000;

  /**
   * What the rounds need of the stage's params and of the fit.
   *
   * @param stageUid the estimator's uid, for logs and job descriptions
   * @param fitId the key of this fit's pooled backends ({@link BackendPool})
   * @param maxIter epochs in all
   * @param validate whether the blocks hold validation rows: evaluate each round
   * @param stopEarly with validation rows: stop after {@code patience} rounds without a better
   *     validation metric and keep the best round; otherwise keep the last round
   * @param byAuc whether the metric is the validation AUC (higher is better) rather than the loss
   */
  public record Config(String stageUid, String fitId, int maxIter, int epochsPerMerge,
      int batchSize, long seed, boolean deterministic, int patience, boolean validate,
      boolean stopEarly, boolean byAuc, Divergence.Context divergence, DeviceRequest device,
      GpuTrainingPlan gpuPlan, BackendFactory backendFactory) {

    /** The same fit without validation rows, for {@code epochs} epochs (refit, fold models). */
    public Config plain(int epochs) {
      return new Config(stageUid, fitId, epochs, epochsPerMerge, batchSize, seed, deterministic,
          patience, false, false, false, divergence, device, gpuPlan, backendFactory);
    }
  }

  /** The model kept (the best round's with validation rows, else the last) and the rounds' record. */
  public record Result(ModelState state, List<TrainingSummary.Round> rounds, int bestRound,
      boolean stoppedEarly) {}

  private final JavaSparkContext jsc;
  private final Config config;

  public FitRounds(JavaSparkContext jsc, Config config) {
    this.jsc = jsc;
    this.config = config;
  }

  /** Trains {@code spec}'s model, from its seeded initial state, on {@code blocks}. */
  public Result run(ModelSpec spec, JavaRDD<PartitionData> blocks) {
    SparkContext sc = jsc.sc();
    int epochsTotal = config.maxIter();
    int per = config.epochsPerMerge();
    int numRounds = (epochsTotal + per - 1) / per;
    int parts = blocks.getNumPartitions();
    ShardPlan plan = ShardPlan.forWorkers(spec.layout(), parts);
    ModelState state = ModelState.initial(spec);
    List<TrainingSummary.Round> rounds = new ArrayList<>();
    int done = 0;
    ModelState best = null;
    int bestRound = 0;
    // the metric, lower is better: the loss, or minus the AUC
    double bestMetric = Double.POSITIVE_INFINITY;
    boolean stoppedEarly = false;
    for (int r = 0; r < numRounds; r++) {
      int epochs = Math.min(per, epochsTotal - done);
      long t0 = System.nanoTime();
      describe(sc, config.stageUid(), String.format(Locale.ROOT, "round %d/%d (epoch%s %d%s): "
          + "train %d partitions, merge in %d shards", r + 1, numRounds, epochs > 1 ? "s" : "",
          done + 1, epochs > 1 ? "-" + (done + epochs) : "", parts, plan.numShards()));
      CollectionAccumulator<TaskReport> reports = sc.collectionAccumulator("MultiEmbedding round "
          + (r + 1));
      Merged m = trainAndMerge(blocks, state, plan, epochs, done, reports);
      state = m.state();
      double seconds = (System.nanoTime() - t0) / 1e9;
      // a retried task reports twice: keep one report per partition
      Map<Integer, TaskReport> byPartition = new TreeMap<>();
      for (TaskReport t : reports.value()) {
        byPartition.put(t.partition(), t);
      }
      List<TaskReport> tasks = List.copyOf(byPartition.values());
      double lossSum = 0;
      double weight = 0;
      long rowCount = 0;
      for (TaskReport t : tasks) {
        lossSum += t.weightedLoss();
        weight += t.weight();
        rowCount += t.rows();
      }
      boolean validate = config.validate();
      Evaluation ev = validate ? evaluate(blocks, state, r + 1, numRounds) : Evaluation.NONE;
      TrainingSummary.Round summary = new TrainingSummary.Round(r + 1, epochs,
          weight > 0 ? lossSum / weight : Double.NaN, rowCount, seconds, tasks, ev.trainLoss(),
          ev.trainAuc(), ev.validationLoss(), ev.validationAuc());
      String diverged = Divergence.check(config.stageUid(), r + 1, numRounds, summary.loss(),
          rounds.isEmpty() ? Double.NaN : rounds.get(rounds.size() - 1).loss(), m.nonFinite(),
          config.divergence());
      rounds.add(summary);
      done += epochs;
      if (diverged != null) {
        if (config.divergence().fail()) {
          throw new IllegalStateException(diverged);
        }
        LOG.warn(diverged);
      }
      LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: round %d/%d, loss %.5f, %.0f rows/s "
          + "(%d rows in %.2f s, %d tasks on %s)%s", config.stageUid(), r + 1, numRounds,
          summary.loss(), summary.rowsPerSecond(), rowCount, seconds, tasks.size(),
          deviceSummary(tasks),
          validate ? String.format(Locale.ROOT, "; train sample loss %.5f AUC %.4f, validation "
              + "loss %.5f AUC %.4f", ev.trainLoss(), ev.trainAuc(), ev.validationLoss(),
              ev.validationAuc()) : ""));
      if (validate && config.stopEarly()) {
        double metric = config.byAuc() ? -ev.validationAuc() : ev.validationLoss();
        if (metric < bestMetric) {
          bestMetric = metric;
          best = state;
          bestRound = r + 1;
        } else if (r + 1 - bestRound >= config.patience() && r + 1 < numRounds) {
          stoppedEarly = true;
          LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: stopping after round %d: the "
              + "validation %s has not improved for %d rounds; keeping round %d (%.5f)",
              config.stageUid(), r + 1, config.byAuc() ? "AUC" : "loss", r + 1 - bestRound,
              bestRound, Math.abs(bestMetric)));
          break;
        }
      }
    }
    if (best == null) {
      // no early stopping, or a validation metric that was never finite: the last round's model
      return new Result(state, rounds, rounds.size(), false);
    }
    return new Result(best, rounds, bestRound, stoppedEarly);
  }

  /** A round's merged model, and the NaN or infinite values among what the round changed. */
  private record Merged(ModelState state, Divergence.NonFinite nonFinite) {}

  /** One round's training and merge: broadcast, train every partition, merge by shard. */
  private Merged trainAndMerge(JavaRDD<PartitionData> blocks, ModelState state, ShardPlan plan,
      int epochs, int firstEpoch, CollectionAccumulator<TaskReport> reports) {
    Broadcast<ModelState> bc = jsc.broadcast(state);
    List<MergeResult> merged;
    try {
      TrainRound round = new TrainRound(config.fitId(), bc, plan, config.batchSize(), epochs,
          firstEpoch, config.seed(), config.deterministic(), config.device(),
          config.backendFactory(), reports);
      JavaPairRDD<Integer, MergePiece> pieces = blocks.mapPartitionsToPair(round);
      // only the training stage holds one GPU per task, not the block conversion or the merge
      config.gpuPlan().applyTo(pieces);
      merged = pieces.groupByKey(MergePiece.reduceTasks(plan))
          .map(new MergeShards(plan, state.spec.optimizer()))
          .collect();
    } finally {
      bc.destroy();
    }
    List<MergedShard> shards = new ArrayList<>();
    HeadPiece head = null;
    for (MergeResult m : merged) {
      if (m instanceof MergeResult.Head h) {
        head = h.head();
      } else if (m instanceof MergeResult.Shard s) {
        shards.add(s.shard());
      }
    }
    return new Merged(RowMerger.apply(state, plan, shards, head), Divergence.count(shards, head));
  }

  /** The merged model's metrics after a round. */
  private record Evaluation(double trainLoss, double trainAuc, double validationLoss,
      double validationAuc) {
    static final Evaluation NONE = new Evaluation(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }

  /**
   * Scores every validation row and a fixed, evenly spaced sample of the training rows with the
   * merged model: one job, from a broadcast of the model.
   */
  private Evaluation evaluate(JavaRDD<PartitionData> blocks, ModelState state, int round,
      int numRounds) {
    describe(jsc.sc(), config.stageUid(), String.format(Locale.ROOT, "round %d/%d: evaluate on "
        + "the validation rows and a training sample", round, numRounds));
    int perPartition = Math.max(1, EVALUATION_ROWS / blocks.getNumPartitions());
    Broadcast<ModelState> bc = jsc.broadcast(state);
    List<EvaluateRound.Piece> pieces;
    try {
      pieces = blocks.map(new EvaluateRound(bc, perPartition, perPartition)).collect();
    } finally {
      bc.destroy();
    }
    boolean logistic = state.spec.loss() == LossType.LOGISTIC;
    List<EvaluateRound.Scored> train = pieces.stream().map(EvaluateRound.Piece::train).toList();
    List<EvaluateRound.Scored> valid = pieces.stream().map(EvaluateRound.Piece::validation)
        .toList();
    return new Evaluation(meanLoss(train), logistic ? auc(train) : Double.NaN, meanLoss(valid),
        logistic ? auc(valid) : Double.NaN);
  }

  private static double meanLoss(List<EvaluateRound.Scored> parts) {
    double loss = 0;
    double weight = 0;
    for (EvaluateRound.Scored s : parts) {
      loss += s.lossSum();
      weight += s.weight();
    }
    return weight > 0 ? loss / weight : Double.NaN;
  }

  private static double auc(List<EvaluateRound.Scored> parts) {
    int n = parts.stream().mapToInt(s -> s.scores().length).sum();
    float[] scores = new float[n];
    float[] labels = new float[n];
    int o = 0;
    for (EvaluateRound.Scored s : parts) {
      System.arraycopy(s.scores(), 0, scores, o, s.scores().length);
      System.arraycopy(s.labels(), 0, labels, o, s.labels().length);
      o += s.scores().length;
    }
    return Metrics.auc(scores, labels, n);
  }

  private static String deviceSummary(List<TaskReport> tasks) {
    Map<String, Integer> counts = new TreeMap<>();
    for (TaskReport t : tasks) {
      counts.merge(t.device(), 1, Integer::sum);
    }
    StringBuilder sb = new StringBuilder();
    counts.forEach((d, c) -> sb.append(sb.length() == 0 ? "" : ", ").append(c).append(" x ")
        .append(d));
    return sb.toString();
  }

  /** Names the Spark jobs that follow in the UI: "MultiEmbedding &lt;uid&gt;: what". */
  public static void describe(SparkContext sc, String stageUid, String what) {
    sc.setJobDescription("MultiEmbedding " + stageUid + ": " + what);
  }
}
