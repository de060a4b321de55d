package io.fastembedding.reference;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.layout.TableLayout;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.optim.OptimizerSpec;

/**
 * The model of docs/model.md, written a second time as plainly as possible: doubles everywhere, one
 * thread, plain loops, no algebraic shortcuts. It shares nothing with the backends but the layouts of
 * {@link ModelSpec} and {@link TableLayout} (where each value lives) and the initial values of
 * {@link ModelState#initial}.
 *
 * <p>The FM output is deliberately computed as the explicit sum over pairs of latent vectors, not with
 * the sum-square identity the backends use, so that the identity itself is under test.
 */
public final class ReferenceModel {
  public final ModelSpec spec;
  private final TableLayout layout;
  private final int n;
  private final int k;

  // Parameters and optimizer state, in the same layouts as ModelState but in doubles.
  public final double[] tables;
  public final double[] firstOrder;
  public final double[] head;
  public final double[] tableAccum;
  public final double[] firstOrderAccum;
  public final double[] headAccum;

  public ReferenceModel(ModelState s) {
    spec = s.spec;
    layout = spec.layout();
    n = spec.numFields();
    k = spec.numNumeric();
    tables = toDouble(s.tables);
    firstOrder = toDouble(s.firstOrder);
    head = toDouble(s.head);
    tableAccum = toDouble(s.tableAccum);
    firstOrderAccum = toDouble(s.firstOrderAccum);
    headAccum = toDouble(s.headAccum);
  }

  public static ReferenceModel initial(ModelSpec spec) {
    return new ReferenceModel(ModelState.initial(spec));
  }

  /** The current values rounded to floats, in the backends' exchange format. */
  public ModelState toState() {
    return new ModelState(spec, toFloat(tables), toFloat(firstOrder), toFloat(head),
        toFloat(tableAccum), toFloat(firstOrderAccum), toFloat(headAccum));
  }

  /** Gradient of the batch objective L, one array per parameter array, same layouts. */
  public static final class Gradient {
    public final double[] tables;
    public final double[] firstOrder;
    public final double[] head;

    Gradient(ReferenceModel m) {
      tables = new double[m.tables.length];
      firstOrder = new double[m.firstOrder.length];
      head = new double[m.head.length];
    }
  }

  // ---------------------------------------------------------------- forward

  private int rowStart(int field, int x) {
    return Math.toIntExact(layout.offset(field) + (long) x * layout.dim(field));
  }

  private int rowIndex(int field, int x) {
    return Math.toIntExact(layout.rowBase(field) + x);
  }

  /** Embedding of field i in block row r. */
  public double[] embedding(RowBlock b, int r, int field) {
    int d = layout.dim(field);
    int s = rowStart(field, b.index(r, field));
    double[] e = new double[d];
    for (int f = 0; f < d; f++) {
      e[f] = tables[s + f];
    }
    return e;
  }

  private double numeric(RowBlock b, int r, int j) {
    return b.numeric[r * k + j];
  }

  /** h = concat(e_0, ..., e_{n-1}, z): the input of the linear and mlp heads. */
  private double[] headInput(RowBlock b, int r) {
    double[] h = new double[spec.headInputWidth()];
    int p = 0;
    for (int i = 0; i < n; i++) {
      for (double v : embedding(b, r, i)) {
        h[p++] = v;
      }
    }
    for (int j = 0; j < k; j++) {
      h[p++] = numeric(b, r, j);
    }
    return h;
  }

  /** The concatenated embeddings of row r (no numeric features), as {@code Backend.embed} defines. */
  public double[] embed(RowBlock b, int r) {
    double[] out = new double[layout.sumDims()];
    int p = 0;
    for (int i = 0; i < n; i++) {
      for (double v : embedding(b, r, i)) {
        out[p++] = v;
      }
    }
    return out;
  }

