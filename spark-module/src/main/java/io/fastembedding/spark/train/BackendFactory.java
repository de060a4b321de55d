package io.fastembedding.spark.train;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.spark.device.DeviceChoice;
import io.fastembedding.model.ModelSpec;
import java.io.Serializable;

/** Opens the backend a training task uses; the stage's default is {@link DefaultBackendFactory}. */
public interface BackendFactory extends Serializable {
  /**
   * Opens a backend on {@code choice}'s device.
   *
   * @throws RuntimeException when the device cannot be used
   */
  Backend open(ModelSpec spec, BackendOptions options, DeviceChoice choice);
}
