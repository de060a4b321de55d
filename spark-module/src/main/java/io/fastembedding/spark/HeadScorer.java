package io.fastembedding.spark;

import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.cpu.CpuBackend;
import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;

/**
 * The head's prediction for one row at a time, in transform: the CPU backend's own forward pass (so
 * the math is the one definition of docs/model.md), fed through a one-row block reused for every
 * row. One per task, built on first use; callers synchronise on it.
 */
final class HeadScorer implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Broadcast<ModelData> data;
  private final EmbeddingLookup lookup;
  private final int numFields;
  private transient CpuBackend backend;
  private transient RowBlock row;
  private transient float[] out;

  HeadScorer(Broadcast<ModelData> data, EmbeddingLookup lookup, int numFields) {
    this.data = data;
    this.lookup = lookup;
    this.numFields = numFields;
  }

  void set(int field, Double v) {
    if (row == null) {
      ModelData d = data.value();
      backend = new CpuBackend(d.scoringSpec(), new BackendOptions(false, 1), d.scoringState());
      row = new RowBlock(numFields, 0, 1, new int[numFields], null, null, null);
      out = new float[1];
    }
    row.indices[field] = lookup.index(field, v);
  }

  double predict() {
    backend.predict(row, 0, 1, out, 0);
    return out[0];
  }
}
