package io.fastembedding.spark.data;

import io.fastembedding.backend.RowBlock;
import io.fastembedding.spark.shard.KeyPartitioner;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * Training blocks of equal size whatever the input partitioning: the rows of all blocks, taken in
 * partition order, are dealt round robin over the workers (row i of the concatenation goes to block
 * {@code i mod workers}), so the blocks differ by at most one row and each gets an even share of
 * every input partition. A partition that arrived sorted, or much larger than the others, no longer
 * trains alone on its share of the data. The rows move as primitive blocks (one shuffle of arrays,
 * not of Spark rows); validation rows are dealt the same way.
 */
public final class BlockBalancer {
  /** Blocks whose sizes differ by at most this share of the mean are kept as they are. */
  static final double TOLERANCE = 0.02;

  private BlockBalancer() {}

  /** Whether {@code sizes} (rows per block) need dealing into {@code workers} blocks. */
  public static boolean needed(long[] sizes, int workers) {
    if (sizes.length != workers) {
      return true;
    }
    long min = Long.MAX_VALUE;
    long max = 0;
    long sum = 0;
    for (long s : sizes) {
      min = Math.min(min, s);
      max = Math.max(max, s);
      sum += s;
    }
    return max - min > Math.max(1, TOLERANCE * sum / sizes.length);
  }

  /**
   * {@code workers} blocks dealt from {@code blocks}, whose training and validation rows per block
   * are {@code trainRows} and {@code validationRows} (in partition order).
   */
  public static JavaRDD<PartitionData> balance(JavaRDD<PartitionData> blocks, int workers,
      long[] trainRows, long[] validationRows) {
    long[] trainStart = starts(trainRows);
    long[] validStart = starts(validationRows);
    return blocks.flatMapToPair(pd -> {
      List<Tuple2<Integer, Piece>> out = new ArrayList<>();
      for (int t = 0; t < workers; t++) {
        RowBlock train = deal(pd.block, trainStart[pd.partition], t, workers);
        RowBlock valid = pd.validation == null ? null
            : deal(pd.validation, validStart[pd.partition], t, workers);
        out.add(new Tuple2<>(t, new Piece(pd.partition, train, valid)));
      }
      return out.iterator();
    }).groupByKey(new KeyPartitioner(workers)).map(kv -> {
      List<Piece> ps = new ArrayList<>();
      kv._2().forEach(ps::add);
      ps.sort(Comparator.comparingInt(Piece::source));
      RowBlock train = concat(ps.stream().map(Piece::train).toList());
      boolean hasValid = ps.get(0).validation() != null;
      RowBlock valid = hasValid ? concat(ps.stream().map(Piece::validation).toList()) : null;
      BlockStats stats = new BlockStats(train.numFields);
      stats.rows = train.rows;
      return new PartitionData(kv._1(), train, stats, train.weightSum(), valid,
          valid == null ? 0 : valid.weightSum());
    });
  }

  /** The share of one source block that goes to one target. */
  private record Piece(int source, RowBlock train, RowBlock validation) implements Serializable {}

  private static long[] starts(long[] rows) {
    long[] s = new long[rows.length];
    long acc = 0;
    for (int i = 0; i < rows.length; i++) {
      s[i] = acc;
      acc += rows[i];
    }
    return s;
  }

  /** Rows r of {@code b} with {@code (start + r) mod workers == target}, in order. */
  static RowBlock deal(RowBlock b, long start, int target, int workers) {
    int first = (int) Math.floorMod(target - start, (long) workers);
    int count = first >= b.rows ? 0 : (b.rows - first + workers - 1) / workers;
    RowBlock out = new RowBlock(b.numFields, b.numNumeric, count, new int[count * b.numFields],
        b.numNumeric > 0 ? new float[count * b.numNumeric] : null,
        b.labels == null ? null : new float[count], b.weights == null ? null : new float[count]);
    for (int i = 0; i < count; i++) {
      b.copyRow(first + i * workers, out, i);
    }
    return out;
  }

  static RowBlock concat(List<RowBlock> blocks) {
    RowBlock f = blocks.get(0);
    int rows = blocks.stream().mapToInt(b -> b.rows).sum();
    RowBlock out = new RowBlock(f.numFields, f.numNumeric, rows, new int[rows * f.numFields],
        f.numNumeric > 0 ? new float[rows * f.numNumeric] : null,
        f.labels == null ? null : new float[rows], f.weights == null ? null : new float[rows]);
    int at = 0;
    for (RowBlock b : blocks) {
      for (int r = 0; r < b.rows; r++) {
        b.copyRow(r, out, at++);
      }
    }
    return out;
  }
}
