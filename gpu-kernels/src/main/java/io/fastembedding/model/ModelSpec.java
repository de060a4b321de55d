package io.fastembedding.model;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Everything that defines a model, independent of the device that trains it: the tables, the head and
 * its input width, the loss, the optimizer and the initialisation. The math is in docs/model.md.
 *
 * <p>The dense head parameters live in one flat array whose layout this class defines (see
 * {@link #headSize()} and the offset methods). Backends and persistence share it.
 */
public final class ModelSpec implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String[] fieldNames;
  private final int[] sizes;
  private final int[] dims;
  private final int numNumeric;
  private final HeadType head;
  private final int[] hiddenLayers;
  private final LossType loss;
  private final OptimizerSpec optimizer;
  private final float initStd;
  private final long seed;
  private transient TableLayout layout;

  private ModelSpec(Builder b) {
    checkTables(b);
    this.layout = TableLayout.of(b.sizes, b.dims);
    this.sizes = b.sizes.clone();
    this.dims = b.dims.clone();
    int n = sizes.length;
    if (b.fieldNames == null) {
      fieldNames = new String[n];
      for (int i = 0; i < n; i++) {
        fieldNames[i] = "field" + i;
      }
    } else {
      if (b.fieldNames.length != n) {
        throw new IllegalArgumentException("fieldNames has " + b.fieldNames.length
            + " entries but there are " + n + " fields (sizes " + Arrays.toString(sizes) + ")");
      }
      fieldNames = b.fieldNames.clone();
    }
    if (b.numNumeric < 0) {
      throw new IllegalArgumentException("numNumeric must be >= 0, got " + b.numNumeric);
    }
    numNumeric = b.numNumeric;
    head = b.head;
    hiddenLayers = b.hiddenLayers.clone();
    loss = b.loss;
    optimizer = b.optimizer;
    if (!(b.initStd > 0) || Float.isInfinite(b.initStd)) {
      throw new IllegalArgumentException("initStd must be finite and > 0, got " + b.initStd);
    }
    initStd = b.initStd;
    seed = b.seed;
    if (head.factorized() && !layout.uniformDim()) {
      throw new IllegalArgumentException("head '" + head.id() + "' needs the same embedding dim for every field, "
          + "because it takes dot products between fields; got dims " + Arrays.toString(dims)
          + " for fields " + Arrays.toString(fieldNames)
          + ". Use one embedding dim for all fields, or head 'linear' or 'mlp'.");
    }
    if (head == HeadType.MLP) {
      if (hiddenLayers.length == 0) {
        throw new IllegalArgumentException(
            "head 'mlp' needs at least one hidden layer; hiddenLayers is empty");
      }
      for (int i = 0; i < hiddenLayers.length; i++) {
        if (hiddenLayers[i] <= 0) {
          throw new IllegalArgumentException("hidden layer " + i + " must have > 0 units, got "
              + hiddenLayers[i] + " in " + Arrays.toString(hiddenLayers));
        }
      }
    }
    long headFloats = headFloats();
    if (headFloats > TableLayout.MAX_FLOATS) {
      throw new IllegalArgumentException("the " + head.id() + " head needs " + headFloats
          + " floats" + (head == HeadType.MLP ? " (hiddenLayers " + Arrays.toString(hiddenLayers)
          + " on an input of " + headInputWidth() + " values)" : "") + ", more than one array "
          + "holds (" + TableLayout.MAX_FLOATS + "); use smaller hidden layers");
    }
  }

  /** {@link #headSize()} in long: the int methods may only run once this fits an array. */
  private long headFloats() {
    long input = (long) layout.sumDims() + numNumeric;
    return switch (head) {
      case FM -> 1 + numNumeric + (long) numNumeric * dims[0];
      case FWFM -> 1 + numNumeric + (long) numNumeric * dims[0] + fwfmPairs();
      case LINEAR -> input + 1;
      case MLP -> {
        long n = 0;
        long in = input;
        for (int h : hiddenLayers) {
          n += (long) h * in + h;
          in = h;
        }
        yield n + in + 1;
      }
    };
  }

  /** Checks sizes and dims with the fields' names in the messages, before the layout is built. */
  private static void checkTables(Builder b) {
    if (b.sizes.length != b.dims.length) {
      throw new IllegalArgumentException("sizes and dims must have one entry per field: sizes has "
          + b.sizes.length + " entries " + Arrays.toString(b.sizes) + ", dims has " + b.dims.length
          + " entries " + Arrays.toString(b.dims));
    }
    for (int i = 0; i < b.sizes.length; i++) {
      String field = b.fieldNames != null && b.fieldNames.length == b.sizes.length
          ? "field '" + b.fieldNames[i] + "' (field " + i + ")" : "field " + i;
      if (b.sizes[i] <= 0) {
        throw new IllegalArgumentException(field
            + ": table size (number of categories) must be > 0, got " + b.sizes[i]);
      }
      if (b.dims[i] <= 0) {
        throw new IllegalArgumentException(field + ": embedding dim must be > 0, got " + b.dims[i]);
      }
    }
  }

  public static Builder builder(int[] sizes, int[] dims) {
    return new Builder(sizes, dims);
  }

  /** A builder preset with this spec's values. */
  public Builder toBuilder() {
    return new Builder(sizes, dims).fieldNames(fieldNames).numNumeric(numNumeric).head(head)
        .hiddenLayers(hiddenLayers).loss(loss).optimizer(optimizer).initStd(initStd).seed(seed);
  }

  /**
   * This spec with other table sizes (same fields, dims, head, loss, optimizer): a model holding
   * some rows of each table, such as a partition's local model.
   */
  public ModelSpec withSizes(int[] newSizes) {
    return new Builder(newSizes, dims).fieldNames(fieldNames).numNumeric(numNumeric).head(head)
        .hiddenLayers(hiddenLayers).loss(loss).optimizer(optimizer).initStd(initStd).seed(seed)
        .build();
  }

  public TableLayout layout() {
    if (layout == null) {
      layout = TableLayout.of(sizes, dims);
    }
    return layout;
  }

  public int numFields() {
    return sizes.length;
  }

  public String fieldName(int field) {
    return fieldNames[field];
  }

  public String[] fieldNames() {
    return fieldNames.clone();
  }

  public int numNumeric() {
    return numNumeric;
  }

  public HeadType head() {
    return head;
  }

  /** Hidden layer widths of the {@code mlp} head (ignored by the others). */
  public int[] hiddenLayers() {
    return head == HeadType.MLP ? hiddenLayers.clone() : new int[0];
  }

  public LossType loss() {
    return loss;
  }

  public OptimizerSpec optimizer() {
    return optimizer;
  }

  public float initStd() {
    return initStd;
  }

  public long seed() {
    return seed;
  }

  /** Whether each category has a scalar first-order weight (the fm and fwfm heads). */
  public boolean hasFirstOrder() {
    return head.factorized();
  }

  /** Width of the input of the linear and mlp heads: all embedding dims, then the numeric features. */
  public int headInputWidth() {
    return layout().sumDims() + numNumeric;
  }

  /** The common dim of the fm and fwfm heads' latent vectors. */
  public int fmDim() {
    return dims[0];
  }

  /** Number of floats in the dense head array. */
  public int headSize() {
    return switch (head) {
      case FM -> 1 + numNumeric + numNumeric * fmDim();
      case FWFM -> fwfmPairOffset() + fwfmPairs();
      case LINEAR -> headInputWidth() + 1;
      case MLP -> mlpOutputBiasOffset() + 1;
    };
  }

  // ---- FM head layout: [bias, u_0..u_{k-1}, v_0[0..d), ..., v_{k-1}[0..d)] ----

  public int fmBiasOffset() {
    return 0;
  }

  /** First-order weight of numeric feature j is at {@code fmNumericLinearOffset() + j}. */
  public int fmNumericLinearOffset() {
    return 1;
  }

  /** Latent vector of numeric feature j starts at {@code fmNumericLatentOffset() + j * fmDim()}. */
  public int fmNumericLatentOffset() {
    return 1 + numNumeric;
  }

  // ---- fwfm head layout: the fm head's, then one weight per pair of latent vectors ----

  /**
   * Latent vectors of the fwfm head: the fields' embeddings (0..n-1), then the numeric features' (n..n+k-1).
   */
  public int fwfmVectors() {
    return numFields() + numNumeric;
  }

  /** Pair weights of the fwfm head: one per pair a &lt; b of its latent vectors; 0 for the other heads. */
  public int fwfmPairs() {
    int kk = fwfmVectors();
    return head == HeadType.FWFM ? kk * (kk - 1) / 2 : 0;
  }

  /** The pair weights start here, pair (a, b), a &lt; b, at {@code fwfmPairOffset() + fwfmPair(a, b)}. */
  public int fwfmPairOffset() {
    return 1 + numNumeric + numNumeric * fmDim();
  }

  /** Index of pair (a, b), a &lt; b, among {@link #fwfmVectors()} latent vectors: row-major upper triangle. */
  public static int fwfmPair(int a, int b, int vectors) {
    return a * vectors - a * (a + 1) / 2 + (b - a - 1);
  }

  // ---- linear head layout: [a_0..a_{D-1}, bias] ----

  public int linearBiasOffset() {
    return headInputWidth();
  }

  // ---- mlp head layout: W_1 (H_1 x D row-major), c_1, W_2, c_2, ..., w_out (H_L), b_out ----

  /** Input width of hidden layer {@code l} (0-based). */
  public int mlpLayerInput(int l) {
    return l == 0 ? headInputWidth() : hiddenLayers[l - 1];
  }

  /** Offset of hidden layer {@code l}'s weight matrix, row-major [out][in]. */
  public int mlpWeightOffset(int l) {
    int off = 0;
    for (int i = 0; i < l; i++) {
      off += hiddenLayers[i] * mlpLayerInput(i) + hiddenLayers[i];
    }
    return off;
  }

  /** Offset of hidden layer {@code l}'s bias vector. */
  public int mlpBiasOffset(int l) {
    return mlpWeightOffset(l) + hiddenLayers[l] * mlpLayerInput(l);
  }

  public int mlpOutputWeightOffset() {
    return mlpWeightOffset(hiddenLayers.length);
  }

  public int mlpOutputBiasOffset() {
    return mlpOutputWeightOffset() + hiddenLayers[hiddenLayers.length - 1];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelSpec s && Arrays.equals(fieldNames, s.fieldNames)
        && Arrays.equals(sizes, s.sizes) && Arrays.equals(dims, s.dims) && numNumeric == s.numNumeric
        && head == s.head && Arrays.equals(hiddenLayers(), s.hiddenLayers()) && loss == s.loss
        && optimizer.equals(s.optimizer) && Float.compare(initStd, s.initStd) == 0 && seed == s.seed;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(sizes) * 31 + Arrays.hashCode(dims) + head.hashCode();
  }

  @Override
  public String toString() {
    return "ModelSpec(fields=" + Arrays.toString(fieldNames) + ", sizes=" + Arrays.toString(sizes)
        + ", dims=" + Arrays.toString(dims) + ", numeric=" + numNumeric + ", head=" + head.id()
        + (head == HeadType.MLP ? Arrays.toString(hiddenLayers) : "") + ", loss=" + loss.id()
        + ", optimizer=" + optimizer + ", initStd=" + initStd + ", seed=" + seed + ")";
  }

  /** Builder with the defaults documented in docs/model.md. */
  public static final class Builder {
    private final int[] sizes;
    private final int[] dims;
    private String[] fieldNames;
    private int numNumeric;
    private HeadType head = HeadType.FM;
    private int[] hiddenLayers = {64, 32};
    private LossType loss = LossType.LOGISTIC;
    private OptimizerSpec optimizer = OptimizerSpec.of(OptimizerType.ADAGRAD, 0.05f, 0f);
    private float initStd = 0.01f;
    private long seed = 42L;

    private Builder(int[] sizes, int[] dims) {
      if (sizes == null || dims == null) {
        throw new IllegalArgumentException("sizes and dims must not be null");
      }
      this.sizes = sizes.clone();
      this.dims = dims.clone();
    }

    public Builder fieldNames(String... names) {
      this.fieldNames = names == null ? null : names.clone();
      return this;
    }

    public Builder numNumeric(int k) {
      this.numNumeric = k;
      return this;
    }

    public Builder head(HeadType h) {
      if (h == null) {
        throw new IllegalArgumentException("head must not be null");
      }
      this.head = h;
      return this;
    }

    public Builder hiddenLayers(int... units) {
      if (units == null) {
        throw new IllegalArgumentException("hiddenLayers must not be null");
      }
      this.hiddenLayers = units.clone();
      return this;
    }

    public Builder loss(LossType l) {
      if (l == null) {
        throw new IllegalArgumentException("loss must not be null");
      }
      this.loss = l;
      return this;
    }

    public Builder optimizer(OptimizerSpec o) {
      if (o == null) {
        throw new IllegalArgumentException("optimizer must not be null");
      }
      this.optimizer = o;
      return this;
    }

    public Builder initStd(float std) {
      this.initStd = std;
      return this;
    }

    public Builder seed(long s) {
      this.seed = s;
      return this;
    }

    public ModelSpec build() {
      return new ModelSpec(this);
    }
  }
}
