package io.fastembedding.spark;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.io.Serializable;

/**
 * The trained values a model keeps (and broadcasts to transform): the tables, the FM first-order
 * weights and the head. The optimizer state is dropped after the fit.
 */
final class ModelData implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The spec as trained (its optimizer settings are kept as a record of the fit). */
  final ModelSpec spec;
  /** Valid categories per field. */
  final int[] validCounts;
  /** Whether each table has one more row, after the valid ones, for invalid and null indices. */
  final boolean reserved;
  final float[] tables;
  final float[] firstOrder;
  final float[] head;
  /**
   * Standardisation of the numeric features, learned in fit: feature j enters the head as
   * {@code (x - numericMean[j]) / numericStd[j]}, or 0 where the std is 0. Mean 0 and std 1 when
   * standardisation was off.
   */
  final float[] numericMean;
  final float[] numericStd;
  /**
   * The tables on the executors, for a model trained or loaded sharded; then {@code tables} and
   * {@code firstOrder} are null until {@link #collected} brings them to the driver. Not broadcast.
   */
  final transient io.fastembedding.spark.shard.ShardStore shards;
  /**
   * Per field, the rows a hashed column's raw values are hashed into, or 0 for an index column
   * (see {@link HashedColumns}); all 0 when no column is hashed.
   */
  int[] hashBuckets;

  ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables, float[] firstOrder,
      float[] head) {
    this(spec, validCounts, reserved, tables, firstOrder, head, identityMean(spec.numNumeric()),
        identityStd(spec.numNumeric()));
  }

  ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables, float[] firstOrder,
      float[] head, float[] numericMean, float[] numericStd) {
    int k = spec.numNumeric();
    if (numericMean.length != k || numericStd.length != k) {
      throw new IllegalArgumentException("the model has " + k + " numeric features but "
          + numericMean.length + " means and " + numericStd.length + " standard deviations");
    }
    this.numericMean = numericMean;
    this.numericStd = numericStd;
    this.shards = null;
    this.hashBuckets = new int[validCounts.length];
    this.spec = spec;
    this.validCounts = validCounts;
    this.reserved = reserved;
    this.tables = tables;
    this.firstOrder = firstOrder;
    this.head = head;
    var layout = spec.layout();
    for (int f = 0; f < validCounts.length; f++) {
      if (layout.size(f) != validCounts[f] + (reserved ? 1 : 0)) {
        throw new IllegalArgumentException("field '" + spec.fieldName(f) + "': table of "
            + layout.size(f) + " rows does not match " + validCounts[f] + " categories"
            + (reserved ? " + 1 reserved row" : ""));
      }
    }
    // ModelState checks every length against the spec
    scoringState();
  }

  /** A model whose tables (values and first-order weights, no optimizer state) are shards. */
  private ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] head,
      float[] numericMean, float[] numericStd, io.fastembedding.spark.shard.ShardStore shards) {
    this.spec = spec;
    this.validCounts = validCounts;
    this.reserved = reserved;
    this.tables = null;
    this.firstOrder = null;
    this.head = head;
    this.numericMean = numericMean;
    this.numericStd = numericStd;
    this.shards = shards;
    this.hashBuckets = new int[validCounts.length];
  }

  static ModelData sharded(ModelSpec spec, int[] validCounts, boolean reserved, float[] head,
      float[] numericMean, float[] numericStd, io.fastembedding.spark.shard.ShardStore shards) {
    return new ModelData(spec, validCounts, reserved, head, numericMean, numericStd, shards);
  }

  boolean isSharded() {
    return tables == null;
  }

  /** This model with its tables on the driver (collected from the shards when sharded). */
  ModelData collected() {
    if (!isSharded()) {
      return this;
    }
    ModelState s = shards.collect(head, null);
    return new ModelData(spec, validCounts, reserved, s.tables, s.firstOrder, head, numericMean,
        numericStd).withHashBuckets(hashBuckets);
  }

  /** This model, reading its columns hashed into {@code buckets} rows (0: an index column). */
  ModelData withHashBuckets(int[] buckets) {
    if (buckets.length != validCounts.length) {
      throw new IllegalArgumentException("hashBuckets has " + buckets.length + " entries for "
          + validCounts.length + " fields");
    }
    this.hashBuckets = buckets.clone();
    return this;
  }

  boolean hashed() {
    for (int b : hashBuckets) {
      if (b > 0) {
        return true;
      }
    }
    return false;
  }

  /**
   * Checks a model's inputCols param against the columns its tables were trained on: one column
   * per table, and not the trained columns in another order (which would look each column up in
   * another column's table). Other names are fine: a model may be pointed at renamed columns.
   *
   * @param where where the inputCols came from, for the message
   */
  static void checkInputCols(ModelSpec spec, String[] inputCols, String where) {
    String[] trained = spec.fieldNames();
    if (inputCols.length != trained.length) {
      throw new IllegalArgumentException("inputCols " + java.util.Arrays.toString(inputCols)
          + " (" + where + ") has " + inputCols.length + " entries, but the model has "
          + trained.length + " tables, trained on " + java.util.Arrays.toString(trained));
    }
    String[] a = inputCols.clone();
    String[] b = trained.clone();
    java.util.Arrays.sort(a);
    java.util.Arrays.sort(b);
    if (java.util.Arrays.equals(a, b) && !java.util.Arrays.equals(inputCols, trained)) {
      throw new IllegalArgumentException("inputCols " + java.util.Arrays.toString(inputCols)
          + " (" + where + ") are the model's columns in another order; its tables were trained "
          + "on " + java.util.Arrays.toString(trained) + ", in that order");
    }
  }

  static ModelData of(ModelState s, int[] validCounts, boolean reserved, float[] numericMean,
      float[] numericStd) {
    return new ModelData(s.spec, validCounts, reserved, s.tables, s.firstOrder, s.head, numericMean,
        numericStd);
  }

  static float[] identityMean(int k) {
    return new float[k];
  }

  static float[] identityStd(int k) {
    float[] s = new float[k];
    java.util.Arrays.fill(s, 1f);
    return s;
  }

  /** {@code 1 / std}, and 0 for a constant feature, so that it enters the head as 0. */
  static float[] inverse(float[] std) {
    float[] inv = new float[std.length];
    for (int j = 0; j < std.length; j++) {
      inv[j] = std[j] > 0 ? 1f / std[j] : 0f;
    }
    return inv;
  }

  /** The spec without optimizer state, which is all scoring needs. */
  ModelSpec scoringSpec() {
    return scoringSpec(spec);
  }

  static ModelSpec scoringSpec(ModelSpec spec) {
    OptimizerSpec o = spec.optimizer();
    return spec.toBuilder().optimizer(new OptimizerSpec(OptimizerType.SGD, o.learningRate(),
        o.l2(), o.epsilon())).build();
  }

  ModelState scoringState() {
    return new ModelState(scoringSpec(), tables, firstOrder, head, new float[0], new float[0],
        new float[0]);
  }
}
