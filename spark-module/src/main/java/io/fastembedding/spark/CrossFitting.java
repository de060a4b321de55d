package io.fastembedding.spark;

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
      long[] trainingRows) implements Serializable {

    /** The model that gives row {@code hash} its outputs: -1 for the full model, else its fold. */
    int modelOf(long hash) {
      return CrossFitFolds.contains(trainingRows, hash) ? CrossFitFolds.fold(hash, folds) : -1;
    }
  }

  static Folds fit(JavaSparkContext jsc, FitRounds.Config config, ModelSpec spec,
      JavaRDD<PartitionData> blocks, int k, long seed, String uid) {
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
    return new Folds(k, seed, tables, firstOrder, head, CrossFitFolds.distinctSorted(all));
  }
}
