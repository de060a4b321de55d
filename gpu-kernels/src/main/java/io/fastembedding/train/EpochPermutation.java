package io.fastembedding.train;

/**
 * The order in which an epoch visits a block's rows: a pseudo-random permutation of {@code [0, rows)}
 * computed per position, so that the CPU (here) and the GPU ({@code epoch_gather} in
 * src/main/cuda/shuffle.cuh) produce the same order without a host-side Fisher-Yates pass or a
 * permutation array. Position {@code i} of the epoch reads row {@link #apply}(i).
 *
 * <p>The permutation is a balanced Feistel network of {@link #ROUNDS} rounds (twice that for blocks of
 * at most 1024 rows, see {@link #rounds}) over {@code 2h}-bit
 * values ({@code 4^h} the smallest power of four not below {@code rows}), each round mixing one half
 * with a murmur3 finaliser keyed by a round key, restricted to {@code [0, rows)} by cycle walking
 * (apply the network again while the value lies outside): a Feistel network is a bijection of its
 * domain whatever its round function, and cycle walking keeps a bijection of any subset. The domain
 * is at most 4 times {@code rows}, so a position takes at most a few walks on average. The round keys
 * come from the seed by SplitMix64. All arithmetic is on 32-bit unsigned values, the same on both
 * sides; the two must be changed together (ShuffleKernelTest and the GPU test check them).
 */
public final class EpochPermutation {
  /** Feistel rounds: four give a pseudo-random permutation (Luby-Rackoff) of the domain. */
  public static final int ROUNDS = 4;

  private final int rows;
  private final int halfBits;
  private final int[] keys;
  /** The key of each round: {@link #rounds} of them. */
  private final int[] roundKeys;

  private EpochPermutation(int rows, int halfBits, int[] keys) {
    this.rows = rows;
    this.halfBits = halfBits;
    this.keys = keys;
    roundKeys = new int[rounds(halfBits)];
    for (int r = 0; r < roundKeys.length; r++) {
      roundKeys[r] = keys[r & 3] + (r >>> 2) * 0x9E3779B9;
    }
  }

  /**
   * Feistel rounds over halves of {@code halfBits} bits: {@link #ROUNDS}, but twice that for blocks of
   * at most 1024 rows (halves of at most 5 bits), where four rounds are measurably biased (where row 0
   * lands, over 200 000 seeds: chi-square 412 on 4 degrees of freedom for 5 rows, 100 on 39 for 40
   * rows; with 8 rounds 4.3 and 40.6).
   */
  static int rounds(int halfBits) {
    return halfBits <= SMALL_HALF_BITS ? 2 * ROUNDS : ROUNDS;
  }

  /** Halves of at most this many bits get {@code 2 * ROUNDS} rounds. */
  static final int SMALL_HALF_BITS = 5;

