package io.rlstream.infra;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * How to start a {@link KafkaBroker}.
 *
 * @param dataDir where logs and metadata live; reused across restarts
 * @param port client (PLAINTEXT) port; 0 picks a free one on first start and reuses it after
 * @param controllerPort KRaft controller port; 0 picks a free one likewise
 * @param overrides broker configs that replace the defaults (e.g. {@code log.retention.hours})
 * @param childHeapMb heap of a child-process broker, MiB
 */
public record BrokerSettings(
    Path dataDir, int port, int controllerPort, Map<String, String> overrides, int childHeapMb) {

  public BrokerSettings {
    Objects.requireNonNull(dataDir, "dataDir");
    requirePort(port, "port");
    requirePort(controllerPort, "controllerPort");
    overrides = Map.copyOf(overrides);
    if (childHeapMb < 128) {
      throw new IllegalArgumentException("childHeapMb must be >= 128, got " + childHeapMb);
    }
  }

  /** Settings with free ports, no overrides and a 512 MiB child heap. */
  public static BrokerSettings of(Path dataDir) {
    return new BrokerSettings(dataDir, 0, 0, Map.of(), 512);
  }

  public BrokerSettings withPort(int clientPort) {
    return new BrokerSettings(dataDir, clientPort, controllerPort, overrides, childHeapMb);
  }

  private static void requirePort(int p, String name) {
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException(
          name + " must be 0 (pick a free one) or 1-65535, got " + p);
    }
  }
}