  /** FM latent vectors of a row: the n embeddings, then z_j * v_j for each numeric feature. */
  private double[][] fmLatents(RowBlock b, int r) {
    int d = spec.fmDim();
    double[][] lat = new double[n + k][];
    for (int i = 0; i < n; i++) {
      lat[i] = embedding(b, r, i);
    }
    for (int j = 0; j < k; j++) {
      double z = numeric(b, r, j);
      lat[n + j] = new double[d];
      for (int f = 0; f < d; f++) {
        lat[n + j][f] = z * head[spec.fmNumericLatentOffset() + j * d + f];
      }
    }
    return lat;
  }

  /** The head's output y of block row r. */
  public double output(RowBlock b, int r) {
    return switch (spec.head()) {
      case FM, FWFM -> fmOutput(b, r);
      case LINEAR -> linearOutput(b, r);
      case MLP -> mlpForward(headInput(b, r))[0][0][0];
    };
  }

  private double fmOutput(RowBlock b, int r) {
    double y = head[spec.fmBiasOffset()];
    for (int i = 0; i < n; i++) {
      y += firstOrder[rowIndex(i, b.index(r, i))];
    }
    for (int j = 0; j < k; j++) {
      y += head[spec.fmNumericLinearOffset() + j] * numeric(b, r, j);
    }
    double[][] lat = fmLatents(b, r);
    for (int p = 0; p < lat.length; p++) {
      for (int q = p + 1; q < lat.length; q++) {
        y += pairWeight(p, q) * dot(lat[p], lat[q]);
      }
    }
    return y;
  }

  /** The weight of latent pair (p, q), p &lt; q: 1 for fm, the learned one for fwfm. */
  private double pairWeight(int p, int q) {
    return spec.fwfmPairs() == 0 ? 1.0
        : head[spec.fwfmPairOffset() + ModelSpec.fwfmPair(p, q, n + k)];
  }

  private double linearOutput(RowBlock b, int r) {
    double[] h = headInput(b, r);
    double y = head[spec.linearBiasOffset()];
    for (int m = 0; m < h.length; m++) {
      y += head[m] * h[m];
    }
    return y;
  }

  /**
   * MLP forward pass: returns {y}, then for l = 1..L the pre-activations a_l and activations g_l
   * (index 0 of acts is the input h).
   */
  private double[][][] mlpForward(double[] h) {
    int[] hidden = spec.hiddenLayers();
    int layers = hidden.length;
    double[][] pre = new double[layers + 1][];
    double[][] act = new double[layers + 1][];
    act[0] = h;
    for (int l = 1; l <= layers; l++) {
      int in = spec.mlpLayerInput(l - 1);
      int out = hidden[l - 1];
      int w = spec.mlpWeightOffset(l - 1);
      int c = spec.mlpBiasOffset(l - 1);
      pre[l] = new double[out];
      act[l] = new double[out];
      for (int o = 0; o < out; o++) {
        double s = head[c + o];
        for (int i = 0; i < in; i++) {
          s += head[w + o * in + i] * act[l - 1][i];
        }
        pre[l][o] = s;
        act[l][o] = s > 0 ? s : 0;
      }
    }
    double y = head[spec.mlpOutputBiasOffset()];
    int wo = spec.mlpOutputWeightOffset();
    for (int o = 0; o < hidden[layers - 1]; o++) {
      y += head[wo + o] * act[layers][o];
    }
    return new double[][][] {{{y}}, pre, act};
  }

  /** Smallest |pre-activation| of any hidden unit over the rows: how far the batch is from a kink. */
  public double minAbsPreActivation(RowBlock b, int start, int count) {
    double min = Double.POSITIVE_INFINITY;
    for (int r = start; r < start + count; r++) {
      double[][] pre = mlpForward(headInput(b, r))[1];
      for (int l = 1; l < pre.length; l++) {
        for (double v : pre[l]) {
          min = Math.min(min, Math.abs(v));
        }
      }
    }
    return min;
  }

  // ---------------------------------------------------------------- loss

  public static double loss(LossType type, double y, double t) {
    return switch (type) {
      case LOGISTIC -> Math.max(y, 0) - t * y + Math.log1p(Math.exp(-Math.abs(y)));
      case SQUARED -> 0.5 * (y - t) * (y - t);
    };
  }

