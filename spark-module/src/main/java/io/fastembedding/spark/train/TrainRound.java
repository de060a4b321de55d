package io.fastembedding.spark.train;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.Backends;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.device.DeviceChoice;
import io.fastembedding.spark.device.DeviceChooser;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.MergePiece;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.train.EpochStats;
import io.fastembedding.train.Trainer;
import io.fastembedding.train.TrainerConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * One round of training in one task: take the broadcast model, train the partition's cached block
 * for a few epochs on the task's device, and emit only the rows it touched, cut into shard pieces,
 * plus the head, each keyed by the merge task that takes it ({@link MergePiece#reduceTask}).
 */
public final class TrainRound
    implements PairFlatMapFunction<Iterator<PartitionData>, Integer, MergePiece> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(TrainRound.class);
  private static final AtomicBoolean WARNED_FALLBACK = new AtomicBoolean();

  private final String fitId;
  private final Broadcast<ModelState> model;
  private final ShardPlan plan;
  private final int batchSize;
  private final int epochs;
  private final int firstEpoch;
  private final long seed;
  private final boolean deterministic;
  private final DeviceRequest deviceRequest;
  private final BackendFactory factory;
  private final CollectionAccumulator<TaskReport> reports;
  /**
   * Keep one backend per device between rounds, or (the sharded path, where each partition's local
   * model has its own shape) one per device and partition.
   */
  private boolean perPartition;
  /** Bytes of the touched rows sent to the merge, when counted. */
  private org.apache.spark.util.LongAccumulator pushedBytes;

  public TrainRound(String fitId, Broadcast<ModelState> model, ShardPlan plan, int batchSize,
      int epochs, int firstEpoch, long seed, boolean deterministic, DeviceRequest deviceRequest,
      BackendFactory factory, CollectionAccumulator<TaskReport> reports) {
    this.fitId = fitId;
    this.model = model;
    this.plan = plan;
    this.batchSize = batchSize;
    this.epochs = epochs;
    this.firstEpoch = firstEpoch;
    this.seed = seed;
    this.deterministic = deterministic;
    this.deviceRequest = deviceRequest;
    this.factory = factory;
    this.reports = reports;
  }

  /** Counts the bytes of the touched rows this round sends to the merge into {@code acc}. */
  public TrainRound countingPushed(org.apache.spark.util.LongAccumulator acc) {
    pushedBytes = acc;
    return this;
  }

  /**
   * Backends are pooled per device and partition (the sharded path: a partition's local model keeps
   * its shape from round to round, and its block stays on the device with it).
   */
  TrainRound pooledPerPartition() {
    perPartition = true;
    return this;
  }

  /**
   * Piece ids of a task that trains on several devices: sub-block {@code s} of partition {@code p}
   * sends its rows as piece {@code p + s * SUB_BLOCK_STRIDE}, so the merge averages the sub-blocks
   * like partitions; sub-block 0 keeps the partition's own id.
   */
  static final int SUB_BLOCK_STRIDE = 1 << 20;

  @Override
  public Iterator<Tuple2<Integer, MergePiece>> call(Iterator<PartitionData> it) {
    if (!it.hasNext()) {
      return Collections.emptyIterator();
    }
    PartitionData pd = it.next();
    if (pd.block.rows == 0) {
      return Collections.emptyIterator();
    }
    // no check here: BlockBuilder.resolve checked the block against the tables when Spark built it,
    // also when Spark rebuilt it after a loss (a check in round 1 only would miss a rebuilt block)
    TaskContext ctx = TaskContext.get();
    return train(pd, chooseDevices(pd.partition), ctx == null ? 1 : ctx.cpus());
  }

  /** The devices of this task: its GPU resources, else CUDA by partition in local mode, else CPU. */
  List<DeviceChoice> chooseDevices(int partition) {
    TaskContext ctx = TaskContext.get();
    List<DeviceChoice> choices = DeviceChooser.chooseAll(deviceRequest, partition,
        ctx == null ? null : ctx.resourcesJMap(), CudaProbe::deviceCount, CudaProbe::reason);
    for (DeviceChoice c : choices) {
      if (!c.fallback()) {
        continue;
      }
      if (CudaProbe.driverMissing()) {
        // a CPU-only machine: expected, not a fault. In local mode the driver already said so in
        // its one line; an executor of a cluster says it once in its own log.
        if (WARNED_FALLBACK.compareAndSet(false, true)) {
          if (deviceRequest.localMode()) {
            LOG.debug("no NVIDIA driver: training on the CPU");
          } else {
            LOG.info("no NVIDIA driver: training on the CPU");
          }
          LOG.debug("CUDA is not usable in this JVM: {}", CudaProbe.detail());
        }
      } else if (WARNED_FALLBACK.compareAndSet(false, true)) {
        LOG.warn("{}: training on the CPU in this executor", c.why());
      }
    }
    return choices;
  }

  /**
   * Trains one partition's block from the broadcast model on the given devices (one share of the
   * rows each) and returns its shard pieces and head pieces. {@link #call} chooses the devices from
   * the task's resources; this is the rest, callable with devices chosen elsewhere.
   */
  public Iterator<Tuple2<Integer, MergePiece>> train(PartitionData pd, List<DeviceChoice> choices,
      int cpus) {
    List<Local> results = trainAndReport(pd, model.value(), choices, cpus);
    List<MergePiece> pieces = new ArrayList<>();
    for (int s = 0; s < results.size(); s++) {
      int piece = pieceId(pd.partition, s);
      TouchedRows touched = results.get(s).touched;
      for (ShardPiece p : ShardPiece.split(touched, plan, piece)) {
        pieces.add(new MergePiece.ShardRows(p));
        if (pushedBytes != null) {
          pushedBytes.add(p.rows.bytes());
        }
      }
      pieces.add(new MergePiece.Head(new HeadPiece(piece, touched.head, touched.headAccum)));
    }
    List<Tuple2<Integer, MergePiece>> out = new ArrayList<>(pieces.size());
    for (MergePiece p : pieces) {
      out.add(new Tuple2<>(p.reduceTask(plan), p));
    }
    return out.iterator();
  }

  /** The merge id of share {@code s} of partition {@code partition}. */
  static int pieceId(int partition, int s) {
    return partition + s * SUB_BLOCK_STRIDE;
  }

  /**
   * Trains {@code pd}'s block from {@code state} (the whole model, or the partition's local model in
   * the sharded path) on the given devices, one share of the rows each, and adds the task's report.
   */
  List<Local> trainAndReport(PartitionData pd, ModelState state, List<DeviceChoice> choices,
      int cpus) {
    long t0 = System.nanoTime();
    int k = Math.min(choices.size(), pd.block.rows);
    List<Local> results;
    if (k <= 1) {
      results = List.of(trainOn(pd.block, pd.weightSum, pd.partition, state, choices.get(0), cpus));
    } else {
      results = trainOnEach(pd, state, choices.subList(0, k));
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    long rows = 0;
    double loss = 0;
    double weight = 0;
    StringBuilder device = new StringBuilder();
    StringBuilder why = new StringBuilder();
    for (Local r : results) {
      for (EpochStats e : r.stats) {
        rows += e.rows();
        // a block whose weights are all 0 has a mean loss of 0/0: it adds nothing, not NaN
        loss += r.weightSum > 0 ? e.meanLoss() * r.weightSum : 0;
      }
      weight += r.weightSum * r.stats.size();
      device.append(device.length() == 0 ? "" : " + ").append(r.device);
      why.append(why.length() == 0 ? "" : "; ").append(r.why);
    }
    String executor = SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
    reports.add(new TaskReport(pd.partition, executor, hostName(), device.toString(),
        why.toString(), rows, loss, weight, seconds));
    return results;
  }

  /** What one backend made of one (sub-)block. */
  record Local(TouchedRows touched, List<EpochStats> stats, double weightSum, String device,
      String why) {}

  /**
   * A task holding several GPUs cuts its block into one contiguous share per device and trains the
   * shares at once, one thread and one backend each; the merge then averages them like partitions.
   */
  private List<Local> trainOnEach(PartitionData pd, ModelState state, List<DeviceChoice> choices) {
    int k = choices.size();
    int rows = pd.block.rows;
    List<Local> results = new ArrayList<>(Collections.nCopies(k, null));
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>(k);
    for (int s = 0; s < k; s++) {
      int sub = s;
      int lo = (int) ((long) rows * s / k);
      int hi = (int) ((long) rows * (s + 1) / k);
      Thread t = new Thread(() -> {
        try {
          RowBlock share = pd.block.slice(lo, hi - lo);
          results.set(sub, trainOn(share, share.weightSum(), pieceId(pd.partition, sub),
              state, choices.get(sub), 1));
        } catch (Throwable e) {
          failures.add(e);
        }
      }, "fast-embedding-train-" + pd.partition + "-" + choices.get(s).key());
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while training on several GPUs", e);
      }
    }
    if (!failures.isEmpty()) {
      Throwable f = failures.get(0);
      if (f instanceof RuntimeException re) {
        throw re;
      }
      if (f instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(f);
    }
    return results;
  }

  /** Trains {@code block} on one device from the broadcast state and exports what it touched. */
  private Local trainOn(RowBlock block, double weightSum, int shuffleStream, ModelState state,
      DeviceChoice choice, int cpus) {
    String poolKey = perPartition ? choice.key() + "/piece " + shuffleStream : choice.key();
    // per partition, only GPU backends are kept: the executor's heap is planned for one local model
    // per running task (MemoryPlan), not one per partition it ever trained
    boolean pooled = !perPartition || choice.cuda();
    BackendPool.Entry entry = pooled ? BackendPool.take(fitId, poolKey) : null;
    if (entry != null && !entry.backend().spec().equals(state.spec)) {
      entry.backend().close();
      entry = null;
    }
    if (entry == null) {
      try {
        entry = open(state.spec, choice, cpus);
      } catch (RuntimeException e) {
        // the device may be full of this fit's idle backends (and their resident blocks): free them
        // and try once more before failing
        if (!choice.cuda() || BackendPool.closeIdle(fitId) == 0) {
          throw e;
        }
        LOG.info("opening a backend on {} failed ({}); closed this fit's idle backends and retrying",
            choice.key(), e.toString());
        entry = open(state.spec, choice, cpus);
      }
    }
    Backend backend = entry.backend();
    boolean ok = false;
    try {
      backend.importState(state);
      Trainer trainer = new Trainer(backend, new TrainerConfig(batchSize, epochs, true,
          seed * 0x9E3779B97F4A7C15L + shuffleStream));
      List<EpochStats> stats = trainer.trainValidated(block, firstEpoch);
      TouchedRows touched = backend.exportTouched(true);
      ok = true;
      return new Local(touched, stats, weightSum, backend.device(), entry.why());
    } finally {
      if (ok && pooled) {
        BackendPool.give(fitId, poolKey, entry);
      } else {
        backend.close();
      }
    }
  }

  /** Opens the chosen device's backend; with device = auto, a CUDA failure falls back to the CPU. */
  private BackendPool.Entry open(ModelSpec spec, DeviceChoice choice, int cpus) {
    BackendOptions options = new BackendOptions(deterministic, choice.cuda() ? 0 : cpus);
    try {
      return new BackendPool.Entry(factory.open(spec, options, choice), choice.why());
    } catch (RuntimeException e) {
      if (!choice.cuda() || "gpu".equals(deviceRequest.device())) {
        throw e;
      }
      if (WARNED_FALLBACK.compareAndSet(false, true)) {
        LOG.warn("device = auto: the CUDA backend did not start on device {} ({}); training on the "
            + "CPU in this executor", choice.ordinal(), e.toString());
      }
      String why = "device = auto, CUDA failed to start on device " + choice.ordinal() + " ("
          + e.getMessage() + ")";
      return new BackendPool.Entry(factory.open(spec, new BackendOptions(deterministic, cpus),
          DeviceChoice.cpu(why)), why);
    }
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "?";
    }
  }

  /** CUDA availability, asked once per JVM (loading the driver is not free). */
  static final class CudaProbe {
    private static volatile Integer count;
    private static volatile String reason;

    static int deviceCount() {
      if (count == null) {
        synchronized (CudaProbe.class) {
          if (count == null) {
            reason = Backends.cudaUnavailableReason();
            count = Backends.cudaDeviceCount();
          }
        }
      }
      return count;
    }

    static String reason() {
      deviceCount();
      return reason == null ? "no reason given" : reason;
    }

    static boolean driverMissing() {
      return deviceCount() == 0 && Backends.cudaDriverMissing();
    }

    static String detail() {
      String d = Backends.cudaUnavailableDetail();
      return d == null ? reason() : d;
    }
  }
}
