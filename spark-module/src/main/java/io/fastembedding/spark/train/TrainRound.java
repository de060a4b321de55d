package io.fastembedding.spark.train;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.Backends;
import io.fastembedding.backend.InputValidator;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.data.PartitionData;
import io.fastembedding.spark.device.DeviceChoice;
import io.fastembedding.spark.device.DeviceChooser;
import io.fastembedding.spark.device.DeviceRequest;
import io.fastembedding.spark.merge.HeadPiece;
import io.fastembedding.spark.merge.ShardPiece;
import io.fastembedding.spark.merge.ShardPlan;
import io.fastembedding.train.EpochStats;
import io.fastembedding.train.Trainer;
import io.fastembedding.train.TrainerConfig;
import java.io.Serializable;
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
 * for a few epochs on the task's device, and emit only the rows it touched, cut into shard pieces
 * (key = shard) plus the head (key = number of shards), for the row-sharded merge.
 */
public final class TrainRound
    implements PairFlatMapFunction<Iterator<PartitionData>, Integer, Serializable> {
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

  @Override
  public Iterator<Tuple2<Integer, Serializable>> call(Iterator<PartitionData> it) {
    if (!it.hasNext()) {
      return Collections.emptyIterator();
    }
    PartitionData pd = it.next();
    if (pd.block.rows == 0) {
      return Collections.emptyIterator();
    }
    ModelState state = model.value();
    ModelSpec spec = state.spec;
    if (firstEpoch == 0) {
      // the block is cached across rounds: validate it once, before its first training
      InputValidator.validateForTraining(spec, pd.block);
    }
    TaskContext ctx = TaskContext.get();
    DeviceChoice choice = DeviceChooser.choose(deviceRequest, pd.partition,
        ctx == null ? null : ctx.resourcesJMap(), CudaProbe::deviceCount, CudaProbe::reason);
    int cpus = ctx == null ? 1 : ctx.cpus();
    String poolKey = choice.key();
    BackendPool.Entry entry = BackendPool.take(fitId, poolKey);
    if (entry == null) {
      entry = open(spec, choice, cpus);
    }
    Backend backend = entry.backend();
    boolean ok = false;
    try {
      long t0 = System.nanoTime();
      backend.importState(state);
      Trainer trainer = new Trainer(backend, new TrainerConfig(batchSize, epochs, true,
          seed * 0x9E3779B97F4A7C15L + pd.partition));
      List<EpochStats> stats = trainer.trainValidated(pd.block, firstEpoch);
      TouchedRows touched = backend.exportTouched(true);
      double seconds = (System.nanoTime() - t0) / 1e9;
      long rows = 0;
      double loss = 0;
      for (EpochStats e : stats) {
        rows += e.rows();
        loss += e.meanLoss() * pd.weightSum;
      }
      String executor = SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
      String host = hostName();
      reports.add(new TaskReport(pd.partition, executor, host, backend.device(), entry.why(), rows,
          loss, pd.weightSum * stats.size(), seconds));
      List<Tuple2<Integer, Serializable>> out = new ArrayList<>();
      for (ShardPiece p : ShardPiece.split(touched, plan, pd.partition)) {
        out.add(new Tuple2<>(p.shard, p));
      }
      out.add(new Tuple2<>(plan.numShards(), new HeadPiece(pd.partition, touched.head,
          touched.headAccum)));
      ok = true;
      return out.iterator();
    } finally {
      if (ok) {
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
  }
}
