package io.fastembedding.spark;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;

/**
 * The params shared by {@link MultiEmbedding} and {@link MultiEmbeddingModel}, as Spark's
 * {@code XxxParams} traits: the columns, the head and every training param, so that a fitted model
 * carries the params it was trained with ({@code model.getMaxIter()},
 * {@code model.getParam("maxIter")}), as MLlib models do. Setters stay on the classes (they return
 * their own type); the model keeps setters only for what {@code transform} reads.
 *
 * <p>Each accessor builds its param from {@link ParamDefs}, the one definition of its name, doc,
 * validator and default. A new instance per call is the same param to Spark: {@code Param} equals
 * another of the same owner uid and name, and {@code Params.params()} finds these accessors by
 * reflection (public, no arguments, returning a {@code Param}), so {@code explainParams}, {@code copy}
 * and the default params writer and reader see every one.
 *
 * <p>Two estimator params are not here: {@code numCategories} and {@code embeddingDims}, whose
 * accessor names the model uses for the fitted tables' counts and dims.
 */
public interface MultiEmbeddingParams extends Params {

  // ------------------------------------------------------------------ params

  default StringArrayParam inputCols() {
    return ParamDefs.inputCols(this);
  }

  default Param<String> outputCol() {
    return ParamDefs.outputCol(this);
  }

  default StringArrayParam outputCols() {
    return ParamDefs.outputCols(this);
  }

  default Param<String> predictionCol() {
    return ParamDefs.predictionCol(this);
  }

  default Param<String> probabilityCol() {
    return ParamDefs.probabilityCol(this);
  }

  default Param<String> handleInvalid() {
    return ParamDefs.handleInvalid(this);
  }

  default BooleanParam withFirstOrder() {
    return ParamDefs.withFirstOrder(this);
  }

  default Param<String> numericCol() {
    return ParamDefs.numericCol(this);
  }

  default Param<String> labelCol() {
    return ParamDefs.labelCol(this);
  }

  default Param<String> weightCol() {
    return ParamDefs.weightCol(this);
  }

  default BooleanParam standardization() {
    return ParamDefs.standardization(this);
  }

  default Param<String> validationIndicatorCol() {
    return ParamDefs.validationIndicatorCol(this);
  }

  default DoubleParam validationFraction() {
    return ParamDefs.validationFraction(this);
  }

  default IntParam patience() {
    return ParamDefs.patience(this);
  }

  default DoubleParam tol() {
    return ParamDefs.tol(this);
  }

  default Param<String> earlyStopping() {
    return ParamDefs.earlyStopping(this);
  }

  default Param<String> validationMetric() {
    return ParamDefs.validationMetric(this);
  }

  default BooleanParam refitOnAllRows() {
    return ParamDefs.refitOnAllRows(this);
  }

  default Param<String> numericEncoding() {
    return ParamDefs.numericEncoding(this);
  }

  default IntParam numBuckets() {
    return ParamDefs.numBuckets(this);
  }

  default IntParam crossFitFolds() {
    return ParamDefs.crossFitFolds(this);
  }

  default BooleanParam crossFitVectors() {
    return ParamDefs.crossFitVectors(this);
  }

  default IntParam embeddingDim() {
    return ParamDefs.embeddingDim(this);
  }

  default Param<String> head() {
    return ParamDefs.head(this);
  }

  default IntArrayParam hiddenLayers() {
    return ParamDefs.hiddenLayers(this);
  }

  default Param<String> loss() {
    return ParamDefs.loss(this);
  }

  default Param<String> optimizer() {
    return ParamDefs.optimizer(this);
  }

  default DoubleParam stepSize() {
    return ParamDefs.stepSize(this);
  }

  default DoubleParam regParam() {
    return ParamDefs.regParam(this);
  }

  default DoubleParam initStd() {
    return ParamDefs.initStd(this);
  }

  default IntParam maxIter() {
    return ParamDefs.maxIter(this);
  }

  default IntParam batchSize() {
    return ParamDefs.batchSize(this);
  }

  default IntParam epochsPerMerge() {
    return ParamDefs.epochsPerMerge(this);
  }

  default IntParam numWorkers() {
    return ParamDefs.numWorkers(this);
  }

  default LongParam seed() {
    return ParamDefs.seed(this);
  }

  default Param<String> device() {
    return ParamDefs.device(this);
  }