  public static double lossDerivative(LossType type, double y, double t) {
    return switch (type) {
      case LOGISTIC -> sigmoid(y) - t;
      case SQUARED -> y - t;
    };
  }

  public static double sigmoid(double y) {
    return y >= 0 ? 1 / (1 + Math.exp(-y)) : Math.exp(y) / (1 + Math.exp(y));
  }

  /** The prediction of row r: sigmoid(y) for the logistic loss, y for the squared loss. */
  public double predict(RowBlock b, int r) {
    double y = output(b, r);
    return spec.loss() == LossType.LOGISTIC ? sigmoid(y) : y;
  }

  /** Sum over the rows of w_r * loss(y_r, t_r), without L2: what LossSum.weightedLoss accumulates. */
  public double weightedLossSum(RowBlock b, int start, int count) {
    double s = 0;
    for (int r = start; r < start + count; r++) {
      s += b.weight(r) * loss(spec.loss(), output(b, r), b.labels[r]);
    }
    return s;
  }

  /** Weighted mean loss per unit weight over the rows (no L2): what LossSum.mean reports. */
  public double meanLoss(RowBlock b, int start, int count) {
    double w = 0;
    for (int r = start; r < start + count; r++) {
      w += b.weight(r);
    }
    return weightedLossSum(b, start, count) / w;
  }

  /** The objective L of one step on rows [start, start + count), exactly as docs/model.md writes it. */
  public double objective(RowBlock b, int start, int count) {
    double l2 = spec.optimizer().l2();
    double sum = 0;
    for (int r = start; r < start + count; r++) {
      double term = b.weight(r) * loss(spec.loss(), output(b, r), b.labels[r]);
      double reg = 0;
      for (int i = 0; i < n; i++) {
        int x = b.index(r, i);
        int s = rowStart(i, x);
        for (int f = 0; f < layout.dim(i); f++) {
          reg += tables[s + f] * tables[s + f];
        }
        if (spec.hasFirstOrder()) {
          double w = firstOrder[rowIndex(i, x)];
          reg += w * w;
        }
      }
      sum += term + l2 / 2 * reg;
    }
    return sum / count;
  }

  // ---------------------------------------------------------------- backward

  /** The analytic gradient of {@link #objective}, occurrences summed in batch order. */
  public Gradient gradient(RowBlock b, int start, int count) {
    Gradient g = new Gradient(this);
    double invB = 1.0 / count;
    double l2 = spec.optimizer().l2();
    for (int r = start; r < start + count; r++) {
      double y = output(b, r);
      double c = b.weight(r) * lossDerivative(spec.loss(), y, b.labels[r]) * invB;
      double[][] dyde = switch (spec.head()) {
        case FM, FWFM -> fmBackward(b, r, c, g);
        case LINEAR -> linearBackward(b, r, c, g);
        case MLP -> mlpBackward(b, r, c, g);
      };
      for (int i = 0; i < n; i++) {
        int x = b.index(r, i);
        int s = rowStart(i, x);
        for (int f = 0; f < layout.dim(i); f++) {
          g.tables[s + f] += c * dyde[i][f] + l2 * tables[s + f] * invB;
        }
        if (spec.hasFirstOrder()) {
          int ri = rowIndex(i, x);
          g.firstOrder[ri] += c * 1.0 + l2 * firstOrder[ri] * invB;
        }
      }
    }
    return g;
  }

