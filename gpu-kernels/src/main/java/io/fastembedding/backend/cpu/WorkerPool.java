package io.fastembedding.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of threads that run one body in parallel and join, many times a second. A training
 * step is a few hundred microseconds to a few milliseconds, so the hand-off must cost microseconds:
 * workers park between steps and the caller runs part 0 itself instead of waiting idle.
 */
final class WorkerPool implements AutoCloseable {
  private final int threads;
  private final Thread[] workers;
  private final AtomicInteger pending = new AtomicInteger();
  private volatile IntConsumer body;
  private volatile int generation;
  private volatile boolean closed;
  private volatile Throwable failure;

  WorkerPool(int threads, String name) {
    this.threads = threads;
    this.workers = new Thread[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      int part = i + 1;
      Thread t = new Thread(() -> loop(part), name + "-" + part);
      t.setDaemon(true);
      workers[i] = t;
      t.start();
    }
  }

  int threads() {
    return threads;
  }

  /** Runs {@code body.accept(part)} for every part in [0, threads) and returns when all are done. */
  void run(IntConsumer task) {
    if (closed) {
      throw new IllegalStateException("the CPU backend is closed");
    }
    if (threads == 1) {
      task.accept(0);
      return;
    }
    failure = null;
    body = task;
    pending.set(workers.length);
    generation++;
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
    try {
      task.accept(0);
    } catch (Throwable t) {
      failure = t;
    }
    int spins = 0;
    while (pending.get() != 0) {
      if (++spins < 20_000) {
        Thread.onSpinWait();
      } else {
        LockSupport.parkNanos(20_000);
      }
    }
    body = null;
    Throwable t = failure;
    if (t != null) {
      if (t instanceof RuntimeException re) {
        throw re;
      }
      if (t instanceof Error e) {
        throw e;
      }
      throw new IllegalStateException(t);
    }
  }

  private void loop(int part) {
    int seen = 0;
    while (true) {
      int spins = 0;
      while (generation == seen && !closed) {
        if (++spins < 2_000) {
          Thread.onSpinWait();
        } else {
          LockSupport.park(this);
        }
      }
      if (closed) {
        return;
      }
      seen = generation;
      try {
        body.accept(part);
      } catch (Throwable t) {
        failure = t;
      } finally {
        pending.decrementAndGet();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
  }
}
