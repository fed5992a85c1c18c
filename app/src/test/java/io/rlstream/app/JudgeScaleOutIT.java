package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.infra.testing.Wait;
import io.rlstream.judge.llm.FakeChatServer;
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
 * consumer group, an LLM judge on a fake model that answers in 25 ms) share {@code rl.samples}' 3
 * partitions while groups keep arriving; one is killed with SIGKILL while it has judgements in an
 * open transaction, and never comes back. The survivor takes over its partitions (after the session
 * timeout) and judges what the dead one had read but not committed (its open transaction is aborted
 * after the transaction timeout): {@code rl.judgements}, read committed, holds exactly one
 * judgement per group. Both processes take their settings from one YAML config file, whose {@code
 * kafka.client} shortens those two timeouts.
 */
class JudgeScaleOutIT {
  private static final int GROUPS = 900;
  private static final int PER_SECOND = 40;

  @Test
  void killingOneOfTwoJudgeInstancesLosesNoGroup(@TempDir Path tmp) throws Exception {
    String prefix = SharedKafka.uniqueName("scale");
    TopicNames topics = TestTopics.pipeline(prefix);
    assertThat(TestTopics.endOffsets(topics.samples())).hasSize(3);
    FakeChatServer llm = FakeChatServer.start().delayNext(25, 1_000_000);
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
            // an LLM judge (one call per completion, 25 ms each): a transaction stays open long
            // enough for the kill to land inside one
            "  judge: llm,id=slow,endpoint=" + llm.endpoint() + ",concurrency=8",
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
      // kill it while it has judgements written in a transaction not yet committed
      boolean midTransaction = false;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!midTransaction && System.nanoTime() < deadline) {
        long open = by(judgements(topics, "read_uncommitted"), killedPid);
        long done = by(judgements(topics, "read_committed"), killedPid);
        midTransaction = open > done;
      }
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
      String dead = instance(killedPid);
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
              + " written in aborted transactions and judged again: %s (the dead instance was"
              + " killed %s)%n",
          GROUPS,
          recovery,
          producedFor,
          committed.size(),
          perGroup.size(),
          perGroup.values().stream().mapToLong(Long::longValue).max().orElse(0),
          byInstance,
          aborted(all, byInstance),
          midTransaction ? "with records in it" : "between transactions, as far as we saw");

      assertThat(perGroup).hasSize(GROUPS);
      assertThat(perGroup.values()).allMatch(n -> n == 1);
      assertThat(byInstance).hasSize(2);
      assertThat(midTransaction).as("the kill landed in an open transaction").isTrue();
      assertThat(takeover).isNotEmpty();
      assertThat(takeover.values()).allMatch(ms -> ms < 60_000);
      assertThat(judges.get(0).isAlive()).isTrue();
    } finally {
      producer.interrupt();
      llm.close();
      for (Process p : judges) {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  /** Per instance, judgements written but never committed (in aborted transactions). */
  private static Map<String, Long> aborted(List<Judgement> all, Map<String, Long> committed) {
    Map<String, Long> out = new TreeMap<>();
    count(all).forEach((k, n) -> out.put(k, n - committed.getOrDefault(k, 0L)));
    return out;
  }

  /** How a judge process names itself in provenance: pid@host. */
  private static String instance(long pid) {
    return pid + "@";
  }

  /** Judgements written by process {@code pid}. */
  private static long by(List<Judgement> js, long pid) {
    return js.stream()
        .filter(j -> j.getProvenance().getInstanceId().startsWith(instance(pid)))
        .count();
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
