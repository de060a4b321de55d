package io.fastembedding.spark.data;

import java.io.Serializable;

/**
 * Which columns the block pass reads, in the order the driver selects them: the n index columns
 * (as doubles), the label, then, where present, the weight, the numeric feature vector and the
 * validation indicator; and how rows are split between training and validation.
 *
 * @param validCounts per field the number of valid categories, or -1 where the driver infers it
 *     from the largest index afterwards
 * @param hasWeight whether a weight column follows the label
 * @param numNumeric size of the numeric feature vector (0: no numeric column)
 * @param validation how validation rows are chosen
 * @param validationFraction with {@link Validation#FRACTION}, the chance of a row being held out
 * @param seed seeds the random validation split
 */
public record BlockColumns(int[] validCounts, boolean hasWeight, int numNumeric,
    Validation validation, double validationFraction, long seed) implements Serializable {

  /** How the rows are split between training and validation. */
  public enum Validation {
    /** Every row trains. */
    NONE,
    /** A boolean column: true marks a validation row. */
    INDICATOR,
    /** A seeded random fraction of the rows, decided row by row. */
    FRACTION
  }

  /** Training only, no numeric features: the columns of a plain fit. */
  public static BlockColumns plain(int[] validCounts, boolean hasWeight) {
    return new BlockColumns(validCounts, hasWeight, 0, Validation.NONE, 0, 0);
  }

  public int numFields() {
    return validCounts.length;
  }

  public int labelPos() {
    return validCounts.length;
  }

  public int weightPos() {
    return hasWeight ? labelPos() + 1 : -1;
  }

  public int numericPos() {
    return numNumeric > 0 ? labelPos() + 1 + (hasWeight ? 1 : 0) : -1;
  }

  public int indicatorPos() {
    return validation == Validation.INDICATOR
        ? labelPos() + 1 + (hasWeight ? 1 : 0) + (numNumeric > 0 ? 1 : 0) : -1;
  }
}
