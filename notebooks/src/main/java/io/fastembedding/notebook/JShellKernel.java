package io.fastembedding.notebook;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.SourceCodeAnalysis.CompletionInfo;
import jdk.jshell.SourceCodeAnalysis.Completeness;
import jdk.jshell.SourceCodeAnalysis.Suggestion;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.BaseKernelBuilder;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.display.common.Image;
import org.dflib.jjava.jupyter.kernel.magic.MagicParser;

/**
 * A Jupyter kernel for Java: cells are JShell snippets run in this JVM, so Spark, this project and
 * whatever else is on the kernel's class path are there to use, and a cell's objects stay alive
 * between cells. The Jupyter protocol (ZeroMQ sockets, messages, display data) comes from
 * jjava-jupyter on Maven Central; this class adds the JShell evaluation.
 *
 * <p>Snippets run in the kernel's own JVM (JShell's "local" execution engine) rather than in a
 * second JVM, so a SparkSession built in one cell lives as long as the kernel, and {@code
 * Notebook.display(image)} reaches the kernel that publishes the picture.
 *
 * <p>A cell fails as a whole at its first snippet that does not compile or throws: Jupyter gets an
 * error reply, and a headless run (jupyter nbconvert --execute) stops with a non-zero exit.
 *
 * <p>Usage (what kernel.json runs): {@code java <flags> -cp <class path> JShellKernel
 * <connection file>}.
 */
public final class JShellKernel extends BaseKernel {
  private static volatile JShellKernel current;

  private final JShell shell;
  private final SourceCodeAnalysis analysis;

  private JShellKernel(Builder b) {
    super(b.name(), b.version(), new LanguageInfo("java", Runtime.version().toString(),
        "text/x-java-source", ".jshell", "java", "java", "script"), List.of(),
        b.history(), b.io(), b.comms(), b.renderer(), b.parser(), b.magics(), false, b.styler());
    this.shell = JShell.builder().executionEngine("local").build();
    // the compiler needs the class path too; the local engine's loader asks the kernel's loader
    // first, so classes are shared with the kernel (one Spark, one Notebook.display)
    shell.addToClasspath(System.getProperty("java.class.path"));
    this.analysis = shell.sourceCodeAnalysis();
    current = this;
  }

  /** The running kernel, for {@link Notebook#display}. */
  static JShellKernel current() {
    JShellKernel k = current;
    if (k == null) {
      throw new IllegalStateException("no notebook kernel runs in this JVM");
    }
    return k;
  }

  @Override
  public Object evalRaw(String code) {
    String rest = code;
    String value = null;
    while (!rest.isBlank()) {
      CompletionInfo info = analysis.analyzeCompletion(rest);
      if (info.completeness() == Completeness.EMPTY) {
        break;
      }
      if (!info.completeness().isComplete()) {
        throw new CellException("the cell ends inside an unfinished statement:\n" + rest.strip());
      }
      rest = info.remaining();
      value = null;
      for (SnippetEvent e : shell.eval(info.source())) {
        if (e.causeSnippet() != null) {
          continue; // a dependent snippet updated by this one
        }
        if (e.status() == Snippet.Status.REJECTED) {
          throw new CellException(diagnostics(e.snippet()));
        }
        if (e.exception() != null) {
          throw asThrowable(e.exception());
        }
        if (e.value() != null && (e.snippet().kind() == Snippet.Kind.EXPRESSION
            || e.snippet().subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND)) {
          value = e.value();
        }
      }
    }
    return value;
  }

  private String diagnostics(Snippet s) {
    String src = s.source();
    return shell.diagnostics(s).map(d -> describe(d, src)).collect(Collectors.joining("\n"));
  }

  private static String describe(Diag d, String src) {
    int start = (int) Math.max(0, d.getStartPosition());
    int lineStart = src.lastIndexOf('\n', Math.max(0, start - 1)) + 1;
    int lineEnd = src.indexOf('\n', start);
    String line = src.substring(lineStart, lineEnd < 0 ? src.length() : lineEnd);
    return "compile error: " + d.getMessage(Locale.ROOT) + "\n  " + line + "\n  "
        + " ".repeat(Math.max(0, start - lineStart)) + "^";
  }

  private static RuntimeException asThrowable(JShellException e) {
    if (e instanceof EvalException ee) {
      // the snippet's exception, with its class name, message, stack and causes
      CellException out = new CellException(ee.getExceptionClassName() + ": " + ee.getMessage());
      out.setStackTrace(ee.getStackTrace());
      if (ee.getCause() != null) {
        out.initCause(ee.getCause());
      }
      return out;
    }
    // an unresolved reference: a snippet that uses a name no earlier cell defined
    return new CellException(e.getMessage());
  }

  @Override
  public DisplayData inspect(String code, int at, boolean extraDetail) {
    return null;
  }

  @Override
  public ReplacementOptions complete(String code, int at) {
    int[] anchor = new int[1];
    List<String> options = new ArrayList<>();
    for (Suggestion s : analysis.completionSuggestions(code, at, anchor)) {
      options.add(s.continuation());
    }
    return options.isEmpty() ? null : new ReplacementOptions(options, anchor[0], at);
  }

  @Override
  public String isComplete(String code) {
    Completeness c = analysis.analyzeCompletion(code).completeness();
    if (c.isComplete() || c == Completeness.EMPTY) {
      return IS_COMPLETE_YES;
    }
    return c == Completeness.UNKNOWN ? IS_COMPLETE_BAD : "    ";
  }

  @Override
  public void interrupt() {
    shell.stop();
  }

  @Override
  public void onShutdown(boolean restart) {
    shell.close();
  }

  /** A cell that did not compile or threw; its message is what the notebook shows. */
  static final class CellException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CellException(String message) {
      super(message);
    }
  }

  static final class Builder extends BaseKernelBuilder<Builder, JShellKernel> {
    Builder() {
      name("fast-embedding-java");
      version("1.0");
    }

    String name() {
      return buildName();
    }

    String version() {
      return buildVersion();
    }

    org.dflib.jjava.jupyter.kernel.history.HistoryManager history() {
      return buildHistoryManager();
    }

    org.dflib.jjava.jupyter.kernel.JupyterIO io() {
      return buildJupyterIO(StandardCharsets.UTF_8);
    }

    org.dflib.jjava.jupyter.kernel.comm.CommManager comms() {
      return buildCommManager();
    }

    Renderer renderer() {
      Renderer r = buildRenderer();
      Image.registerAll(r); // java.awt images as PNG
      return r;
    }

    MagicParser parser() {
      return new MagicParser("(?<=(?:^|=))\\s*%", "%%", buildMagicTranspiler());
    }

    org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry magics() {
      return buildMagicsRegistry();
    }

    org.dflib.jjava.jupyter.kernel.util.StringStyler styler() {
      return buildErrorStyler();
    }

    @Override
    public JShellKernel build() {
      return new JShellKernel(this);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: JShellKernel <connection file>");
      System.exit(2);
    }
    KernelConnectionProperties props = KernelConnectionProperties.parse(
        Files.readString(Paths.get(args[0])));
    JupyterConnection connection = new JupyterConnection(props);
    JShellKernel kernel = new Builder().build();
    kernel.becomeHandlerForConnection(connection);
    connection.connect();
    connection.waitUntilClose();
  }
}
