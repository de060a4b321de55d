package io.fastembedding.spark;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.spark.data.ColumnChecks;
import io.fastembedding.spark.data.TableSizes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.attribute.NumericAttribute;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The stage's one schema check, as Spark's {@code validateAndTransformSchema}: the estimator's and the
 * model's {@code transformSchema} both call it. It checks the params against each other and the
 * schema (everything a fit or a transform can check before data) and returns the schema with the
 * output columns added.
 */
final class StageSchema {
  private StageSchema() {}

  /** What is known of the tables when the schema is checked. */
  sealed interface Tables permits BeforeFit, Fitted {}

  /**
   * Before a fit: the estimator-only params (null when unset), and the estimator's rule for each
   * field's dim from the valid counts (-1 where a count needs a scan; the rule answers null when it
   * needs one).
   */
  record BeforeFit(int[] numCategories, int[] embeddingDims, UnaryOperator<int[]> fieldDims)
      implements Tables {}

  /** After a fit: the model's tables. */
  record Fitted(ModelData data) implements Tables {}

  static StructType validateAndTransformSchema(MultiEmbeddingParams p, StructType schema,
      Tables tables) {
    if (!p.isDefined(p.inputCols())) {
      throw new IllegalArgumentException("inputCols is not set: give the categorical index columns "
          + "to embed, e.g. setInputCols(\"origin_idx\", \"dest_idx\")");
    }
    String[] cols = p.getInputCols();
    int n = cols.length;
    BeforeFit before = tables instanceof BeforeFit b ? b : null;
    ModelData fitted = tables instanceof Fitted f ? f.data() : null;
    if (fitted != null) {
      ModelData.checkInputCols(fitted.spec, fitted.numInputFields, cols, "set on the model");
    }
    if (p.isDefined(p.numHashBuckets())) {
      ColumnChecks.requireLength("numHashBuckets", p.getNumHashBuckets().length, n, cols);
    }
    int[] buckets = fitted != null ? fitted.hashBuckets : p.hashBuckets();
    for (int f = 0; f < n; f++) {
      if (buckets[f] > 0) {
        HashedColumns.requireHashable(schema, cols[f]);
      } else {
        ColumnChecks.requireIndexColumn(schema, cols[f]);
      }
    }
    if (before != null) {
      checkTrainingColumns(p, schema);
    } else if (scores(p) && fitted.spec.numNumeric() > 0) {
      if (p.getNumericCol().isEmpty()) {
        throw new IllegalArgumentException("the head of this model reads "
            + fitted.numericFeatures() + " numeric features, so predictionCol and probabilityCol "
            + "need numericCol, which is empty; set it to the Vector column the model was fit with");
      }
      ColumnChecks.requireVectorColumn(schema, p.getNumericCol(), "numeric column");
    }
    if (!p.getProbabilityCol().isEmpty()) {
      if (before != null && LossType.fromId(p.getLoss()) != LossType.LOGISTIC) {
        throw new IllegalArgumentException("probabilityCol ('" + p.getProbabilityCol() + "') needs "
            + "the logistic loss; with loss '" + p.getLoss() + "' use predictionCol for the head's "
            + "value");
      }
      if (fitted != null && fitted.spec.loss() != LossType.LOGISTIC) {
        throw new IllegalArgumentException("probabilityCol ('" + p.getProbabilityCol() + "') needs "
            + "a model trained with the logistic loss; this one used '" + fitted.spec.loss().id()
            + "': use predictionCol for the head's value");
      }
    }
    if (before != null) {
      if (before.numCategories() != null) {
        ColumnChecks.requireLength("numCategories", before.numCategories().length, n, cols);
      }
      if (before.embeddingDims() != null) {
        ColumnChecks.requireLength("embeddingDims", before.embeddingDims().length, n, cols);
      }
    } else if (ParamDefs.KEEP.equals(p.getHandleInvalid()) && !fitted.reserved) {
      throw new IllegalArgumentException("handleInvalid = 'keep' needs the reserved row that a fit "
          + "with handleInvalid = 'keep' adds to each table; this model was fit without it. Use "
          + "'error' or 'skip', or refit with handleInvalid = 'keep'");
    }
    if (p.isDefined(p.outputCols())) {
      ColumnChecks.requireLength("outputCols", p.getOutputCols().length, n, cols);
    }
    if (p.getCrossFitVectors()) {
      checkCrossFitVectors(p, fitted);
    }
    int[] dims;
    boolean firstOrder;
    if (before != null) {
      int[] given = before.embeddingDims();
      boolean fm = HeadType.fromId(p.getHead()).factorized();
      if (given != null && fm && Arrays.stream(given).anyMatch(x -> x != given[0])) {
        throw new IllegalArgumentException("head '" + p.getHead() + "' needs one embedding dim for every field, "
            + "because it takes dot products between fields; embeddingDims is "
            + Arrays.toString(given) + " for " + Arrays.toString(cols)
            + ". Use embeddingDim, or head 'linear' or 'mlp'");
      }
      // the dims by cardinality are known here only where the counts are (param or metadata)
      dims = before.fieldDims().apply(TableSizes.beforeScan(schema, cols,
          before.numCategories()).withHashed(buckets).validCounts);
      firstOrder = p.getWithFirstOrder() && fm;
    } else {
      dims = fitted.spec.layout().dims();
      firstOrder = p.getWithFirstOrder() && fitted.spec.hasFirstOrder();
    }
    StructType out = schema;
    for (StructField f : outputFields(p, cols, dims, firstOrder)) {
      ColumnChecks.requireAbsent(out, f.name());
      out = out.add(f);
    }
    return out;
  }

