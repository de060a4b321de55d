package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** A setter given a bad value fails at once, naming the param, the value and what is allowed. */
class ParamErrorsTest {
  private static String error(Executable set) {
    return assertThrows(IllegalArgumentException.class, set).getMessage();
  }

  @Test
  void stringParamsNameTheAllowedValues() {
    MultiEmbedding e = new MultiEmbedding();
    assertEquals("head given invalid value 'tree': allowed values are fm, linear, mlp, fwfm",
        error(() -> e.setHead("tree")));
    assertEquals("optimizer given invalid value 'adam': allowed values are sgd, adagrad, "
        + "rowwise_adagrad, rowwise_adam", error(() -> e.setOptimizer("adam")));
    assertEquals("loss given invalid value 'hinge': allowed values are logistic, squared",
        error(() -> e.setLoss("hinge")));
    assertEquals("handleInvalid given invalid value 'ignore': allowed values are error, skip, keep",
        error(() -> e.setHandleInvalid("ignore")));
    assertEquals("device given invalid value 'tpu': allowed values are auto, cpu, gpu",
        error(() -> e.setDevice("tpu")));
    assertMentions(error(() -> new MultiEmbeddingModel().setHandleInvalid("drop")),
        "handleInvalid given invalid value 'drop': allowed values are error, skip, keep");
    // case does not matter, as documented
    assertEquals("linear", e.setHead("LINEAR").getHead());
  }

  @Test
  void numericParamsNameTheirRange() {
    MultiEmbedding e = new MultiEmbedding();
    assertEquals("stepSize given invalid value -1.0: it must be a finite number > 0",
        error(() -> e.setStepSize(-1)));
    assertEquals("stepSize given invalid value Infinity: it must be a finite number > 0",
        error(() -> e.setStepSize(Double.POSITIVE_INFINITY)));
    assertEquals("regParam given invalid value -0.5: it must be a finite number >= 0",
        error(() -> e.setRegParam(-0.5)));
    assertEquals("maxIter given invalid value 0: it must be an integer >= 1",
        error(() -> e.setMaxIter(0)));
    assertEquals("embeddingDim given invalid value -1: it must be an integer >= 0",
        error(() -> e.setEmbeddingDim(-1)));
    assertEquals("validationFraction given invalid value 1.0: it must be in [0, 1)",
        error(() -> e.setValidationFraction(1.0)));
    assertEquals("hiddenLayers given invalid value [4, 0]: it must be a non-empty list of "
        + "integers > 0", error(() -> e.setHiddenLayers(4, 0)));
    assertEquals("inputCols given invalid value [a, a]: it must be a non-empty list of distinct, "
        + "non-empty column names", error(() -> e.setInputCols("a", "a")));
  }
}
