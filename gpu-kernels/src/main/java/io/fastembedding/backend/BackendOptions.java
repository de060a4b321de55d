package io.fastembedding.backend;

import java.io.Serializable;

/**
 * How a backend runs, as opposed to what it computes.
 *
 * @param deterministic bit-identical results for the same seed and data, whatever the thread count or
 *     scheduling; otherwise updates race (Hogwild on the CPU, atomics on the GPU), which is faster
 * @param threads CPU worker threads (the CPU backend; 0 means all available processors)
 */
public record BackendOptions(boolean deterministic, int threads) implements Serializable {
  public BackendOptions {
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be >= 0 (0 = all processors), got " + threads);
    }
  }

  public static BackendOptions defaults() {
    return new BackendOptions(false, 0);
  }

  /** The worker count to use: {@code threads}, or every available processor when it is 0. */
  public int effectiveThreads() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }
}