  /**
   * crossFitVectors needs fold models whose vectors are in the full model's basis: cross-fitting
   * with the fm head (CrossFitting.aligns), in a model that rotated them (models saved before
   * session 5's alignment did not).
   */
  private static void checkCrossFitVectors(MultiEmbeddingParams p, ModelData fitted) {
    if (fitted == null) {
      if (p.getCrossFitFolds() == 0) {
        throw new IllegalArgumentException("crossFitVectors gives training rows their fold "
            + "models' vectors, so it needs crossFitFolds >= 2 (it is 0); set crossFitFolds, or "
            + "crossFitVectors to false");
      }
      if (!CrossFitting.aligns(HeadType.fromId(p.getHead()))) {
        throw new IllegalArgumentException("crossFitVectors needs the fm or fwfm head, whose fold models' "
            + "vectors one rotation brings into the full model's basis without changing their "
            + "scores; head is '" + p.getHead() + "'. Set crossFitVectors to false (the training "
            + "rows' scores are still cross-fitted), or head 'fm' or 'fwfm'");
      }
    } else if (fitted.crossFit == null || !fitted.crossFit.alignedVectors()) {
      throw new IllegalArgumentException("crossFitVectors needs a model fitted with crossFitFolds "
          + "and the fm or fwfm head" + (fitted.crossFit == null ? "; this one was fitted without "
          + "crossFitFolds" : "; this one's fold models' vectors are in bases of their own (head '"
          + fitted.spec.head().id() + "', or saved before they were aligned)")
          + ". Set crossFitVectors to false");
    }
  }

  /** The columns only a fit reads: label, weight, numeric features, validation indicator. */
  private static void checkTrainingColumns(MultiEmbeddingParams p, StructType schema) {
    ColumnChecks.requireNumericColumn(schema, p.getLabelCol(), "label column");
    if (!p.getWeightCol().isEmpty()) {
      ColumnChecks.requireNumericColumn(schema, p.getWeightCol(), "weight column");
    }
    if (!p.getNumericCol().isEmpty()) {
      ColumnChecks.requireVectorColumn(schema, p.getNumericCol(), "numeric column");
    }
    if (!p.getValidationIndicatorCol().isEmpty()) {
      ColumnChecks.requireBooleanColumn(schema, p.getValidationIndicatorCol(),
          "validationIndicatorCol");
      // the default fraction (for earlyStopping 'auto') gives way to the column; a fraction the
      // user set as well is a contradiction
      if (p.isSet(p.validationFraction()) && p.getValidationFraction() > 0) {
        throw new IllegalArgumentException("validationIndicatorCol ('"
            + p.getValidationIndicatorCol() + "') and validationFraction ("
            + p.getValidationFraction() + ") are both set; choose one way of holding rows out");
      }
    }
  }

  /** Whether transform runs the head: a prediction or probability column is asked for. */
  static boolean scores(MultiEmbeddingParams p) {
    return !p.getPredictionCol().isEmpty() || !p.getProbabilityCol().isEmpty();
  }

  /** outputCol, then outputCols, predictionCol and probabilityCol where asked for. */
  private static List<StructField> outputFields(MultiEmbeddingParams p, String[] cols, int[] dims,
      boolean firstOrder) {
    List<StructField> fields = new ArrayList<>();
    fields.add(vectorField(p.getOutputCol(), cols, dims, firstOrder, -1));
    if (p.isDefined(p.outputCols())) {
      String[] outs = p.getOutputCols();
      for (int f = 0; f < outs.length; f++) {
        fields.add(vectorField(outs[f], cols, dims, firstOrder, f));
      }
    }
    if (!p.getPredictionCol().isEmpty()) {
      fields.add(new StructField(p.getPredictionCol(), DataTypes.DoubleType, false,
          Metadata.empty()));
    }
    if (!p.getProbabilityCol().isEmpty()) {
      // a Vector [P(0), P(1)], as Spark's probabilistic classifiers write it
      fields.add(new AttributeGroup(p.getProbabilityCol(), 2).toStructField());
    }
    return fields;
  }

  /**
   * A vector column with ML attributes {@code <inputCol>_<k>}, each field's slice led by
   * {@code <inputCol>_w} when it carries the first-order weight; {@code field} -1: all fields.
   */
  private static StructField vectorField(String name, String[] cols, int[] dims,
      boolean firstOrder, int field) {
    if (dims == null) {
      // dims chosen by cardinality, which is not known before the fit: a vector of unknown size
      return new AttributeGroup(name).toStructField();
    }
    List<Attribute> attrs = new ArrayList<>();
    for (int f = 0; f < cols.length; f++) {
      if (field >= 0 && f != field) {
        continue;
      }
      if (firstOrder) {
        attrs.add(NumericAttribute.defaultAttr().withName(cols[f] + "_w"));
      }
      for (int k = 0; k < dims[f]; k++) {
        attrs.add(NumericAttribute.defaultAttr().withName(cols[f] + "_" + k));
      }
    }
    return new AttributeGroup(name, attrs.toArray(new Attribute[0])).toStructField();
  }
}
