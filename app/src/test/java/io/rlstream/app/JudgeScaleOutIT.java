package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.TopicAdmin;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.infra.testing.Wait;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SamplingParams;
import io.rlstream.schemas.TopicNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scale-out on a real broker: two {@code rlstream judge} processes (instance ids 0 and 1, one
 * consumer group) share {@code rl.samples}' 3 partitions while groups keep arriving; one is killed
 * with SIGKILL mid-run and never comes back. The survivor takes over its partitions (after the
 * session timeout) and judges what the dead one had read but not committed (its open transaction is
 * aborted after the transaction timeout): {@code rl.judgements}, read committed, holds exactly one
 * judgement per group. Both processes take their settings from one YAML config file, whose {@code
 * kafka.client} shortens those two timeouts.
 */
class JudgeScaleOutIT {
  private static final int GROUPS = 900;
  private static final int PER_SECOND = 40;

  @Test
  void killingOneOfTwoJudgeInstancesLosesNoGroup(@TempDir Path tmp) throws Exception {
    String prefix = SharedKafka.uniqueName("scale");
    TopicNames topics = TopicNames.prefixed(prefix);
    try (TopicAdmin admin = new TopicAdmin(SharedKafka.config())) {
      admin.createIfAbsent(topics.specs());
    }
    assertThat(TestTopics.endOffsets(topics.samples())).hasSize(3);
    Path config = tmp.resolve("rlstream.yaml");
    Files.writeString(
        config,
        String.join(
            "\n",
            "kafka:",
            "  bootstrap-servers: " + SharedKafka.config().bootstrapServers(),
            "  topic-prefix: " + prefix,
            "  client:",
            "    session.timeout.ms: 10000",
            "    heartbeat.interval.ms: 1000",
            "    transaction.timeout.ms: 10000",
            "judge:",
            "  judge: math",
            "  metrics-port: -1",
            ""));

    List<Process> judges = List.of(judge(config, tmp, 0), judge(config, tmp, 1));
    AtomicInteger produced = new AtomicInteger();
    Thread producer = new Thread(() -> produce(topics.samples(), produced), "samples");
    try {
      producer.start();
      // both instances judge and commit, then one dies mid-run
      Wait.until(
          () -> count(judgements(topics, "read_committed")).size() == 2,
          Duration.ofSeconds(90),
          "both judge instances commit judgements");
      long killedPid = judges.get(1).pid();
      int producedAtKill = produced.get();
      Map<String, Long> atKill = count(judgements(topics, "read_committed"));
      long killedAtMs = System.currentTimeMillis();
      judges.get(1).destroyForcibly();
      judges.get(1).waitFor(30, TimeUnit.SECONDS);
      long killedAt = System.nanoTime();

      producer.join(TimeUnit.MINUTES.toMillis(2));
      double producedFor = (System.nanoTime() - killedAt) / 1e9;
      Wait.until(
          () -> distinctJudged(topics) == GROUPS,
          Duration.ofSeconds(120),
          "the surviving instance judges every group");
      double recovery = (System.nanoTime() - killedAt) / 1e9;

      List<Judgement> committed = judgements(topics, "read_committed");
      List<Judgement> all = judgements(topics, "read_uncommitted");
      Map<String, Long> perGroup =
          committed.stream()
              .collect(Collectors.groupingBy(Judgement::getGroupId, Collectors.counting()));
      Map<String, Long> byInstance = count(committed);
      // the partitions the dead instance held, and when the survivor's first judgement there came
      String dead = killedPid + "@";
      AvroCodec<Judgement> codec = AvroCodec.of(Judgement.class);
      Map<Integer, Long> takeover = new TreeMap<>();
      List<ConsumerRecord<byte[], byte[]>> records =
          TestTopics.readAll(topics.judgements(), "read_committed");
      records.stream()
          .filter(r -> codec.decode(r.value()).getProvenance().getInstanceId().startsWith(dead))
          .forEach(r -> takeover.put(r.partition(), Long.MAX_VALUE));
      for (ConsumerRecord<byte[], byte[]> r : records) {
        if (takeover.containsKey(r.partition())
            && r.timestamp() > killedAtMs
            && !codec.decode(r.value()).getProvenance().getInstanceId().startsWith(dead)) {
          takeover.merge(r.partition(), r.timestamp() - killedAtMs, Math::min);
        }
      }
      System.out.printf(
          "scale-out: %d groups on 3 partitions, 2 judge instances; instance 1 (pid %d) killed"
              + " with SIGKILL after %d groups were produced, when the instances had committed"
              + " %s%n",
          GROUPS, killedPid, producedAtKill, atKill);
      takeover.forEach(
          (partition, ms) ->
              System.out.printf(
                  "scale-out: partition %d of the dead instance: the survivor's first judgement"
                      + " there %.1f s after the kill%n",
                  partition, ms / 1e3));
      System.out.printf(
          "scale-out: all %d groups judged %.1f s after the kill (the last produced %.1f s after"
              + " it); rl.judgements read committed:"
              + " %d judgements, %d distinct groups, at most %d per group, by instance %s;"
              + " %d more were written in aborted transactions (the dead instance's open one)"
              + " and judged again%n",
          GROUPS,
          recovery,
          producedFor,
          committed.size(),
          perGroup.size(),
          perGroup.values().stream().mapToLong(Long::longValue).max().orElse(0),
          byInstance,
          all.size() - committed.size());

      assertThat(perGroup).hasSize(GROUPS);
      assertThat(perGroup.values()).allMatch(n -> n == 1);
      assertThat(byInstance).hasSize(2);
      assertThat(takeover).isNotEmpty();
      assertThat(takeover.values()).allMatch(ms -> ms < 60_000);
      assertThat(judges.get(0).isAlive()).isTrue();
    } finally {
      producer.interrupt();
      for (Process p : judges) {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  private static long distinctJudged(TopicNames topics) {
    return judgements(topics, "read_committed").stream()
        .map(Judgement::getGroupId)
        .distinct()
        .count();
  }

  /** Judgements per writing process. */
  private static Map<String, Long> count(List<Judgement> js) {
    return js.stream()
        .collect(
            Collectors.groupingBy(
                j -> j.getProvenance().getInstanceId(), TreeMap::new, Collectors.counting()));
  }

  private static List<Judgement> judgements(TopicNames topics, String isolation) {
    AvroCodec<Judgement> codec = AvroCodec.of(Judgement.class);
    List<Judgement> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : TestTopics.readAll(topics.judgements(), isolation)) {
      out.add(codec.decode(r.value()));
    }
    return out;
  }

  /** {@value #GROUPS} groups at about {@value #PER_SECOND} a second, as generators would. */
  private static void produce(String topic, AtomicInteger produced) {
    AvroCodec<SampleGroup> codec = AvroCodec.of(SampleGroup.class);
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            SharedKafka.config().producer(),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      for (int i = 0; i < GROUPS; i++) {
        String id = String.format("g-%04d", i);
        p.send(
            new ProducerRecord<>(
                topic, id.getBytes(StandardCharsets.UTF_8), codec.encode(group(id, i))));
        produced.incrementAndGet();
        if (i % PER_SECOND == PER_SECOND - 1) {
          p.flush();
          Thread.sleep(1000);
        }
      }
      p.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A problem {@code i}+{@code i}= with 4 completions, one of them right. */
  private static SampleGroup group(String id, int i) {
    List<Completion> cs = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      String text = String.valueOf(2 * i + c);
      cs.add(
          Completion.newBuilder()
              .setIndex(c)
              .setTokenIds(Packed.ints(new int[text.length()]))
              .setText(text)
              .setLogprobs(Packed.floats(new float[text.length()]))
              .setFinishReason(FinishReason.STOP)
              .build());
    }
    return SampleGroup.newBuilder()
        .setGroupId(id)
        .setRunId("scale-out")
        .setTaskId("arith")
        .setPromptId("p-" + i)
        .setPromptText(i + "+" + i + "=")
        .setPromptTokenIds(Packed.ints(new int[] {1, 2}))
        .setReferenceAnswer(String.valueOf(2 * i))
        .setCompletions(cs)
        .setPolicyVersion(0)
        .setSampling(SamplingParams.newBuilder().setTemperature(1f).setMaxNewTokens(4).build())
        .setSeed(i)
        .setMetadata(Map.of())
        .setProvenance(Provenances.now("scale-out-test"))
        .build();
  }

  private static Process judge(Path config, Path tmp, int instance) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd =
        List.of(
            java,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            Rlstream.class.getName(),
            "judge",
            "--config",
            config.toString(),
            "--instance-id",
            String.valueOf(instance));
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(tmp.resolve("judge-" + instance + ".log").toFile())
        .start();
  }
}