  /** The permutation of {@code rows} rows for {@code seed} (one per partition and epoch). */
  public static EpochPermutation of(int rows, long seed) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    int bits = 1;
    while ((1L << (2 * bits)) < rows) {
      bits++;
    }
    int[] k = new int[ROUNDS];
    long s = seed;
    for (int r = 0; r < ROUNDS; r++) {
      s += 0x9E3779B97F4A7C15L;
      long z = s;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      k[r] = (int) (z ^ (z >>> 31));
    }
    return new EpochPermutation(rows, bits, k);
  }

  /**
   * The permutation of epoch {@code epoch} of a trainer seeded {@code trainerSeed}: the seed the
   * trainer gave its epoch's shuffle before (one stream per partition and epoch).
   */
  public static EpochPermutation forEpoch(int rows, long trainerSeed, int epoch) {
    return of(rows, trainerSeed * 0x9E3779B97F4A7C15L + epoch);
  }

  public int rows() {
    return rows;
  }

  /** Bits of each Feistel half (the domain is {@code 2^(2 * halfBits)}). */
  public int halfBits() {
    return halfBits;
  }

  /**
   * Key {@code r} of the four the kernel takes (32 bits, unsigned there); round {@code q} uses key
   * {@code q & 3} plus {@code (q >>> 2) * 0x9E3779B9}.
   */
  public int key(int r) {
    return keys[r];
  }

  /** The row that position {@code i} of the epoch reads. */
  public int apply(int i) {
    if (i < 0 || i >= rows) {
      throw new IndexOutOfBoundsException("position " + i + " of a permutation of " + rows);
    }
    return walk(i);
  }

  /** Cycle walking: the network again while the value lies outside [0, rows). */
  private int walk(int i) {
    long x = i;
    do {
      x = feistel(x);
    } while (x >= rows);
    return (int) x;
  }

  private long feistel(long x) {
    int h = halfBits;
    int mask = (int) ((1L << h) - 1);
    // halves of at most 16 bits: int arithmetic, as the kernel's unsigned 32-bit values
    int left = (int) (x >>> h);
    int right = (int) x & mask;
    for (int key : roundKeys) {
      int next = left ^ (mix(right ^ key) & mask);
      left = right;
      right = next;
    }
    return ((long) left << h) | right;
  }

  /** murmur3's 32-bit finaliser (unsigned 32-bit arithmetic; Java's int wraps the same way). */
  static int mix(int v) {
    int x = v;
    x ^= x >>> 16;
    x *= 0x85EBCA6B;
    x ^= x >>> 13;
    x *= 0xC2B2AE35;
    x ^= x >>> 16;
    return x;
  }

  /** Positions per chunk of {@link #gather}: the chunk's rows are found first, then copied. */
  private static final int GATHER_CHUNK = 4096;

  /**
   * Writes the rows of {@code src} in this order into {@code dst} (a block of the same shape): row
   * {@code apply(i)} of {@code src} to row {@code i} of {@code dst}.
   *
   * <p>Chunk by chunk, the rows of the chunk's positions are found first ({@link #walkInto}), then
   * copied: the copies' loads then have known addresses and overlap, where a copy right after each
   * walk waited for it. On the flights fit (1.08 M rows a task, a domain 3.9 times that) the shuffle
   * had been a seventh of a task's epoch; measured here (2 cores, JIT-warm, 1.08 M rows), about 190 ms
   * per epoch one position at a time, 110 ms this way.
   */
  public void gather(io.fastembedding.backend.RowBlock src, io.fastembedding.backend.RowBlock dst) {
    int[] found = new int[Math.min(rows, GATHER_CHUNK)];
    for (int base = 0; base < rows; base += GATHER_CHUNK) {
      int m = Math.min(GATHER_CHUNK, rows - base);
      walkInto(base, m, found);
      for (int k = 0; k < m; k++) {
        src.copyRow(found[k], dst, base + k);
      }
    }
  }

  /**
   * {@code out[k] = apply(base + k)} for {@code k < m}, four positions walking at once: one walk is a
   * chain of dependent multiplies (about 60 cycles a network) ended by a branch taken with
   * probability {@code rows / 4^halfBits}, so alone the CPU waits on the chain and mispredicts the
   * branch. Each of four slots holds a position; a step advances the four networks (independent
   * chains the CPU overlaps), and a slot whose value landed in {@code [0, rows)} records it and takes
   * the next position.
   */
  private void walkInto(int base, int m, int[] out) {
    if (m < 4) {
      for (int k = 0; k < m; k++) {
        out[k] = walk(base + k);
      }
      return;
    }
    // slot j walks position base + k[j] (value x[j]); k[j] = -1: the slot is done
    final int slots = 4;
    int[] k = {0, 1, 2, 3};
    long[] x = {base, base + 1L, base + 2L, base + 3L};
    int next = slots;
    int live = slots;
    while (live > 0) {
      for (int j = 0; j < slots; j++) {  // the four networks: independent chains
        x[j] = feistel(x[j]);
      }
      for (int j = 0; j < slots; j++) {
        if (k[j] >= 0 && x[j] < rows) {
          out[k[j]] = (int) x[j];
          k[j] = next < m ? next++ : -1;
          x[j] = base + (long) Math.max(k[j], 0);
          live -= k[j] >= 0 ? 0 : 1;
        }
      }
    }
  }
}
