package io.fastembedding.backend.cuda;

import java.util.LinkedHashMap;
import java.util.Map;
import jcuda.driver.CUgraphExec;
import jcuda.driver.JCudaDriver;

/**
 * The executable CUDA graphs of a backend's training steps, one per (batch buffer, its allocation, row
 * count, weights or not): what a step's kernels read and their launch parameters are fixed by these.
 * Least recently used graphs are destroyed beyond a small bound (a trainer uses one or two row counts).
 */
final class StepGraphs {
  record Key(DeviceBuffer batch, int generation, int rows, boolean weights) {}

  record Entry(CUgraphExec exec, String kernels) {}

  private final LinkedHashMap<Key, Entry> map = new LinkedHashMap<>(16, 0.75f, true);

  Entry get(Key k) {
    return map.get(k);
  }

  int size() {
    return map.size();
  }

  /** Adds a graph, destroying the least recently used one when full (the caller synchronised). */
  void put(Key k, Entry e) {
    if (map.size() >= 16) {
      Map.Entry<Key, Entry> eldest = map.entrySet().iterator().next();
      JCudaDriver.cuGraphExecDestroy(eldest.getValue().exec());
      map.remove(eldest.getKey());
    }
    map.put(k, e);
  }

  /** Destroys every graph; the caller makes sure none is running. */
  void clear() {
    for (Entry e : map.values()) {
      JCudaDriver.cuGraphExecDestroy(e.exec());
    }
    map.clear();
  }
}
