package io.rlstream.infra.internal;

import io.rlstream.infra.BrokerSettings;
import io.rlstream.schemas.Topics;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * What an embedded broker's data directory holds and how it is configured: the ports it was first
 * started on ({@code rlstream-broker.properties}), the KRaft log directory, and the broker configs.
 * Shared by the in-process and child-process brokers.
 */
final class BrokerLayout {
  static final String PORTS_FILE = "rlstream-broker.properties";

  final Path dataDir;
  final Path logDir;
  final int port;
  final int controllerPort;
  final Map<String, String> overrides;

  private BrokerLayout(Path dataDir, int port, int controllerPort, Map<String, String> overrides) {
    this.dataDir = dataDir;
    this.logDir = dataDir.resolve("kraft");
    this.port = port;
    this.controllerPort = controllerPort;
    this.overrides = overrides;
  }

  /**
   * The layout for {@code settings}: explicit ports win; otherwise the ports saved by an earlier
   * start on this directory; otherwise free ones, saved for the next start.
   */
  static BrokerLayout prepare(BrokerSettings settings) {
    Path dir = settings.dataDir().toAbsolutePath();
    try {
      Files.createDirectories(dir);
      Properties saved = new Properties();
      Path file = dir.resolve(PORTS_FILE);
      if (Files.exists(file)) {
        try (Reader r = Files.newBufferedReader(file)) {
          saved.load(r);
        }
      }
      int port = choose(settings.port(), saved.getProperty("port"));
      int controllerPort = choose(settings.controllerPort(), saved.getProperty("controller.port"));
      while (controllerPort == port) {
        controllerPort = freePort();
      }
      saved.setProperty("port", Integer.toString(port));
      saved.setProperty("controller.port", Integer.toString(controllerPort));
      try (Writer w = Files.newBufferedWriter(file)) {
        saved.store(w, "ports of the rlstream embedded broker; reused on restart");
      }
      return new BrokerLayout(dir, port, controllerPort, settings.overrides());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare broker data directory " + dir, e);
    }
  }

  /** The layout with fresh free ports, after a start lost a race for its ports. */
  BrokerLayout withFreshPorts(BrokerSettings settings) {
    try {
      Files.deleteIfExists(dataDir.resolve(PORTS_FILE));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return prepare(settings);
  }

  String bootstrapServers() {
    return "localhost:" + port;
  }

  /**
   * Single-node KRaft configs. Internal topics get replication factor 1 and min ISR 1, otherwise
   * consumer groups and transactions hang on one node; the log cleaner's dedupe buffer is cut from
   * 128 MiB (allocated on heap) to 2 MiB.
   */
  Map<String, String> configs() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("process.roles", "broker,controller");
    c.put("node.id", "1");
    c.put("controller.quorum.voters", "1@localhost:" + controllerPort);
    c.put(
        "listeners", "PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
    c.put("advertised.listeners", "PLAINTEXT://localhost:" + port);
    c.put("controller.listener.names", "CONTROLLER");
    c.put("inter.broker.listener.name", "PLAINTEXT");
    c.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    c.put("log.dirs", logDir.toString());
    c.put("num.partitions", "1");
    c.put("default.replication.factor", "1");
    c.put("min.insync.replicas", "1");
    c.put("auto.create.topics.enable", "false");
    c.put("offsets.topic.replication.factor", "1");
    c.put("offsets.topic.num.partitions", "5");
    c.put("transaction.state.log.replication.factor", "1");
    c.put("transaction.state.log.min.isr", "1");
    c.put("transaction.state.log.num.partitions", "5");
    c.put("share.coordinator.state.topic.replication.factor", "1");
    c.put("share.coordinator.state.topic.min.isr", "1");
    c.put("group.initial.rebalance.delay.ms", "0");
    c.put("log.cleaner.dedupe.buffer.size", "2097152");
    c.put("message.max.bytes", Integer.toString(Topics.MAX_RECORD_BYTES + 1024));
    c.put("replica.fetch.max.bytes", Integer.toString(Topics.MAX_RECORD_BYTES + 1024));
    c.putAll(overrides);
    return c;
  }

  /** Formats the log directory unless an earlier start did; returns the cluster id. */
  String formatIfNeeded() {
    Path meta = logDir.resolve("meta.properties");
    try {
      if (Files.exists(meta)) {
        return readClusterId(meta);
      }
      Files.createDirectories(logDir);
      String clusterId = Uuid.randomUuid().toString();
      new Formatter()
          .setPrintStream(
              new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8))
          .setNodeId(1)
          .setClusterId(clusterId)
          .addDirectory(logDir.toString())
          .setMetadataLogDirectory(logDir.toString())
          .setControllerListenerName("CONTROLLER")
          .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
          .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
          .run();
      return clusterId;
    } catch (Exception e) {
      throw new IllegalStateException(
          "cannot format Kafka storage in " + logDir + ": " + e.getMessage(), e);
    }
  }

  private static String readClusterId(Path meta) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(meta)) {
      p.load(r);
    }
    return p.getProperty("cluster.id");
  }

  private static int choose(int requested, String saved) {
    if (requested != 0) {
      return requested;
    }
    if (saved != null) {
      return Integer.parseInt(saved);
    }
    return freePort();
  }

  /** A port free right now; another process can still take it before the broker binds. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("localhost", 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port", e);
    }
  }
}
