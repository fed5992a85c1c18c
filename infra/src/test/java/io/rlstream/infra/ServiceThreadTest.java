package io.rlstream.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

class ServiceThreadTest {

  /**
   * A cancelled task runs to its end: an interrupt once failed a learner step half-way through
   * publishing its weights (issue 4; Reactor's fromExecutor hands an ExecutorService to
   * fromExecutorService, which interrupts on cancel).
   */
  @Test
  void cancellingASubscriptionDoesNotInterruptTheRunningTask() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean interrupted = new AtomicBoolean();
    AtomicBoolean finished = new AtomicBoolean();
    try (ServiceThread thread = new ServiceThread("service-thread-test")) {
      Disposable run =
          Mono.fromCallable(
                  () -> {
                    started.countDown();
                    try {
                      release.await();
                    } catch (InterruptedException e) {
                      interrupted.set(true);
                    }
                    finished.set(true);
                    return 1;
                  })
              .subscribeOn(thread.scheduler())
              .subscribe();
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      run.dispose();
      release.countDown();
    } // close waits for the task
    assertThat(interrupted).isFalse();
    assertThat(finished).isTrue();
  }
}
