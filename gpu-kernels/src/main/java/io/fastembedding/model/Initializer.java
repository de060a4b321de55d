package io.fastembedding.model;

/**
 * Seeded initial values as a pure function of (seed, stream, index), so that any backend, any thread
 * count and any device produce the same starting model, and a table can be filled in parallel.
 */
public final class Initializer {
  /** Stream of the embedding tables (index = position in the packed buffer). */
  public static final long TABLES = 1;
  /** Stream of the dense head (index = position in the head array). */
  public static final long HEAD = 2;

  private Initializer() {}

  /** SplitMix64 finaliser: a bijective 64-bit mix with full avalanche. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** A uniform double in (0, 1) for (seed, stream, index). */
  public static double uniform(long seed, long stream, long index) {
    long h = mix(mix(seed ^ mix(stream * 0x9e3779b97f4a7c15L)) + index * 0x9e3779b97f4a7c15L);
    return ((h >>> 11) + 0.5) * 0x1.0p-53;
  }

  /** A standard normal value for (seed, stream, index), by Box-Muller on two independent uniforms. */
  public static double gaussian(long seed, long stream, long index) {
    double u1 = uniform(seed, stream, 2 * index);
    double u2 = uniform(seed, stream, 2 * index + 1);
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
  }

  /** Fills {@code tables} (the packed buffer of {@code spec}) with N(0, initStd^2); gaps stay 0. */
  public static void initTables(ModelSpec spec, float[] tables) {
    var layout = spec.layout();
    double std = spec.initStd();
    for (int f = 0; f < layout.numFields(); f++) {
      int start = Math.toIntExact(layout.offset(f));
      int end = start + layout.size(f) * layout.dim(f);
      for (int i = start; i < end; i++) {
        tables[i] = tableValue(spec.seed(), std, i);
      }
    }
  }

  /**
   * The initial value of the float at {@code packedIndex} of the packed tables: what
   * {@link #initTables} writes there, so a shard of the tables can be initialised on its own.
   */
  public static float tableValue(long seed, double initStd, long packedIndex) {
    return (float) (initStd * gaussian(seed, TABLES, packedIndex));
  }

  /**
   * Fills the dense head: fm and fwfm latent vectors of numeric features N(0, initStd^2) and zero weights
   * and bias, fwfm pair weights 1 (so it starts as the fm head); the linear head U(-1/sqrt(D), 1/sqrt(D)) as PyTorch's Linear; mlp hidden layers He-normal
   * N(0, 2/in), output U(-1/sqrt(H), 1/sqrt(H)); all biases 0.
   */
  public static void initHead(ModelSpec spec, float[] head) {
    long seed = spec.seed();
    java.util.Arrays.fill(head, 0f);
    switch (spec.head()) {
      case FM, FWFM -> {
        int start = spec.fmNumericLatentOffset();
        int end = start + spec.numNumeric() * spec.fmDim();
        for (int i = start; i < end; i++) {
          head[i] = (float) (spec.initStd() * gaussian(seed, HEAD, i));
        }
        java.util.Arrays.fill(head, spec.fwfmPairOffset(), spec.fwfmPairOffset() + spec.fwfmPairs(), 1f);
      }
      case LINEAR -> {
        int width = spec.headInputWidth();
        double bound = 1.0 / Math.sqrt(width);
        for (int i = 0; i < width; i++) {
          head[i] = (float) (bound * (2 * uniform(seed, HEAD, i) - 1));
        }
      }
      case MLP -> {
        int[] hidden = spec.hiddenLayers();
        for (int l = 0; l < hidden.length; l++) {
          int in = spec.mlpLayerInput(l);
          double std = Math.sqrt(2.0 / in);
          int w = spec.mlpWeightOffset(l);
          for (int i = w; i < w + hidden[l] * in; i++) {
            head[i] = (float) (std * gaussian(seed, HEAD, i));
          }
        }
        int last = hidden[hidden.length - 1];
        double bound = 1.0 / Math.sqrt(last);
        int w = spec.mlpOutputWeightOffset();
        for (int i = w; i < w + last; i++) {
          head[i] = (float) (bound * (2 * uniform(seed, HEAD, i) - 1));
        }
      }
    }
  }
}
