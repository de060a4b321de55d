package io.fastembedding.spark;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;

/**
 * A backend whose "training" is countable by hand: every occurrence of a row in a step adds 1 to each
 * of its floats, and every step adds 1 to head[0]. Only for SGD specs (no optimizer state).
 */
final class FakeBackend implements Backend {
  private final ModelSpec spec;
  private ModelState state;
  private int[] touches;

  FakeBackend(ModelSpec spec) {
    this.spec = spec;
    this.state = ModelState.initial(spec);
    this.touches = new int[Math.toIntExact(spec.layout().totalRows())];
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public String device() {
    return "fake";
  }

  @Override
  public void trainStep(RowBlock b, int start, int count) {
    var l = spec.layout();
    for (int r = start; r < start + count; r++) {
      for (int f = 0; f < b.numFields; f++) {
        int x = b.index(r, f);
        touches[Math.toIntExact(l.rowBase(f) + x)]++;
        int off = Math.toIntExact(l.offset(f) + (long) x * l.dim(f));
        for (int k = 0; k < l.dim(f); k++) {
          state.tables[off + k] += 1f;
        }
      }
    }
    state.head[0] += 1f;
  }

  @Override
  public LossSum drainLoss() {
    return new LossSum(0, 1, 0);
  }

  @Override
  public void predict(RowBlock block, int start, int count, float[] out, int outOffset) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void embed(RowBlock block, int start, int count, float[] out, int outOffset) {
    throw new UnsupportedOperationException();
  }

  @Override
  public ModelState exportState() {
    return state.copy();
  }

  @Override
  public void importState(ModelState s) {
    state = s.copy();
    touches = new int[touches.length];
  }

  @Override
  public TouchedRows exportTouched(boolean reset) {
    var l = spec.layout();
    int n = l.numFields();
    int[][] rows = new int[n][];
    int[][] counts = new int[n][];
    float[][] values = new float[n][];
    for (int f = 0; f < n; f++) {
      int base = Math.toIntExact(l.rowBase(f));
      int c = 0;
      for (int x = 0; x < l.size(f); x++) {
        c += touches[base + x] > 0 ? 1 : 0;
      }
      rows[f] = new int[c];
      counts[f] = new int[c];
      values[f] = new float[c * l.dim(f)];
      int j = 0;
      for (int x = 0; x < l.size(f); x++) {
        if (touches[base + x] > 0) {
          rows[f][j] = x;
          counts[f][j] = touches[base + x];
          System.arraycopy(state.row(f, x), 0, values[f], j * l.dim(f), l.dim(f));
          j++;
        }
      }
    }
    if (reset) {
      touches = new int[touches.length];
    }
    return new TouchedRows(spec, rows, counts, values, null, null, null, state.head.clone(), null);
  }

  @Override
  public void close() {}
}
