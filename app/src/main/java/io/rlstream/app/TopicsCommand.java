package io.rlstream.app;

import io.rlstream.infra.ConsumerLag;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.schemas.TopicSpec;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code rlstream topics}: the pipeline's topics on a cluster — what exists with which partitions
 * and settings, how many records each holds, and how far behind each consumer group is; {@code
 * create} makes the missing ones; {@code specs} prints the settings to create them by hand.
 */
final class TopicsCommand {
  static final String HELP =
      """
      usage: rlstream topics [list|create|specs] [options]

        list     (default) each rlstream topic: partitions, replication, records, settings; each
                 consumer group on them with its lag
        create   create the missing topics with rlstream's settings
        specs    print the topics' settings as kafka-topics.sh commands (for an existing cluster
                 where topics are created by an administrator)

      options:
      """;

  private TopicsCommand() {}

  static void run(String[] argv, PrintStream out) throws Exception {
    boolean hasVerb = argv.length > 0 && !argv[0].startsWith("--");
    String verb = hasVerb ? argv[0] : "list";
    String[] rest = hasVerb ? Arrays.copyOfRange(argv, 1, argv.length) : argv;
    Args a = new Args("topics", rest);
    if (a.help()) {
      out.print(HELP + ServiceCommands.KAFKA_HELP);
      return;
    }
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    a.rejectUnknown();
    List<TopicSpec> specs = k.topics().specs();
    switch (verb) {
      case "specs" -> {
        for (TopicSpec s : specs) {
          StringBuilder cmd =
              new StringBuilder(
                  String.format(
                      Locale.ROOT,
                      "kafka-topics.sh --bootstrap-server %s --create --topic %s --partitions %d"
                          + " --replication-factor 3",
                      k.config().bootstrapServers(),
                      s.name(),
                      s.partitions()));
          new TreeMap<>(s.configs())
              .forEach((key, v) -> cmd.append(" --config ").append(key).append('=').append(v));
          out.println("# " + s.doc());
          out.println(cmd);
        }
      }
      case "create" -> {
        try (TopicAdmin admin = new TopicAdmin(k.config())) {
          List<String> created = admin.createIfAbsent(specs);
          out.println(created.isEmpty() ? "all topics present" : "created " + created);
        }
      }
      case "list" -> list(k, specs, out);
      default ->
          throw new IllegalArgumentException(
              "topics: unknown action '" + verb + "'; use list, create or specs");
    }
  }

  private static void list(ServiceCommands.Kafka k, List<TopicSpec> specs, PrintStream out)
      throws Exception {
    List<String> names = specs.stream().map(TopicSpec::name).toList();
    Map<String, TopicAdmin.TopicInfo> info;
    try (TopicAdmin admin = new TopicAdmin(k.config())) {
      info = admin.describe(names);
    }
    try (Admin admin = Admin.create(k.config().admin())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (TopicAdmin.TopicInfo t : info.values()) {
        for (int p = 0; p < t.partitions(); p++) {
          partitions.add(new TopicPartition(t.name(), p));
        }
      }
      // the same end as the services' rlstream_consumer_lag: what read-committed consumers see
      Map<TopicPartition, Long> end = ConsumerLag.lastStableOffsets(admin, partitions);
      out.printf(
          Locale.ROOT,
          "%-40s %10s %4s %12s  %s%n",
          "topic",
          "partitions",
          "rf",
          "end offsets",
          "settings");
      for (TopicSpec s : specs) {
        TopicAdmin.TopicInfo t = info.get(s.name());
        if (t == null) {
          out.printf(Locale.ROOT, "%-40s %10s%n", s.name(), "MISSING (rlstream topics create)");
          continue;
        }
        long records =
            end.entrySet().stream()
                .filter(e -> e.getKey().topic().equals(s.name()))
                .mapToLong(Map.Entry::getValue)
                .sum();
        out.printf(
            Locale.ROOT,
            "%-40s %10d %4d %12d  %s%n",
            s.name(),
            t.partitions(),
            t.replicationFactor(),
            records,
            new TreeMap<>(t.configs()));
      }
      List<String> rows = new ArrayList<>();
      for (ConsumerGroupListing g : admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS)) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin
                .listConsumerGroupOffsets(g.groupId())
                .partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS);
        Map<String, long[]> perTopic = new TreeMap<>();
        committed.forEach(
            (tp, o) -> {
              if (o != null && end.containsKey(tp)) {
                long[] c = perTopic.computeIfAbsent(tp.topic(), x -> new long[2]);
                c[0] += o.offset();
                c[1] += Math.max(0, end.get(tp) - o.offset());
              }
            });
        perTopic.forEach(
            (topic, c) ->
                rows.add(
                    String.format(
                        Locale.ROOT, "%-32s %-40s %12d %8d", g.groupId(), topic, c[0], c[1])));
      }
      out.println();
      out.printf(
          Locale.ROOT, "%-32s %-40s %12s %8s%n", "consumer group", "topic", "committed", "lag");
      rows.stream().sorted().forEach(out::println);
    }
  }
}
