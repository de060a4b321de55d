package io.fastembedding.backend;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.train.Trainer;
import io.fastembedding.train.TrainerConfig;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every rule of issue 2, item 6: bad input fails with an IllegalArgumentException whose message names
 * the field, row and value. Data rules go through the public path (Trainer.train on a CPU backend) and
 * must leave the model untouched.
 */
class ValidationTest {
  static final String[] NAMES = {"user", "item", "context"};
  static final int[] SIZES = {10, 30, 5};
  static final int BAD_ROW = 3;

  static ModelSpec spec(LossType loss) {
    return ModelSpec.builder(SIZES, new int[] {4, 4, 4}).fieldNames(NAMES).numNumeric(1).loss(loss)
        .build();
  }

  /** Five valid rows; {@code edit} then breaks one of them. */
  static RowBlock rows(Consumer<RowBlock> edit) {
    int n = SIZES.length;
    int rows = 5;
    int[] idx = new int[rows * n];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < n; i++) {
        idx[r * n + i] = (r * 7 + i) % SIZES[i];
      }
    }
    RowBlock b = new RowBlock(n, 1, rows, idx, new float[] {0.5f, -1f, 2f, 0f, 1f},
        new float[] {0, 1, 1, 0, 1}, new float[] {1, 1, 1, 1, 1});
    edit.accept(b);
    return b;
  }

  static String expectMessage(Executable call, String... parts) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    String m = e.getMessage();
    for (String p : parts) {
      assertTrue(m.contains(p), "the message should name " + p + ": " + m);
    }
    return m;
  }

  /** Trains on {@code block} and expects a rejection naming {@code parts}; the model must not move. */
  static void trainingRejects(LossType loss, RowBlock block, String... parts) {
    ModelSpec spec = spec(loss);
    try (Backend cpu = Backends.cpu(spec, new BackendOptions(true, 1))) {
      ModelState before = cpu.exportState();
      expectMessage(() -> new Trainer(cpu, new TrainerConfig(2, 1, true, 1)).train(block), parts);
      assertTrue(before.bitEquals(cpu.exportState()), "a rejected block changed the model");
      assertTrue(cpu.exportTouched(false).totalRows() == 0, "a rejected block touched rows");
    }
  }

  @Test
  void validRowsTrain() {
    ModelSpec spec = spec(LossType.LOGISTIC);
    try (Backend cpu = Backends.cpu(spec, new BackendOptions(true, 1))) {
      assertDoesNotThrow(() -> new Trainer(cpu, new TrainerConfig(2, 1, true, 1)).train(rows(b -> {})));
    }
  }

  @Test
  void negativeIndexNamesFieldRowAndValue() {
    trainingRejects(LossType.LOGISTIC, rows(b -> b.indices[BAD_ROW * 3 + 1] = -1),
        "'item'", "row " + BAD_ROW, "-1");
  }

  @Test
  void indexAtOrBeyondTheTableSizeNamesFieldRowValueAndSize() {
    trainingRejects(LossType.LOGISTIC, rows(b -> b.indices[BAD_ROW * 3 + 2] = 5),
        "'context'", "row " + BAD_ROW, "index 5", "5)");
    trainingRejects(LossType.LOGISTIC, rows(b -> b.indices[BAD_ROW * 3] = Integer.MAX_VALUE),
        "'user'", "row " + BAD_ROW, String.valueOf(Integer.MAX_VALUE));
  }

  @Test
  void nanAndInfiniteLabelsNameRowAndValue() {
    for (LossType loss : LossType.values()) {
      trainingRejects(loss, rows(b -> b.labels[BAD_ROW] = Float.NaN), "row " + BAD_ROW, "NaN");
      trainingRejects(loss, rows(b -> b.labels[BAD_ROW] = Float.POSITIVE_INFINITY),
          "row " + BAD_ROW, "Infinity");
      trainingRejects(loss, rows(b -> b.labels[BAD_ROW] = Float.NEGATIVE_INFINITY),
          "row " + BAD_ROW, "-Infinity");
    }
  }

  @Test
  void logisticLabelsMustBeZeroOrOne() {
    trainingRejects(LossType.LOGISTIC, rows(b -> b.labels[BAD_ROW] = 0.5f),
        "row " + BAD_ROW, "0.5", "0 or 1");
    trainingRejects(LossType.LOGISTIC, rows(b -> b.labels[BAD_ROW] = -1f), "row " + BAD_ROW, "-1.0");
    trainingRejects(LossType.LOGISTIC, rows(b -> b.labels[BAD_ROW] = 2f), "row " + BAD_ROW, "2.0");
    // the squared loss takes any finite label
    ModelSpec spec = spec(LossType.SQUARED);
    assertDoesNotThrow(() -> InputValidator.validateForTraining(spec,
        rows(b -> b.labels[BAD_ROW] = 0.5f)));
  }

  @Test
  void emptyDataIsRejected() {
    RowBlock empty = new RowBlock(3, 1, 0, new int[0], new float[0], new float[0], null);
    trainingRejects(LossType.LOGISTIC, empty, "empty");
  }

  @Test
  void negativeOrNonFiniteWeightsAndNumericFeaturesNameRowAndValue() {
    trainingRejects(LossType.LOGISTIC, rows(b -> b.weights[BAD_ROW] = -2f), "row " + BAD_ROW, "-2.0");
    trainingRejects(LossType.LOGISTIC, rows(b -> b.weights[BAD_ROW] = Float.NaN), "row " + BAD_ROW,
        "NaN");
    trainingRejects(LossType.LOGISTIC, rows(b -> b.numeric[BAD_ROW] = Float.NEGATIVE_INFINITY),
        "row " + BAD_ROW, "-Infinity");
  }

  @Test
  void rowsOfAnotherShapeAreRejected() {
    RowBlock twoFields = new RowBlock(2, 1, 1, new int[] {0, 0}, new float[] {0}, new float[] {1}, null);
    trainingRejects(LossType.LOGISTIC, twoFields, "2 categorical fields", "3");
    RowBlock noNumeric = new RowBlock(3, 0, 1, new int[] {0, 0, 0}, null, new float[] {1}, null);
    trainingRejects(LossType.LOGISTIC, noNumeric, "0 numeric features", "1");
  }

  @Test
  void sizesAndDimsOfDifferentLengthsAreRejected() {
    expectMessage(() -> ModelSpec.builder(new int[] {10, 30, 5}, new int[] {4, 4}).build(),
        "sizes", "dims", "3", "2");
    expectMessage(() -> ModelSpec.builder(new int[] {10}, new int[] {4, 4}).build(), "sizes", "dims");
  }

  @Test
  void fieldNamesOfTheWrongCountAreRejected() {
    expectMessage(() -> ModelSpec.builder(SIZES, new int[] {4, 4, 4}).fieldNames("a", "b").build(),
        "fieldNames", "2", "3");
  }

  /** A user sees column names, not positions: the message should say which named field is wrong. */
  @Test
  void nonPositiveDimNamesTheFieldAndValue() {
    for (int dim : new int[] {0, -3}) {
      expectMessage(() -> ModelSpec.builder(SIZES, new int[] {4, dim, 4}).fieldNames(NAMES)
          .head(HeadType.LINEAR).build(), "'item'", String.valueOf(dim));
    }
  }

  @Test
  void nonPositiveSizeNamesTheFieldAndValue() {
    expectMessage(() -> ModelSpec.builder(new int[] {10, 30, 0}, new int[] {4, 4, 4})
        .fieldNames(NAMES).build(), "'context'", "0");
  }

  @Test
  void nonPositiveDimWithoutNamesNamesTheFieldNumber() {
    expectMessage(() -> ModelSpec.builder(SIZES, new int[] {4, 0, 4}).head(HeadType.LINEAR).build(),
        "field 1", "0");
  }

  @Test
  void fmWithUnequalDimsSaysWhyAndWhatToDo() {
    String m = expectMessage(() -> ModelSpec.builder(SIZES, new int[] {4, 8, 4}).fieldNames(NAMES)
        .head(HeadType.FM).build(), "fm", "[4, 8, 4]", "item");
    assertTrue(m.contains("linear") || m.contains("same"), m);
    // the same dims are fine for the other heads
    assertDoesNotThrow(() -> ModelSpec.builder(SIZES, new int[] {4, 8, 4}).head(HeadType.LINEAR).build());
    assertDoesNotThrow(() -> ModelSpec.builder(SIZES, new int[] {4, 8, 4}).head(HeadType.MLP).build());
  }

  @Test
  void modelStateOfTheWrongLengthNamesTheArrayAndBothLengths() {
    ModelSpec spec = ModelSpec.builder(SIZES, new int[] {4, 4, 4}).head(HeadType.FM)
        .optimizer(OptimizerSpec.of(OptimizerType.ROWWISE_ADAGRAD, 0.1f, 0f)).build();
    ModelState ok = ModelState.initial(spec);
    int t = ok.tables.length;
    expectMessage(() -> new ModelState(spec, new float[t - 1], ok.firstOrder, ok.head, ok.tableAccum,
        ok.firstOrderAccum, ok.headAccum), "tables", String.valueOf(t), String.valueOf(t - 1));
    expectMessage(() -> new ModelState(spec, ok.tables, ok.firstOrder, new float[ok.head.length + 2],
        ok.tableAccum, ok.firstOrderAccum, ok.headAccum), "head", String.valueOf(ok.head.length));
    // row-wise Adagrad keeps one accumulator per row, not one per float
    expectMessage(() -> new ModelState(spec, ok.tables, ok.firstOrder, ok.head, new float[t],
        ok.firstOrderAccum, ok.headAccum), "tableAccum", String.valueOf(ok.tableAccum.length));
    expectMessage(() -> new ModelState(spec, ok.tables, null, ok.head, ok.tableAccum,
        ok.firstOrderAccum, ok.headAccum), "firstOrder", "null");
    // a state of a model with other shapes cannot be imported, and the backend keeps its own
    ModelSpec wider = ModelSpec.builder(SIZES, new int[] {8, 8, 8}).head(HeadType.FM)
        .optimizer(spec.optimizer()).build();
    try (Backend cpu = Backends.cpu(spec, new BackendOptions(true, 1))) {
      expectMessage(() -> cpu.importState(ModelState.initial(wider)), "[8, 8, 8]", "[4, 4, 4]");
      assertTrue(ok.bitEquals(cpu.exportState()));
    }
  }
}
