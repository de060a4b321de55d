package io.fastembedding.spark.shard;

import io.fastembedding.model.Initializer;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.RowMerger;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.shard.PartitionRows.RowRequest;
import io.fastembedding.spark.train.EvaluateRound;
import io.fastembedding.spark.train.ShardedTrainRound;
import io.fastembedding.spark.train.TrainRound;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * The rounds of the sharded path, driven from the driver, which holds only the spec, the head and
 * handles to cached RDDs: the partitions (blocks renumbered to their local rows), their row requests,
 * and the current generation of the shards. Each round pulls the rows every partition uses, trains
 * the partitions, merges their touched rows into the next generation and averages the head.
 */
public final class ShardedTraining implements AutoCloseable {
  /** Generations whose lineage is cut: the shard RDD is checkpointed every this many rounds. */
  public static final int CHECKPOINT_EVERY = 4;

  private final JavaSparkContext jsc;
  private final ModelSpec spec;
  private final JavaRDD<ShardedPartition> parts;
  private final JavaPairRDD<Integer, RowRequest> requests;
  private final int numParts;
  private ShardStore store;
  private HeadPiece head;
  private ShardStore best;
  private HeadPiece bestHead;
  private int rounds;

  /**
   * What one round moved, and the NaN or infinite values among the rows it merged (counted on
   * the executors that merged them).
   */
  public record Traffic(long pulledBytes, long pushedBytes, long nonFiniteTableValues) {}

  private ShardedTraining(JavaSparkContext jsc, ModelSpec spec, JavaRDD<ShardedPartition> parts,
      ShardStore store) {
    this.jsc = jsc;
    this.spec = spec;
    this.parts = parts;
    this.numParts = parts.getNumPartitions();
    this.store = store;
    this.requests = store.requests(parts);
    requests.persist(ShardStore.LEVEL);
    float[] h = new float[spec.headSize()];
    Initializer.initHead(spec, h);
    head = new HeadPiece(-1, h, spec.optimizer().hasState() ? new float[h.length] : null);
  }

  /**
   * Prepares the sharded rounds over cached {@code blocks}: finds each partition's rows and
   * renumbers its blocks (one job, whose result stays cached), and lays out the initial shards
   * (computed by the first round).
   */
  public static ShardedTraining start(JavaSparkContext jsc, JavaRDD<PartitionData> blocks,
      ModelSpec spec, ShardPlan plan) {
    int n = spec.numFields();
    JavaRDD<ShardedPartition> parts = blocks.map(pd -> ShardedPartition.of(pd, n));
    parts.persist(ShardStore.LEVEL);
    return new ShardedTraining(jsc, spec, parts, ShardStore.initial(jsc, spec, plan));
  }

  /** Rows each partition's local model holds, by partition (runs the job that finds them). */
  public long[] rowsPerPartition() {
    List<Tuple2<Integer, Long>> l = parts.map(sp -> new Tuple2<>(sp.data.partition,
        sp.rows.totalRows())).collect();
    long[] out = new long[numParts];
    for (Tuple2<Integer, Long> t : l) {
      out[t._1()] = t._2();
    }
    return out;
  }

  /**
   * Bytes of each partition's local model, and the bytes each shard serves and receives per round
   * (every row a partition uses): what {@link MemoryPlan#checkSharded} checks. One job over the
   * cached partitions.
   */
  public record Footprint(long[] localBytes, long[] shardTraffic) {}

  public Footprint footprint() {
    io.fastembedding.model.RowSchema schema = store.schema;
    ShardPlan plan = store.plan;
    int shards = plan.numShards();
    List<Tuple2<Integer, long[]>> l = parts.map(sp -> {
      long[] out = new long[shards + 1];
      for (RowRequest r : sp.rows.requests(schema, plan)) {
        long b = 0;
        for (long g : r.rows()) {
          b += 4L * schema.floatsPerRow(schema.fieldOf(g));
        }
        out[r.shard()] += b;
        out[shards] += b;
      }
      return new Tuple2<>(sp.data.partition, out);
    }).collect();
    long[] local = new long[numParts];
    long[] traffic = new long[shards];
    for (Tuple2<Integer, long[]> t : l) {
      local[t._1()] = t._2()[shards];
      for (int s = 0; s < shards; s++) {
        traffic[s] += t._2()[s];
      }
    }
    return new Footprint(local, traffic);
  }

