package io.fastembedding.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.testutil.Data;
import io.fastembedding.testutil.Specs;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** exportTouched, exportState and importState. */
class CpuBackendStateTest {
  static final int BATCH = 200;

  /** Large tables next to small ones, so a few batches leave many rows untouched. */
  static ModelSpec spec(String head, OptimizerType opt) {
    boolean fm = head.equals("fm");
    return Specs.withHead(ModelSpec.builder(new int[] {400, 30, 1000, 7},
            fm ? new int[] {4, 4, 4, 4} : new int[] {4, 2, 8, 3}), head)
        .numNumeric(1).loss(LossType.LOGISTIC)
        .optimizer(OptimizerSpec.of(opt, 0.05f, 0.01f)).initStd(0.1f).build();
  }

  /** Occurrences per row (scalar row space) in rows [start, start + count), counted from the data. */
  static int[] counts(ModelSpec spec, RowBlock b, int start, int count) {
    TableLayout l = spec.layout();
    int[] c = new int[Math.toIntExact(l.totalRows())];
    for (int r = start; r < start + count; r++) {
      for (int i = 0; i < spec.numFields(); i++) {
        c[Math.toIntExact(l.rowBase(i)) + b.index(r, i)]++;
      }
    }
    return c;
  }

  /** Every touched row, its count, values and optimizer state against the data and exportState. */
  static void assertTouched(TouchedRows t, int[] expectedCounts, ModelState s) {
    ModelSpec spec = s.spec;
    TableLayout l = spec.layout();
    assertEquals(spec, t.spec);
    assertEquals(spec.numFields(), t.rows.length);
    for (int i = 0; i < spec.numFields(); i++) {
      int base = Math.toIntExact(l.rowBase(i));
      int dim = l.dim(i);
      int per = spec.optimizer().stateFloatsPerRow(dim);
      int j = 0;
      for (int x = 0; x < l.size(i); x++) {
        if (expectedCounts[base + x] == 0) {
          continue;
        }
        String at = "field " + i + ", touched row #" + j;
        assertTrue(j < t.rows[i].length, at + ": missing (row " + x + ")");
        assertEquals(x, t.rows[i][j], at + ": rows must be the touched ones, ascending");
        assertEquals(expectedCounts[base + x], t.counts[i][j], at + ": count of row " + x);
        assertArrayEquals(s.row(i, x), Arrays.copyOfRange(t.values[i], j * dim, (j + 1) * dim),
            at + ": values");
        if (spec.hasFirstOrder()) {
          assertEquals(s.firstOrder[base + x], t.firstOrder[i][j], at + ": first-order weight");
        }
        if (per > 0) {
          int src = spec.optimizer().type() == OptimizerType.ADAGRAD
              ? Math.toIntExact(l.offset(i)) + x * dim : base + x;
          assertArrayEquals(Arrays.copyOfRange(s.tableAccum, src, src + per),
              Arrays.copyOfRange(t.accum[i], j * per, (j + 1) * per), at + ": accumulator");
          if (spec.hasFirstOrder()) {
            assertEquals(s.firstOrderAccum[base + x], t.firstOrderAccum[i][j], at + ": fo accumulator");
          }
        }
        j++;
      }
      assertEquals(j, t.rows[i].length, "field " + i + ": extra rows reported as touched");
      assertEquals(j, t.counts[i].length);
      assertEquals(j * dim, t.values[i].length);
    }
    assertArrayEquals(s.head, t.head);
    if (spec.optimizer().hasState()) {
      assertArrayEquals(s.headAccum, t.headAccum);
    } else {
      assertNull(t.accum);
      assertNull(t.headAccum);
    }
    if (!spec.hasFirstOrder()) {
      assertNull(t.firstOrder);
    }
  }

