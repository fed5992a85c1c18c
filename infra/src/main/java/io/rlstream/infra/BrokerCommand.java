package io.rlstream.infra;

import io.rlstream.schemas.Topics;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code rlstream broker}: a real Kafka broker in the foreground, data kept under {@code
 * .data/broker} (or {@code --data-dir}), the pipeline's topics created if absent. Ctrl-C stops it
 * cleanly; starting it again on the same directory brings everything back.
 */
public final class BrokerCommand {
  public static final String USAGE =
      """
      usage: rlstream broker [--port N] [--data-dir DIR] [--process] [--no-topics]

      Runs a single-node Kafka broker (KRaft) in the foreground until Ctrl-C.
        --port N        client port (default 9092)
        --data-dir DIR  where logs and metadata live (default .data/broker in the repository);
                        kept across restarts
        --process       run the broker in a child JVM owned by this command
        --no-topics     do not create the rlstream topics (rl.samples, rl.scored, ...)
      """;

  private BrokerCommand() {}

  /**
   * Starts the broker on {@code port} with its data in {@code dir} ({@code null}: {@link
   * #defaultDataDir()}), in a child JVM with {@code childProcess}, creates the pipeline's topics
   * with {@code topics}, and blocks until the JVM is asked to stop. The flags are parsed by the
   * {@code rlstream up} command, which may also take them from the config file.
   */
  public static void run(Path dir, int port, boolean childProcess, boolean topics)
      throws InterruptedException {
    if (dir == null) {
      dir = defaultDataDir();
    }
    BrokerSettings settings = BrokerSettings.of(dir).withPort(port);
    KafkaBroker broker =
        childProcess ? KafkaBroker.childProcess(settings) : KafkaBroker.inProcess(settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("stopping the broker...");
                  broker.close();
                  System.out.println("broker stopped; data kept in " + broker.dataDir());
                  stopped.countDown();
                },
                "rlstream-broker-stop"));
    if (topics) {
      try (TopicAdmin admin = new TopicAdmin(KafkaClientConfig.of(broker.bootstrapServers()))) {
        List<String> created = admin.createIfAbsent(Topics.all());
        System.out.println(
            created.isEmpty() ? "topics: all present" : "topics created: " + created);
      }
    }
    System.out.println(
        "Kafka broker ready: bootstrap.servers="
            + broker.bootstrapServers()
            + " cluster="
            + broker.clusterId()
            + " data="
            + broker.dataDir()
            + " (Ctrl-C stops it)");
    stopped.await();
  }

  /**
   * {@code .data/broker} under the repository root when started by the {@code ./rlstream} launcher
   * (which sets {@code RLSTREAM_HOME}), else under the working directory.
   */
  static Path defaultDataDir() {
    String home = System.getenv("RLSTREAM_HOME");
    Path root = home == null || home.isBlank() ? Path.of("") : Path.of(home);
    return root.resolve(".data").resolve("broker");
  }
}
