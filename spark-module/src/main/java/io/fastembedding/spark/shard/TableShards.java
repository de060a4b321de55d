package io.fastembedding.spark.shard;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.Initializer;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.RowColumns;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.merge.ShardPlan;

/** The shards of a model's tables: initialised where they live, from the counter-based init. */
public final class TableShards {
  private TableShards() {}

  /**
   * Shard {@code s} of {@code plan} as the model starts: each table float is
   * {@link Initializer#tableValue} of its position in the packed buffer, exactly what
   * {@code ModelState.initial} holds there; first-order weights and optimizer state are 0.
   */
  public static RowColumns initial(RowSchema schema, ShardPlan plan, int s) {
    RowColumns shard = RowColumns.range(schema, plan.shardStart(s), plan.shardStart(s + 1));
    ModelSpec spec = schema.spec();
    TableLayout l = spec.layout();
    double std = spec.initStd();
    long seed = spec.seed();
    float[] values = shard.columns[schema.column("values")];
    for (int f = 0; f < l.numFields(); f++) {
      int dim = l.dim(f);
      int from = shard.fieldStart(f);
      int to = shard.fieldStart(f + 1);
      if (from == to) {
        continue;
      }
      long x0 = shard.row(from) - l.rowBase(f);
      long src = l.offset(f) + x0 * dim;
      int dst = shard.offset(0, f, from);
      int n = (to - from) * dim;
      for (int i = 0; i < n; i++) {
        values[dst + i] = Initializer.tableValue(seed, std, src + i);
      }
    }
    return shard;
  }
}
