package io.fastembedding.optim;

import java.util.Arrays;
import java.util.Locale;

/** How a parameter moves given its batch gradient; see docs/model.md for the exact updates. */
public enum OptimizerType {
  SGD("sgd", 0),
  /** One accumulator of squared gradients per element. */
  ADAGRAD("adagrad", 1),
  /**
   * One accumulator per embedding row (the mean of its squared gradient), as FBGEMM and TorchRec use for
   * large tables: a quarter to a hundredth of Adagrad's state. Dense head parameters use per-element
   * Adagrad.
   */
  ROWWISE_ADAGRAD("rowwise_adagrad", 2),
  /**
   * Row-wise Adam (FBGEMM's ROWWISE_ADAM): per embedding row a momentum vector and one second moment
   * (the mean of its squared gradient), bias-corrected with the row's own step count; dim + 2 floats of
   * state per row. Dense head parameters and first-order weights use per-element Adagrad.
   */
  ROWWISE_ADAM("rowwise_adam", 3);

  private final String id;
  private final int kernelCode;

  OptimizerType(String id, int kernelCode) {
    this.id = id;
    this.kernelCode = kernelCode;
  }

  public String id() {
    return id;
  }

  /**
   * The rule's number as the CUDA kernels take it (their {@code opt}): written here once;
   * {@code KernelConstants} generates {@code OPT_*} of kernel_constants.cuh from it. The kernels pick
   * the rule by this number, so a number keeps its meaning once used.
   */
  public int kernelCode() {
    return kernelCode;
  }

  public static OptimizerType fromId(String s) {
    for (OptimizerType o : values()) {
      if (o.id.equals(s == null ? null : s.toLowerCase(Locale.ROOT))) {
        return o;
      }
    }
    throw new IllegalArgumentException(
        "unknown optimizer '" + s + "'; supported: " + Arrays.toString(ids()));
  }

  public static String[] ids() {
    return Arrays.stream(values()).map(OptimizerType::id).toArray(String[]::new);
  }
}
