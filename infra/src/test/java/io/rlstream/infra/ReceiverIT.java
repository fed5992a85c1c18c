package io.rlstream.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.schemas.AvroSerde;
import io.rlstream.schemas.RecordDecodeException;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SyntheticRecords;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class ReceiverIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void slowSubscriberHoldsConsumptionPastMaxPollIntervalWithoutRebalanceOrLoss() {
    String topic = SharedKafka.createTopic("backpressure", 2);
    String group = SharedKafka.uniqueName("slow");
    int n = 120;
    produceStrings(topic, n);
    KafkaClientConfig config =
        SharedKafka.config(Map.of("max.poll.interval.ms", 1000, "max.poll.records", 10));
    KafkaReceiver<String, String> receiver =
        KafkaReceiver.create(
            config,
            ReceiverOptions.of(group, topic),
            new StringDeserializer(),
            new StringDeserializer());
    List<String> seen = new CopyOnWriteArrayList<>();
    List<Long> arrivals = new CopyOnWriteArrayList<>();
    // a few records at a time; two of them take 2.5 s each, over twice max.poll.interval.ms
    receiver
        .receive()
        .limitRate(3)
        .concatMap(
            r ->
                Mono.delay(Duration.ofMillis(Set.of("v10", "v60").contains(r.value()) ? 2500 : 10))
                    .thenReturn(r),
            1)
        .doOnNext(
            r -> {
              arrivals.add(System.nanoTime());
              seen.add(r.value());
              r.acknowledge();
            })
        .take(n)
        .then()
        .block(WAIT);
    long longestStallMs = 0;
    for (int i = 1; i < arrivals.size(); i++) {
      longestStallMs =
          Math.max(longestStallMs, (arrivals.get(i) - arrivals.get(i - 1)) / 1_000_000);
    }
    assertThat(longestStallMs).isGreaterThan(2000); // consumption held past max.poll.interval.ms
    assertThat(seen).hasSize(n).doesNotHaveDuplicates();
    List<AssignmentEvent> events =
        receiver.assignments().take(Duration.ofMillis(500)).collectList().block(WAIT);
    assertThat(events)
        .extracting(AssignmentEvent::kind)
        .containsExactly(AssignmentEvent.Kind.ASSIGNED, AssignmentEvent.Kind.REVOKED);
    assertThat(TestTopics.committed(group)).isEqualTo(TestTopics.endOffsets(topic));
  }

  @Test
  void acknowledgedButUncommittedRecordsAreRedeliveredAndCommittedOnesAreNot() {
    String topic = SharedKafka.createTopic("at-least-once", 1);
    String group = SharedKafka.uniqueName("alo");
    produceStrings(topic, 20);
    ReceiverOptions options =
        ReceiverOptions.of(group, topic).withCommitInterval(Duration.ofHours(1));
    KafkaReceiver<String, String> first =
        KafkaReceiver.create(
            SharedKafka.config(), options, new StringDeserializer(), new StringDeserializer());
    List<String> firstSeen = new ArrayList<>();
    first
        .receive()
        .concatMap(
            r -> {
              firstSeen.add(r.value());
              r.acknowledge();
              if (firstSeen.size() == 10) {
                return first.commit().thenReturn(r); // 0..9 committed
              }
              if (firstSeen.size() == 20) {
                first.abort(); // 10..19 acknowledged, never committed: a crash
              }
              return Mono.just(r);
            })
        .then()
        .block(WAIT);
    assertThat(firstSeen).containsExactlyElementsOf(values(0, 20));
    assertThat(TestTopics.committed(group)).containsValue(10L);

    KafkaReceiver<String, String> second =
        KafkaReceiver.create(
            SharedKafka.config(),
            ReceiverOptions.of(group, topic),
            new StringDeserializer(),
            new StringDeserializer());
    List<String> secondSeen =
        second
            .receive()
            .doOnNext(ReceiverRecord::acknowledge)
            .map(ReceiverRecord::value)
            .take(10)
            .collectList()
            .block(WAIT);
    assertThat(secondSeen).containsExactlyElementsOf(values(10, 20));
    assertThat(TestTopics.committed(group)).containsValue(20L);
  }

  @Test
  void poisonRecordGoesToTheDeadLetterTopicAndEveryGoodRecordGetsThrough() {
    String topic = SharedKafka.createTopic("poison", 1);
    String dlq = SharedKafka.createTopic("dlq", 1);
    String group = SharedKafka.uniqueName("poison");
    AvroSerde<SampleGroup> serde = AvroSerde.of(SampleGroup.class);
    SyntheticRecords synthetic = new SyntheticRecords(3);
    List<ProducerRecord<byte[], byte[]>> input = new ArrayList<>();
    byte[] poison = "definitely not avro".getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 9; i++) {
      if (i == 4) {
        RecordHeaders h = new RecordHeaders();
        h.add("trace-id", "abc".getBytes(StandardCharsets.UTF_8));
        input.add(
            new ProducerRecord<>(topic, null, "bad".getBytes(StandardCharsets.UTF_8), poison, h));
      }
      SampleGroup g = synthetic.sampleGroup("g-" + i, 4, 16);
      input.add(
          new ProducerRecord<>(
              topic, g.getGroupId().getBytes(StandardCharsets.UTF_8), serde.serialize(topic, g)));
    }
    TestTopics.produce(input);

    try (KafkaSender<byte[], byte[]> dlqSender =
        KafkaSender.create(
            SharedKafka.config(),
            new ByteArraySerializer(),
            new ByteArraySerializer(),
            SenderOptions.defaults())) {
      DeadLetters deadLetters = new DeadLetters(dlqSender, "receiver-it", dlq);
      KafkaReceiver<String, SampleGroup> receiver =
          KafkaReceiver.create(
              SharedKafka.config(),
              ReceiverOptions.of(group, topic),
              new StringDeserializer(),
              serde,
              deadLetters);
      List<String> ids =
          receiver
              .receive()
              .doOnNext(ReceiverRecord::acknowledge)
              .map(r -> r.value().getGroupId())
              .take(9)
              .collectList()
              .block(WAIT);
      assertThat(ids)
          .containsExactly("g-0", "g-1", "g-2", "g-3", "g-4", "g-5", "g-6", "g-7", "g-8");
      assertThat(deadLetters.sent()).isEqualTo(1);
    }
    List<ConsumerRecord<byte[], byte[]>> dead = TestTopics.readAll(dlq, "read_committed");
    assertThat(dead)
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.value()).isEqualTo(poison);
              assertThat(new String(d.key(), StandardCharsets.UTF_8)).isEqualTo("bad");
              assertThat(DeadLetters.header(d.headers(), DeadLetters.SOURCE_TOPIC))
                  .isEqualTo(topic);
              assertThat(DeadLetters.header(d.headers(), DeadLetters.SOURCE_PARTITION))
                  .isEqualTo("0");
              assertThat(DeadLetters.header(d.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("4");
              assertThat(DeadLetters.header(d.headers(), DeadLetters.EXCEPTION_CLASS))
                  .isEqualTo(RecordDecodeException.class.getName());
              assertThat(DeadLetters.header(d.headers(), DeadLetters.EXCEPTION_MESSAGE))
                  .contains("not Avro single-object encoding");
              assertThat(DeadLetters.header(d.headers(), DeadLetters.STAGE))
                  .isEqualTo("receiver-it");
              assertThat(DeadLetters.header(d.headers(), "trace-id")).isEqualTo("abc");
            });
    assertThat(TestTopics.committed(group))
        .isEqualTo(TestTopics.endOffsets(topic)); // moved past it
  }

  @Test
  void withoutDeadLettersAPoisonRecordEndsTheStreamAndIsNotCommittedPast() {
    String topic = SharedKafka.createTopic("poison-no-dlq", 1);
    String group = SharedKafka.uniqueName("strict");
    AvroSerde<SampleGroup> serde = AvroSerde.of(SampleGroup.class);
    SampleGroup good = new SyntheticRecords(5).sampleGroup("ok", 2, 4);
    TestTopics.produce(
        List.of(
            new ProducerRecord<>(topic, null, serde.serialize(topic, good)),
            new ProducerRecord<>(topic, null, new byte[] {1, 2, 3}),
            new ProducerRecord<>(topic, null, serde.serialize(topic, good))));
    KafkaReceiver<String, SampleGroup> receiver =
        KafkaReceiver.create(
            SharedKafka.config(),
            ReceiverOptions.of(group, topic),
            new StringDeserializer(),
            serde);
    StepVerifier.create(receiver.receive().doOnNext(ReceiverRecord::acknowledge))
        .expectNextCount(1)
        .expectErrorSatisfies(
            e ->
                assertThat(e)
                    .isInstanceOf(SerializationException.class)
                    .hasMessageContaining(topic + "-0@1"))
        .verify(WAIT);
    assertThat(TestTopics.committed(group)).containsValue(1L);
  }

  /** Regression: commit() after the stream ended used to wait forever on the exited poll loop. */
  @Test
  void commitAfterTheStreamEndedFailsInsteadOfHanging() throws Exception {
    String topic = SharedKafka.createTopic("commit-after-end", 1);
    String group = SharedKafka.uniqueName("ended");
    produceStrings(topic, 3);
    KafkaReceiver<String, String> receiver =
        KafkaReceiver.create(
            SharedKafka.config(),
            ReceiverOptions.of(group, topic),
            new StringDeserializer(),
            new StringDeserializer());
    receiver.receive().doOnNext(ReceiverRecord::acknowledge).take(3).then().block(WAIT);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (pollThreadAlive(group) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(pollThreadAlive(group)).isFalse();
    StepVerifier.create(receiver.commit())
        .expectErrorSatisfies(
            e ->
                assertThat(e)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("not running"))
        .verify(Duration.ofSeconds(10));
  }

  private static boolean pollThreadAlive(String group) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals("rlstream-poll-" + group) && t.isAlive());
  }

  private static void produceStrings(String topic, int n) {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      records.add(
          new ProducerRecord<>(
              topic,
              ("k" + (i % 5)).getBytes(StandardCharsets.UTF_8),
              ("v" + i).getBytes(StandardCharsets.UTF_8)));
    }
    TestTopics.produce(records);
  }

  private static List<String> values(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "v" + i).toList();
  }
}
