package io.fastembedding.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.testutil.TestSeeds;
import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The epoch permutation the CPU and the GPU both compute per position: a bijection of [0, rows) for
 * any size, reproducible for a seed, different across seeds, and as uniform as a shuffle should be
 * (chi-square tests of where a row lands and of the order of two rows); and the trainer gives a backend
 * that applies it on its device the same rows, in the same batches, as its own host gather.
 */
class EpochPermutationTest {
  private static final long SEED = TestSeeds.base(EpochPermutationTest.class);

  static int[] all(EpochPermutation p) {
    int[] out = new int[p.rows()];
    for (int i = 0; i < out.length; i++) {
      out[i] = p.apply(i);
    }
    return out;
  }

  @Test
  void isABijectionOfEverySize() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    // edge sizes (1, powers of four and their neighbours: domain equal to rows or 4x it) and random ones
    int[] sizes = {1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 4096, 4097, 65535, 65536,
        65537, 262145, 1_000_003, 1 << 22, rnd.nextInt(1, 3_000_000), rnd.nextInt(1, 1000)};
    for (int rows : sizes) {
      long seed = rnd.nextLong();
      EpochPermutation p = EpochPermutation.of(rows, seed);
      BitSet seen = new BitSet(rows);
      for (int i = 0; i < rows; i++) {
        int r = p.apply(i);
        assertTrue(r >= 0 && r < rows, "rows " + rows + ", seed " + seed + ": position " + i + " -> " + r);
        assertFalse(seen.get(r), "rows " + rows + ", seed " + seed + ": row " + r + " visited twice");
        seen.set(r);
      }
      assertEquals(rows, seen.cardinality(), "rows " + rows + ", seed " + seed);
      assertTrue(4L * (1L << (2 * p.halfBits())) >= rows && (1L << (2 * p.halfBits())) < 4L * rows + 4,
          "domain of " + rows + " rows: 2^" + 2 * p.halfBits());
    }
    assertThrows(IndexOutOfBoundsException.class, () -> EpochPermutation.of(5, 1).apply(5));
    assertThrows(IllegalArgumentException.class, () -> EpochPermutation.of(-1, 1));
    assertEquals(0, EpochPermutation.of(0, 1).rows());
  }

  @Test
  void isReproducibleAndDependsOnTheSeedAndEpoch() {
    int rows = 100_003;
    long seed = SEED;
    int[] a = all(EpochPermutation.forEpoch(rows, seed, 3));
    assertArrayEquals(a, all(EpochPermutation.forEpoch(rows, seed, 3)), "seed " + seed);
    for (int[] other : new int[][] {all(EpochPermutation.forEpoch(rows, seed, 4)),
        all(EpochPermutation.forEpoch(rows, seed + 1, 3))}) {
      int same = 0;
      for (int i = 0; i < rows; i++) {
        same += a[i] == other[i] ? 1 : 0;
      }
      // two independent permutations agree at about one position (Poisson(1)); 20 has p < 1e-18
      assertTrue(same < 20, "seed " + seed + ": " + same + " positions agree between two seeds or epochs");
    }
  }

  /**
   * Where row 0 lands and whether row 0 comes before row 1, over many seeds: chi-square against the
   * uniform. The thresholds are the 1e-6 upper quantiles (df rows - 1 by the Wilson-Hilferty
   * approximation; df 1: 23.9), so a correct shuffle fails about once in a million runs, while a
   * biased one fails at once: 4 Feistel rounds on blocks of 5 or 40 rows gave 412 (df 4) and 100
   * (df 39) over 200 000 seeds, which is why those blocks get 8 rounds.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0} rows")
  @org.junit.jupiter.params.provider.ValueSource(ints = {5, 13, 40, 1500})
  void isUniformOverSeeds(int rows) {
    int trials = 2000 * rows < 26_000 ? 26_000 : Math.min(2000 * rows, 300_000);
    long[] where = new long[rows];
    long before = 0;
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (int t = 0; t < trials; t++) {
      int[] p = all(EpochPermutation.of(rows, rnd.nextLong()));
      for (int i = 0; i < rows; i++) {
        if (p[i] == 0) {
          where[i]++;
        }
      }
      int at0 = -1;
      int at1 = -1;
      for (int i = 0; i < rows; i++) {
        at0 = p[i] == 0 ? i : at0;
        at1 = p[i] == 1 ? i : at1;
      }
      before += at0 < at1 ? 1 : 0;
    }
    double expected = (double) trials / rows;
    double chi = 0;
    for (long w : where) {
      chi += (w - expected) * (w - expected) / expected;
    }
    // the 1e-6 upper quantile of chi-square with rows - 1 degrees of freedom (Wilson-Hilferty)
    double df = rows - 1;
    double z = 4.753;
    double limit = df * Math.pow(1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df)), 3);
    assertTrue(chi < limit, "seed " + SEED + ", " + rows + " rows: chi-square of row 0's position "
        + chi + " (df " + (rows - 1) + ", limit " + limit + ")");
    double half = trials / 2.0;
    double chi1 = 2 * (before - half) * (before - half) / half;
    assertTrue(chi1 < 23.9, "seed " + SEED + ": chi-square of row 0 before row 1: " + chi1);
  }

  /**
   * gather, which walks four positions at once chunk by chunk, writes row apply(i) of the source to row
   * i, field by field, for sizes below one slot group, at the chunk's edges and random ones.
   */
  @Test
  void gatherCopiesRowApplyOfEveryPosition() {
    SplittableRandom rnd = new SplittableRandom(SEED + 1);
    int[] sizes = {0, 1, 2, 3, 4, 5, 7, 8, 9, 4095, 4096, 4097, 8191, 8195, 65537, rnd.nextInt(1, 300_000)};
    for (int rows : sizes) {
      long seed = rnd.nextLong();
      EpochPermutation p = EpochPermutation.of(rows, seed);
      boolean weights = rows % 2 == 1;
      RowBlock src = RowBlock.allocate(3, 2, rows, weights);
      for (int r = 0; r < rows; r++) {  // every value names its row, so any misplaced row shows
        for (int f = 0; f < 3; f++) {
          src.indices[r * 3 + f] = 3 * r + f;
        }
        src.numeric[r * 2] = r;
        src.numeric[r * 2 + 1] = -r;
        src.labels[r] = r + 0.5f;
        if (weights) {
          src.weights[r] = r + 0.25f;
        }
      }
      RowBlock dst = RowBlock.allocate(3, 2, rows, weights);
      p.gather(src, dst);
      for (int i = 0; i < rows; i++) {
        int r = p.apply(i);
        String where = "rows " + rows + ", seed " + seed + ", position " + i;
        assertArrayEquals(new int[] {3 * r, 3 * r + 1, 3 * r + 2},
            java.util.Arrays.copyOfRange(dst.indices, 3 * i, 3 * i + 3), where);
        assertEquals(r, dst.numeric[2 * i], where);
        assertEquals(-r, dst.numeric[2 * i + 1], where);
        assertEquals(r + 0.5f, dst.labels[i], where);
        if (weights) {
          assertEquals(r + 0.25f, dst.weights[i], where);
        }
      }
    }
  }

  /** A backend that applies the permutation itself (as the GPU does on its device) and records. */
  static final class Permuting implements Backend {
    final TrainerTest.Recorder rec;
    int permutedEpochs;

    Permuting(ModelSpec spec) {
      rec = new TrainerTest.Recorder(spec);
    }

    @Override
    public boolean trainEpochPermuted(RowBlock block, EpochPermutation order, int batchSize) {
      RowBlock g = RowBlock.allocate(block.numFields, block.numNumeric, block.rows, block.weights != null);
      for (int i = 0; i < block.rows; i++) {
        block.copyRow(order.apply(i), g, i);
      }
      rec.trainEpoch(g, batchSize);
      permutedEpochs++;
      return true;
    }

    @Override
    public ModelSpec spec() {
      return rec.spec();
    }

    @Override
    public String device() {
      return "permuting";
    }

    @Override
    public void trainStep(RowBlock block, int start, int count) {
      rec.trainStep(block, start, count);
    }

    @Override
    public void trainEpoch(RowBlock block, int batchSize) {
      throw new AssertionError("the trainer should use trainEpochPermuted");
    }

    @Override
    public LossSum drainLoss() {
      return rec.drainLoss();
    }

    @Override
    public void predict(RowBlock block, int start, int count, float[] out, int outOffset) {}

    @Override
    public void embed(RowBlock block, int start, int count, float[] out, int outOffset) {}

    @Override
    public ModelState exportState() {
      return rec.exportState();
    }

    @Override
    public void importState(ModelState state) {}

    @Override
    public TouchedRows exportTouched(boolean reset) {
      return null;
    }

    @Override
    public void close() {}
  }

  @Test
  void trainerGivesADevicePermutationTheSameEpochsAsItsHostShuffle() {
    TrainerTest.Recorder host = new TrainerTest.Recorder(TrainerTest.spec());
    Permuting device = new Permuting(TrainerTest.spec());
    TrainerConfig config = new TrainerConfig(10, 3, true, SEED);
    new Trainer(host, config).trainValidated(TrainerTest.block(), 2);
    new Trainer(device, config).trainValidated(TrainerTest.block(), 2);
    assertEquals(3, device.permutedEpochs);
    assertEquals(3, host.epochs.size());
    for (int e = 0; e < 3; e++) {
      assertEquals(host.epochs.get(e).size(), device.rec.epochs.get(e).size(), "batches of epoch " + e);
      for (int b = 0; b < host.epochs.get(e).size(); b++) {
        assertArrayEquals(host.epochs.get(e).get(b), device.rec.epochs.get(e).get(b),
            "seed " + SEED + ": epoch " + e + ", batch " + b);
      }
    }
  }
}
