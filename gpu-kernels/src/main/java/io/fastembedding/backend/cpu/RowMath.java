package io.fastembedding.backend.cpu;

import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.simd.FloatLanes;
import java.util.Arrays;

/**
 * Forward and backward of one row through the head, in float, with the scratch of one thread. The
 * math is docs/model.md's; this class only knows rows, not batches, threads or optimizers.
 *
 * <p>After {@link #forward}, {@code input} holds the row's head input h (embeddings, then numeric
 * features). {@link #backward} writes {@code gy * dy/dh} for the embedding part into
 * {@code inputGrad[0, sumDims)} and adds {@code gy * dy/dθ} into a head-gradient array (fwfm's pair
 * weights' part at {@link #finishHeadGrad}).
 */
final class RowMath {
  /** SIMD prefixes of the fm loops below where usable (same bits as the scalar loops; see FloatLanes). */
  private static final FloatLanes LANES = FloatLanes.active();

  private final HeadType head;
  private final LossType loss;
  private final int numFields;
  private final int numNumeric;
  private final int sumDims;
  private final int width;
  private final int[] dims;
  private final int[] tableOffsets;
  private final int[] dimOffsets;
  private final int[] rowBases;
  // fm: per latent index k, the sum over the fields' vectors and the sum of their squares
  private final int d;
  private final float[] sum;
  private final float[] sq;
  // fwfm: the K = fields + numeric latent vectors of the row (K x d), dy/d(each of them) (K x d), where
  // the pair weights start in the head, and the pair weights' gradients so far, per pair and latent index
  // (pairs x d; finishHeadGrad sums them)
  private final int vectors;
  private final int pairOff;
  private final float[] lat;
  private final float[] latGrad;
  private final float[] pairGrad;
  // mlp
  private final int[] hidden;
  private final int[] wOff;
  private final int[] cOff;
  private final int[] inWidth;
  private final int outW;
  private final int outB;
  private final float[][] act;
  private final float[][] delta;

  final float[] input;
  final float[] inputGrad;

  RowMath(ModelSpec spec) {
    TableLayout l = spec.layout();
    head = spec.head();
    loss = spec.loss();
    numFields = l.numFields();
    numNumeric = spec.numNumeric();
    sumDims = l.sumDims();
    width = spec.headInputWidth();
    dims = l.dims();
    tableOffsets = new int[numFields];
    dimOffsets = new int[numFields];
    rowBases = new int[numFields];
    for (int f = 0; f < numFields; f++) {
      tableOffsets[f] = Math.toIntExact(l.offset(f));
      dimOffsets[f] = l.dimOffset(f);
      rowBases[f] = Math.toIntExact(l.rowBase(f));
    }
    input = new float[width];
    inputGrad = new float[width];
    d = head.factorized() ? spec.fmDim() : 0;
    sum = new float[d];
    sq = new float[d];
    boolean fwfm = head == HeadType.FWFM;
    vectors = fwfm ? spec.fwfmVectors() : 0;
    pairOff = fwfm ? spec.fwfmPairOffset() : 0;
    lat = new float[vectors * d];
    latGrad = new float[vectors * d];
    pairGrad = new float[vectors * (vectors - 1) / 2 * d];
    hidden = spec.hiddenLayers();
    int nl = hidden.length;
    wOff = new int[nl];
    cOff = new int[nl];
    inWidth = new int[nl];
    act = new float[nl][];
    delta = new float[nl][];
    for (int i = 0; i < nl; i++) {
      wOff[i] = spec.mlpWeightOffset(i);
      cOff[i] = spec.mlpBiasOffset(i);
      inWidth[i] = spec.mlpLayerInput(i);
      act[i] = new float[hidden[i]];
      delta[i] = new float[hidden[i]];
    }
    outW = head == HeadType.MLP ? spec.mlpOutputWeightOffset() : 0;
    outB = head == HeadType.MLP ? spec.mlpOutputBiasOffset() : 0;
  }