  /** Adds c * dy/d(head) to g.head and returns dy/de_i per field. */
  private double[][] fmBackward(RowBlock b, int r, double c, Gradient g) {
    int d = spec.fmDim();
    double[][] lat = fmLatents(b, r);
    // dy/d(latent p) = sum of the other latent vectors, each times the pair's weight (fwfm);
    // dy/d(pair weight of p, q) = their dot product
    double[][] dlat = new double[lat.length][d];
    for (int p = 0; p < lat.length; p++) {
      for (int q = 0; q < lat.length; q++) {
        if (q != p) {
          double w = pairWeight(Math.min(p, q), Math.max(p, q));
          for (int f = 0; f < d; f++) {
            dlat[p][f] += w * lat[q][f];
          }
        }
      }
    }
    for (int p = 0; p < lat.length && spec.fwfmPairs() > 0; p++) {
      for (int q = p + 1; q < lat.length; q++) {
        g.head[spec.fwfmPairOffset() + ModelSpec.fwfmPair(p, q, n + k)] += c * dot(lat[p], lat[q]);
      }
    }
    g.head[spec.fmBiasOffset()] += c;
    for (int j = 0; j < k; j++) {
      double z = numeric(b, r, j);
      g.head[spec.fmNumericLinearOffset() + j] += c * z;
      for (int f = 0; f < d; f++) {
        g.head[spec.fmNumericLatentOffset() + j * d + f] += c * z * dlat[n + j][f];
      }
    }
    double[][] dyde = new double[n][];
    for (int i = 0; i < n; i++) {
      dyde[i] = dlat[i];
    }
    return dyde;
  }

  private double[][] linearBackward(RowBlock b, int r, double c, Gradient g) {
    double[] h = headInput(b, r);
    for (int m = 0; m < h.length; m++) {
      g.head[m] += c * h[m];
    }
    g.head[spec.linearBiasOffset()] += c;
    return splitByField(head, 0);
  }

  private double[][] mlpBackward(RowBlock b, int r, double c, Gradient g) {
    double[] h = headInput(b, r);
    double[][][] fw = mlpForward(h);
    double[][] pre = fw[1];
    double[][] act = fw[2];
    int[] hidden = spec.hiddenLayers();
    int layers = hidden.length;
    g.head[spec.mlpOutputBiasOffset()] += c;
    int wo = spec.mlpOutputWeightOffset();
    // dy/d(g_L)
    double[] dact = new double[hidden[layers - 1]];
    for (int o = 0; o < dact.length; o++) {
      g.head[wo + o] += c * act[layers][o];
      dact[o] = head[wo + o];
    }
    for (int l = layers; l >= 1; l--) {
      int in = spec.mlpLayerInput(l - 1);
      int out = hidden[l - 1];
      int w = spec.mlpWeightOffset(l - 1);
      int cb = spec.mlpBiasOffset(l - 1);
      double[] dpre = new double[out];
      for (int o = 0; o < out; o++) {
        dpre[o] = pre[l][o] > 0 ? dact[o] : 0; // relu'(0) = 0
      }
      double[] dprev = new double[in];
      for (int o = 0; o < out; o++) {
        g.head[cb + o] += c * dpre[o];
        for (int i = 0; i < in; i++) {
          g.head[w + o * in + i] += c * dpre[o] * act[l - 1][i];
          dprev[i] += head[w + o * in + i] * dpre[o];
        }
      }
      dact = dprev;
    }
    return splitByField(dact, 0);
  }

