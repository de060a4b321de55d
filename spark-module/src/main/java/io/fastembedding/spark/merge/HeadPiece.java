package io.fastembedding.spark.merge;

import java.io.Serializable;

/** One partition's dense head (and its optimizer state) after local training. */
public final class HeadPiece implements Serializable {
  private static final long serialVersionUID = 1L;

  public final int partition;
  public final float[] head;
  /** Null when the optimizer keeps no state. */
  public final float[] headAccum;

  public HeadPiece(int partition, float[] head, float[] headAccum) {
    this.partition = partition;
    this.head = head;
    this.headAccum = headAccum;
  }
}
