package io.fastembedding.backend;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.model.ModelSpec;
import org.junit.jupiter.api.Test;

/** The factory: a CPU backend always; without a usable GPU, a clear "no" instead of a crash. */
class BackendsTest {
  static final ModelSpec SPEC = ModelSpec.builder(new int[] {5}, new int[] {2}).build();

  @Test
  void cpuBackendDescribesItself() {
    try (Backend b = Backends.cpu(SPEC, new BackendOptions(true, 2))) {
      assertTrue(b.device().contains("cpu"), b.device());
      assertTrue(b.spec().equals(SPEC));
    }
  }

  @Test
  void withoutCudaTheCountIsZeroAndOpeningSaysWhy() {
    int n = Backends.cudaDeviceCount();
    assertTrue(n >= 0);
    if (n == 0) {
      String why = Backends.cudaUnavailableReason();
      assertNotNull(why);
      assertFalse(why.isBlank());
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> Backends.cuda(SPEC, BackendOptions.defaults(), 0));
      assertNotNull(e.getMessage());
    }
  }

  @Test
  void aClosedBackendRefusesWork() {
    Backend b = Backends.cpu(SPEC, new BackendOptions(false, 2));
    b.close();
    b.close(); // closing twice is harmless
    assertThrows(IllegalStateException.class, b::exportState);
  }

  @Test
  void theCudaBackendIsFoundThroughServiceLoader() {
    BackendProvider p = Backends.provider(Backends.CUDA);
    assertNotNull(p, "no CUDA provider listed in META-INF/services");
    assertTrue(p.getClass().getName().endsWith("CudaBackendProvider"), p.getClass().getName());
    assertTrue(Backends.provider("no-such-device") == null);
    assertTrue(p.deviceCount() == Backends.cudaDeviceCount());
  }
}
