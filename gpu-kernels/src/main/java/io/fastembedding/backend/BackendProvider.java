package io.fastembedding.backend;

import io.fastembedding.model.ModelSpec;

/**
 * A device backend that {@link Backends} finds through {@link java.util.ServiceLoader} (as xgboost4j
 * finds its GPU part), so the core names no implementation class and loads none of its native
 * libraries until it is asked for that device. Implementations must be cheap to construct: touching
 * native code belongs in the methods, which report an unusable device instead of throwing.
 */
public interface BackendProvider {
  /** The device kind, e.g. "cuda". */
  String name();

  /** Devices of this kind usable by this JVM; 0 when the driver, the natives or the device are missing. */
  int deviceCount();

  /** Why {@link #deviceCount()} is 0, or null when devices are usable. */
  String unavailableReason();

  /** A backend on device {@code ordinal}. */
  Backend open(ModelSpec spec, BackendOptions options, int ordinal);
}
