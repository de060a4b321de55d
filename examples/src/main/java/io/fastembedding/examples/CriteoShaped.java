package io.fastembedding.examples;

import io.fastembedding.model.Initializer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Criteo-shaped click data generated inside Spark (seeded, no file): the 26 categorical fields with
 * the cardinalities of the Criteo Display Advertising Challenge data as DLRM uses it (33.8 M values
 * in all), Zipf-distributed indices per field (exponent 1.1; index 0 the most frequent, as after a
 * StringIndexer), 13 numeric features, and labels drawn from a planted factorization machine of rank
 * 4 (first-order weights, pairwise interactions of all fields, linear numeric effects), so that AUC
 * measures how much of the planted structure a model recovers.
 */
public final class CriteoShaped {
  /** Cardinalities of the 26 categorical fields (DLRM's Criteo Kaggle preprocessing). */
  public static final int[] CARDINALITIES = {1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3,
      93145, 5683, 8351593, 3194, 27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181,
      105, 142572};
  public static final int NUMERIC = 13;
  static final double ZIPF = 1.1;
  static final int RANK = 4;
  /** Planted scales: latent vectors, first-order weights, numeric effects, bias (CTR about 25 %). */
  static final double LATENT_STD = 0.17;
  static final double FIRST_ORDER_STD = 0.3;
  static final double NUMERIC_EFFECT = 0.2;
  static final double BIAS = -1.5;
  /** The planted model's seed: the same for training and test rows. */
  static final long MODEL_SEED = 20261130L;

  private CriteoShaped() {}

  /** Field names c1..c26. */
  public static String[] fields() {
    String[] f = new String[CARDINALITIES.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = "c" + (i + 1);
    }
    return f;
  }

  /** The cardinalities scaled by {@code scale} (at least 2 each). */
  public static int[] cardinalities(double scale) {
    int[] c = CARDINALITIES.clone();
    for (int i = 0; i < c.length; i++) {
      c[i] = (int) Math.max(2, Math.round(c[i] * scale));
    }
    return c;
  }

  /**
   * {@code rows} rows in {@code partitions} partitions, drawn with {@code seed}: columns c1..c26
   * (int indices), "num" (a Vector of 13 features) and "label" (0 or 1).
   */
  public static Dataset<Row> generate(SparkSession spark, long rows, int partitions, long seed,
      double scale) {
    int[] card = cardinalities(scale);
    StructType schema = new StructType();
    for (String f : fields()) {
      schema = schema.add(f, DataTypes.IntegerType, false);
    }
    schema = schema.add("num", SQLDataTypes.VectorType(), false)
        .add("label", DataTypes.DoubleType, false);
    MapPartitionsFunction<Long, Row> gen = it -> new Rows(it, card, seed);
    return spark.range(0, rows, 1, partitions).as(Encoders.LONG()).mapPartitions(gen,
        Encoders.row(schema));
  }

  /** Rows for ids of one partition: each row's draws come from its id, so any partitioning agrees. */
  private static final class Rows implements Iterator<Row> {
    private final Iterator<Long> ids;
    private final int[] card;
    private final long seed;
    private final double[] s = new double[RANK];
    private final double[] q = new double[RANK];

    Rows(Iterator<Long> ids, int[] card, long seed) {
      this.ids = ids;
      this.card = card;
      this.seed = seed;
    }

    @Override
    public boolean hasNext() {
      return ids.hasNext();
    }

    @Override
    public Row next() {
      long id = ids.next();
      SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + id);
      int n = card.length;
      List<Object> vals = new ArrayList<>(n + 2);
      double logit = BIAS;
      java.util.Arrays.fill(s, 0);
      java.util.Arrays.fill(q, 0);
      for (int f = 0; f < n; f++) {
        int x = zipf(rnd.nextDouble(), card[f]);
        vals.add(x);
        logit += FIRST_ORDER_STD * Initializer.gaussian(MODEL_SEED, 1000L + f, x);
        for (int k = 0; k < RANK; k++) {
          double v = LATENT_STD * Initializer.gaussian(MODEL_SEED, 2000L + f * RANK + k, x);
          s[k] += v;
          q[k] += v * v;
        }
      }
      for (int k = 0; k < RANK; k++) {
        logit += 0.5 * (s[k] * s[k] - q[k]);
      }
      double[] z = new double[NUMERIC];
      for (int j = 0; j < NUMERIC; j++) {
        double g = rnd.nextGaussian();
        // heavy-tailed counts, as Criteo's integer features
        z[j] = Math.floor(Math.exp(1.5 * g + 1));
        logit += NUMERIC_EFFECT * (j % 2 == 0 ? 1 : -1) * g;
      }
      vals.add(Vectors.dense(z));
      vals.add(rnd.nextDouble() < 1 / (1 + Math.exp(-logit)) ? 1.0 : 0.0);
      return RowFactory.create(vals.toArray());
    }
  }

  /** A bounded Zipf draw in [0, n) with exponent {@link #ZIPF}, by the continuous inverse CDF. */
  static int zipf(double u, int n) {
    double a = 1 - ZIPF;
    double x = Math.pow(1 + u * (Math.pow(n + 1, a) - 1), 1 / a);
    return (int) Math.min(n - 1, Math.max(0, Math.floor(x) - 1));
  }
}
