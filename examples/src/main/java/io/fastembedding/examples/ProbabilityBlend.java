package io.fastembedding.examples;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReadable;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Blends the positive-class probabilities of several binary classifiers fitted in one pipeline into
 * one probability column: their weighted average ({@code method=probability}) or the logistic of
 * the weighted average of their logits ({@code method=logit}). Spark has no stage for this (its
 * SQL cannot read a vector's element, so SQLTransformer cannot do it).
 *
 * <p>Each input column is either a classifier's {@code probabilityCol} (a vector whose element 1 is
 * the positive class's probability, as Spark's classifiers and MultiEmbedding's probabilityCol
 * give) or a double that is that probability (MultiEmbedding's predictionCol). The output is a
 * vector {@code [1 - p, p]}, so {@code BinaryClassificationEvaluator} reads it as a raw prediction.
 * Weights default to equal; they need not sum to one (they are normalised). The stage holds no
 * fitted state: its params are all it persists.
 *
 * <p>The examples are built on Spark 4 only, so the String param uses Spark 4's constructor with
 * its value class directly (the library's params go through SparkCompat for Spark 3.5).
 */
public final class ProbabilityBlend extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;
  /**
   * A logit's probability is clipped to [EPS, 1 - EPS], so that 0 and 1 stay finite; 2^-40 (about
   * 9e-13) makes 1 - EPS exact, so both ends' logits are ±log(2^40 - 1) and a 0 meets a 1 at 0.5.
   */
  static final double EPS = 0x1p-40;

  private final String uid;
  private final StringArrayParam inputCols;
  private final DoubleArrayParam weights;
  private final Param<String> method;
  private final Param<String> outputCol;

  public ProbabilityBlend() {
    this(Identifiable.randomUID("probabilityBlend"));
  }

  public ProbabilityBlend(String uid) {
    this.uid = uid;
    inputCols = new StringArrayParam(this, "inputCols", "the classifiers' probability columns "
        + "(a vector whose element 1 is the positive class's probability, or that probability as "
        + "a double)");
    weights = new DoubleArrayParam(this, "weights", "one non-negative weight per input column, "
        + "not all zero (normalised; default: equal)");
    method = new Param<>(uid, "method", "what is averaged: probability (the probabilities) or "
        + "logit (the logits; the output is their average's logistic)",
        (scala.Function1<String, Object>) v -> v.equals("probability") || v.equals("logit"),
        String.class);
    outputCol = new Param<>(uid, "outputCol", "the output column: a vector [1 - p, p]",
        (scala.Function1<String, Object>) v -> !v.isEmpty(), String.class);
    setDefault(method, "probability");
    setDefault(outputCol, "blend_probability");
  }

  @Override
  public String uid() {
    return uid;
  }

  public StringArrayParam inputCols() {
    return inputCols;
  }

  public DoubleArrayParam weights() {
    return weights;
  }

  public Param<String> method() {
    return method;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public ProbabilityBlend setInputCols(String... v) {
    set(inputCols, v);
    return this;
  }

  public ProbabilityBlend setWeights(double... v) {
    set(weights, v);
    return this;
  }

  public ProbabilityBlend setMethod(String v) {
    set(method, v);
    return this;
  }

  public ProbabilityBlend setOutputCol(String v) {
    set(outputCol, v);
    return this;
  }

  public String[] getInputCols() {
    return $(inputCols);
  }

  public String getMethod() {
    return $(method);
  }

  public String getOutputCol() {
    return $(outputCol);
  }

  /** The weights, normalised to sum to one (equal when unset); checks them against the inputs. */
  double[] normalisedWeights() {
    int n = getInputCols().length;
    double[] w = isDefined(weights) ? $(weights) : filled(n, 1.0);
    if (w.length != n) {
      throw new IllegalArgumentException("ProbabilityBlend: " + w.length + " weights for " + n
          + " inputCols " + Arrays.toString(getInputCols()));
    }
    double sum = 0;
    for (double x : w) {
      if (!(x >= 0) || Double.isInfinite(x)) {
        throw new IllegalArgumentException("ProbabilityBlend: weights must be finite and "
            + "non-negative, got " + Arrays.toString(w));
      }
      sum += x;
    }
    if (sum == 0) {
      throw new IllegalArgumentException("ProbabilityBlend: the weights are all zero");
    }
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = w[i] / sum;
    }
    return out;
  }

  private static double[] filled(int n, double v) {
    double[] a = new double[n];
    Arrays.fill(a, v);
    return a;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    if (!isDefined(inputCols) || getInputCols().length == 0) {
      throw new IllegalArgumentException("ProbabilityBlend: set inputCols (the classifiers' "
          + "probability columns)");
    }
    normalisedWeights();
    List<String> names = Arrays.asList(schema.fieldNames());
    for (String c : getInputCols()) {
      if (!names.contains(c)) {
        throw new IllegalArgumentException("ProbabilityBlend: input column '" + c
            + "' is not in the data; columns: " + names);
      }
      DataType t = schema.apply(c).dataType();
      if (!t.equals(SQLDataTypes.VectorType()) && !(t instanceof NumericType)) {
        throw new IllegalArgumentException("ProbabilityBlend: input column '" + c + "' must be "
            + "a probability vector or a numeric probability, got " + t.simpleString());
      }
    }
    if (names.contains(getOutputCol())) {
      throw new IllegalArgumentException("ProbabilityBlend: output column '" + getOutputCol()
          + "' already exists");
    }
    List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
    fields.add(new StructField(getOutputCol(), SQLDataTypes.VectorType(), true,
        org.apache.spark.sql.types.Metadata.empty()));
    return new StructType(fields.toArray(new StructField[0]));
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType schema = transformSchema(dataset.schema());
    double[] w = normalisedWeights();
    boolean logit = getMethod().equals("logit");
    Column sum = functions.lit(0.0);
    String[] in = getInputCols();
    for (int i = 0; i < in.length; i++) {
      Column p = schema.apply(in[i]).dataType().equals(SQLDataTypes.VectorType())
          ? org.apache.spark.ml.functions.vector_to_array(functions.col(in[i]), "float64")
              .getItem(1)
          : functions.col(in[i]).cast("double");
      if (logit) {
        Column q = functions.least(functions.greatest(p, functions.lit(EPS)),
            functions.lit(1 - EPS));
        p = functions.log(q.divide(functions.lit(1.0).minus(q)));
      }
      sum = sum.plus(p.multiply(w[i]));
    }
    Column blended = logit
        ? functions.lit(1.0).divide(functions.lit(1.0).plus(functions.exp(sum.unary_$minus())))
        : sum;
    return dataset.withColumn(getOutputCol(), org.apache.spark.ml.functions.array_to_vector(
        functions.array(functions.lit(1.0).minus(blended), blended)));
  }

  @Override
  public ProbabilityBlend copy(ParamMap extra) {
    return (ProbabilityBlend) defaultCopy(extra);
  }

  public static MLReader<ProbabilityBlend> read() {
    return new DefaultParamsReadable<ProbabilityBlend>() {}.read();
  }

  public static ProbabilityBlend load(String path) {
    return read().load(path);
  }
}
