package io.fastembedding.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.backend.Backends;
import org.junit.jupiter.api.Test;

/** Runs everywhere: probing for CUDA must answer, never throw, with or without a GPU and driver. */
class CudaDevicesTest {
  @Test
  void countAnswersAndExplainsZero() {
    int n = CudaDevices.count();
    assertTrue(n >= 0);
    String reason = CudaDevices.unavailableReason();
    if (n == 0) {
      assertTrue(reason != null && !reason.isBlank(), "a zero count must say why");
      System.out.println("CUDA unavailable here: " + reason);
    } else {
      assertNull(reason);
    }
    assertEquals(n, CudaDevices.count(), "the probe is stable");
    assertEquals(n, Backends.cudaDeviceCount(), "the factory sees the same devices by reflection");
  }

  @Test
  void aMissingDriverIsSaidInOneShortLineWithJCudasTextKeptForDebug() {
    assertEquals(CudaDevices.noDriver(), Backends.cudaDriverMissing());
    if (CudaDevices.count() > 0) {
      assertFalse(CudaDevices.noDriver());
      assertNull(CudaDevices.unavailableDetail());
      return;
    }
    String reason = CudaDevices.unavailableReason();
    String detail = CudaDevices.unavailableDetail();
    assertTrue(detail.startsWith(reason) || detail.contains("JCuda"), detail);
    if (CudaDevices.noDriver()) {
      // a CPU-only machine (CI): users read the short reason; JCuda's loader text is for DEBUG
      assertEquals("no NVIDIA driver", reason);
      assertFalse(reason.contains("JCuda") || reason.contains("UnsatisfiedLinkError"), reason);
      assertTrue(detail.contains("UnsatisfiedLinkError") || detail.contains("JCuda"), detail);
      assertEquals(detail, Backends.cudaUnavailableDetail());
    }
  }

  @Test
  void openingWithoutADeviceIsAClearError() {
    if (CudaDevices.count() > 0) {
      return;
    }
    var spec = io.fastembedding.model.ModelSpec.builder(new int[] {4}, new int[] {2}).build();
    RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
        () -> CudaBackend.open(spec, io.fastembedding.backend.BackendOptions.defaults(), 0));
    assertFalse(e.getMessage().isBlank());
    assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
  }
}
