package io.fastembedding.testutil;

/**
 * Base seeds of randomized tests: {@code -Dfastembedding.test.seed=N} if given, else fresh from the
 * clock. The seed is printed once per test class, so a failing run can be replayed exactly.
 */
public final class TestSeeds {
  private TestSeeds() {}

  public static long base(Class<?> testClass) {
    String given = System.getProperty("fastembedding.test.seed");
    long seed = given != null ? Long.parseLong(given.trim()) : System.nanoTime();
    System.out.println(testClass.getSimpleName() + ": base seed " + seed + " (replay with -Dfastembedding.test.seed="
        + seed + ")");
    return seed;
  }
}
