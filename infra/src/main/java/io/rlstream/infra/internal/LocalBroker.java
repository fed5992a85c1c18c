package io.rlstream.infra.internal;

import io.rlstream.infra.KafkaBroker;
import java.nio.file.Path;

/** What the in-process and child-process brokers share: a data directory laid out here. */
abstract class LocalBroker implements KafkaBroker {
  final BrokerLayout layout;
  private final String clusterId;

  LocalBroker(BrokerLayout layout, String clusterId) {
    this.layout = layout;
    this.clusterId = clusterId;
  }

  @Override
  public String bootstrapServers() {
    return layout.bootstrapServers();
  }

  @Override
  public Path dataDir() {
    return layout.dataDir;
  }

  @Override
  public String clusterId() {
    return clusterId;
  }
}
