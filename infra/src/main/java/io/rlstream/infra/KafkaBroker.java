package io.rlstream.infra;

import io.rlstream.infra.internal.ChildProcessBroker;
import io.rlstream.infra.internal.InProcessBroker;
import io.rlstream.infra.internal.TemporaryBroker;
import java.nio.file.Path;
import java.util.Map;

/**
 * A real single-node Kafka broker (KRaft, broker and controller in one node) started from the Kafka
 * jars on the classpath: nothing is downloaded and no Docker is needed. Stopping it keeps its data;
 * starting again on the same data directory brings back the same cluster, topics, offsets and
 * ports.
 *
 * <p>Two ways to run it: {@link #inProcess} inside this JVM (the demo and the tests) and {@link
 * #childProcess} as a separate JVM that this process owns and stops (isolation without a cluster).
 * For a real deployment, point clients at an external cluster instead.
 */
public interface KafkaBroker extends AutoCloseable {

  /** Starts a broker inside this JVM. */
  static KafkaBroker inProcess(BrokerSettings settings) {
    return InProcessBroker.start(settings);
  }

  /**
   * Starts a throwaway broker inside this JVM, in a fresh temporary directory (named from {@code
   * prefix}) that {@link #close()} deletes; {@code overrides} replace broker defaults.
   */
  static KafkaBroker temporary(String prefix, Map<String, String> overrides) {
    return TemporaryBroker.start(prefix, overrides);
  }

  /** Starts a broker as a child JVM and waits until it answers. */
  static KafkaBroker childProcess(BrokerSettings settings) {
    return ChildProcessBroker.start(settings);
  }

  /** The {@code bootstrap.servers} value clients use, e.g. {@code localhost:9092}. */
  String bootstrapServers();

  /** Where the broker keeps its logs and metadata. */
  Path dataDir();

  /** The cluster id, kept across restarts on the same data directory. */
  String clusterId();

  /** Stops the broker cleanly and waits for it; data is kept. Idempotent. */
  @Override
  void close();
}
