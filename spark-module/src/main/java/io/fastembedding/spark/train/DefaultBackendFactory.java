package io.fastembedding.spark.train;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.Backends;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.spark.device.DeviceChoice;

/** The CPU backend, or the CUDA backend on the chosen ordinal. */
public final class DefaultBackendFactory implements BackendFactory {
  private static final long serialVersionUID = 1L;

  @Override
  public Backend open(ModelSpec spec, BackendOptions options, DeviceChoice choice) {
    return choice.cuda() ? Backends.cuda(spec, options, choice.ordinal())
        : Backends.cpu(spec, options);
  }
}
