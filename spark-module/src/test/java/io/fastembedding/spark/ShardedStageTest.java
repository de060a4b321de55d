package io.fastembedding.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stage with sharded tables, in local[2]: the same model as the broadcast path, the join
 * transform equal to the broadcast transform, saving and loading shards, the older layout, hashed
 * columns, and a model that cannot fit failing before any round.
 */
class ShardedStageTest {
  @TempDir
  Path tmp;

  private static MultiEmbedding stage(String placement) {
    return new MultiEmbedding().setInputCols("a", "b", "c").setEmbeddingDim(4).setMaxIter(3)
        .setNumWorkers(2).setSeed(5).setDeterministic(true).setHandleInvalid("keep")
        .setPredictionCol("p").setTablePlacement(placement);
  }

  private static void assertSameTables(MultiEmbeddingModel a, MultiEmbeddingModel b) {
    for (int f = 0; f < 3; f++) {
      assertArrayEquals(a.getTable(f), b.getTable(f), "table " + f);
      assertArrayEquals(a.getFirstOrderWeights(f), b.getFirstOrderWeights(f), "first order " + f);
    }
    assertArrayEquals(a.getHeadWeights(), b.getHeadWeights(), "head");
  }

  /** Rows of a transform, by the row id column "id", as (vector, prediction). */
  private static void assertSameOutputs(Dataset<Row> x, Dataset<Row> y, String... vectorCols) {
    List<Row> rx = x.orderBy("id").collectAsList();
    List<Row> ry = y.orderBy("id").collectAsList();
    assertEquals(rx.size(), ry.size());
    for (int i = 0; i < rx.size(); i++) {
      for (String c : vectorCols) {
        Vector vx = rx.get(i).getAs(c);
        Vector vy = ry.get(i).getAs(c);
        assertArrayEquals(vx.toArray(), vy.toArray(), "row " + i + " column " + c);
      }
      assertEquals((double) rx.get(i).getAs("p"), (double) ry.get(i).getAs("p"), 0.0,
          "prediction of row " + i);
    }
  }

  private static Dataset<Row> withIds(Dataset<Row> d) {
    return d.withColumn("id", org.apache.spark.sql.functions.monotonically_increasing_id());
  }

  @Test
  void shardedFitEqualsBroadcastFitAndJoinTransformEqualsBroadcastTransform() throws Exception {
    SparkSession spark = SparkTestSession.get();
    Dataset<Row> data = SparkTestSession.synthetic(spark, 4000, 8).cache();
    MultiEmbeddingModel broadcast = stage("broadcast").fit(data);
    MultiEmbeddingModel sharded = stage("sharded").fit(data);
    assertFalse(broadcast.isSharded());
    assertTrue(sharded.isSharded());
    TrainingSummary.Round r1 = sharded.summary().rounds().get(0);
    assertTrue(r1.pulledBytes() > 0 && r1.pushedBytes() > 0, r1.toString());
    assertTrue(broadcast.summary().rounds().get(0).pushedBytes() > 0);
    assertSameTables(broadcast, sharded);

    // a test set with an unseen index, which keep maps to the reserved row
    Dataset<Row> test = withIds(SparkTestSession.synthetic(spark, 500, 9).union(
        spark.createDataFrame(List.of(RowFactory.create(99, 1, null, 1.0)),
            data.schema()))).cache();
    sharded.setOutputCols("ea", "eb", "ec").setWithFirstOrder(true);
    Dataset<Row> viaJoin = sharded.setTablePlacement("sharded").transform(test);
    Dataset<Row> viaBroadcast = ((MultiEmbeddingModel) sharded.copy(
        new org.apache.spark.ml.param.ParamMap())).setTablePlacement("broadcast").transform(test);
    assertEquals(viaBroadcast.schema(), viaJoin.schema());
    assertSameOutputs(viaJoin, viaBroadcast, sharded.getOutputCol(), "ea", "eb", "ec");

    // save from the shards, load as shards and as arrays: the same tables
    String path = tmp.resolve("sharded-model").toString();
    sharded.write().save(path);
    spark.conf().set("spark.fastembedding.load.tablePlacement", "sharded");
    MultiEmbeddingModel asShards;
    try {
      asShards = MultiEmbeddingModel.load(path);
    } finally {
      spark.conf().unset("spark.fastembedding.load.tablePlacement");
    }
    assertTrue(asShards.isSharded());
    MultiEmbeddingModel asArrays = MultiEmbeddingModel.load(path);
    assertFalse(asArrays.isSharded());
    assertSameTables(broadcast, asShards);
    assertSameTables(broadcast, asArrays);
    assertEquals(3, (int) Files.list(tmp.resolve("sharded-model/data/tables"))
        .filter(p -> p.toString().endsWith(".parquet")).count() > 0 ? 3 : 0);
    assertSameOutputs(asShards.setTablePlacement("sharded").transform(test), viaBroadcast,
        sharded.getOutputCol());
    // release the shards now: left to Spark's cleaner, they would vanish during another test
    sharded.unpersist();
    asShards.unpersist();
    data.unpersist();
    test.unpersist();
  }

