package io.rlstream.infra.testing;

import io.rlstream.infra.BrokerSettings;
import io.rlstream.infra.KafkaBroker;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.schemas.TopicSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The one real Kafka broker of a test JVM: started in-process on first use, stopped and deleted
 * when the JVM exits. Tests stay independent by using fresh topic and group names ({@link
 * #uniqueName}).
 */
public final class SharedKafka {
  private static KafkaBroker broker;
  private static Path dir;

  private SharedKafka() {}

  /** The broker, started on first call. */
  public static synchronized KafkaBroker broker() {
    if (broker == null) {
      try {
        dir = Files.createTempDirectory("rlstream-test-kafka");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      broker = KafkaBroker.inProcess(BrokerSettings.of(dir));
      Runtime.getRuntime().addShutdownHook(new Thread(SharedKafka::stop, "shared-kafka-stop"));
    }
    return broker;
  }

  /** Client settings for the shared broker. */
  public static KafkaClientConfig config() {
    return KafkaClientConfig.of(broker().bootstrapServers());
  }

  /** Client settings for the shared broker with {@code extra} settings. */
  public static KafkaClientConfig config(Map<String, ?> extra) {
    return KafkaClientConfig.of(broker().bootstrapServers(), extra);
  }

  /** A name no other test uses: {@code prefix-<random>}. */
  public static String uniqueName(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Creates a fresh topic with {@code partitions} partitions; returns its name. */
  public static String createTopic(String prefix, int partitions) {
    return createTopic(prefix, partitions, Map.of());
  }

  /** Creates a fresh topic with configs; returns its name. */
  public static String createTopic(String prefix, int partitions, Map<String, String> configs) {
    String name = uniqueName(prefix);
    try (TopicAdmin admin = new TopicAdmin(config())) {
      admin.createIfAbsent(List.of(new TopicSpec(name, partitions, configs, "test topic")));
    }
    return name;
  }

  private static synchronized void stop() {
    if (broker != null) {
      broker.close();
      deleteRecursively(dir);
    }
  }

  /** Deletes a directory tree, ignoring what is already gone. */
  public static void deleteRecursively(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort in a shutdown hook
    }
  }
}
