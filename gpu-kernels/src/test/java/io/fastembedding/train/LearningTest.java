package io.fastembedding.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.Backends;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.optim.OptimizerSpec;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.testutil.Auc;
import io.fastembedding.testutil.Synthetic;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The trainer and the CPU backend learn signals of known shape. */
class LearningTest {
  static double heldOutAuc(Backend b, RowBlock test) {
    float[] p = new float[test.rows];
    b.predict(test, 0, test.rows, p, 0);
    double[] s = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      s[i] = p[i];
    }
    return Auc.of(s, test.labels);
  }

  @Test
  void learnsDataDrawnFromAKnownFm() {
    int[] sizes = {40, 40, 40, 40};
    Synthetic.TrueFm truth = new Synthetic.TrueFm(sizes, 4, 1.0, 0.5, 1);
    RowBlock train = truth.sample(20_000, 2).block();
    Synthetic.Sample test = truth.sample(5_000, 3);
    double oracle = Auc.of(test.trueLogits(), test.block().labels);
    ModelSpec spec = ModelSpec.builder(sizes, new int[] {4, 4, 4, 4}).head(HeadType.FM)
        .optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.1f, 1e-4f)).seed(4).build();
    try (Backend cpu = Backends.cpu(spec, new BackendOptions(false, 2))) {
      double before = heldOutAuc(cpu, test.block());
      List<EpochStats> epochs = new Trainer(cpu, new TrainerConfig(256, 6, true, 5)).train(train);
      double after = heldOutAuc(cpu, test.block());
      String msg = "epoch losses " + epochs.stream().map(EpochStats::meanLoss).toList()
          + ", held-out AUC " + before + " -> " + after + " (oracle " + oracle + ")";
      assertEquals(6, epochs.size());
      for (int e = 1; e < epochs.size(); e++) {
        assertTrue(epochs.get(e).meanLoss() < epochs.get(e - 1).meanLoss(), "loss rose: " + msg);
      }
      assertTrue(epochs.get(5).meanLoss() < 0.85 * epochs.get(0).meanLoss(), msg);
      assertTrue(after > 0.9, msg);
      assertTrue(before < 0.6, "the untrained model should rank at chance: " + msg);
    }
  }

  static double xorAuc(HeadType head, RowBlock train, RowBlock test) {
    ModelSpec spec = ModelSpec.builder(new int[] {40, 40, 20, 20}, new int[] {4, 4, 4, 4}).head(head)
        .optimizer(OptimizerSpec.of(OptimizerType.ADAGRAD, 0.05f, 0f)).initStd(0.1f).seed(6).build();
    try (Backend cpu = Backends.cpu(spec, new BackendOptions(true, 2))) {
      new Trainer(cpu, new TrainerConfig(256, 8, true, 7)).train(train);
      return heldOutAuc(cpu, test);
    }
  }

  @Test
  void fmLearnsAPurePairwiseInteractionThatLinearCannot() {
    int[] sizes = {40, 40, 20, 20};
    RowBlock train = Synthetic.xor(sizes, 20_000, 0.05, 8, 9);
    RowBlock test = Synthetic.xor(sizes, 5_000, 0.05, 8, 10);
    double fm = xorAuc(HeadType.FM, train, test);
    double linear = xorAuc(HeadType.LINEAR, train, test);
    String msg = "held-out AUC: fm " + fm + ", linear " + linear;
    assertTrue(fm > 0.85, msg);
    assertTrue(linear < 0.6, msg);
    assertTrue(fm - linear > 0.25, msg);
  }
}