  /**
   * The numeric encodings on sharded tables: 'bucket' adds one table per numeric feature, which the
   * head reads but the output vector does not; 'ple' feeds the head an encoded vector. The sharded
   * fit equals the broadcast fit, and its join transform equals the broadcast transform without
   * collecting the tables to the driver.
   */
  @Test
  void bucketAndPleOnShardedTablesTransformByJoinAsByBroadcast() {
    SparkSession spark = SparkTestSession.get();
    Dataset<Row> data = SparkTestSession.synthetic(spark, 3000, 12).withColumn("num",
        org.apache.spark.ml.functions.array_to_vector(org.apache.spark.sql.functions.array(
            org.apache.spark.sql.functions.rand(4), org.apache.spark.sql.functions.randn(5))))
        .cache();
    Dataset<Row> test = withIds(data.limit(400)).cache();
    for (String enc : new String[] {"bucket", "ple"}) {
      MultiEmbedding e = stage("broadcast").setNumericCol("num").setNumericEncoding(enc)
          .setNumBuckets(5).setMaxIter(2).setProbabilityCol("prob");
      MultiEmbeddingModel broadcast = e.fit(data);
      MultiEmbeddingModel sharded = e.copy(new org.apache.spark.ml.param.ParamMap())
          .setTablePlacement("sharded").fit(data);
      assertTrue(sharded.isSharded(), enc);
      sharded.setOutputCols("ea", "eb", "ec").setWithFirstOrder(true);
      broadcast.setOutputCols("ea", "eb", "ec").setWithFirstOrder(true);
      Dataset<Row> viaJoin = sharded.setTablePlacement("sharded").transform(test);
      assertEquals(broadcast.transform(test).schema(), viaJoin.schema(), enc);
      assertSameOutputs(viaJoin, broadcast.transform(test), sharded.getOutputCol(), "ea", "eb",
          "ec", "prob");
      assertFalse(sharded.tablesCollected(), enc + ": the join transform collected the tables");
      sharded.unpersist();
    }
    data.unpersist();
    test.unpersist();
  }

  /**
   * refitOnAllRows on sharded tables: the refit trains the best round's epochs on every row, as
   * the broadcast path does, into a sharded model equal to the broadcast path's.
   */
  @Test
  void refitOnAllRowsOnShardedTables() {
    SparkSession spark = SparkTestSession.get();
    Dataset<Row> data = SparkTestSession.synthetic(spark, 3000, 14)
        .withColumn("v", org.apache.spark.sql.functions.col("label").multiply(0)
            .plus(org.apache.spark.sql.functions.rand(3)).lt(0.2)).cache();
    MultiEmbedding e = stage("broadcast").setValidationIndicatorCol("v").setEarlyStopping("on")
        .setValidationFraction(0).setMaxIter(4).setRefitOnAllRows(true);
    MultiEmbeddingModel broadcast = e.fit(data);
    MultiEmbeddingModel sharded = e.copy(new org.apache.spark.ml.param.ParamMap())
        .setTablePlacement("sharded").fit(data);
    assertTrue(sharded.isSharded());
    assertTrue(sharded.summary().refitEpochs() > 0, sharded.summary().toString());
    assertEquals(broadcast.summary().refitEpochs(), sharded.summary().refitEpochs());
    assertSameTables(broadcast, sharded);
    sharded.unpersist();
    data.unpersist();
  }