  @ParameterizedTest(name = "{0} {1} deterministic={2}")
  @CsvSource({"fm, SGD, true", "fm, ADAGRAD, false", "fm, ROWWISE_ADAGRAD, true",
      "linear, ADAGRAD, true", "linear, ROWWISE_ADAGRAD, false", "mlp:8, SGD, false"})
  void exportTouchedReportsExactlyTheTouchedRowsWithTheirCounts(String head, OptimizerType opt,
      boolean deterministic) {
    ModelSpec spec = spec(head, opt);
    RowBlock data = Data.random(spec, 4 * BATCH, false, 21);
    try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(deterministic, 2))) {
      assertEquals(0, cpu.exportTouched(false).totalRows(), "a fresh backend has touched nothing");
      for (int s = 0; s < 3; s++) {
        cpu.trainStep(data, s * BATCH, BATCH);
      }
      int[] three = counts(spec, data, 0, 3 * BATCH);
      long distinct = Arrays.stream(three).filter(c -> c > 0).count();
      assertTrue(distinct < three.length, "test data should leave some rows untouched");
      TouchedRows t = cpu.exportTouched(false);
      assertEquals(distinct, t.totalRows());
      assertTouched(t, three, cpu.exportState());
      // without reset the record stays; with reset it is returned and then cleared
      assertTouched(cpu.exportTouched(true), three, cpu.exportState());
      assertEquals(0, cpu.exportTouched(false).totalRows());
      // the next step alone is recorded
      cpu.trainStep(data, 3 * BATCH, BATCH);
      assertTouched(cpu.exportTouched(false), counts(spec, data, 3 * BATCH, BATCH), cpu.exportState());
      // importState clears the record
      cpu.importState(cpu.exportState());
      assertEquals(0, cpu.exportTouched(false).totalRows());
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"fm, ADAGRAD", "linear, ROWWISE_ADAGRAD", "'mlp:8,4', SGD"})
  void importStateRoundTripsAndTrainingContinuesIdentically(String head, OptimizerType opt) {
    ModelSpec spec = spec(head, opt);
    RowBlock data = Data.random(spec, 3 * BATCH, true, 22);
    try (CpuBackend a = new CpuBackend(spec, new BackendOptions(true, 2));
        CpuBackend b = new CpuBackend(spec, new BackendOptions(true, 1))) {
      a.trainStep(data, 0, BATCH);
      a.trainStep(data, BATCH, BATCH);
      ModelState trained = a.exportState();
      assertFalse(trained.bitEquals(b.exportState()));
      b.importState(trained);
      assertTrue(trained.bitEquals(b.exportState()), "import then export is not the identity");
      // the export is a copy: changing it does not change the backend
      trained.tables[0] += 1;
      trained.head[0] += 1;
      assertFalse(trained.bitEquals(a.exportState()));
      // the optimizer state came along: one more step is identical on both
      a.trainStep(data, 2 * BATCH, BATCH);
      b.trainStep(data, 2 * BATCH, BATCH);
      assertTrue(a.exportState().bitEquals(b.exportState()));
      float[] pa = new float[BATCH];
      float[] pb = new float[BATCH];
      a.predict(data, 0, BATCH, pa, 0);
      b.predict(data, 0, BATCH, pb, 0);
      assertArrayEquals(pa, pb);
      // the imported state is copied, not shared
      ModelState s = a.exportState();
      b.importState(s);
      s.tables[0] += 1;
      assertFalse(s.bitEquals(b.exportState()));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"fm", "linear"})
  void constructingFromAStateStartsThere(String head) {
    ModelSpec spec = spec(head, OptimizerType.ADAGRAD);
    RowBlock data = Data.random(spec, BATCH, false, 23);
    ModelState trained;
    try (CpuBackend a = new CpuBackend(spec, new BackendOptions(true, 1))) {
      a.trainStep(data, 0, BATCH);
      trained = a.exportState();
    }
    try (CpuBackend b = new CpuBackend(spec, new BackendOptions(false, 2), trained)) {
      assertTrue(trained.bitEquals(b.exportState()));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"fm", "mlp:8"})
  void importingAStateOfAnotherModelIsRefused(String head) {
    ModelSpec spec = spec(head, OptimizerType.ADAGRAD);
    ModelSpec other = spec.toBuilder().seed(spec.seed() + 1).build();
    try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(true, 1))) {
      ModelState before = cpu.exportState();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> cpu.importState(ModelState.initial(other)));
      assertTrue(e.getMessage().contains("another model"), e.getMessage());
      assertTrue(before.bitEquals(cpu.exportState()), "a refused import changed the model");
    }
  }

  /** The touched-row export reads each optimizer's state where it lives, also for a dim-1 table. */
  @org.junit.jupiter.api.Test
  void touchedExportOfEveryOptimizersStateOnNarrowTables() {
    for (OptimizerType o : OptimizerType.values()) {
      ModelSpec spec = ModelSpec.builder(new int[] {7, 9, 5}, new int[] {3, 1, 2})
          .head(io.fastembedding.model.HeadType.LINEAR).loss(LossType.SQUARED)
          .optimizer(new OptimizerSpec(o, 0.05f, 0.01f, 1e-4f)).initStd(0.1f).seed(5).build();
      RowBlock block = Data.random(spec, 200, false, 6);
      for (boolean det : new boolean[] {false, true}) {
        try (CpuBackend cpu = new CpuBackend(spec, new BackendOptions(det, 2))) {
          cpu.trainStep(block, 0, 200);
          io.fastembedding.testutil.TouchedAssert.matchesState(o.id() + (det ? " deterministic" : " hogwild"),
              cpu.exportState(), cpu.exportTouched(false));
        }
      }
    }
  }
}
