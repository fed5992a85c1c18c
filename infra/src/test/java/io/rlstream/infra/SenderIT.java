package io.rlstream.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

class SenderIT {

  @Test
  void sendsEveryRecordInOrderPerKeyWithBoundedInFlight() {
    String topic = SharedKafka.createTopic("sender-order", 3);
    int n = 3000;
    int maxInFlight = 16;
    AtomicInteger maxSeen = new AtomicInteger();
    AtomicReference<KafkaSender<String, byte[]>> self = new AtomicReference<>();
    Serializer<byte[]> probe =
        (t, v) -> {
          // runs inside producer.send, after the record is counted as in flight
          maxSeen.accumulateAndGet(self.get().inFlight(), Math::max);
          return v;
        };
    try (KafkaSender<String, byte[]> sender =
        KafkaSender.create(
            SharedKafka.config(),
            new StringSerializer(),
            probe,
            SenderOptions.defaults().withMaxInFlight(maxInFlight))) {
      self.set(sender);
      Flux<SenderRecord<String, byte[], Integer>> records =
          Flux.range(0, n)
              .map(
                  i ->
                      SenderRecord.of(
                          new ProducerRecord<>(
                              topic, "key-" + (i % 7), ByteBuffer.allocate(4).putInt(i).array()),
                          i));
      List<SenderResult<Integer>> results =
          sender.send(records).collectList().block(Duration.ofSeconds(60));
      assertThat(results).hasSize(n).allMatch(SenderResult::ok);
      assertThat(results.stream().map(SenderResult::correlation).distinct().count()).isEqualTo(n);
      assertThat(maxSeen.get()).isBetween(2, maxInFlight);
      assertThat(sender.inFlight()).isZero();
    }
    Map<String, Integer> lastPerKey = new HashMap<>();
    List<ConsumerRecord<byte[], byte[]>> all = TestTopics.readAll(topic, "read_committed");
    assertThat(all).hasSize(n);
    all.stream()
        .sorted(
            (a, b) ->
                a.partition() != b.partition()
                    ? Integer.compare(a.partition(), b.partition())
                    : Long.compare(a.offset(), b.offset()))
        .forEach(
            r -> {
              String key = new String(r.key(), StandardCharsets.UTF_8);
              int seq = ByteBuffer.wrap(r.value()).getInt();
              Integer last = lastPerKey.put(key, seq);
              assertThat(last == null || last < seq)
                  .as("order of %s: %s after %s", key, seq, last)
                  .isTrue();
            });
  }

  @Test
  void producerSendNeverRunsOnAReactorThread() {
    String topic = SharedKafka.createTopic("sender-threads", 1);
    Set<String> threads = ConcurrentHashMap.newKeySet();
    Serializer<String> probe =
        (t, v) -> {
          threads.add(Thread.currentThread().getName()); // serializers run inside producer.send
          return v.getBytes(StandardCharsets.UTF_8);
        };
    try (KafkaSender<String, String> sender =
        KafkaSender.create(SharedKafka.config(), probe, probe, SenderOptions.defaults())) {
      Flux<SenderRecord<String, String, Integer>> fromParallel =
          Flux.range(0, 200)
              .publishOn(Schedulers.parallel())
              .map(i -> SenderRecord.of(new ProducerRecord<>(topic, "k", "v" + i), i));
      StepVerifier.create(sender.send(fromParallel)).expectNextCount(200).verifyComplete();
      sender.send(new ProducerRecord<>(topic, "k", "single")).block(Duration.ofSeconds(30));
    }
    assertThat(threads).isNotEmpty().allMatch(name -> name.startsWith("rlstream-send-"));
  }

  @Test
  void aFailedSendEndsTheStreamOrComesBackAsAResult() {
    String topic = SharedKafka.createTopic("sender-errors", 1, Map.of("max.message.bytes", "2048"));
    byte[] tooBig = new byte[64 * 1024];
    try (KafkaSender<String, byte[]> stopping =
            KafkaSender.create(
                SharedKafka.config(Map.of("compression.type", "none")),
                new StringSerializer(),
                new ByteArraySerializer(),
                SenderOptions.defaults());
        KafkaSender<String, byte[]> continuing =
            KafkaSender.create(
                SharedKafka.config(Map.of("compression.type", "none")),
                new StringSerializer(),
                new ByteArraySerializer(),
                SenderOptions.defaults().withStopOnError(false))) {
      Flux<SenderRecord<String, byte[], Integer>> records =
          Flux.range(0, 5)
              .map(
                  i ->
                      SenderRecord.of(
                          new ProducerRecord<>(topic, "k", i == 2 ? tooBig : new byte[10]), i));

      StepVerifier.create(stopping.send(records.take(3)).map(SenderResult::correlation))
          .expectNext(0, 1)
          .expectError(RecordTooLargeException.class)
          .verify(Duration.ofSeconds(60));

      List<SenderResult<Integer>> results =
          continuing.send(records).collectList().block(Duration.ofSeconds(60));
      assertThat(results).hasSize(5);
      assertThat(results)
          .filteredOn(r -> !r.ok())
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.correlation()).isEqualTo(2);
                assertThat(r.exception()).isInstanceOf(RecordTooLargeException.class);
              });
    }
  }
}