  default Param<String> gpuResourceName() {
    return ParamDefs.gpuResourceName(this);
  }

  default Param<String> tablePlacement() {
    return ParamDefs.tablePlacement(this);
  }

  default IntArrayParam numHashBuckets() {
    return ParamDefs.numHashBuckets(this);
  }

  default String getTablePlacement() {
    return getOrDefault(tablePlacement());
  }

  default int[] getNumHashBuckets() {
    return getOrDefault(numHashBuckets());
  }

  /** Buckets per input column: numHashBuckets, or all 0 (every column an index) when unset. */
  default int[] hashBuckets() {
    return isDefined(numHashBuckets()) ? getNumHashBuckets() : new int[getInputCols().length];
  }

  default BooleanParam deterministic() {
    return ParamDefs.deterministic(this);
  }

  default BooleanParam failOnDivergence() {
    return ParamDefs.failOnDivergence(this);
  }

  // ------------------------------------------------------------------ getters

  default String[] getInputCols() {
    return getOrDefault(inputCols());
  }

  default String getOutputCol() {
    return getOrDefault(outputCol());
  }

  default String[] getOutputCols() {
    return getOrDefault(outputCols());
  }

  default String getPredictionCol() {
    return getOrDefault(predictionCol());
  }

  default String getProbabilityCol() {
    return getOrDefault(probabilityCol());
  }

  default String getHandleInvalid() {
    return getOrDefault(handleInvalid());
  }

  default boolean getWithFirstOrder() {
    return (Boolean) getOrDefault(withFirstOrder());
  }

  default String getNumericCol() {
    return getOrDefault(numericCol());
  }

  default String getLabelCol() {
    return getOrDefault(labelCol());
  }

  default String getWeightCol() {
    return getOrDefault(weightCol());
  }

  default boolean getStandardization() {
    return (Boolean) getOrDefault(standardization());
  }

  default String getValidationIndicatorCol() {
    return getOrDefault(validationIndicatorCol());
  }

  default double getValidationFraction() {
    return (Double) getOrDefault(validationFraction());
  }

  default int getPatience() {
    return (Integer) getOrDefault(patience());
  }

  default double getTol() {
    return (Double) getOrDefault(tol());
  }

  default String getEarlyStopping() {
    return getOrDefault(earlyStopping());
  }

  default String getValidationMetric() {
    return getOrDefault(validationMetric());
  }

  default boolean getRefitOnAllRows() {
    return (Boolean) getOrDefault(refitOnAllRows());
  }

  default String getNumericEncoding() {
    return getOrDefault(numericEncoding());
  }

  default int getNumBuckets() {
    return (Integer) getOrDefault(numBuckets());
  }

  default int getCrossFitFolds() {
    return (Integer) getOrDefault(crossFitFolds());
  }

  default boolean getCrossFitVectors() {
    return (Boolean) getOrDefault(crossFitVectors());
  }

  default int getEmbeddingDim() {
    return (Integer) getOrDefault(embeddingDim());
  }

  default String getHead() {
    return getOrDefault(head());
  }

  default int[] getHiddenLayers() {
    return getOrDefault(hiddenLayers());
  }

  default String getLoss() {
    return getOrDefault(loss());
  }

  default String getOptimizer() {
    return getOrDefault(optimizer());
  }

  default double getStepSize() {
    return (Double) getOrDefault(stepSize());
  }

  default double getRegParam() {
    return (Double) getOrDefault(regParam());
  }

  default double getInitStd() {
    return (Double) getOrDefault(initStd());
  }

  default int getMaxIter() {
    return (Integer) getOrDefault(maxIter());
  }

  default int getBatchSize() {
    return (Integer) getOrDefault(batchSize());
  }

  default int getEpochsPerMerge() {
    return (Integer) getOrDefault(epochsPerMerge());
  }

  default int getNumWorkers() {
    return (Integer) getOrDefault(numWorkers());
  }

  default long getSeed() {
    return (Long) getOrDefault(seed());
  }

  default String getDevice() {
    return getOrDefault(device());
  }

  default String getGpuResourceName() {
    return getOrDefault(gpuResourceName());
  }

  default boolean getDeterministic() {
    return (Boolean) getOrDefault(deterministic());
  }

  default boolean getFailOnDivergence() {
    return (Boolean) getOrDefault(failOnDivergence());
  }
}