  /**
   * Copies row r's embeddings and numeric features into {@link #input}; for the fm head, also sums the
   * embeddings and their squares per latent index, which {@link #forward} then uses.
   */
  void gather(float[] tables, int[] idx, int idxBase, float[] numeric, int numBase) {
    if (head == HeadType.FM) {
      gatherFm(tables, idx, idxBase);
    } else {
      for (int f = 0; f < numFields; f++) {
        int dim = dims[f];
        int src = tableOffsets[f] + idx[idxBase + f] * dim;
        int dst = dimOffsets[f];
        // dims are often 1 to 8: a plain loop beats System.arraycopy's call overhead there
        for (int k = 0; k < dim; k++) {
          input[dst + k] = tables[src + k];
        }
      }
    }
    if (numNumeric > 0) {
      System.arraycopy(numeric, numBase, input, sumDims, numNumeric);
    }
  }

  private void gatherFm(float[] tables, int[] idx, int idxBase) {
    for (int k = 0; k < d; k++) {
      sum[k] = 0f;
      sq[k] = 0f;
    }
    for (int f = 0; f < numFields; f++) {
      int src = tableOffsets[f] + idx[idxBase + f] * d;
      int dst = f * d;
      for (int k = LANES.gatherSum(tables, src, input, dst, sum, sq, d); k < d; k++) {
        float e = tables[src + k];
        input[dst + k] = e;
        sum[k] += e;
        sq[k] += e * e;
      }
    }
  }

  /** The head's output y for the row in {@link #input}; FM first-order weights come from {@code w1}. */
  float forward(float[] headW, float[] w1, int[] idx, int idxBase) {
    switch (head) {
      case FM:
        return forwardFm(headW, w1, idx, idxBase);
      case FWFM:
        return forwardFwfm(headW, w1, idx, idxBase);
      case LINEAR: {
        float y = headW[width];
        for (int i = 0; i < width; i++) {
          y += headW[i] * input[i];
        }
        return y;
      }
      default:
        return forwardMlp(headW);
    }
  }

  private float forwardFm(float[] headW, float[] w1, int[] idx, int idxBase) {
    float y = headW[0];
    for (int f = 0; f < numFields; f++) {
      y += w1[rowBases[f] + idx[idxBase + f]];
    }
    // the fields' sums are gather's; the numeric features' latent vectors join them here
    int lin = 1;
    int lat = 1 + numNumeric;
    for (int j = 0; j < numNumeric; j++) {
      float z = input[sumDims + j];
      y += headW[lin + j] * z;
      int o = lat + j * d;
      for (int k = LANES.scaledSum(z, headW, o, sum, sq, d); k < d; k++) {
        float e = z * headW[o + k];
        sum[k] += e;
        sq[k] += e * e;
      }
    }
    float ss = 0f;
    float sqs = 0f;
    for (int k = 0; k < d; k++) {
      ss += sum[k] * sum[k];
      sqs += sq[k];
    }
    return y + 0.5f * (ss - sqs);
  }

  /**
   * The fwfm head: the first-order part as fm's, then the sum over pairs a &lt; b of the K latent vectors (the
   * fields' embeddings, then each numeric feature's latent vector scaled by its value) of r_ab times their
   * dot product. That sum is computed as half of sum_a &lt;lat_a, g_a&gt; with g_a = sum_{b != a} r_ab lat_b,
   * dy/d(lat_a), which {@link #backward} reuses; the SIMD form (FloatLanes.pairSums) takes one register of
   * the latent index through all the pairs, where 15 separate dot products would each be one long chain of
   * adds.
   */
  private float forwardFwfm(float[] headW, float[] w1, int[] idx, int idxBase) {
    float y = headW[0];
    for (int f = 0; f < numFields; f++) {
      y += w1[rowBases[f] + idx[idxBase + f]];
    }
    System.arraycopy(input, 0, lat, 0, sumDims);
    int latOff = 1 + numNumeric;
    for (int j = 0; j < numNumeric; j++) {
      float z = input[sumDims + j];
      y += headW[1 + j] * z;
      int o = latOff + j * d;
      int dst = sumDims + j * d;
      for (int k = LANES.scaled(z, headW, o, lat, dst, d); k < d; k++) {
        lat[dst + k] = z * headW[o + k];
      }
    }
    // the SIMD prefix runs the latent index outermost (one register serves every pair); this rest runs
    // it innermost (contiguous, and no pass over all the pairs per index when there are thousands, as
    // ple makes on small data). Each g_x sums its terms in ascending order of the other vector either way.
    int m = vectors;
    int k0 = LANES.pairSums(lat, headW, pairOff, m, d, latGrad, sum);
    if (k0 < d) {
      for (int a = 0; a < m; a++) {
        Arrays.fill(latGrad, a * d + k0, (a + 1) * d, 0f);
      }
      for (int a = 0, p = pairOff; a < m; a++) {
        int oa = a * d;
        for (int b = a + 1; b < m; b++, p++) {
          float r = headW[p];
          int ob = b * d;
          for (int k = k0; k < d; k++) {
            latGrad[oa + k] += r * lat[ob + k];
            latGrad[ob + k] += r * lat[oa + k];
          }
        }
      }
      Arrays.fill(sum, k0, d, 0f);
      for (int a = 0; a < m; a++) {
        int oa = a * d;
        for (int k = k0; k < d; k++) {
          sum[k] += lat[oa + k] * latGrad[oa + k];
        }
      }
    }
    float pairs = 0f;
    for (int k = 0; k < d; k++) {
      pairs += sum[k];
    }
    return y + 0.5f * pairs;
  }

