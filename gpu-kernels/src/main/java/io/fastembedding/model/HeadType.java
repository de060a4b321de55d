package io.fastembedding.model;

import java.util.Arrays;
import java.util.Locale;

/** The model on top of the embeddings. The math of each is defined once, in docs/model.md. */
public enum HeadType {
  /** Factorization machine over the field embeddings; needs equal dims across fields. */
  FM("fm"),
  /** One linear layer on the concatenated embeddings (and numeric features). */
  LINEAR("linear"),
  /** ReLU hidden layers on the concatenated embeddings (and numeric features), then one output. */
  MLP("mlp");

  private final String id;

  HeadType(String id) {
    this.id = id;
  }

  /** The lower-case name used in params and persisted models. */
  public String id() {
    return id;
  }

  public static HeadType fromId(String s) {
    for (HeadType h : values()) {
      if (h.id.equals(s == null ? null : s.toLowerCase(Locale.ROOT))) {
        return h;
      }
    }
    throw new IllegalArgumentException("unknown head '" + s + "'; supported: " + Arrays.toString(ids()));
  }

  public static String[] ids() {
    return Arrays.stream(values()).map(HeadType::id).toArray(String[]::new);
  }
}
