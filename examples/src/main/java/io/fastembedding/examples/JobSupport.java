package io.fastembedding.examples;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** What the example jobs share: --key value arguments and a session that also runs embedded. */
final class JobSupport {
  /** The stage's loggers: the per-round progress lines are INFO there. */
  static final String STAGE_LOGGER = "io.fastembedding";

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
    // Spark's own lines at WARN; the stage's one line per round stays at INFO. setLogLevel sets
    // only the root logger, so under spark-submit's default log4j2 configuration (which has no
    // io.fastembedding logger) the round lines would go with it.
    spark.sparkContext().setLogLevel("WARN");
    if (!LogManager.getLogger(STAGE_LOGGER).isInfoEnabled()) {
      Configurator.setLevel(STAGE_LOGGER, Level.INFO);
    }
    return spark;
  }

  static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