  /** The first sumDims entries of v, cut into one slice per field. */
  private double[][] splitByField(double[] v, int from) {
    double[][] out = new double[n][];
    for (int i = 0; i < n; i++) {
      out[i] = new double[layout.dim(i)];
      for (int f = 0; f < layout.dim(i); f++) {
        out[i][f] = v[from + layout.dimOffset(i) + f];
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- optimizer

  /** One training step: the gradient at the current values, then the optimizer's update of each. */
  public void step(RowBlock b, int start, int count) {
    Gradient g = gradient(b, start, count);
    OptimizerSpec o = spec.optimizer();
    double lr = o.learningRate();
    double eps = o.epsilon();
    switch (o.type()) {
      case SGD -> {
        sgd(tables, g.tables, lr);
        sgd(firstOrder, g.firstOrder, lr);
        sgd(head, g.head, lr);
      }
      case ADAGRAD -> {
        adagrad(tables, tableAccum, g.tables, lr, eps);
        adagrad(firstOrder, firstOrderAccum, g.firstOrder, lr, eps);
        adagrad(head, headAccum, g.head, lr, eps);
      }
      case ROWWISE_ADAGRAD -> {
        touchedRowwise(b, start, count, g, lr, eps);
        adagrad(firstOrder, firstOrderAccum, g.firstOrder, lr, eps);
        adagrad(head, headAccum, g.head, lr, eps);
      }
      case ROWWISE_ADAM -> {
        touchedRowwiseAdam(b, start, count, g, lr, eps);
        adagrad(firstOrder, firstOrderAccum, g.firstOrder, lr, eps);
        adagrad(head, headAccum, g.head, lr, eps);
      }
    }
  }

  private static void sgd(double[] p, double[] g, double lr) {
    for (int i = 0; i < p.length; i++) {
      p[i] -= lr * g[i];
    }
  }

  private static void adagrad(double[] p, double[] acc, double[] g, double lr, double eps) {
    for (int i = 0; i < p.length; i++) {
      acc[i] += g[i] * g[i];
      p[i] -= lr * g[i] / (Math.sqrt(acc[i]) + eps);
    }
  }

  /** Row-wise Adagrad, once for each distinct row the batch touches. */
  private void touchedRowwise(RowBlock b, int start, int count, Gradient g, double lr, double eps) {
    boolean[] done = new boolean[Math.toIntExact(layout.totalRows())];
    for (int r = start; r < start + count; r++) {
      for (int i = 0; i < n; i++) {
        int x = b.index(r, i);
        int ri = rowIndex(i, x);
        if (done[ri]) {
          continue;
        }
        done[ri] = true;
        int d = layout.dim(i);
        int s = rowStart(i, x);
        double meanSq = 0;
        for (int f = 0; f < d; f++) {
          meanSq += g.tables[s + f] * g.tables[s + f];
        }
        tableAccum[ri] += meanSq / d;
        double denom = Math.sqrt(tableAccum[ri]) + eps;
        for (int f = 0; f < d; f++) {
          tables[s + f] -= lr * g.tables[s + f] / denom;
        }
      }
    }
  }

  /**
   * Row-wise Adam (docs/model.md), once for each distinct row the batch touches; the row's state
   * [m_0 .. m_{d-1}, v, t] starts at its table offset + 2 x its row id. Written from the documented math,
   * in doubles, with the betas the product uses (the floats 0.9f and 0.999f).
   */
  private void touchedRowwiseAdam(RowBlock b, int start, int count, Gradient g, double lr, double eps) {
    double beta1 = io.fastembedding.optim.RowwiseAdam.BETA1;
    double beta2 = io.fastembedding.optim.RowwiseAdam.BETA2;
    boolean[] done = new boolean[Math.toIntExact(layout.totalRows())];
    for (int r = start; r < start + count; r++) {
      for (int i = 0; i < n; i++) {
        int x = b.index(r, i);
        int ri = rowIndex(i, x);
        if (done[ri]) {
          continue;
        }
        done[ri] = true;
        int d = layout.dim(i);
        int s = rowStart(i, x);
        int st = s + 2 * ri;
        double meanSq = 0;
        for (int f = 0; f < d; f++) {
          meanSq += g.tables[s + f] * g.tables[s + f];
        }
        meanSq /= d;
        double t = tableAccum[st + d + 1] + 1;
        double v = beta2 * tableAccum[st + d] + (1 - beta2) * meanSq;
        tableAccum[st + d] = v;
        tableAccum[st + d + 1] = t;
        double vHat = v / (1 - Math.pow(beta2, t));
        double denom = Math.sqrt(vHat) + eps;
        for (int f = 0; f < d; f++) {
          double m = beta1 * tableAccum[st + f] + (1 - beta1) * g.tables[s + f];
          tableAccum[st + f] = m;
          double mHat = m / (1 - Math.pow(beta1, t));
          tables[s + f] -= lr * mHat / denom;
        }
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double[] toDouble(float[] a) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i];
    }
    return d;
  }

  static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }
}
