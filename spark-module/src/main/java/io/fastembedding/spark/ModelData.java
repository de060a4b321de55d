package io.fastembedding.spark;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.spark.data.NumericBuckets;
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
  /** How the numeric features reach the head ({@link NumericEncoding}). */
  final String numericEncoding;
  /** The bucket edges of the 'bucket' and 'ple' encodings; null for 'linear'. */
  final NumericBuckets buckets;
  /**
   * The fields of the model's input columns; with the 'bucket' encoding, one field per numeric
   * feature's bucket follows them (the head reads them, the output vectors do not hold them).
   */
  final int numInputFields;
  /** The fold models and training rows of cross-fitted output; null without. */
  final CrossFitting.Folds crossFit;

  ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables, float[] firstOrder,
      float[] head) {
    this(spec, validCounts, reserved, tables, firstOrder, head, identityMean(spec.numNumeric()),
        identityStd(spec.numNumeric()));
  }

  ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables, float[] firstOrder,
      float[] head, float[] numericMean, float[] numericStd) {
    this(spec, validCounts, reserved, tables, firstOrder, head, numericMean, numericStd,
        NumericEncoding.LINEAR, null, spec.numFields(), null);
  }

  ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables, float[] firstOrder,
      float[] head, float[] numericMean, float[] numericStd, String numericEncoding,
      NumericBuckets buckets, int numInputFields, CrossFitting.Folds crossFit) {
    this(spec, validCounts, reserved, tables, firstOrder, head, numericMean, numericStd,
        numericEncoding, buckets, numInputFields, crossFit, null, new int[validCounts.length]);
  }

  /**
   * Every field: with {@code shards}, {@code tables} and {@code firstOrder} are null (the shards
   * hold them).
   */
  private ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables,
      float[] firstOrder, float[] head, float[] numericMean, float[] numericStd,
      String numericEncoding, NumericBuckets buckets, int numInputFields,
      CrossFitting.Folds crossFit, io.fastembedding.spark.shard.ShardStore shards,
      int[] hashBuckets) {
    this.numericEncoding = numericEncoding;
    this.buckets = buckets;
    this.numInputFields = numInputFields;
    this.crossFit = crossFit;
    if (!NumericEncoding.LINEAR.equals(numericEncoding) && buckets == null) {
      throw new IllegalArgumentException("numeric encoding '" + numericEncoding + "' needs its "
          + "bucket edges");
    }
    int bucketFields = NumericEncoding.BUCKET.equals(numericEncoding) ? buckets.numFeatures() : 0;
    if (numInputFields + bucketFields != spec.numFields()) {
      throw new IllegalArgumentException("the model has " + spec.numFields() + " fields but "
          + numInputFields + " input columns and " + bucketFields + " bucket fields");
    }
    int k = spec.numNumeric();
    if (numericMean.length != k || numericStd.length != k) {
      throw new IllegalArgumentException("the model has " + k + " numeric features but "
          + numericMean.length + " means and " + numericStd.length + " standard deviations");
    }
    this.numericMean = numericMean;
    this.numericStd = numericStd;
    this.shards = shards;
    this.hashBuckets = hashBuckets.clone();
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
    if (shards == null) {
      // ModelState checks every length against the spec
      scoringState();
    }
  }

  /** A model whose tables (values and first-order weights, no optimizer state) are shards. */
  static ModelData sharded(ModelSpec spec, int[] validCounts, boolean reserved, float[] head,
      float[] numericMean, float[] numericStd, io.fastembedding.spark.shard.ShardStore shards) {
    return new ModelData(spec, validCounts, reserved, null, null, head, numericMean, numericStd,
        NumericEncoding.LINEAR, null, spec.numFields(), null, shards, new int[validCounts.length]);
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
        numericStd, numericEncoding, buckets, numInputFields, crossFit, null, hashBuckets);
  }

  /**
   * This model, reading its columns hashed into {@code buckets} rows (0: an index column); the
   * fields {@code buckets} does not reach (bucket fields) are index fields.
   */
  ModelData withHashBuckets(int[] buckets) {
    if (buckets.length > validCounts.length) {
      throw new IllegalArgumentException("hashBuckets has " + buckets.length + " entries for "
          + validCounts.length + " fields");
    }
    // the input columns' entries; the 'bucket' encoding's fields after them are never hashed
    this.hashBuckets = java.util.Arrays.copyOf(buckets, validCounts.length);
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
  /**
   * @param inputFields the fields of input columns (the 'bucket' encoding's bucket fields follow
   *     them in the spec)
   */
  static void checkInputCols(ModelSpec spec, int inputFields, String[] inputCols, String where) {
    String[] trained = java.util.Arrays.copyOf(spec.fieldNames(),
        Math.min(inputFields, spec.fieldNames().length));
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

  /** This model with its numeric encoding and edges, for {@code inputFields} input columns. */
  ModelData withNumericEncoding(String encoding, NumericBuckets edges, int inputFields) {
    return new ModelData(spec, validCounts, reserved, tables, firstOrder, head, numericMean,
        numericStd, encoding, edges, inputFields, crossFit, shards, hashBuckets);
  }

  /** This model with fold models for cross-fitted output. */
  ModelData withCrossFit(CrossFitting.Folds folds) {
    return new ModelData(spec, validCounts, reserved, tables, firstOrder, head, numericMean,
        numericStd, numericEncoding, buckets, numInputFields, folds, shards, hashBuckets);
  }

  /** Fold f's model as a model of its own (the same tables' shapes, encoding and scaling). */
  ModelData foldModel(int f) {
    return new ModelData(spec, validCounts, reserved, crossFit.tables()[f],
        crossFit.firstOrder()[f], crossFit.head()[f], numericMean, numericStd, numericEncoding,
        buckets, numInputFields, null, null, hashBuckets);
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

  /** The numeric column's features as the user gives them ('ple' feeds the head more inputs). */
  int numericFeatures() {
    return NumericEncoding.PLE.equals(numericEncoding) && buckets != null ? buckets.numFeatures()
        : spec.numNumeric();
  }
}
