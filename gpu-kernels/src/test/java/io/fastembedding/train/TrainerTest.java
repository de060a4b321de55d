package io.fastembedding.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.LossType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The trainer's epochs, shuffles and batches, seen through a backend that records what it gets. */
class TrainerTest {
  /** Records every batch as the list of row ids (field 0 holds the row id) with labels and weights. */
  static final class Recorder implements Backend {
    final ModelSpec spec;
    final List<List<int[]>> epochs = new ArrayList<>();
    List<int[]> current = new ArrayList<>();
    double loss;
    double weight;
    long rows;
    /** The batch size of every trainEpoch call, in order. */
    final List<Integer> epochCalls = new ArrayList<>();

    Recorder(ModelSpec spec) {
      this.spec = spec;
    }

    @Override
    public ModelSpec spec() {
      return spec;
    }

    @Override
    public String device() {
      return "recorder";
    }

    @Override
    public void trainStep(RowBlock b, int start, int count) {
      int[] ids = new int[count];
      for (int i = 0; i < count; i++) {
        int r = start + i;
        ids[i] = b.index(r, 0);
        // the row travelled whole: its label, weight and numeric feature still match its id
        assertEquals(ids[i] % 2, b.labels[r], "label of row " + ids[i]);
        assertEquals(ids[i] * 0.5f, b.weight(r), "weight of row " + ids[i]);
        assertEquals(-ids[i], b.numeric[r], "numeric feature of row " + ids[i]);
        assertEquals(ids[i] % 3, b.index(r, 1), "field 1 of row " + ids[i]);
        loss += b.weight(r) * ids[i];
        weight += b.weight(r);
      }
      rows += count;
      current.add(ids);
    }

    @Override
    public void trainEpoch(RowBlock b, int batchSize) {
      epochCalls.add(batchSize);
      Backend.super.trainEpoch(b, batchSize);
    }

    @Override
    public LossSum drainLoss() {
      LossSum s = new LossSum(loss, weight, rows);
      loss = 0;
      weight = 0;
      rows = 0;
      if (!current.isEmpty()) {
        epochs.add(current);
        current = new ArrayList<>();
      }
      return s;
    }

    @Override
    public void predict(RowBlock b, int start, int count, float[] out, int off) {}

    @Override
    public void embed(RowBlock b, int start, int count, float[] out, int off) {}

    @Override
    public ModelState exportState() {
      return ModelState.initial(spec);
    }

    @Override
    public void importState(ModelState s) {}

    @Override
    public TouchedRows exportTouched(boolean reset) {
      return null;
    }

    @Override
    public void close() {}
  }

  static final int ROWS = 103;

  static ModelSpec spec() {
    return ModelSpec.builder(new int[] {ROWS, 3}, new int[] {2, 2}).numNumeric(1)
        .loss(LossType.SQUARED).build();
  }

  static RowBlock block() {
    int[] idx = new int[ROWS * 2];
    float[] num = new float[ROWS];
    float[] lab = new float[ROWS];
    float[] w = new float[ROWS];
    for (int r = 0; r < ROWS; r++) {
      idx[2 * r] = r;
      idx[2 * r + 1] = r % 3;
      num[r] = -r;
      lab[r] = r % 2;
      w[r] = r * 0.5f;
    }
    return new RowBlock(2, 1, ROWS, idx, num, lab, w);
  }

  static int[] flatten(List<int[]> batches) {
    return batches.stream().flatMapToInt(Arrays::stream).toArray();
  }

  @Test
  void eachEpochVisitsEveryRowOnceInBatchesOfTheConfiguredSize() {
    Recorder rec = new Recorder(spec());
    List<EpochStats> stats = new Trainer(rec, new TrainerConfig(10, 3, true, 42)).train(block());
    assertEquals(3, stats.size());
    assertEquals(3, rec.epochs.size());
    // one trainEpoch per epoch, so a backend that overrides it serves the whole epoch
    assertEquals(List.of(10, 10, 10), rec.epochCalls);
    int[] identity = new int[ROWS];
    Arrays.setAll(identity, i -> i);
    for (int e = 0; e < 3; e++) {
      List<int[]> batches = rec.epochs.get(e);
      assertEquals(11, batches.size());
      for (int b = 0; b < 10; b++) {
        assertEquals(10, batches.get(b).length);
      }
      assertEquals(3, batches.get(10).length);
      int[] seen = flatten(batches);
      assertFalse(Arrays.equals(identity, seen), "epoch " + e + " was not shuffled");
      int[] sorted = seen.clone();
      Arrays.sort(sorted);
      assertArrayEquals(identity, sorted, "epoch " + e + " is not a permutation of the rows");
      // the reported loss is the backend's drained loss over that epoch
      double wl = 0;
      double w = 0;
      for (int r = 0; r < ROWS; r++) {
        wl += r * 0.5 * r;
        w += r * 0.5;
      }
      assertEquals(wl / w, stats.get(e).meanLoss(), 1e-9);
      assertEquals(ROWS, stats.get(e).rows());
      assertEquals(e, stats.get(e).epoch());
    }
    assertNotEquals(Arrays.toString(flatten(rec.epochs.get(0))),
        Arrays.toString(flatten(rec.epochs.get(1))), "two epochs had the same order");
  }

  @Test
  void shuffleIsReproducibleForASeedAndOffWhenDisabled() {
    Recorder a = new Recorder(spec());
    Recorder b = new Recorder(spec());
    Recorder c = new Recorder(spec());
    Recorder plain = new Recorder(spec());
    new Trainer(a, new TrainerConfig(16, 2, true, 7)).train(block());
    new Trainer(b, new TrainerConfig(16, 2, true, 7)).train(block());
    new Trainer(c, new TrainerConfig(16, 2, true, 8)).train(block());
    new Trainer(plain, new TrainerConfig(16, 2, false, 7)).train(block());
    for (int e = 0; e < 2; e++) {
      assertArrayEquals(flatten(a.epochs.get(e)), flatten(b.epochs.get(e)));
      assertFalse(Arrays.equals(flatten(a.epochs.get(e)), flatten(c.epochs.get(e))));
      int[] in = flatten(plain.epochs.get(e));
      for (int i = 0; i < ROWS; i++) {
        assertEquals(i, in[i]);
      }
    }
  }

  @Test
  void laterRoundsDoNotRepeatTheFirstRoundsOrder() {
    Recorder a = new Recorder(spec());
    Trainer t = new Trainer(a, new TrainerConfig(ROWS, 1, true, 7));
    RowBlock block = block();
    t.trainValidated(block, 0);
    t.trainValidated(block, 1);
    Recorder b = new Recorder(spec());
    new Trainer(b, new TrainerConfig(ROWS, 2, true, 7)).train(block);
    assertTrue(Arrays.equals(flatten(a.epochs.get(1)), flatten(b.epochs.get(1))),
        "round 1 should use epoch 1's shuffle");
    assertFalse(Arrays.equals(flatten(a.epochs.get(0)), flatten(a.epochs.get(1))));
  }
}
