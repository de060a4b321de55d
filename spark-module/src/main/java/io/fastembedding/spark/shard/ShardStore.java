package io.fastembedding.spark.shard;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.model.RowColumns;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.merge.MergedShard;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.shard.PartitionRows.RowRequest;
import io.fastembedding.spark.train.Divergence;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * One generation of a model's tables, cut into row-range shards that live on the executors: a cached
 * RDD with shard {@code s} in partition {@code s}. The driver holds only this handle. Partitions pull
 * the rows they use from it; their trained rows merge into the next generation.
 */
public final class ShardStore {
  /** Shards stay in memory, spilling to disk when the executors' storage memory is full. */
  public static final StorageLevel LEVEL = StorageLevel.MEMORY_AND_DISK();

  public final RowSchema schema;
  public final ShardPlan plan;
  public final int generation;
  private final JavaPairRDD<Integer, RowColumns> shards;

  private ShardStore(RowSchema schema, ShardPlan plan, int generation,
      JavaPairRDD<Integer, RowColumns> shards) {
    this.schema = schema;
    this.plan = plan;
    this.generation = generation;
    this.shards = shards;
  }

  /**
   * The initial model's shards, each initialised by the executor that holds it (no table passes
   * through the driver). Lazy: nothing runs before the first job that needs them.
   */
  public static ShardStore initial(JavaSparkContext jsc, ModelSpec spec, ShardPlan plan) {
    RowSchema schema = RowSchema.of(spec);
    int n = plan.numShards();
    List<Integer> ids = IntStream.range(0, n).boxed().toList();
    // the ids are shuffled into place (a few bytes); the shards are built where they land
    JavaPairRDD<Integer, RowColumns> shards = jsc.parallelize(ids, n)
        .mapToPair(s -> new Tuple2<>(s, s)).partitionBy(new KeyPartitioner(n))
        .mapValues(s -> TableShards.initial(schema, plan, s));
    shards.persist(LEVEL);
    return new ShardStore(schema, plan, 0, shards);
  }

  /** A store over shards read from elsewhere (a saved model), keyed and placed by shard. */
  public static ShardStore of(RowSchema schema, ShardPlan plan,
      JavaPairRDD<Integer, RowColumns> shards) {
    return new ShardStore(schema, plan, 0, shards);
  }

  public JavaPairRDD<Integer, RowColumns> rdd() {
    return shards;
  }

  public int numShards() {
    return plan.numShards();
  }

  /** The requests of every partition, keyed and placed by shard (cache it: it never changes). */
  public JavaPairRDD<Integer, RowRequest> requests(
      org.apache.spark.api.java.JavaRDD<ShardedPartition> parts) {
    RowSchema s = schema;
    ShardPlan p = plan;
    return parts.flatMapToPair(sp -> {
      List<Tuple2<Integer, RowRequest>> out = new ArrayList<>();
      for (RowRequest r : sp.rows.requests(s, p)) {
        out.add(new Tuple2<>(r.shard(), r));
      }
      return out.iterator();
    }).partitionBy(new KeyPartitioner(numShards()));
  }

  /**
   * Each partition's rows (values and optimizer state) from this generation, delivered to the
   * partition of the same number among {@code numPartitions}: one piece per shard it uses.
   */
  public JavaPairRDD<Integer, ShardPiece> pull(JavaPairRDD<Integer, RowRequest> requests,
      int numPartitions) {
    return shards.join(requests).mapToPair(kv -> {
      RowRequest r = kv._2()._2();
      return new Tuple2<>(r.partition(), new ShardPiece(r.partition(), r.shard(),
          kv._2()._1().gather(r.rows())));
    }).partitionBy(new KeyPartitioner(numPartitions));
  }

  /**
   * The next generation: every shard with the rows the partitions pushed merged in (the mean over
   * the partitions that touched a row, as {@link RowMerger} defines it), persisted but not yet
   * computed. With {@code checkpoint}, its lineage is cut when it is computed: to the checkpoint
   * directory when the SparkContext has one, else to the executors' local storage.
   * {@code nonFinite} (may be null) counts the NaN and infinite values among the merged rows
   * ({@link Divergence#tableValues}) once the generation is computed; a retried shard may count
   * twice, which only matters for the count the divergence message quotes, never for whether it
   * is zero.
   */
  public ShardStore merge(JavaPairRDD<Integer, ShardPiece> pushed, boolean checkpoint,
      LongAccumulator nonFinite) {
    ShardPlan p = plan;
    JavaPairRDD<Integer, RowColumns> next = shards.cogroup(pushed).mapValues(t -> {
      Iterator<RowColumns> it = t._1().iterator();
      if (!it.hasNext()) {
        throw new IllegalStateException("a shard is missing from the model's generation: "
            + "its rows were lost");
      }
      RowColumns base = it.next();
      List<ShardPiece> pieces = new ArrayList<>();
      t._2().forEach(pieces::add);
      if (pieces.isEmpty()) {
        return base;
      }
      MergedShard m = RowMerger.mergeShard(p, base.schema.spec().optimizer(),
          pieces.get(0).shard, pieces);
      if (nonFinite != null) {
        nonFinite.add(Divergence.tableValues(m));
      }
      RowColumns out = base.copy();
      m.rows.writeOver(out);
      return out;
    });
    next.persist(LEVEL);
    if (checkpoint) {
      if (next.context().getCheckpointDir().isDefined()) {
        next.checkpoint();
      } else {
        next.rdd().localCheckpoint();
      }
    }
    return new ShardStore(schema, plan, generation + 1, next);
  }

  /** Computes and caches this generation (one job). */
  public long materialize() {
    return shards.count();
  }

  public void unpersist() {
    shards.unpersist(false);
  }

  /** This generation's shards without their optimizer state: what a fitted model keeps. */
  public ShardStore withoutState(ModelSpec scoringSpec) {
    RowSchema to = RowSchema.of(scoringSpec);
    if (to.sameColumns(schema)) {
      // no optimizer state to drop (SGD): this generation is the model
      return new ShardStore(to, plan, generation, shards);
    }
    JavaPairRDD<Integer, RowColumns> values = shards.mapValues(rc -> dropState(rc, to));
    values.persist(LEVEL);
    return new ShardStore(to, plan, generation, values);
  }

  private static RowColumns dropState(RowColumns rc, RowSchema to) {
    RowColumns out = RowColumns.range(to, rc.firstRow(), rc.firstRow() + rc.size);
    for (int c = 0; c < to.numColumns(); c++) {
      int src = rc.schema.column(to.name(c));
      System.arraycopy(rc.columns[src], 0, out.columns[c], 0, out.columns[c].length);
    }
    return out;
  }

  /**
   * The whole model on the driver: for tests and for models small enough to broadcast. The head
   * is the driver's own.
   */
  public ModelState collect(float[] head, float[] headAccum) {
    ModelState s = ModelState.zeros(schema.spec());
    for (RowColumns rc : shards.values().collect()) {
      rc.writeInto(s);
    }
    System.arraycopy(head, 0, s.head, 0, head.length);
    if (headAccum != null) {
      System.arraycopy(headAccum, 0, s.headAccum, 0, headAccum.length);
    }
    return s;
  }
}
