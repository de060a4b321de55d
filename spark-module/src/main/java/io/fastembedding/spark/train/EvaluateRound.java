package io.fastembedding.spark.train;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.data.PartitionData;
import java.io.Serializable;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

/**
 * Scores one partition with the merged model of a round, after the merge: every validation row (its
 * loss, and its score for the AUC) and an evenly spaced sample of the training rows. Runs on the CPU
 * backend's forward pass, the one definition of the head, with the task's cores.
 */
public final class EvaluateRound implements Function<PartitionData, EvaluateRound.Piece> {
  private static final long serialVersionUID = 1L;
  /** Probabilities are clamped this far from 0 and 1 before the log of the logistic loss. */
  static final float EPS = 1e-7f;

  private final Broadcast<ModelState> model;
  private final int trainSampleRows;
  private final int validationScoreRows;

  /**
   * @param trainSampleRows training rows to score in this partition (evenly spaced; all when fewer)
   * @param validationScoreRows validation scores to return for the AUC (evenly spaced); the loss is
   *     over every validation row
   */
  public EvaluateRound(Broadcast<ModelState> model, int trainSampleRows, int validationScoreRows) {
    this.model = model;
    this.trainSampleRows = trainSampleRows;
    this.validationScoreRows = validationScoreRows;
  }

  /** What one partition's evaluation returns: loss sums and (sampled) scores with their labels. */
  public record Piece(int partition, Scored train, Scored validation) implements Serializable {}

  /**
   * Scores and labels of some rows, and the weighted loss of all the rows scored.
   *
   * @param lossSum sum over the rows of weight * loss
   * @param weight sum of the weights
   */
  public record Scored(double lossSum, double weight, float[] scores, float[] labels)
      implements Serializable {
    static final Scored EMPTY = new Scored(0, 0, new float[0], new float[0]);
  }

  @Override
  public Piece call(PartitionData pd) {
    return evaluate(pd, model.value(), trainSampleRows, validationScoreRows);
  }

  /**
   * Scores {@code pd}'s validation rows and a training sample with {@code s}, which holds every row
   * the partition's blocks use (the whole model, or a partition's local model in the sharded path).
   */
  public static Piece evaluate(PartitionData pd, ModelState s, int trainSampleRows,
      int validationScoreRows) {
    ModelSpec scoring = scoringSpec(s.spec);
    TaskContext ctx = TaskContext.get();
    int cpus = ctx == null ? 1 : ctx.cpus();
    try (CpuBackend backend = new CpuBackend(scoring, new BackendOptions(false, cpus),
        new ModelState(scoring, s.tables, s.firstOrder, s.head, new float[0], new float[0],
            new float[0]))) {
      RowBlock trainRows = evenSample(pd.block, trainSampleRows);
      Scored train = score(backend, trainRows, trainRows.rows, s.spec.loss());
      Scored valid = pd.validation == null ? Scored.EMPTY
          : score(backend, pd.validation, validationScoreRows, s.spec.loss());
      return new Piece(pd.partition, train, valid);
    }
  }

  /** The spec without optimizer state: scoring needs none, and the model's state is not copied. */
  static ModelSpec scoringSpec(ModelSpec spec) {
    OptimizerSpec o = spec.optimizer();
    return spec.toBuilder().optimizer(new OptimizerSpec(OptimizerType.SGD, o.learningRate(), o.l2(),
        o.epsilon())).build();
  }

  private static Scored score(CpuBackend backend, RowBlock b, int keep, LossType loss) {
    if (b.rows == 0) {
      return Scored.EMPTY;
    }
    float[] p = new float[b.rows];
    backend.predict(b, 0, b.rows, p, 0);
    double lossSum = 0;
    double weight = 0;
    for (int r = 0; r < b.rows; r++) {
      double w = b.weight(r);
      lossSum += w * loss(p[r], b.labels[r], loss);
      weight += w;
    }
    int m = Math.min(keep, b.rows);
    float[] scores = new float[m];
    float[] labels = new float[m];
    for (int i = 0; i < m; i++) {
      int r = (int) ((long) i * b.rows / m);
      scores[i] = p[r];
      labels[i] = b.labels[r];
    }
    return new Scored(lossSum, weight, scores, labels);
  }

  /** The loss of a prediction (a probability for the logistic loss), as model.md defines it. */
  static double loss(float prediction, float label, LossType loss) {
    if (loss == LossType.LOGISTIC) {
      double p = Math.min(Math.max(prediction, EPS), 1 - EPS);
      return -(label * Math.log(p) + (1 - label) * Math.log1p(-p));
    }
    double r = prediction - label;
    return 0.5 * r * r;
  }

  /** Rows {@code i * rows / m} for i in [0, m), m = min(rows, max): the whole block when smaller. */
  static RowBlock evenSample(RowBlock b, int max) {
    if (b.rows <= max) {
      return b;
    }
    RowBlock sample = RowBlock.allocate(b.numFields, b.numNumeric, max, b.weights != null);
    for (int i = 0; i < max; i++) {
      b.copyRow((int) ((long) i * b.rows / max), sample, i);
    }
    return sample;
  }
}
