package io.fastembedding.testutil;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;

/** Model specs for the test matrix, named by a short head string: fm, fwfm, linear, mlp:8 or mlp:8,4. */
public final class Specs {
  private Specs() {}

  public static final String[] HEADS = {"fm", "fwfm", "linear", "mlp:8", "mlp:8,4"};

  /**
   * Four fields of unequal sizes (dims 4 for fm and fwfm; 4, 2, 8, 3 otherwise, so the packed layout has
   * alignment gaps), with {@code k} numeric features. "fm@D" or "fwfm@D": that head with dim D for all four.
   */
  public static ModelSpec.Builder builder(String head, int k) {
    return builder(head, k, new int[] {50, 30, 80, 10});
  }

  /** {@link #builder(String, int)} with these four field sizes instead. */
  public static ModelSpec.Builder builder(String head, int k, int[] sizes) {
    int at = head.indexOf('@');
    String h = at < 0 ? head : head.substring(0, at);
    int dim = at < 0 ? 4 : Integer.parseInt(head.substring(at + 1));
    boolean fm = h.equals("fm") || h.equals("fwfm");
    ModelSpec.Builder b = ModelSpec.builder(sizes,
        fm ? new int[] {dim, dim, dim, dim} : new int[] {4, 2, 8, 3}).numNumeric(k);
    return withHead(b, h);
  }

  public static ModelSpec.Builder withHead(ModelSpec.Builder b, String head) {
    if (head.equals("fm") || head.equals("fwfm")) {
      return b.head(HeadType.fromId(head));
    }
    if (head.equals("linear")) {
      return b.head(HeadType.LINEAR);
    }
    String[] u = head.substring(head.indexOf(':') + 1).split(",");
    int[] units = new int[u.length];
    for (int i = 0; i < u.length; i++) {
      units[i] = Integer.parseInt(u[i]);
    }
    return b.head(HeadType.MLP).hiddenLayers(units);
  }

  public static ModelSpec spec(String head, int k, LossType loss, OptimizerType opt, float lr,
      float l2) {
    return spec(head, k, loss, new OptimizerSpec(opt, lr, l2, OptimizerSpec.DEFAULT_EPSILON));
  }

  public static ModelSpec spec(String head, int k, LossType loss, OptimizerSpec opt) {
    return builder(head, k).loss(loss).optimizer(opt).initStd(0.1f)
        .seed(head.hashCode() + 31L * opt.type().ordinal() + k).build();
  }
}
