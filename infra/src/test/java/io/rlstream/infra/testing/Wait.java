package io.rlstream.infra.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling for a condition in integration tests, with a deadline and a message saying what. */
public final class Wait {
  private Wait() {}

  /**
   * Returns once {@code condition} holds (checked every 50 ms); fails with "timed out after …
   * waiting until {@code what}" when {@code timeout} passes first.
   */
  public static void until(BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting until " + what);
      }
      Thread.sleep(50);
    }
  }
}
