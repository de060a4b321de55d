package io.fastembedding.spark.train;

import io.fastembedding.backend.Backend;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backends kept in an executor JVM between the rounds of one fit, so that a GPU context, its device
 * buffers or a CPU backend's arrays are set up once per fit rather than once per round. A backend is
 * used by one task at a time. Backends of another fit are closed when a new fit's task arrives, and
 * the driver closes its own fit's at the end (tasks of local mode run in the driver).
 */
public final class BackendPool {
  private static final Logger LOG = LoggerFactory.getLogger(BackendPool.class);
  private static final Map<String, ArrayDeque<Entry>> IDLE = new HashMap<>();
  private static String currentFit;

  private BackendPool() {}

  /**
   * A backend and how its device was chosen (a CPU fallback for a failed GPU is kept under the GPU's
   * key, so later rounds do not retry the device).
   */
  public record Entry(Backend backend, String why) {}

  /** An idle backend of {@code fitId} on {@code deviceKey}, or null when there is none. */
  public static synchronized Entry take(String fitId, String deviceKey) {
    if (!fitId.equals(currentFit)) {
      closeAllLocked();
      currentFit = fitId;
    }
    ArrayDeque<Entry> q = IDLE.get(deviceKey);
    return q == null ? null : q.pollFirst();
  }

  /** Returns a backend for reuse by the next round of the same fit. */
  public static synchronized void give(String fitId, String deviceKey, Entry e) {
    if (!fitId.equals(currentFit)) {
      e.backend().close();
      return;
    }
    IDLE.computeIfAbsent(deviceKey, k -> new ArrayDeque<>()).addLast(e);
  }

  /**
   * Closes the idle backends of {@code fitId} (a device short of memory: their models and resident
   * blocks go; later rounds open them again) and returns how many.
   */
  public static int closeIdle(String fitId) {
    List<Backend> idle;
    synchronized (BackendPool.class) {
      if (!fitId.equals(currentFit)) {
        return 0;
      }
      idle = drainLocked();
    }
    closeAll(idle);
    return idle.size();
  }

  /** Closes every idle backend of {@code fitId}. */
  public static synchronized void closeFit(String fitId) {
    if (fitId.equals(currentFit)) {
      closeAllLocked();
      currentFit = null;
    }
  }

  private static void closeAllLocked() {
    closeAll(drainLocked());
  }

  /** Empties the pool (the caller holds the lock) and returns its backends. */
  private static List<Backend> drainLocked() {
    List<Backend> all = new ArrayList<>();
    IDLE.values().forEach(q -> q.forEach(e -> all.add(e.backend())));
    IDLE.clear();
    return all;
  }

  private static void closeAll(List<Backend> backends) {
    for (Backend b : backends) {
      try {
        b.close();
      } catch (RuntimeException e) {
        LOG.warn("closing a pooled backend failed: {}", e.toString());
      }
    }
  }
}
