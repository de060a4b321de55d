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
  MLP("mlp"),
  /**
   * Field-weighted factorization machine (Pan et al., 2018): the fm head with one learned weight per
   * pair of latent vectors (fields and numeric features), so that redundant or noisy pairs count less.
   */
  FWFM("fwfm");

  private final String id;

  HeadType(String id) {
    this.id = id;
  }

  /**
   * Whether the head takes dot products between the fields' latent vectors (fm, fwfm): it needs one dim
   * for every field, has first-order weights and a latent vector per numeric feature.
   */
  public boolean factorized() {
    return this == FM || this == FWFM;
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