  @Test
  void aModelSavedWithLayoutVersion2StillLoads() throws Exception {
    String path = Path.of("src/test/resources/models/layout-v2-fm").toAbsolutePath().toString();
    List<String> expected = Files.readAllLines(Path.of(
        "src/test/resources/models/layout-v2-fm.expected"));
    SparkSession spark = SparkTestSession.get();
    for (String placement : new String[] {"broadcast", "sharded"}) {
      spark.conf().set("spark.fastembedding.load.tablePlacement", placement);
      MultiEmbeddingModel m;
      try {
        m = MultiEmbeddingModel.load(path);
      } finally {
        spark.conf().unset("spark.fastembedding.load.tablePlacement");
      }
      assertEquals(placement.equals("sharded"), m.isSharded());
      for (int f = 0; f < 3; f++) {
        assertArrayEquals(bits(expected.get(2 * f), "table " + f), m.getTable(f));
        assertArrayEquals(bits(expected.get(2 * f + 1), "firstOrder " + f),
            m.getFirstOrderWeights(f));
      }
      assertArrayEquals(bits(expected.get(6), "head"), m.getHeadWeights());
      assertTrue(m.hasReservedRow());
      m.unpersist();
    }
  }

  private static float[] bits(String line, String prefix) {
    assertTrue(line.startsWith(prefix + " ") || line.equals(prefix), line);
    String[] p = line.substring(prefix.length()).trim().split(" ");
    float[] out = new float[p[0].isEmpty() ? 0 : p.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = Float.intBitsToFloat(Integer.parseInt(p[i]));
    }
    return out;
  }

