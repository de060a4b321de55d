package io.fastembedding.spark.shard;

import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.RowSchema;
import io.fastembedding.spark.merge.ShardPlan;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;

/**
 * What each JVM of a fit holds, planned before any training from the sizes, dims and optimizer of
 * the model, the partitions and the executors' memory, so that a fit that cannot fit fails first
 * with the numbers and the knobs, never with an OutOfMemoryError in the middle.
 *
 * <p>The budget of a task is the user memory of its executor (what Spark leaves outside its unified
 * storage and execution region: {@code (heap - 300 MiB) * (1 - spark.memory.fraction)}) divided by
 * the tasks that run at once in that executor. Cached blocks and shards live in the storage region
 * and spill to disk when it is full, so they are not counted against it.
 *
 * <ul>
 *   <li>Broadcast path: the driver holds {@value #BROADCAST_DRIVER_COPIES} copies of the model with
 *       its optimizer state (the state, the merged copy, the broadcast's serialized blocks, the
 *       collected rows); each executor holds the broadcast model and each of its tasks
 *       {@value #BROADCAST_TASK_COPIES} more (the backend's arrays, the touched rows, the pieces).
 *       In local mode the driver is the executor, and both count in the one JVM.
 *   <li>Sharded path: a training task holds {@value #TASK_COPIES} copies of its partition's local
 *       model (the pulled pieces, the local model, the backend's arrays, the touched rows, their
 *       global renumbering, their shard pieces); a merge task holds its shard twice (this
 *       generation and the next) and {@value #MERGE_PIECE_COPIES} times the rows pushed to it (the
 *       pieces and the sums in double). The driver holds the head and per-partition statistics.
 * </ul>
 */
public final class MemoryPlan {
  static final long RESERVED = 300L << 20;
  static final int BROADCAST_DRIVER_COPIES = 4;
  static final int BROADCAST_TASK_COPIES = 3;
  static final int TASK_COPIES = 6;
  static final int MERGE_PIECE_COPIES = 3;
  /** Above this size (model and optimizer state), auto picks the sharded path. */
  public static final long BROADCAST_MAX_BYTES = 256L << 20;

