package io.fastembedding.spark;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.io.Serializable;

/**
 * The trained values a model keeps (and broadcasts to transform): the tables, the FM first-order
 * weights and the head. The optimizer state is dropped after the fit.
 */
final class ModelData implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The spec as trained (its optimizer settings are kept as a record of the fit). */
  final ModelSpec spec;
  /** Valid categories per field. */
  final int[] validCounts;
  /** Whether each table has one more row, after the valid ones, for invalid and null indices. */
  final boolean reserved;
  final float[] tables;
  final float[] firstOrder;
  final float[] head;

  ModelData(ModelSpec spec, int[] validCounts, boolean reserved, float[] tables, float[] firstOrder,
      float[] head) {
    this.spec = spec;
    this.validCounts = validCounts;
    this.reserved = reserved;
    this.tables = tables;
    this.firstOrder = firstOrder;
    this.head = head;
    var layout = spec.layout();
    for (int f = 0; f < validCounts.length; f++) {
      if (layout.size(f) != validCounts[f] + (reserved ? 1 : 0)) {
        throw new IllegalArgumentException("field '" + spec.fieldName(f) + "': table of "
            + layout.size(f) + " rows does not match " + validCounts[f] + " categories"
            + (reserved ? " + 1 reserved row" : ""));
      }
    }
    // ModelState checks every length against the spec
    scoringState();
  }

  static ModelData of(ModelState s, int[] validCounts, boolean reserved) {
    return new ModelData(s.spec, validCounts, reserved, s.tables, s.firstOrder, s.head);
  }

  /** The spec without optimizer state, which is all scoring needs. */
  ModelSpec scoringSpec() {
    OptimizerSpec o = spec.optimizer();
    return spec.toBuilder().optimizer(new OptimizerSpec(OptimizerType.SGD, o.learningRate(),
        o.l2(), o.epsilon())).build();
  }

  ModelState scoringState() {
    return new ModelState(scoringSpec(), tables, firstOrder, head, new float[0], new float[0],
        new float[0]);
  }
}
