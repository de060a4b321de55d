package io.fastembedding.spark;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.data.CrossFitFolds;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.train.FitRounds;
import java.io.Serializable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cross-fitted output (crossFitFolds = k): k more models, fold f's trained on the rows the kept model
 * trained on outside fold f ({@link CrossFitFolds}), for as many epochs as the kept model. The model
 * keeps them with the content hashes of its training rows; transform gives a row whose hash is
 * among them the outputs of the model of its fold, which never saw it, and any other row the
 * outputs of the model fitted on all rows.
 */
final class CrossFitting {
  private static final Logger LOG = LoggerFactory.getLogger(MultiEmbedding.class);

  private CrossFitting() {}

  /**
   * The fold models' values and the training rows' sorted content hashes.
   *
   * @param seed the seed of the content hashes (the stage's seed)
   */
  record Folds(int folds, long seed, float[][] tables, float[][] firstOrder, float[][] head,
      long[] trainingRows, boolean alignedVectors) implements Serializable {

    /** The model that gives row {@code hash} its outputs: -1 for the full model, else its fold. */
    int modelOf(long hash) {
      return CrossFitFolds.contains(trainingRows, hash) ? CrossFitFolds.fold(hash, folds) : -1;
    }
  }

  /**
   * @param full the model fitted on all rows: an fm fold model's vectors are rotated into its basis
   *     ({@link #align})
   */
  static Folds fit(JavaSparkContext jsc, FitRounds.Config config, ModelSpec spec,
      JavaRDD<PartitionData> blocks, int k, long seed, String uid, ModelState full) {
    float[][] tables = new float[k][];
    float[][] firstOrder = new float[k][];
    float[][] head = new float[k][];
    for (int f = 0; f < k; f++) {
      int fold = f;
      JavaRDD<PartitionData> without = blocks.map(pd -> CrossFitFolds.withoutFold(pd, seed, k,
          fold));
      without.persist(StorageLevel.MEMORY_AND_DISK());
      try {
        FitRounds.describe(jsc.sc(), uid, "cross-fitting: the model without fold " + (f + 1)
            + " of " + k);
        LOG.info("MultiEmbedding {}: cross-fitting, fold {} of {}: {} epochs on the other folds' "
            + "rows", uid, f + 1, k, config.maxIter());
        ModelState s = new FitRounds(jsc, config).run(spec, without).state();
        if (aligns(spec.head())) {
          align(spec, s.tables, s.head, full.tables, full.head);
        }
        tables[f] = s.tables;
        firstOrder[f] = s.firstOrder;
        head[f] = s.head;
      } finally {
        without.unpersist(false);
      }
    }
    FitRounds.describe(jsc.sc(), uid, "cross-fitting: the training rows' content hashes");
    long[] all = blocks.map(pd -> CrossFitFolds.hashes(pd.block, seed)).collect().stream()
        .flatMapToLong(java.util.Arrays::stream).toArray();
    return new Folds(k, seed, tables, firstOrder, head, CrossFitFolds.distinctSorted(all),
        aligns(spec.head()));
  }

  /**
   * Whether the fold models' vectors are rotated into the full model's basis, and so are the
   * training rows' vector outputs: for the fm head, whose scores depend on its vectors (the
   * tables' rows and the numeric features' latent vectors) only through their dot products.
   */
  static boolean aligns(HeadType head) {
    return head.factorized();
  }

  /**
   * Rotates every fm vector of a fold model (its tables' rows, its numeric latent vectors in
   * {@code head}) by the one rotation R that brings them closest to the full model's (orthogonal
   * Procrustes over all of them at once). Every dot product, so every score, stays the same up to
   * float rounding, while a category's vector becomes comparable with the full model's: each model
   * learns the same geometry in a basis of its own (a downstream LogisticRegression on unaligned
   * fold vectors scored 0.64 on Bank Marketing against 0.77, docs/quality.md).
   */
  static void align(ModelSpec spec, float[] tables, float[] head, float[] fullTables,
      float[] fullHead) {
    int d = spec.fmDim();
    int k = spec.numNumeric();
    int lat = spec.fmNumericLatentOffset();
    // A^T B over every vector of the two models, in place: the tables' rows, field by field, then
    // the numeric latent vectors (no copy of the tables: a d x d sum is all the rotation needs)
    double[] m = new double[d * d];
    for (int f = 0; f < spec.numFields(); f++) {
      long off = spec.layout().offset(f);
      Procrustes.addCrossProduct(m, tables, off, fullTables, off, spec.layout().size(f), d);
    }
    Procrustes.addCrossProduct(m, head, lat, fullHead, lat, k, d);
    double[] r = Procrustes.polarFactor(m, d);
    for (int f = 0; f < spec.numFields(); f++) {
      Procrustes.rotate(tables, spec.layout().offset(f), spec.layout().size(f), d, r);
    }
    Procrustes.rotate(head, lat, k, d, r);
  }
}
