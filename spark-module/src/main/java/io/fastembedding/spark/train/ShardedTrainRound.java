package io.fastembedding.spark.train;

import io.fastembedding.backend.InputValidator;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.model.RowColumns;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.spark.shard.ShardedPartition;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * One round of the sharded path in one task: build the partition's local model from the rows it
 * pulled from the shards and the head, train its block on the task's device, and push back the rows
 * it touched, keyed by shard. The head goes back through an accumulator (it is small).
 */
public final class ShardedTrainRound implements FlatMapFunction2<Iterator<ShardedPartition>,
    Iterator<Tuple2<Integer, ShardPiece>>, Tuple2<Integer, ShardPiece>> {
  private static final long serialVersionUID = 1L;

  private final TrainRound round;
  private final RowSchema schema;
  private final ShardPlan plan;
  private final HeadPiece head;
  private final int firstEpoch;
  private final CollectionAccumulator<HeadPiece> heads;
  private final LongAccumulator pulledBytes;
  private final LongAccumulator pushedBytes;

  /**
   * @param round the training settings (its broadcast model is unused: the model comes from the
   *     pulled rows and {@code head})
   */
  public ShardedTrainRound(TrainRound round, RowSchema schema, ShardPlan plan, HeadPiece head,
      int firstEpoch, CollectionAccumulator<HeadPiece> heads, LongAccumulator pulledBytes,
      LongAccumulator pushedBytes) {
    this.round = round.pooledPerPartition();
    this.schema = schema;
    this.plan = plan;
    this.head = head;
    this.firstEpoch = firstEpoch;
    this.heads = heads;
    this.pulledBytes = pulledBytes;
    this.pushedBytes = pushedBytes;
  }

  @Override
  public Iterator<Tuple2<Integer, ShardPiece>> call(Iterator<ShardedPartition> parts,
      Iterator<Tuple2<Integer, ShardPiece>> pulled) {
    if (!parts.hasNext()) {
      return Collections.emptyIterator();
    }
    ShardedPartition sp = parts.next();
    List<ShardPiece> pieces = new ArrayList<>();
    pulled.forEachRemaining(t -> pieces.add(t._2()));
    for (ShardPiece p : pieces) {
      pulledBytes.add(p.rows.bytes());
    }
    if (sp.data.block.rows == 0) {
      return Collections.emptyIterator();
    }
    ModelSpec localSpec = sp.rows.localSpec(schema.spec());
    ModelState local = localModel(localSpec, sp, pieces, head);
    pieces.clear();
    if (firstEpoch == 0) {
      InputValidator.validateForTraining(localSpec, sp.data.block);
    }
    TaskContext ctx = TaskContext.get();
    List<TrainRound.Local> results = round.trainAndReport(sp.data, local,
        round.chooseDevices(sp.data.partition), ctx == null ? 1 : ctx.cpus());
    List<Tuple2<Integer, ShardPiece>> out = new ArrayList<>();
    for (int s = 0; s < results.size(); s++) {
      int piece = TrainRound.pieceId(sp.data.partition, s);
      var touched = results.get(s).touched();
      RowColumns rows = RowColumns.fromTouched(touched, schema, sp.rows.distinct);
      for (ShardPiece p : ShardPiece.split(rows, plan, piece)) {
        out.add(new Tuple2<>(p.shard, p));
        pushedBytes.add(p.rows.bytes());
      }
      heads.add(new HeadPiece(piece, touched.head, touched.headAccum));
    }
    return out.iterator();
  }

  /**
   * The partition's local model: its rows as pulled (in shard order, so in global row order, which
   * is the local model's row order field by field) and the head.
   */
  public static ModelState localModel(ModelSpec localSpec, ShardedPartition sp,
      List<ShardPiece> pieces, HeadPiece head) {
    List<ShardPiece> ps = new ArrayList<>(pieces);
    ps.sort(Comparator.comparingInt(p -> p.shard));
    ModelState local = ModelState.zeros(localSpec);
    RowSchema to = RowSchema.of(localSpec);
    int nf = localSpec.numFields();
    int[] next = new int[nf];
    for (ShardPiece p : ps) {
      RowColumns rc = p.rows;
      for (int f = 0; f < nf; f++) {
        for (int i = rc.fieldStart(f); i < rc.fieldStart(f + 1); i++) {
          int x = next[f]++;
          long g = rc.row(i) - rc.schema.rowBase(f);
          if (x >= sp.rows.distinct[f].length || sp.rows.distinct[f][x] != g) {
            throw new IllegalStateException("partition " + sp.data.partition + " received row "
                + g + " of field " + f + " out of order: the pulled rows do not match its rows");
          }
          rc.writeEntry(i, f, local, to, x);
        }
      }
    }
    for (int f = 0; f < nf; f++) {
      if (next[f] != sp.rows.distinct[f].length) {
        throw new IllegalStateException("partition " + sp.data.partition + " received "
            + next[f] + " of the " + sp.rows.distinct[f].length + " rows of field " + f
            + " it uses: rows of the model were lost between the shards and the task");
      }
    }
    System.arraycopy(head.head, 0, local.head, 0, head.head.length);
    if (head.headAccum != null) {
      System.arraycopy(head.headAccum, 0, local.headAccum, 0, head.headAccum.length);
    }
    return local;
  }
}
