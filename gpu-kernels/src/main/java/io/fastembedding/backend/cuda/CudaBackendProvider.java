package io.fastembedding.backend.cuda;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.BackendProvider;
import io.fastembedding.model.ModelSpec;

/**
 * The CUDA backend as a {@link BackendProvider} (listed in META-INF/services). Constructing it loads no
 * JCuda class; {@link CudaDevices} answers 0 devices, with the reason, where the driver or the natives
 * are missing.
 */
public final class CudaBackendProvider implements BackendProvider {
  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public int deviceCount() {
    return CudaDevices.count();
  }

  @Override
  public String unavailableReason() {
    return CudaDevices.unavailableReason();
  }

  @Override
  public Backend open(ModelSpec spec, BackendOptions options, int ordinal) {
    return CudaBackend.open(spec, options, ordinal);
  }
}
