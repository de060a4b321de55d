package io.fastembedding.model;

import java.util.Arrays;
import java.util.Locale;

/** Training loss on the head's output y. */
public enum LossType {
  /** log(1 + e^y) - t*y for labels t in {0, 1}; predictions are sigmoid(y). */
  LOGISTIC("logistic"),
  /** (y - t)^2 / 2 for any finite label; predictions are y. */
  SQUARED("squared");

  private final String id;

  LossType(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static LossType fromId(String s) {
    for (LossType l : values()) {
      if (l.id.equals(s == null ? null : s.toLowerCase(Locale.ROOT))) {
        return l;
      }
    }
    throw new IllegalArgumentException("unknown loss '" + s + "'; supported: " + Arrays.toString(ids()));
  }

  public static String[] ids() {
    return Arrays.stream(values()).map(LossType::id).toArray(String[]::new);
  }
}
