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
import io.fastembedding.spark.shard.MemoryPlan;
import io.fastembedding.spark.shard.ShardStore;
import io.fastembedding.spark.shard.ShardedTraining;
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
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rounds of a fit, on blocks already built and cached: each round broadcasts the model, trains
 * every partition ({@link TrainRound}), merges the touched rows by shard and the heads
 * ({@link MergeShards}), evaluates the merged model when there are validation rows, logs the round,
 * and stops early when the validation metric has not improved (by more than {@code tol}) for
 * {@code patience} rounds.
 */
public final class FitRounds {
  /** The stage's logger, which docs/spark.md names for the round lines. */
  private static final Logger LOG =
      LoggerFactory.getLogger("io.fastembedding.spark.MultiEmbedding");

  /** Validation scores kept per round for the validation AUC (the loss is over every row). */
  public static final int EVALUATION_ROWS = 500_000;

  /**
   * Training rows scored per round for the training sample's loss and AUC, a diagnostic of
   * overfitting that nothing decides on: 100 000 give its AUC to about 0.002, and scoring and
   * sorting more cost the flights fit (2.2 M rows) about 0.08 s a round at 500 000.
   */
  public static final int TRAIN_SAMPLE_ROWS = 100_000;

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
   * @param tol the least improvement of the metric over the last round that reset the patience
   *     for a round to reset it again (absolute, as scikit-learn's); the best round is kept
   *     whatever its margin
   */
  public record Config(String stageUid, String fitId, int maxIter, int epochsPerMerge,
      int batchSize, long seed, boolean deterministic, int patience, double tol, boolean validate,
      boolean stopEarly, boolean byAuc, Divergence.Context divergence, DeviceRequest device,
      GpuTrainingPlan gpuPlan, BackendFactory backendFactory) {

    /** The same fit without validation rows, for {@code epochs} epochs (refit, fold models). */
    public Config plain(int epochs) {
      return new Config(stageUid, fitId, epochs, epochsPerMerge, batchSize, seed, deterministic,
          patience, tol, false, false, false, divergence, device, gpuPlan, backendFactory);
    }
  }

  /**
   * The model kept (the best round's with validation rows, else the last) and the rounds' record:
   * the whole state on the driver (broadcast path), or the shards on the executors and the head
   * (sharded path; {@code state} is then null).
   */
  public record Result(ModelState state, ShardStore shards, HeadPiece head,
      List<TrainingSummary.Round> rounds, int bestRound, boolean stoppedEarly) {
    public boolean sharded() {
      return shards != null;
    }
  }

  private final JavaSparkContext jsc;
  private final Config config;

  public FitRounds(JavaSparkContext jsc, Config config) {
    this.jsc = jsc;
    this.config = config;
  }

  /** Trains {@code spec}'s model, from its seeded initial state, on {@code blocks}: broadcast. */
  public Result run(ModelSpec spec, JavaRDD<PartitionData> blocks) {
    return run(spec, blocks, false, null);
  }

  /**
   * Trains {@code spec}'s model on {@code blocks}, with its tables broadcast from the driver or,
   * with {@code sharded}, as shards on the executors, whose use of {@code memory} is checked (with
   * the rows each partition uses, found first) before the first round.
   */
  public Result run(ModelSpec spec, JavaRDD<PartitionData> blocks, boolean sharded,
      MemoryPlan.Memory memory) {
    SparkContext sc = jsc.sc();
    int epochsTotal = config.maxIter();
    int per = config.epochsPerMerge();
    int numRounds = (epochsTotal + per - 1) / per;
    int parts = blocks.getNumPartitions();
    Engine engine = sharded ? new Sharded(spec, blocks, memory) : new Broadcast(spec, blocks);
    boolean ok = false;
    try {
      Result result = rounds(engine, blocks, numRounds, epochsTotal, per, parts);
      ok = true;
      return result;
    } finally {
      engine.close(ok);
    }
  }

  private Result rounds(Engine engine, JavaRDD<PartitionData> blocks, int numRounds,
      int epochsTotal, int per, int parts) {
    SparkContext sc = jsc.sc();
    List<TrainingSummary.Round> rounds = new ArrayList<>();
    int done = 0;
    int bestRound = 0;
    // the metric, lower is better: the loss, or minus the AUC
    double bestMetric = Double.POSITIVE_INFINITY;
    // the round whose metric last beat the one before it by more than tol: patience counts from it
    int lastGain = 0;
    double gainMetric = Double.POSITIVE_INFINITY;
    boolean stoppedEarly = false;
    for (int r = 0; r < numRounds; r++) {
      int epochs = Math.min(per, epochsTotal - done);
      long t0 = System.nanoTime();
      describe(sc, config.stageUid(), String.format(Locale.ROOT, "round %d/%d (epoch%s %d%s): "
          + "train %d partitions, merge in %d shards%s", r + 1, numRounds, epochs > 1 ? "s" : "",
          done + 1, epochs > 1 ? "-" + (done + epochs) : "", parts, engine.numShards(),
          engine instanceof Sharded ? " (sharded tables)" : ""));
      CollectionAccumulator<TaskReport> reports = sc.collectionAccumulator("MultiEmbedding round "
          + (r + 1));
      RoundOut out = engine.round(epochs, done, reports);
      long[] traffic = {out.pulled(), out.pushed()};
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
      if (traffic[0] < 0) {
        // the broadcast went once to each executor that trained
        traffic[0] = engine.modelBytes()
            * tasks.stream().map(TaskReport::executorId).distinct().count();
      }
      boolean validate = config.validate();
      Evaluation ev = validate ? engine.evaluate(r + 1, numRounds) : Evaluation.NONE;
      TrainingSummary.Round summary = new TrainingSummary.Round(r + 1, epochs,
          weight > 0 ? lossSum / weight : Double.NaN, rowCount, seconds, tasks, ev.trainLoss(),
          ev.trainAuc(), ev.validationLoss(), ev.validationAuc(), traffic[0], traffic[1]);
      String diverged = Divergence.check(config.stageUid(), r + 1, numRounds, summary.loss(),
          rounds.isEmpty() ? Double.NaN : rounds.get(rounds.size() - 1).loss(), out.nonFinite(),
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
          + "(%d rows in %.2f s, %d tasks on %s; %.1f MB pulled, %.1f MB pushed)%s",
          config.stageUid(), r + 1, numRounds, summary.loss(), summary.rowsPerSecond(), rowCount,
          seconds, tasks.size(), deviceSummary(tasks), traffic[0] / 1e6, traffic[1] / 1e6,
          validate ? String.format(Locale.ROOT, "; train sample loss %.5f AUC %.4f, validation "
              + "loss %.5f AUC %.4f", ev.trainLoss(), ev.trainAuc(), ev.validationLoss(),
              ev.validationAuc()) : ""));
      if (validate && config.stopEarly()) {
        double metric = config.byAuc() ? -ev.validationAuc() : ev.validationLoss();
        if (metric < bestMetric) {
          bestMetric = metric;
          engine.keepCurrent();
          bestRound = r + 1;
        }
        if (metric < gainMetric - config.tol() || gainMetric == Double.POSITIVE_INFINITY
            && Double.isFinite(metric)) {
          gainMetric = metric;
          lastGain = r + 1;
        } else if (r + 1 - lastGain >= config.patience() && r + 1 < numRounds) {
          stoppedEarly = true;
          LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: stopping after round %d: the "
              + "validation %s has not improved by more than tol %s for %d rounds; keeping round "
              + "%d (%.5f)", config.stageUid(), r + 1, config.byAuc() ? "AUC" : "loss",
              config.tol(), r + 1 - lastGain, bestRound, Math.abs(bestMetric)));
          break;
        }
      }
    }
    if (bestRound == 0) {
      // no early stopping, or a validation metric that was never finite: the last round's model
      engine.keepCurrent();
      return engine.result(rounds, rounds.size(), false);
    }
    return engine.result(rounds, bestRound, stoppedEarly);
  }

  /** What a round's training and merge report. */
  private record RoundOut(long pulled, long pushed, Divergence.NonFinite nonFinite) {}

  /** Where the model lives between rounds: on the driver (broadcast) or in shards. */
  private interface Engine {
    /** Trains and merges one round: bytes pulled (-1: the broadcast's) and pushed, NaN counts. */
    RoundOut round(int epochs, int firstEpoch, CollectionAccumulator<TaskReport> reports);

    Evaluation evaluate(int round, int numRounds);

    /** Keeps the current model as the result (the best so far, or the last). */
    void keepCurrent();

    Result result(List<TrainingSummary.Round> rounds, int bestRound, boolean stoppedEarly);

    int numShards();

    long modelBytes();

    /** Releases what the rounds cached; on failure ({@code !ok}) the result too. */
    void close(boolean ok);
  }

  private TrainRound trainRound(org.apache.spark.broadcast.Broadcast<ModelState> bc, ShardPlan plan, int epochs,
      int firstEpoch, CollectionAccumulator<TaskReport> reports) {
    return new TrainRound(config.fitId(), bc, plan, config.batchSize(), epochs, firstEpoch,
        config.seed(), config.deterministic(), config.device(), config.backendFactory(), reports);
  }

  /** The broadcast path: the driver holds the model, broadcasts it and applies the merged rows. */
  private final class Broadcast implements Engine {
    private final JavaRDD<PartitionData> blocks;
    private final ShardPlan plan;
    private ModelState state;
    private ModelState kept;

    Broadcast(ModelSpec spec, JavaRDD<PartitionData> blocks) {
      this.blocks = blocks;
      this.plan = ShardPlan.forWorkers(spec.layout(), blocks.getNumPartitions());
      this.state = ModelState.initial(spec);
    }

    @Override
    public RoundOut round(int epochs, int firstEpoch, CollectionAccumulator<TaskReport> reports) {
      org.apache.spark.util.LongAccumulator pushed = jsc.sc().longAccumulator();
      Merged m = trainAndMerge(blocks, state, plan, epochs, firstEpoch, reports, pushed);
      state = m.state();
      return new RoundOut(-1, pushed.value(), m.nonFinite());
    }

    @Override
    public Evaluation evaluate(int round, int numRounds) {
      return FitRounds.this.evaluate(blocks, state, round, numRounds);
    }

    @Override
    public void keepCurrent() {
      kept = state;
    }

    @Override
    public Result result(List<TrainingSummary.Round> rounds, int bestRound, boolean stopped) {
      return new Result(kept, null, null, rounds, bestRound, stopped);
    }

    @Override
    public int numShards() {
      return plan.numShards();
    }

    @Override
    public long modelBytes() {
      return MemoryPlan.modelBytes(state.spec);
    }

    @Override
    public void close(boolean ok) {}
  }

  /** The sharded path: shards on the executors, each partition pulling and pushing its rows. */
  private final class Sharded implements Engine {
    private final ModelSpec spec;
    private final ShardedTraining training;

    Sharded(ModelSpec spec, JavaRDD<PartitionData> blocks, MemoryPlan.Memory memory) {
      this.spec = spec;
      int parts = blocks.getNumPartitions();
      ShardPlan plan = new ShardPlan(spec.layout(), MemoryPlan.numShards(spec, memory, parts));
      describe(jsc.sc(), config.stageUid(), "finding the table rows each partition uses, for "
          + "its local model");
      training = ShardedTraining.start(jsc, blocks, spec, plan);
      boolean ok = false;
      try {
        ShardedTraining.Footprint fp = training.footprint();
        // a training task holding a whole GPU has its executor's memory shared by fewer tasks
        MemoryPlan.Memory training = config.gpuPlan() == null ? memory
            : config.gpuPlan().trainingTasksPerExecutor().stream()
                .mapToObj(memory::withTasksAtMost).findFirst().orElse(memory);
        MemoryPlan.checkSharded(spec, plan, fp.localBytes(), fp.shardTraffic(), memory, training);
        LOG.info(String.format(Locale.ROOT, "MultiEmbedding %s: sharded tables: %s in %d shards; "
            + "local models of %s per partition at most; %s", config.stageUid(),
            mib(MemoryPlan.tableBytes(spec)), plan.numShards(),
            mib(java.util.Arrays.stream(fp.localBytes()).max().orElse(0)),
            "task budget " + mib(memory.taskBudget()) + (training == memory ? ""
                : ", training task budget " + mib(training.taskBudget()))));
        ok = true;
      } finally {
        if (!ok) {
          training.closeAll();
        }
      }
    }

    @Override
    public RoundOut round(int epochs, int firstEpoch, CollectionAccumulator<TaskReport> reports) {
      TrainRound round = trainRound(null, training.store().plan, epochs, firstEpoch, reports);
      ShardedTraining.Traffic t = training.round(round, firstEpoch, config.gpuPlan());
      // the merged rows stay on the executors, which counted their NaN and infinite values; the
      // head is checked here
      return new RoundOut(t.pulledBytes(), t.pushedBytes(), new Divergence.NonFinite(
          t.nonFiniteTableValues(), Divergence.count(List.of(), training.head()).headValues()));
    }

    @Override
    public Evaluation evaluate(int round, int numRounds) {
      describe(jsc.sc(), config.stageUid(), String.format(Locale.ROOT, "round %d/%d: evaluate "
          + "on the validation rows and a training sample", round, numRounds));
      int parts = training.partitions().getNumPartitions();
      return evaluation(training.evaluate(Math.max(1, TRAIN_SAMPLE_ROWS / parts),
          Math.max(1, EVALUATION_ROWS / parts)), spec.loss());
    }

    @Override
    public void keepCurrent() {
      training.keepCurrent();
    }

    @Override
    public Result result(List<TrainingSummary.Round> rounds, int bestRound, boolean stopped) {
      return new Result(null, training.result(), training.resultHead(), rounds, bestRound,
          stopped);
    }

    @Override
    public int numShards() {
      return training.store().numShards();
    }

    @Override
    public long modelBytes() {
      return MemoryPlan.modelBytes(spec);
    }

    @Override
    public void close(boolean ok) {
      if (ok) {
        training.close();
      } else {
        training.closeAll();
      }
    }
  }

  private static String mib(long b) {
    return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
  }

  /** A round's merged model, and the NaN or infinite values among what the round changed. */
  private record Merged(ModelState state, Divergence.NonFinite nonFinite) {}

  /** One round's training and merge: broadcast, train every partition, merge by shard. */
  private Merged trainAndMerge(JavaRDD<PartitionData> blocks, ModelState state, ShardPlan plan,
      int epochs, int firstEpoch, CollectionAccumulator<TaskReport> reports,
      org.apache.spark.util.LongAccumulator pushed) {
    org.apache.spark.broadcast.Broadcast<ModelState> bc = jsc.broadcast(state);
    List<MergeResult> merged;
    try {
      TrainRound round = trainRound(bc, plan, epochs, firstEpoch, reports).countingPushed(pushed);
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
    int parts = blocks.getNumPartitions();
    org.apache.spark.broadcast.Broadcast<ModelState> bc = jsc.broadcast(state);
    List<EvaluateRound.Piece> pieces;
    try {
      pieces = blocks.map(new EvaluateRound(bc, Math.max(1, TRAIN_SAMPLE_ROWS / parts),
          Math.max(1, EVALUATION_ROWS / parts))).collect();
    } finally {
      bc.destroy();
    }
    return evaluation(pieces, state.spec.loss());
  }

  /** Losses and AUCs of the partitions' evaluation pieces. */
  private static Evaluation evaluation(List<EvaluateRound.Piece> pieces, LossType loss) {
    boolean logistic = loss == LossType.LOGISTIC;
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
