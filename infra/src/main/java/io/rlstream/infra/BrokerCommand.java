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

  /** Parses {@code args}, starts the broker and blocks until the JVM is asked to stop. */
  public static void run(String[] args) throws InterruptedException {
    int port = 9092;
    Path dir = defaultDataDir();
    boolean childProcess = false;
    boolean topics = true;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = port(value(args, ++i, "--port"));
        case "--data-dir" -> dir = Path.of(value(args, ++i, "--data-dir"));
        case "--process" -> childProcess = true;
        case "--no-topics" -> topics = false;
        case "-h", "--help" -> {
          System.out.print(USAGE);
          return;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
      }
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

  private static int port(String text) {
    try {
      int p = Integer.parseInt(text);
      if (p >= 1 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "--port needs a port number from 1 to 65535, got '" + text + "'");
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value\n" + USAGE);
    }
    return args[i];
  }
}
