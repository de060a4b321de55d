package io.fastembedding.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeEach;

/** A test class of the CUDA backend: each of its tests is skipped, with the reason, where no GPU is usable. */
interface NeedsGpu {
  @BeforeEach
  default void needGpu() {
    assumeTrue(CudaDevices.count() > 0,
        () -> "GPU tests skipped: no CUDA device (" + CudaDevices.unavailableReason() + ")");
  }
}