  private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?\\])?");
  private static final Pattern LOCAL_CLUSTER = Pattern.compile(
      "local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\]");

  private MemoryPlan() {}

  /**
   * The memory of the JVMs of an application.
   *
   * @param executorHeap bytes of heap of one executor (the driver's in local mode)
   * @param tasksPerExecutor tasks that run at once in one executor
   * @param memoryFraction {@code spark.memory.fraction}
   * @param driverHeap bytes of heap of the driver
   * @param local whether the tasks run in the driver's JVM
   */
  public record Memory(long executorHeap, int tasksPerExecutor, double memoryFraction,
      long driverHeap, boolean local) {
    /** Bytes one task may hold. */
    public long taskBudget() {
      return (long) (Math.max(0, executorHeap - RESERVED) * (1 - memoryFraction)
          / Math.max(1, tasksPerExecutor));
    }

    /**
     * This memory with at most {@code tasks} tasks at once per executor: the training stage when
     * each of its tasks holds a whole GPU (an executor then runs one training task per GPU, however
     * many cores it has).
     */
    public Memory withTasksAtMost(int tasks) {
      return new Memory(executorHeap, Math.max(1, Math.min(tasksPerExecutor, tasks)),
          memoryFraction, driverHeap, local);
    }

    /** Bytes the driver may hold outside Spark's own memory. */
    public long driverBudget() {
      return (long) (Math.max(0, driverHeap - RESERVED) * (1 - memoryFraction));
    }

    String describe() {
      return local
          ? String.format(Locale.ROOT, "local mode: one JVM of %s heap running %d tasks at once",
              mib(executorHeap), tasksPerExecutor)
          : String.format(Locale.ROOT, "executors of %s heap (spark.executor.memory) running %d "
              + "tasks at once, driver of %s heap", mib(executorHeap), tasksPerExecutor,
              mib(driverHeap));
    }
  }

  /** The memory of this application's JVMs, from its master and configuration. */
  public static Memory of(SparkConf conf, String master, long thisJvmHeap) {
    double fraction = conf.getDouble("spark.memory.fraction", 0.6);
    int taskCpus = conf.getInt("spark.task.cpus", 1);
    Matcher lc = LOCAL_CLUSTER.matcher(master);
    if (lc.matches()) {
      long heap = conf.contains("spark.executor.memory")
          ? conf.getSizeAsBytes("spark.executor.memory") : Long.parseLong(lc.group(3)) << 20;
      int cores = conf.getInt("spark.executor.cores", Integer.parseInt(lc.group(2)));
      return new Memory(heap, Math.max(1, cores / taskCpus), fraction, thisJvmHeap, false);
    }
    Matcher l = LOCAL.matcher(master);
    if (l.matches()) {
      int threads = l.group(1) == null ? 1 : "*".equals(l.group(1))
          ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(l.group(1));
      return new Memory(thisJvmHeap, Math.max(1, threads / taskCpus), fraction, thisJvmHeap, true);
    }
    long heap = conf.getSizeAsBytes("spark.executor.memory", "1g");
    int cores = conf.getInt("spark.executor.cores", 1);
    return new Memory(heap, Math.max(1, cores / taskCpus), fraction, thisJvmHeap, false);
  }

  /** Bytes of the tables, first-order weights and their optimizer state. */
  public static long tableBytes(ModelSpec spec) {
    RowSchema s = RowSchema.of(spec);
    long b = 0;
    for (int f = 0; f < spec.numFields(); f++) {
      b += 4L * spec.layout().size(f) * s.floatsPerRow(f);
    }
    return b;
  }

  /** Bytes of the whole model with its optimizer state: tables and head. */
  public static long modelBytes(ModelSpec spec) {
    return tableBytes(spec) + 4L * spec.headSize() * (spec.optimizer().hasState() ? 2 : 1);
  }

  /** Bytes one JVM needs for the broadcast path: the driver's and the tasks' copies. */
  public static long broadcastDriverBytes(ModelSpec spec, Memory m) {
    long model = modelBytes(spec);
    long driver = BROADCAST_DRIVER_COPIES * model;
    return m.local ? driver + broadcastExecutorBytes(spec, m) : driver;
  }

  static long broadcastExecutorBytes(ModelSpec spec, Memory m) {
    return (1 + (long) BROADCAST_TASK_COPIES * m.tasksPerExecutor) * modelBytes(spec);
  }

  /** Whether the broadcast path fits: the driver's copies, and each executor's. */
  public static boolean broadcastFits(ModelSpec spec, Memory m) {
    long usable = (long) (Math.max(0, m.executorHeap - RESERVED) * (1 - m.memoryFraction));
    return broadcastDriverBytes(spec, m) <= m.driverBudget()
        && (m.local || broadcastExecutorBytes(spec, m) <= usable);
  }

  /**
   * Whether to train with sharded tables: {@code placement} "sharded" or "broadcast" forces it;
   * "auto" shards a model above {@link #BROADCAST_MAX_BYTES} or one whose broadcast does not fit.
   * A forced broadcast that does not fit fails here, before anything is allocated.
   */
  public static boolean sharded(ModelSpec spec, Memory m, String placement) {
    boolean fits = broadcastFits(spec, m);
    switch (placement) {
      case "sharded":
        return true;
      case "broadcast":
        if (!fits) {
          throw new IllegalArgumentException(broadcastMessage(spec, m)
              + ". Set tablePlacement to 'sharded' (or 'auto'), or give the driver and executors "
              + "more memory (spark.driver.memory, spark.executor.memory)");
        }
        return false;
      default:
        return !fits || modelBytes(spec) > BROADCAST_MAX_BYTES;
    }
  }

  /**
   * Bytes one fold model of cross-fitting keeps on the driver: its tables, first-order weights and
   * head, without optimizer state (CrossFitting.Folds).
   */
  public static long foldModelBytes(ModelSpec spec) {
    long firstOrder = spec.hasFirstOrder() ? spec.layout().totalRows() : 0;
    return 4L * (spec.layout().totalFloats() + firstOrder + spec.headSize());
  }

  /**
   * Cross-fitting ({@code folds} >= 2) on the broadcast path: while the last fold model trains, the
   * driver holds that fit's copies ({@link #broadcastDriverBytes}), the full model with its optimizer
   * state, and the other fold models; at the end, every fold model. Fails before any training, with
   * the numbers and the knobs, when that does not fit the driver.
   */
  public static void checkCrossFit(ModelSpec spec, Memory m, int folds) {
    long need = broadcastDriverBytes(spec, m) + modelBytes(spec) + folds * foldModelBytes(spec);
    if (need <= m.driverBudget()) {
      return;
    }
    throw new IllegalArgumentException(String.format(Locale.ROOT, "crossFitFolds %d keeps %d fold "
        + "models of %s each on the driver, beside the full model (%s with optimizer state) and "
        + "the broadcast path's copies while one trains (%s): %s in all, more than the %s the "
        + "driver can use (%s). Set crossFitFolds lower or to 0, or give the driver more memory "
        + "(spark.driver.memory)", folds, folds, mib(foldModelBytes(spec)), mib(modelBytes(spec)),
        mib(broadcastDriverBytes(spec, m)), mib(need), mib(m.driverBudget()), m.describe()));
  }

  private static String broadcastMessage(ModelSpec spec, Memory m) {
    return String.format(Locale.ROOT, "the model (tables %s, with %s optimizer state: %s) does not "
        + "fit the broadcast path: the driver needs %s of %s it can use, and each executor %s "
        + "(%s)", dimsText(spec), spec.optimizer().type().id(), mib(modelBytes(spec)),
        mib(broadcastDriverBytes(spec, m)), mib(m.driverBudget()),
        mib(broadcastExecutorBytes(spec, m)), m.describe());
  }

  private static String dimsText(ModelSpec spec) {
    return "sizes " + java.util.Arrays.toString(spec.layout().sizes()) + " x dims "
        + java.util.Arrays.toString(spec.layout().dims());
  }

  /**
   * Shards for the sharded path: at least one per worker, and enough that a merge task holds a
   * quarter of its budget in shard (the rest is for the next generation and the pushed rows).
   */
  public static int numShards(ModelSpec spec, Memory m, int workers) {
    long target = Math.max(1L << 20, m.taskBudget() / 4);
    long bySize = (tableBytes(spec) + target - 1) / target;
    return (int) Math.min(Math.max(workers, bySize), Math.min(Integer.MAX_VALUE / 2,
        spec.layout().totalRows()));
  }

  /** Bytes of the rows of shard {@code s} of {@code plan} (all columns). */
  public static long shardBytes(ModelSpec spec, ShardPlan plan, int s) {
    RowSchema schema = RowSchema.of(spec);
    long from = plan.shardStart(s);
    long to = plan.shardStart(s + 1);
    long b = 0;
    for (int f = 0; f < spec.numFields(); f++) {
      long lo = Math.max(from, schema.rowBase(f));
      long hi = Math.min(to, schema.rowBase(f) + spec.layout().size(f));
      if (hi > lo) {
        b += 4L * (hi - lo) * schema.floatsPerRow(f);
      }
    }
    return b;
  }

  /**
   * Checks the sharded path against the executors' memory, with each partition's local model
   * ({@code localBytes[p]}) and the bytes each shard receives ({@code pushedBytes[s]}, an upper
   * bound: every row a partition uses), and fails with the numbers and the knobs when a task would
   * not fit.
   */
  public static void checkSharded(ModelSpec spec, ShardPlan plan, long[] localBytes,
      long[] pushedBytes, Memory m) {
    checkSharded(spec, plan, localBytes, pushedBytes, m, m);
  }

  /**
   * {@link #checkSharded(ModelSpec, ShardPlan, long[], long[], Memory)} where the training tasks run
   * under {@code training} (fewer at once per executor when each holds a whole GPU) and the merge
   * tasks under {@code m}.
   */
  public static void checkSharded(ModelSpec spec, ShardPlan plan, long[] localBytes,
      long[] pushedBytes, Memory m, Memory training) {
    long budget = m.taskBudget();
    long trainBudget = training.taskBudget();
    int worstPart = 0;
    for (int p = 1; p < localBytes.length; p++) {
      if (localBytes[p] > localBytes[worstPart]) {
        worstPart = p;
      }
    }
    long train = TASK_COPIES * (localBytes.length == 0 ? 0 : localBytes[worstPart]);
    int worstShard = 0;
    long merge = 0;
    for (int s = 0; s < plan.numShards(); s++) {
      long need = 2 * shardBytes(spec, plan, s) + MERGE_PIECE_COPIES * pushedBytes[s];
      if (need > merge) {
        merge = need;
        worstShard = s;
      }
    }
    if (train <= trainBudget && merge <= budget) {
      return;
    }
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "the model (tables %s, with %s "
        + "optimizer state: %s in %d shards of up to %s) does not fit the executors' memory: a task "
        + "may hold %s (%s, (heap - 300 MiB) x (1 - spark.memory.fraction %.2f) / tasks)",
        dimsText(spec), spec.optimizer().type().id(), mib(tableBytes(spec)), plan.numShards(),
        mib(maxShard(spec, plan)), mib(budget), m.describe(), m.memoryFraction));
    if (train > trainBudget) {
      sb.append(String.format(Locale.ROOT, ", but training partition %d needs %s (%d copies of "
          + "its local model of %s: the rows its data uses)", worstPart, mib(train), TASK_COPIES,
          mib(localBytes[worstPart])));
      if (training.tasksPerExecutor != m.tasksPerExecutor) {
        sb.append(String.format(Locale.ROOT, " and a training task may hold %s (%d training "
            + "tasks at once per executor, one per GPU)", mib(trainBudget),
            training.tasksPerExecutor));
      }
    }
    if (merge > budget) {
      sb.append(String.format(Locale.ROOT, ", but merging shard %d needs %s (the shard twice and "
          + "%d x the %s of rows pushed to it)", worstShard, mib(merge), MERGE_PIECE_COPIES,
          mib(pushedBytes[worstShard])));
    }
    sb.append(". Knobs: numWorkers (more partitions: fewer rows per partition and per task), "
        + "embeddingDim or embeddingDims (bytes per row), optimizer ('rowwise_adagrad' keeps one "
        + "float of state per row instead of one per float), spark.executor.memory or fewer "
        + "spark.executor.cores (memory per task)");
    throw new IllegalArgumentException(sb.toString());
  }

  private static long maxShard(ModelSpec spec, ShardPlan plan) {
    long b = 0;
    for (int s = 0; s < plan.numShards(); s++) {
      b = Math.max(b, shardBytes(spec, plan, s));
    }
    return b;
  }

  static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
  }
}
