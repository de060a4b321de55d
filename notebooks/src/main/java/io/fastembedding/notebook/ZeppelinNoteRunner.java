package io.fastembedding.notebook;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SQLContext;
import org.apache.spark.sql.SparkSession;
import scala.jdk.javaapi.CollectionConverters;
import scala.tools.nsc.Settings;
import scala.tools.nsc.interpreter.IMain;
import scala.tools.nsc.interpreter.Results;
import scala.tools.nsc.interpreter.shell.ReplReporterImpl;

/**
 * Runs a Zeppelin note (.zpln) headlessly: its {@code %spark} paragraphs, in order, in one Scala
 * 2.13 REPL (scala-compiler's IMain, the interpreter Zeppelin's Spark interpreter drives), with
 * {@code spark}, {@code sc} and {@code sqlContext} bound and the same imports Zeppelin makes.
 * {@code %md} paragraphs are skipped; any other interpreter is an error, since this runner cannot
 * execute it. Exit status 1 at the first paragraph that does not compile or throws.
 *
 * <p>Zeppelin itself and spark-repl 4.x are not on Maven Central; this is how CI checks the note.
 *
 * <p>Output is printed as Zeppelin would show it, except that an {@code %html} image (a chart as an
 * inline PNG) is written to the output folder as paragraph-N-K.png and printed as its file name.
 *
 * <p>Usage: {@code ZeppelinNoteRunner <note.zpln> [master [output folder]]} (defaults: local[2],
 * target/executed).
 */
public final class ZeppelinNoteRunner {
  private ZeppelinNoteRunner() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: ZeppelinNoteRunner <note.zpln> [master]");
      System.exit(2);
    }
    Path note = Paths.get(args[0]);
    Path outDir = Paths.get(args.length > 2 ? args[2] : "target/executed");
    Files.createDirectories(outDir);
    // everything the paragraphs print (Scala's Console.out is System.out when the REPL starts) goes
    // through a buffer, shown after each paragraph with its pictures saved
    PrintStream console = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    JsonObject json = JsonParser.parseString(Files.readString(note)).getAsJsonObject();
    String defaultInterpreter = json.has("defaultInterpreterGroup")
        ? json.get("defaultInterpreterGroup").getAsString() : "spark";

    SparkSession spark = SparkSession.builder().master(args.length > 1 ? args[1] : "local[2]")
        .appName("Zeppelin note " + note.getFileName())
        .config("spark.ui.enabled", "false")
        .getOrCreate();
    int failed = 0;
    int pictures = 0;
    try {
      IMain repl = newRepl();
      bindAsZeppelin(repl, spark);
      int i = 0;
      for (JsonElement p : json.getAsJsonArray("paragraphs")) {
        i++;
        String text = p.getAsJsonObject().has("text")
            ? p.getAsJsonObject().get("text").getAsString() : "";
        String interpreter = interpreterOf(text, defaultInterpreter);
        String code = text.strip().startsWith("%") ? stripDirective(text) : text;
        String title = p.getAsJsonObject().has("title")
            ? p.getAsJsonObject().get("title").getAsString() : "";
        if (code.isBlank() || interpreter.equals("md") || interpreter.equals("markdown")) {
          continue;
        }
        if (!interpreter.equals("spark") && !interpreter.equals("spark.spark")) {
          System.err.println("paragraph " + i + ": %" + interpreter
              + " cannot run here; this runner executes %spark (Scala) paragraphs only");
          failed = i;
          break;
        }
        console.println("== paragraph " + i + (title.isEmpty() ? "" : " (" + title + ")")
            + " ==");
        Results.Result r = repl.interpret(code);
        System.out.flush();
        pictures += show(captured.toString(StandardCharsets.UTF_8), i, outDir, console);
        captured.reset();
        if (r != Results.Success$.MODULE$) {
          System.err.println("paragraph " + i + " failed ("
              + (r == Results.Incomplete$.MODULE$ ? "incomplete input" : "error") + ")");
          failed = i;
          break;
        }
      }
      repl.close();
    } finally {
      spark.stop();
    }
    System.setOut(console);
    if (failed > 0) {
      System.exit(1);
    }
    System.out.println("all %spark paragraphs of " + note + " ran; " + pictures
        + " PNG pictures in " + outDir);
  }

  private static final Pattern INLINE_PNG =
      Pattern.compile("%html\\s*<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"\\s*/?>");

  /** Prints a paragraph's output; inline PNGs go to files. Returns how many there were. */
  private static int show(String output, int paragraph, Path outDir, PrintStream console)
      throws IOException {
    Matcher m = INLINE_PNG.matcher(output);
    StringBuilder text = new StringBuilder();
    int k = 0;
    while (m.find()) {
      k++;
      Path png = outDir.resolve("paragraph-" + paragraph + "-" + k + ".png");
      Files.write(png, Base64.getDecoder().decode(m.group(1)));
      m.appendReplacement(text, Matcher.quoteReplacement("%html <img> (" + png + ")"));
    }
    m.appendTail(text);
    console.print(text);
    console.flush();
    return k;
  }

  private static IMain newRepl() {
    Settings settings = new Settings();
    // Zeppelin's Spark interpreter runs its REPL class-based (objects that Spark closures
    // capture must be serializable classes) on the JVM's class path
    settings.processArgumentString("-usejavacp -Yrepl-class-based");
    IMain repl = new IMain(settings, new ReplReporterImpl(settings,
        new PrintWriter(System.out, true)));
    if (!repl.initializeCompiler()) {
      throw new IllegalStateException("the Scala compiler did not start");
    }
    return repl;
  }

  /** The names and imports Zeppelin's Spark interpreter gives every %spark paragraph. */
  private static void bindAsZeppelin(IMain repl, SparkSession spark) {
    scala.collection.immutable.List<String> transientVal =
        CollectionConverters.asScala(List.of("@transient")).toList();
    SparkContext sc = spark.sparkContext();
    SQLContext sqlContext = spark.sqlContext();
    check(repl.bind("spark", SparkSession.class.getName(), spark, transientVal), "bind spark");
    check(repl.bind("sc", SparkContext.class.getName(), sc, transientVal), "bind sc");
    check(repl.bind("sqlContext", SQLContext.class.getName(), sqlContext, transientVal),
        "bind sqlContext");
    for (String line : List.of("import org.apache.spark.SparkContext._",
        "import spark.implicits._", "import spark.sql", "import org.apache.spark.sql.functions._")) {
      check(repl.interpret(line), line);
    }
  }

  private static void check(Results.Result r, String what) {
    if (r != Results.Success$.MODULE$) {
      throw new IllegalStateException("the REPL could not " + what);
    }
  }

  static String interpreterOf(String text, String defaultInterpreter) {
    String t = text.strip();
    if (!t.startsWith("%")) {
      return defaultInterpreter;
    }
    int end = 1;
    while (end < t.length() && !Character.isWhitespace(t.charAt(end)) && t.charAt(end) != '(') {
      end++;
    }
    return t.substring(1, end);
  }

  private static String stripDirective(String text) {
    String t = text.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? "" : t.substring(nl + 1);
  }
}
