package io.fastembedding.spark;

import static io.fastembedding.spark.FitFailures.assertMentions;
import static io.fastembedding.spark.FitFailures.messages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A saved model whose files were damaged, edited or partly deleted fails to load with an error that
 * names the path and what is wrong, and never instantiates a class its metadata names before
 * checking it.
 */
class ModelLoadErrorsTest {
  @TempDir
  static Path tmp;
  private static Path saved;

  @BeforeAll
  static void saveOne() throws IOException {
    var spark = SparkTestSession.get();
    MultiEmbeddingModel m = new MultiEmbedding().setInputCols("a", "b", "c").setEmbeddingDim(2)
        .setMaxIter(1).fit(SparkTestSession.synthetic(spark, 300, 5));
    saved = tmp.resolve("model");
    m.save(saved.toString());
  }

  /** A fresh copy of the saved model to damage. */
  private static Path copy(String name) throws IOException {
    Path to = tmp.resolve(name);
    try (Stream<Path> all = Files.walk(saved)) {
      for (Path p : all.toList()) {
        Path q = to.resolve(saved.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(q);
        } else {
          Files.copy(p, q);
        }
      }
    }
    return to;
  }

  private static Path metadataFile(Path model) throws IOException {
    try (Stream<Path> s = Files.list(model.resolve("metadata"))) {
      return s.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst()
          .orElseThrow();
    }
  }

  private static void editMetadata(Path model, String from, String to) throws IOException {
    Path f = metadataFile(model);
    String json = Files.readString(f);
    assertTrue(json.contains(from), json);
    writeByHand(f, json.replace(from, to));
  }

  /** As an editor would: the new text, and no Hadoop checksum file left to contradict it. */
  private static void writeByHand(Path f, String text) throws IOException {
    Files.writeString(f, text);
    Files.deleteIfExists(f.resolveSibling("." + f.getFileName() + ".crc"));
  }

  private static String loadError(Path model) {
    return messages(assertThrows(Exception.class, () -> MultiEmbeddingModel.load(model.toString())));
  }

  private static void deleteTree(Path p) {
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(q -> {
        try {
          Files.delete(q);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void theUndamagedCopyLoads() throws IOException {
    Path p = copy("intact");
    assertEquals(3, MultiEmbeddingModel.load(p.toString()).tableSizes().length);
  }

  @Test
  void truncatedMetadata() throws IOException {
    Path p = copy("truncated");
    Path f = metadataFile(p);
    String json = Files.readString(f);
    writeByHand(f, json.substring(0, json.length() / 2));
    assertMentions(loadError(p), "the MultiEmbeddingModel at " + p + " is corrupt or incomplete",
        "its metadata (" + p + "/metadata) cannot be read");
  }

  @Test
  void tablesPartFileDeleted() throws IOException {
    Path p = copy("no-tables");
    try (Stream<Path> s = Files.list(p.resolve("data/tables"))) {
      for (Path q : s.toList()) {
        if (q.getFileName().toString().endsWith(".parquet")) {
          Files.delete(q);
        }
      }
    }
    assertMentions(loadError(p), "the MultiEmbeddingModel at " + p + " is corrupt or incomplete",
        p + "/data/tables holds no Parquet part file");
  }

  @Test
  void checksumMismatch() throws IOException {
    // an edit that leaves Hadoop's checksum file behind: Spark's read fails, the path is named
    Path p = copy("checksum");
    Path f = metadataFile(p);
    Files.writeString(f, Files.readString(f).replace("\"a\"", "\"q\""));
    assertMentions(loadError(p), "the MultiEmbeddingModel at " + p + " is corrupt or incomplete",
        "its metadata (" + p + "/metadata) cannot be read", "Checksum error");
  }

  @Test
  void specDirectoryMissing() throws IOException {
    Path p = copy("no-spec");
    deleteTree(p.resolve("data/spec"));
    assertMentions(loadError(p), "is corrupt or incomplete", p + "/data/spec is missing");
  }

  /** Counts its instances: a load must not create one from edited metadata. */
  public static final class Sentinel {
    static final AtomicInteger CREATED = new AtomicInteger();

    public Sentinel(String uid) {
      CREATED.incrementAndGet();
    }
  }

  @Test
  void metadataClassIsCheckedBeforeAnythingIsInstantiated() throws IOException {
    for (String cls : List.of("java.lang.StringBuilder", Sentinel.class.getName())) {
      Path p = copy("class-" + cls.hashCode());
      editMetadata(p, "\"class\":\"" + MultiEmbeddingModel.class.getName() + "\"",
          "\"class\":\"" + cls + "\"");
      int before = Sentinel.CREATED.get();
      assertMentions(loadError(p), "the model at " + p + " is a " + cls + ", not a "
          + MultiEmbeddingModel.class.getName());
      assertEquals(before, Sentinel.CREATED.get(), "the named class was instantiated");
    }
  }

  @Test
  void inputColsCheckedAgainstTheTrainedColumns() throws IOException {
    Path three = copy("cols-count");
    editMetadata(three, "\"inputCols\":[\"a\",\"b\",\"c\"]", "\"inputCols\":[\"a\",\"b\"]");
    assertMentions(loadError(three), "inputCols [a, b] (the params in " + three
        + "/metadata) has 2 entries, but the model has 3 tables, trained on [a, b, c]");
    Path swapped = copy("cols-swapped");
    editMetadata(swapped, "\"inputCols\":[\"a\",\"b\",\"c\"]", "\"inputCols\":[\"b\",\"a\",\"c\"]");
    assertMentions(loadError(swapped), "inputCols [b, a, c] (the params in " + swapped
        + "/metadata) are the model's columns in another order",
        "trained on [a, b, c], in that order");
    // the same check when inputCols are set on a model
    MultiEmbeddingModel m = MultiEmbeddingModel.load(saved.toString());
    var data = SparkTestSession.synthetic(SparkTestSession.get(), 10, 1);
    assertMentions(messages(assertThrows(Exception.class,
        () -> m.setInputCols("a", "b").transform(data))), "inputCols [a, b] (set on the model) has "
        + "2 entries, but the model has 3 tables, trained on [a, b, c]");
    // other names are a rename the user may make on purpose
    Path renamed = copy("cols-renamed");
    editMetadata(renamed, "\"inputCols\":[\"a\",\"b\",\"c\"]", "\"inputCols\":[\"x\",\"y\",\"z\"]");
    assertEquals(List.of("x", "y", "z"),
        List.of(MultiEmbeddingModel.load(renamed.toString()).getInputCols()));
  }
}