  /** The renumbered partitions (cached). */
  public JavaRDD<ShardedPartition> partitions() {
    return parts;
  }

  public ShardStore store() {
    return store;
  }

  public HeadPiece head() {
    return head;
  }

  /**
   * One round: pull, train with {@code round}'s settings from epoch {@code firstEpoch}, merge.
   * The next generation is computed and cached before this returns; the previous one is released
   * unless it is the best kept so far.
   */
  public Traffic round(TrainRound round, int firstEpoch) {
    return round(round, firstEpoch, null);
  }

  /** {@link #round(TrainRound, int)}, with the training stage's GPU resource profile. */
  public Traffic round(TrainRound round, int firstEpoch,
      io.fastembedding.spark.discovery.GpuTrainingPlan gpuPlan) {
    CollectionAccumulator<HeadPiece> heads = jsc.sc().collectionAccumulator("heads");
    LongAccumulator pulled = jsc.sc().longAccumulator("pulled bytes");
    LongAccumulator pushed = jsc.sc().longAccumulator("pushed bytes");
    LongAccumulator nonFinite = jsc.sc().longAccumulator("non-finite merged values");
    JavaPairRDD<Integer, ShardPiece> in = store.pull(requests, numParts);
    JavaPairRDD<Integer, ShardPiece> out = parts.zipPartitions(in,
        new ShardedTrainRound(round, store.schema, store.plan, head, firstEpoch, heads, pulled,
            pushed)).mapToPair(t -> t);
    if (gpuPlan != null) {
      // only the training stage holds one GPU per task, not the pull or the merge
      gpuPlan.applyTo(out);
    }
    rounds++;
    ShardStore next = store.merge(out, rounds % CHECKPOINT_EVERY == 0, nonFinite);
    try {
      next.materialize();
    } catch (RuntimeException e) {
      next.unpersist();
      throw e;
    }
    // a retried task reports twice: keep one head per piece
    Map<Integer, HeadPiece> byPiece = new TreeMap<>();
    for (HeadPiece h : heads.value()) {
      byPiece.put(h.partition, h);
    }
    if (byPiece.isEmpty()) {
      throw new IllegalStateException("no partition trained in round " + rounds);
    }
    head = RowMerger.mergeHeads(new ArrayList<>(byPiece.values()));
    if (store != best) {
      store.unpersist();
    }
    store = next;
    return new Traffic(pulled.value(), pushed.value(), nonFinite.value());
  }

  /** Keeps the current generation as the best so far (released when a better one comes). */
  public void keepCurrent() {
    if (best != null && best != store) {
      best.unpersist();
    }
    best = store;
    bestHead = head;
  }

  /** The kept generation, else the current one. */
  public ShardStore result() {
    return best != null ? best : store;
  }

  public HeadPiece resultHead() {
    return best != null ? bestHead : head;
  }

  /**
   * Scores every partition's validation rows and a training sample with the current generation
   * (each partition pulls its rows again): one job.
   */
  public List<EvaluateRound.Piece> evaluate(int trainSampleRows, int validationScoreRows) {
    ModelSpec global = spec;
    HeadPiece h = head;
    JavaPairRDD<Integer, ShardPiece> in = store.pull(requests, numParts);
    return parts.zipPartitions(in, (itParts, itPulled) -> {
      if (!itParts.hasNext()) {
        return Collections.<EvaluateRound.Piece>emptyIterator();
      }
      ShardedPartition sp = itParts.next();
      List<ShardPiece> pieces = new ArrayList<>();
      itPulled.forEachRemaining(t -> pieces.add(t._2()));
      ModelState local = ShardedTrainRound.localModel(sp.rows.localSpec(global), sp, pieces, h);
      return List.of(EvaluateRound.evaluate(sp.data, local, trainSampleRows,
          validationScoreRows)).iterator();
    }).collect();
  }

  /** The whole current model on the driver (tests, small models). */
  public ModelState collect() {
    return store.collect(head.head, head.headAccum);
  }

  /** Releases the cached partitions and requests, and every generation but the result. */
  @Override
  public void close() {
    parts.unpersist(false);
    requests.unpersist(false);
    if (store != result()) {
      store.unpersist();
    }
  }

  /** Releases everything, the result included (a failed fit). */
  public void closeAll() {
    close();
    result().unpersist();
  }
}
