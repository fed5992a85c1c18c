package io.rlstream.infra.internal;

import io.rlstream.infra.BrokerSettings;
import io.rlstream.infra.KafkaBroker;
import java.net.BindException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KRaft broker running inside this JVM. {@code KafkaRaftServer} is not Kafka's public API; this
 * class is the one place that touches it. Never calls {@code kafka.Kafka.main} or the storage tool,
 * which call {@code System.exit}.
 */
public final class InProcessBroker extends LocalBroker {
  private static final Logger log = LoggerFactory.getLogger(InProcessBroker.class);
  private static final int START_ATTEMPTS = 3;

  private final KafkaRaftServer server;
  private boolean closed;

  private InProcessBroker(KafkaRaftServer server, BrokerLayout layout, String clusterId) {
    super(layout, clusterId);
    this.server = server;
  }

  /** Formats the data directory if new, starts the broker and waits until it serves clients. */
  public static KafkaBroker start(BrokerSettings settings) {
    BrokerLayout layout = BrokerLayout.prepare(settings);
    long t0 = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      String clusterId = layout.formatIfNeeded();
      KafkaRaftServer server =
          new KafkaRaftServer(new KafkaConfig(layout.configs(), false), Time.SYSTEM);
      try {
        server.startup();
        BrokerReadiness.await(layout.bootstrapServers(), 60_000, () -> true);
        log.info(
            "Kafka broker up at {} (cluster {}, data {}) in {} ms",
            layout.bootstrapServers(),
            clusterId,
            layout.dataDir,
            (System.nanoTime() - t0) / 1_000_000);
        return new InProcessBroker(server, layout, clusterId);
      } catch (RuntimeException e) {
        stopQuietly(server);
        boolean portsChosenHere = settings.port() == 0 && settings.controllerPort() == 0;
        if (isBindFailure(e) && !portsChosenHere) {
          throw new IllegalArgumentException(
              "port "
                  + layout.port
                  + " or "
                  + layout.controllerPort
                  + " is already in use (another broker running?): stop that process or choose another"
                  + " port",
              e);
        }
        if (!isBindFailure(e) || attempt == START_ATTEMPTS) {
          throw new IllegalStateException(
              "Kafka broker failed to start on "
                  + layout.bootstrapServers()
                  + ": "
                  + e.getMessage(),
              e);
        }
        log.warn("port taken while starting the broker; retrying with fresh ports");
        layout = layout.withFreshPorts(settings);
      }
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    long t0 = System.nanoTime();
    stopQuietly(server);
    log.info(
        "Kafka broker at {} stopped in {} ms",
        bootstrapServers(),
        (System.nanoTime() - t0) / 1_000_000);
  }

  private static void stopQuietly(KafkaRaftServer server) {
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      log.warn("error while stopping the Kafka broker", e);
    }
  }

  private static boolean isBindFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException
          || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
        return true;
      }
    }
    return false;
  }
}