  private float forwardMlp(float[] headW) {
    float[] in = input;
    for (int l = 0; l < hidden.length; l++) {
      float[] out = act[l];
      int n = inWidth[l];
      int w = wOff[l];
      int c = cOff[l];
      for (int o = 0; o < hidden[l]; o++) {
        float z = headW[c + o];
        int row = w + o * n;
        for (int i = 0; i < n; i++) {
          z += headW[row + i] * in[i];
        }
        out[o] = z > 0f ? z : 0f;
      }
      in = out;
    }
    float y = headW[outB];
    for (int i = 0; i < in.length; i++) {
      y += headW[outW + i] * in[i];
    }
    return y;
  }

  /** The loss of the output last passed to {@link #lossGrad}. */
  float lastLoss;

  /**
   * dℓ/dy for output y and label t; also sets {@link #lastLoss}. The logistic loss and its gradient
   * share one exponential: ℓ = max(y, 0) − t·y + log1p(e^−|y|), σ(y) from the same e^−|y|.
   */
  float lossGrad(float y, float t) {
    if (loss == LossType.LOGISTIC) {
      double e = Math.exp(-Math.abs((double) y));
      lastLoss = (float) (Math.max(y, 0.0) - t * (double) y + Math.log(1 + e));
      float p = (float) (y >= 0 ? 1 / (1 + e) : e / (1 + e));
      return p - t;
    }
    float r = y - t;
    lastLoss = 0.5f * r * r;
    return r;
  }

  /** The prediction: sigmoid(y) for the logistic loss, y otherwise. */
  float prediction(float y) {
    return loss == LossType.LOGISTIC ? sigmoid(y) : y;
  }

  static float sigmoid(float y) {
    return y >= 0 ? 1f / (1f + (float) Math.exp(-y)) : (float) (Math.exp(y) / (1 + Math.exp(y)));
  }

  /**
   * Back-propagates {@code gy = w * dℓ/dy / B} for the row last passed to {@link #forward}: writes
   * {@code gy * dy/de} into {@code inputGrad[0, sumDims)} and adds {@code gy * dy/dθ} to
   * {@code headGrad[hg, hg + headSize)} (fwfm's pair weights: at {@link #finishHeadGrad}). FM first-order
   * weights have gradient {@code gy}; the caller applies it.
   */
  void backward(float gy, float[] headW, float[] headGrad, int hg) {
    switch (head) {
      case FM -> backwardFm(gy, headW, headGrad, hg);
      case FWFM -> backwardFwfm(gy, headW, headGrad, hg);
      case LINEAR -> {
        for (int i = 0; i < sumDims; i++) {
          inputGrad[i] = gy * headW[i];
        }
        for (int i = 0; i < width; i++) {
          headGrad[hg + i] += gy * input[i];
        }
        headGrad[hg + width] += gy;
      }
      case MLP -> backwardMlp(gy, headW, headGrad, hg);
    }
  }

