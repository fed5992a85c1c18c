package io.rlstream.infra.internal;

import io.rlstream.infra.BrokerSettings;
import io.rlstream.infra.KafkaBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/** An in-process broker in a fresh temporary directory that is deleted when the broker stops. */
public final class TemporaryBroker implements KafkaBroker {
  private final KafkaBroker broker;

  private TemporaryBroker(KafkaBroker broker) {
    this.broker = broker;
  }

  public static KafkaBroker start(String prefix, Map<String, String> overrides) {
    Path dir;
    try {
      dir = Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for the broker", e);
    }
    try {
      return new TemporaryBroker(
          InProcessBroker.start(new BrokerSettings(dir, 0, 0, overrides, 512)));
    } catch (RuntimeException e) {
      delete(dir);
      throw e;
    }
  }

  @Override
  public String bootstrapServers() {
    return broker.bootstrapServers();
  }

  @Override
  public Path dataDir() {
    return broker.dataDir();
  }

  @Override
  public String clusterId() {
    return broker.clusterId();
  }

  @Override
  public void close() {
    broker.close();
    delete(broker.dataDir());
  }

  private static void delete(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + root, e);
    }
  }
}