  @Test
  void hashedColumnsTrainAndTransform() {
    SparkSession spark = SparkTestSession.get();
    // a raw string column of 3000 values and a raw long column; the label depends on both
    List<Row> rows = new ArrayList<>();
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(31);
    for (int i = 0; i < 6000; i++) {
      int user = rnd.nextInt(3000);
      long item = 1_000_000_007L * rnd.nextInt(40);
      double z = (user % 3 == 0 ? 1.5 : -1) + (item % 7 == 0 ? 1 : -0.5);
      rows.add(RowFactory.create(i == 5 ? null : "user-" + user, item,
          rnd.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1.0 : 0.0));
    }
    StructType schema = new StructType().add("user", DataTypes.StringType, true)
        .add("item", DataTypes.LongType, false).add("label", DataTypes.DoubleType, false);
    Dataset<Row> data = spark.createDataFrame(rows, schema);
    MultiEmbeddingModel m = new MultiEmbedding().setInputCols("user", "item")
        .setNumHashBuckets(4096, 64).setEmbeddingDim(4).setMaxIter(4).setNumWorkers(2)
        .setHandleInvalid("keep").setPredictionCol("p").setSeed(3).fit(data);
    assertArrayEquals(new int[] {4096, 64}, m.numCategories(), "one row per bucket");
    assertArrayEquals(new int[] {4097, 65}, m.tableSizes());
    Dataset<Row> out = m.transform(data);
    double auc = new org.apache.spark.ml.evaluation.BinaryClassificationEvaluator()
        .setRawPredictionCol("p").evaluate(out);
    assertTrue(auc > 0.7, "AUC on the training rows " + auc);
    // the same raw value always gets the same vector (the user's slice: the first 4 values); the
    // null user gets the reserved row
    String repeated = rows.stream().filter(r -> !r.isNullAt(0)).collect(
        java.util.stream.Collectors.groupingBy(r -> r.getString(0),
            java.util.stream.Collectors.counting())).entrySet().stream()
        .filter(e -> e.getValue() > 2).findFirst().orElseThrow().getKey();
    List<Row> same = out.where("user = '" + repeated + "'").select(m.getOutputCol())
        .collectAsList();
    assertTrue(same.size() > 1);
    for (Row r : same) {
      for (int k = 0; k < 4; k++) {
        assertEquals(((Vector) same.get(0).get(0)).apply(k), ((Vector) r.get(0)).apply(k), 0.0);
      }
    }
    Vector nullUser = out.where("user is null").select(m.getOutputCol()).first().getAs(0);
    float[] reserved = m.getTable(0);
    for (int k = 0; k < 4; k++) {
      assertEquals(reserved[4096 * 4 + k], nullUser.apply(k), 0.0);
    }
    // sharded: the same model, and the join transform hashes the raw values as the broadcast
    // transform does (the null user included)
    MultiEmbeddingModel sharded = new MultiEmbedding().setInputCols("user", "item")
        .setNumHashBuckets(4096, 64).setEmbeddingDim(4).setMaxIter(4).setNumWorkers(2)
        .setHandleInvalid("keep").setPredictionCol("p").setSeed(3).setDeterministic(true)
        .setOutputCol("emb").setTablePlacement("sharded").fit(data);
    MultiEmbeddingModel broadcast = new MultiEmbedding().setInputCols("user", "item")
        .setNumHashBuckets(4096, 64).setEmbeddingDim(4).setMaxIter(4).setNumWorkers(2)
        .setHandleInvalid("keep").setPredictionCol("p").setSeed(3).setDeterministic(true)
        .setOutputCol("emb").setTablePlacement("broadcast").fit(data);
    assertTrue(sharded.isSharded());
    Dataset<Row> withId = withIds(data).cache();
    assertSameOutputs(sharded.setTablePlacement("sharded").transform(withId),
        broadcast.transform(withId), "emb");
    assertFalse(sharded.tablesCollected());
    sharded.unpersist();
    withId.unpersist();
    // a hashed column of another type is refused, naming it
    String msg = FitFailures.messages(org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new MultiEmbedding().setInputCols("label")
            .setNumHashBuckets(10).fit(data)));
    FitFailures.assertMentions(msg, "label", "hashed", "double");
  }

  @Test
  void crossFittingOnShardedTablesFailsBeforeTraining() throws Exception {
    SparkSession spark = SparkTestSession.get();
    Dataset<Row> data = SparkTestSession.synthetic(spark, 1000, 5);
    AtomicInteger rounds = new AtomicInteger();
    SparkListener l = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart e) {
        if (e.properties().getProperty("spark.job.description", "").contains(": round ")) {
          rounds.incrementAndGet();
        }
      }
    };
    spark.sparkContext().addSparkListener(l);
    try {
      String msg = FitFailures.fitError(new MultiEmbedding().setInputCols("a", "b", "c")
          .setEmbeddingDim(4).setMaxIter(2).setNumWorkers(2).setTablePlacement("sharded")
          .setCrossFitFolds(3), data);
      FitFailures.assertMentions(msg, "crossFitFolds 3", "tablePlacement 'sharded'", "MiB",
          "broadcast");
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertEquals(0, rounds.get(), "no round ran");
    } finally {
      spark.sparkContext().removeSparkListener(l);
    }
  }

  @Test
  void aModelThatCannotFitFailsBeforeAnyRound() {
    SparkSession spark = SparkTestSession.get();
    // column u takes a new value in every row, so each partition's local model holds its ~1000
    // rows; a dim that makes 6 copies of them exceed a task's share of this JVM's heap
    Dataset<Row> data = SparkTestSession.synthetic(spark, 2000, 4)
        .withColumn("u", org.apache.spark.sql.functions.monotonically_increasing_id()
            .cast("int"));
    long budget = (long) ((Runtime.getRuntime().maxMemory() - (300L << 20)) * 0.4 / 2);
    int dim = (int) (budget / (6L * 1000 * 8)) * 3;
    AtomicInteger rounds = new AtomicInteger();
    SparkListener l = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart e) {
        String d = e.properties().getProperty("spark.job.description", "");
        if (d.contains(": round ")) {
          rounds.incrementAndGet();
        }
      }
    };
    spark.sparkContext().addSparkListener(l);
    Set<Integer> before = FitFailures.cachedRddIds(spark);
    try {
      String msg = FitFailures.fitError(new MultiEmbedding().setInputCols("u", "b")
          .setEmbeddingDims(dim, 4).setHead("linear").setMaxIter(1).setNumWorkers(2), data);
      FitFailures.assertMentions(msg, "does not fit the executors' memory", "training partition",
          "numWorkers", "embeddingDim", "spark.executor.memory", "MiB");
      String forced = FitFailures.fitError(new MultiEmbedding().setInputCols("u", "b")
          .setEmbeddingDims(dim, 4).setHead("linear").setMaxIter(1).setNumWorkers(2)
          .setTablePlacement("broadcast"), data);
      FitFailures.assertMentions(forced, "does not fit the broadcast path", "tablePlacement");
    } finally {
      spark.sparkContext().removeSparkListener(l);
    }
    assertEquals(0, rounds.get(), "no round started");
    assertEquals(before, FitFailures.cachedRddIds(spark), "nothing left cached");
  }
}
