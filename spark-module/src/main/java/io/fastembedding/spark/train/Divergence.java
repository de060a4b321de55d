package io.fastembedding.spark.train;

import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergedShard;
import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * Divergence is an error: a round whose training loss, or whose merged tables or head, are NaN or
 * infinite stops the fit with a message that names the round, the loss and the likely causes, with
 * this fit's values of the params behind them (unless failOnDivergence is false). The merged rows
 * are what a round changes, so checking them and the head checks the whole model.
 */
public final class Divergence {
  private Divergence() {}

  /**
   * What the message needs of the fit.
   *
   * @param fail whether divergence stops the fit (failOnDivergence)
   * @param labelMin the smallest finite training label (+inf when none)
   * @param labelMax the largest finite training label (-inf when none)
   */
  public record Context(boolean fail, double stepSize, String optimizer, String loss,
      double initStd, String labelCol, double labelMin, double labelMax) implements Serializable {}

  /** NaN or infinite values in one round's merged result. */
  public record NonFinite(long tableValues, long headValues) {
    boolean any() {
      return tableValues > 0 || headValues > 0;
    }
  }

  /** Counts the NaN and infinite values of the merged rows and head. */
  static NonFinite count(List<MergedShard> shards, HeadPiece head) {
    long t = 0;
    for (MergedShard s : shards) {
      t += tableValues(s);
    }
    return new NonFinite(t, head == null ? 0 : nonFinite(head.head));
  }

  /**
   * The NaN and infinite values (vectors and first-order weights) among one shard's merged rows:
   * the broadcast path counts them on the driver, the sharded path where the shard is merged.
   */
  public static long tableValues(MergedShard s) {
    if (s == null) {
      return 0;
    }
    int fo = s.rows.schema.column("firstOrder");
    return nonFinite(s.rows.columns[s.rows.schema.column("values")])
        + (fo < 0 ? 0 : nonFinite(s.rows.columns[fo]));
  }

  private static long nonFinite(float[] a) {
    long n = 0;
    if (a != null) {
      for (float x : a) {
        if (!Float.isFinite(x)) {
          n++;
        }
      }
    }
    return n;
  }

  /**
   * The message for a round that diverged, or null when it did not.
   *
   * @param previousLoss the last round's loss, NaN in round 1
   */
  static String check(String stageUid, int round, int numRounds, double loss,
      double previousLoss, NonFinite merged, Context c) {
    if (Double.isFinite(loss) && !merged.any()) {
      return null;
    }
    StringBuilder what = new StringBuilder();
    if (!Double.isFinite(loss)) {
      what.append("the training loss is ").append(loss);
    } else {
      what.append("the training loss is ").append(fmt(loss)).append(" but");
    }
    if (merged.any()) {
      what.append(Double.isFinite(loss) ? " " : ", and ").append("the merged ");
      if (merged.tableValues() > 0) {
        what.append("tables hold ").append(merged.tableValues()).append(" NaN or infinite value")
            .append(merged.tableValues() == 1 ? "" : "s");
      }
      if (merged.headValues() > 0) {
        what.append(merged.tableValues() > 0 ? " and the " : "").append("head holds ")
            .append(merged.headValues()).append(" NaN or infinite value")
            .append(merged.headValues() == 1 ? "" : "s");
      }
    }
    String labels = c.labelMin() <= c.labelMax()
        ? "labels from " + fmt(c.labelMin()) + " to " + fmt(c.labelMax()) : "its labels";
    boolean squared = "squared".equals(c.loss());
    return String.format(Locale.ROOT, "MultiEmbedding %s: training diverged in round %d of %d: "
        + "%s%s. Likely causes, with this fit's values: the step is too large (stepSize %s with "
        + "optimizer '%s'; try a step 10 times smaller%s)%s; the initial values are too large "
        + "(initStd %s; the default is 0.01). Set failOnDivergence = false to keep training anyway "
        + "(the model may then hold NaN)", stageUid, round, numRounds, what,
        Double.isFinite(previousLoss) ? " (round " + (round - 1) + ": " + fmt(previousLoss) + ")"
            : "", fmt(c.stepSize()), c.optimizer(),
        "sgd".equals(c.optimizer()) ? ", or optimizer 'adagrad'" : "",
        squared ? "; the squared loss on " + labels + " of label column '" + c.labelCol()
            + "' (its gradients grow with the labels: scale or standardise the labels to about "
            + "[-1, 1], or use a smaller step)"
            : "; the loss '" + c.loss() + "' on " + labels,
        fmt(c.initStd()));
  }

  private static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
        : String.format(Locale.ROOT, "%.4g", v);
  }
}
