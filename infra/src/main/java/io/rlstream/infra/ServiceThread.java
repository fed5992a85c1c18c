package io.rlstream.infra;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * One named daemon thread a service runs its work on, as a Reactor {@link Scheduler} on which
 * blocking is allowed and cancellation never interrupts: a cancelled task finishes what it started
 * (a training step, a weight publication) instead of failing half-way. {@link #close()} waits for
 * the task in progress.
 */
public final class ServiceThread implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceThread.class);

  private final String name;
  private final ExecutorService executor;
  private final Scheduler scheduler;

  public ServiceThread(String name) {
    this.name = name;
    this.executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, name);
              t.setDaemon(true);
              return t;
            });
    // a plain Executor, not the ExecutorService: given an ExecutorService, fromExecutor delegates
    // to
    // fromExecutorService, whose cancellation interrupts the running task (a cancelled learner step
    // then failed half-way through publishing its weights)
    java.util.concurrent.Executor plain = executor::execute;
    this.scheduler = Schedulers.fromExecutor(plain);
  }

  public Scheduler scheduler() {
    return scheduler;
  }

  /** Lets the task in progress finish (up to a minute), then ends the thread. */
  @Override
  public void close() {
    scheduler.dispose();
    executor.shutdown();
    try {
      if (!executor.awaitTermination(Duration.ofMinutes(1).toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("thread {} did not stop within a minute", name);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
