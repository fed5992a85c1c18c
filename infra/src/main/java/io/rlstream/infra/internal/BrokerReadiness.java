package io.rlstream.infra.internal;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/** Waits until a broker answers an admin request with at least one live node. */
final class BrokerReadiness {
  private BrokerReadiness() {}

  /**
   * Polls {@code bootstrap} until it answers, {@code timeoutMs} passes, or {@code stillAlive} says
   * the broker process died.
   *
   * @throws IllegalStateException on time-out or death
   */
  static void await(String bootstrap, long timeoutMs, BooleanSupplier stillAlive) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    Map<String, Object> props =
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000,
            AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200);
    try (Admin admin = Admin.create(props)) {
      Exception last = null;
      while (System.nanoTime() < deadline) {
        if (!stillAlive.getAsBoolean()) {
          throw new IllegalStateException("Kafka broker process exited during start-up");
        }
        try {
          var nodes =
              admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000)).nodes().get();
          if (!nodes.isEmpty()) {
            return;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the broker", e);
        } catch (Exception e) {
          last = e;
        }
        sleep(Duration.ofMillis(200));
      }
      throw new IllegalStateException(
          "Kafka broker at " + bootstrap + " did not answer within " + timeoutMs + " ms", last);
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the broker", e);
    }
  }
}
