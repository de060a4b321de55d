package io.fastembedding.examples;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** What the example jobs share: --key value arguments and a session that also runs embedded. */
final class JobSupport {
  private JobSupport() {}

  /** Parses {@code --key value} pairs, failing on anything else or an unknown key. */
  static Map<String, String> args(String[] argv, Map<String, String> defaults, String usage) {
    Map<String, String> out = new HashMap<>(defaults);
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (a.equals("--help") || a.equals("-h")) {
        System.out.println(usage);
        System.exit(0);
      }
      if (!a.startsWith("--") || i + 1 >= argv.length) {
        throw new IllegalArgumentException("expected --key value, got '" + a + "'\n" + usage);
      }
      String key = a.substring(2);
      if (!defaults.containsKey(key)) {
        throw new IllegalArgumentException("unknown option --" + key + "; options: "
            + Arrays.toString(defaults.keySet().stream().sorted().toArray()) + "\n" + usage);
      }
      out.put(key, argv[++i]);
    }
    return out;
  }

  /**
   * The session: spark-submit's master when there is one, else an embedded local Spark with
   * {@code localMaster}.
   */
  static SparkSession session(String appName, String localMaster) {
    SparkSession.Builder b = SparkSession.builder().appName(appName);
    if (!new SparkConf().contains("spark.master")) {
      b.master(localMaster).config("spark.ui.enabled", "false")
          .config("spark.driver.host", "127.0.0.1");
    }
    SparkSession spark = b.getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    return spark;
  }

  static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
