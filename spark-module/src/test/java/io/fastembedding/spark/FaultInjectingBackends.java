package io.fastembedding.spark;

import io.fastembedding.backend.Backend;
import io.fastembedding.backend.BackendOptions;
import io.fastembedding.backend.LossSum;
import io.fastembedding.backend.RowBlock;
import io.fastembedding.backend.TouchedRows;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.spark.device.DeviceChoice;
import io.fastembedding.spark.train.BackendFactory;
import io.fastembedding.spark.train.DefaultBackendFactory;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.stream.Stream;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * The stage's own backends, with one fault injected once into one training task of one round:
 * what a cluster does to a fit (a task that fails, an executor that dies, map outputs that cannot be
 * fetched), placed so that a test can compare the fit with a fault-free one. "Once" is a marker file
 * in a folder every executor JVM of the machine sees.
 */
final class FaultInjectingBackends implements BackendFactory {
  private static final long serialVersionUID = 1L;

  enum Fault {
    /** The training task throws, once. */
    FAIL_ONCE,
    /**
     * The executor running the task dies (halts), once: its cached blocks and map outputs are lost.
     * Before dying it creates {@code shift} in the marker folder, which a test's input may read.
     */
    KILL_EXECUTOR,
    /**
     * After the task has written its map output, the executor's shuffle files are deleted, once: the
     * merge's reduce tasks get a FetchFailed and Spark re-runs the training stage.
     */
    DELETE_SHUFFLE_OUTPUT
  }

  private final Fault fault;
  private final String markers;
  private final int round;
  private final int partition;

  /**
   * @param markers a folder on the local disk, shared by the executor JVMs
   * @param round the round (from 1) whose task gets the fault
   * @param partition the training partition whose task gets the fault
   */
  FaultInjectingBackends(Fault fault, Path markers, int round, int partition) {
    this.fault = fault;
    this.markers = markers.toString();
    this.round = round;
    this.partition = partition;
  }

  @Override
  public Backend open(ModelSpec spec, BackendOptions options, DeviceChoice choice) {
    return new Faulty(new DefaultBackendFactory().open(spec, options, choice));
  }

  /** Whether the task running now is the one to hit, and this is the first time. */
  private boolean hitNow() {
    TaskContext ctx = TaskContext.get();
    String job = ctx == null ? null : ctx.getLocalProperty("spark.job.description");
    if (job == null || !job.contains(": round " + round + "/") || ctx.partitionId() != partition) {
      return false;
    }
    try {
      Files.createFile(Paths.get(markers, fault.name()));
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void inject() {
    switch (fault) {
      case FAIL_ONCE -> throw new IllegalStateException("injected failure of a training task");
      case KILL_EXECUTOR -> {
        if ("driver".equals(SparkEnv.get().executorId())) {
          throw new IllegalStateException("KILL_EXECUTOR needs executors in JVMs of their own");
        }
        try {
          Files.createFile(Paths.get(markers, "shift"));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        Runtime.getRuntime().halt(137);
      }
      case DELETE_SHUFFLE_OUTPUT -> TaskContext.get().addTaskCompletionListener(ctx -> {
        // the map output is committed by now; the task's success is reported after this
        for (File dir : SparkEnv.get().blockManager().diskBlockManager().localDirs()) {
          try (Stream<Path> files = Files.walk(dir.toPath())) {
            for (Path p : files.toList()) {
              if (p.getFileName().toString().startsWith("shuffle_")) {
                Files.deleteIfExists(p);
              }
            }
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      });
      default -> throw new IllegalStateException(fault.name());
    }
  }

  /** Delegates everything; the fault comes when the task imports the round's model. */
  private final class Faulty implements Backend {
    private final Backend b;

    Faulty(Backend b) {
      this.b = b;
    }

    @Override
    public void importState(ModelState state) {
      if (hitNow()) {
        inject();
      }
      b.importState(state);
    }

    @Override
    public ModelSpec spec() {
      return b.spec();
    }

    @Override
    public String device() {
      return b.device();
    }

    @Override
    public void trainStep(RowBlock block, int start, int count) {
      b.trainStep(block, start, count);
    }

    @Override
    public void trainEpoch(RowBlock block, int batchSize) {
      b.trainEpoch(block, batchSize);
    }

    @Override
    public LossSum drainLoss() {
      return b.drainLoss();
    }

    @Override
    public void predict(RowBlock block, int start, int count, float[] out, int outOffset) {
      b.predict(block, start, count, out, outOffset);
    }

    @Override
    public void embed(RowBlock block, int start, int count, float[] out, int outOffset) {
      b.embed(block, start, count, out, outOffset);
    }

    @Override
    public ModelState exportState() {
      return b.exportState();
    }

    @Override
    public TouchedRows exportTouched(boolean reset) {
      return b.exportTouched(reset);
    }

    @Override
    public void close() {
      b.close();
    }
  }
}