  private void backwardFm(float gy, float[] headW, float[] headGrad, int hg) {
    for (int f = 0; f < numFields; f++) {
      int o = f * d;
      for (int k = LANES.scaledDifference(gy, sum, input, o, inputGrad, o, d); k < d; k++) {
        inputGrad[o + k] = gy * (sum[k] - input[o + k]);
      }
    }
    headGrad[hg] += gy;
    int lin = 1;
    int lat = 1 + numNumeric;
    for (int j = 0; j < numNumeric; j++) {
      float z = input[sumDims + j];
      headGrad[hg + lin + j] += gy * z;
      int o = lat + j * d;
      for (int k = 0; k < d; k++) {
        headGrad[hg + o + k] += gy * z * (sum[k] - z * headW[o + k]);
      }
    }
  }

  private void backwardFwfm(float gy, float[] headW, float[] headGrad, int hg) {
    for (int k = LANES.scaled(gy, latGrad, 0, inputGrad, 0, sumDims); k < sumDims; k++) {
      inputGrad[k] = gy * latGrad[k];
    }
    headGrad[hg] += gy;
    int latOff = 1 + numNumeric;
    for (int j = 0; j < numNumeric; j++) {
      float z = input[sumDims + j];
      headGrad[hg + 1 + j] += gy * z;
      int o = latOff + j * d;
      int src = sumDims + j * d;
      float gz = gy * z;
      for (int k = LANES.scaledAddTo(gz, latGrad, src, headGrad, hg + o, d); k < d; k++) {
        headGrad[hg + o + k] += gz * latGrad[src + k];
      }
    }
    // dy/dr_ab = <lat_a, lat_b>: kept per latent index until finishHeadGrad, so that a row costs a few SIMD
    // multiplies per pair instead of a dot product's chain of adds
    int m = vectors;
    int k0 = LANES.addPairProducts(gy, lat, m, d, pairGrad);
    if (k0 < d) {
      for (int a = 0, p = 0; a < m; a++) {
        for (int b = a + 1; b < m; b++, p++) {
          for (int k = k0; k < d; k++) {
            pairGrad[p * d + k] += gy * lat[a * d + k] * lat[b * d + k];
          }
        }
      }
    }
  }

  /**
   * Adds to {@code headGrad[hg, hg + headSize)} what {@link #backward} has kept back since the last call
   * (the fwfm pair weights' gradients, summed over the latent index), and forgets it. Call it once the
   * rows whose head gradients go to that array are done, before the array is read.
   */
  void finishHeadGrad(float[] headGrad, int hg) {
    if (vectors == 0) {
      return;
    }
    int pairs = vectors * (vectors - 1) / 2;
    for (int p = 0; p < pairs; p++) {
      float s = 0f;
      for (int k = 0; k < d; k++) {
        s += pairGrad[p * d + k];
      }
      headGrad[hg + pairOff + p] += s;
    }
    Arrays.fill(pairGrad, 0f);
  }

  private void backwardMlp(float gy, float[] headW, float[] headGrad, int hg) {
    int nl = hidden.length;
    float[] last = act[nl - 1];
    float[] dl = delta[nl - 1];
    for (int i = 0; i < last.length; i++) {
      headGrad[hg + outW + i] += gy * last[i];
      dl[i] = last[i] > 0f ? gy * headW[outW + i] : 0f;
    }
    headGrad[hg + outB] += gy;
    for (int l = nl - 1; l >= 0; l--) {
      float[] dz = delta[l];
      float[] in = l == 0 ? input : act[l - 1];
      int n = inWidth[l];
      int w = wOff[l];
      int c = cOff[l];
      boolean toInput = l == 0;
      float[] prev = toInput ? inputGrad : delta[l - 1];
      for (int i = 0; i < n; i++) {
        prev[i] = 0f;
      }
      for (int o = 0; o < hidden[l]; o++) {
        float g = dz[o];
        if (g == 0f) {
          continue;
        }
        headGrad[hg + c + o] += g;
        int row = w + o * n;
        for (int i = 0; i < n; i++) {
          headGrad[hg + row + i] += g * in[i];
          prev[i] += g * headW[row + i];
        }
      }
      if (!toInput) {
        float[] a = act[l - 1];
        for (int i = 0; i < n; i++) {
          if (a[i] <= 0f) {
            prev[i] = 0f;
          }
        }
      }
    }
  }
}
