package io.rlstream.infra.testing;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.schemas.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Plain kafka-clients helpers for tests: write records, read a whole topic, read offsets. */
public final class TestTopics {
  private TestTopics() {}

  /** Writes records synchronously with a plain idempotent producer. */
  public static void produce(List<ProducerRecord<byte[], byte[]>> records) {
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            SharedKafka.config().producer(),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        p.send(r);
      }
      p.flush();
    }
  }

  /**
   * Every record of {@code topic} on the shared broker once at least {@code minimum} are visible
   * (or after 60 s). A committed transaction's markers reach its partitions shortly after {@code
   * commitTransaction} returns, so a {@code read_committed} reader can lag the commit briefly.
   */
  public static List<ConsumerRecord<byte[], byte[]>> readAtLeast(
      String topic, String isolationLevel, int minimum) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<ConsumerRecord<byte[], byte[]>> all = readAll(topic, isolationLevel);
    while (all.size() < minimum && System.nanoTime() < deadline) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      all = readAll(topic, isolationLevel);
    }
    return all;
  }

  /** The pipeline's topics under {@code prefix}, created on the shared broker. */
  public static TopicNames pipeline(String prefix) {
    TopicNames topics = TopicNames.prefixed(prefix);
    try (TopicAdmin admin = new TopicAdmin(SharedKafka.config())) {
      admin.createIfAbsent(topics.specs());
    }
    return topics;
  }

  /** Every record of {@code topic} on the shared broker up to its current end. */
  public static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, String isolationLevel) {
    return readAll(SharedKafka.config(), topic, isolationLevel);
  }

  /** Every record of {@code topic} up to its current end, read with the given isolation level. */
  public static List<ConsumerRecord<byte[], byte[]>> readAll(
      KafkaClientConfig config, String topic, String isolationLevel) {
    Map<String, Object> props = new HashMap<>(config.consumer("reader-" + UUID.randomUUID()));
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolationLevel);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> tps =
          c.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))
          && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  /** End offsets of every partition of {@code topic}. */
  public static Map<TopicPartition, Long> endOffsets(String topic) {
    try (Admin admin = Admin.create(SharedKafka.config().admin())) {
      Set<String> names = Set.of(topic);
      var desc = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
      Map<TopicPartition, OffsetSpec> req = new HashMap<>();
      desc.partitions()
          .forEach(p -> req.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
      Map<TopicPartition, Long> out = new HashMap<>();
      admin
          .listOffsets(req)
          .all()
          .get(30, TimeUnit.SECONDS)
          .forEach((tp, info) -> out.put(tp, info.offset()));
      return out;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Offsets committed by {@code groupId}, by partition (partitions without a commit are absent).
   */
  public static Map<TopicPartition, Long> committed(String groupId) {
    try (Admin admin = Admin.create(SharedKafka.config().admin())) {
      Map<TopicPartition, OffsetAndMetadata> m =
          admin
              .listConsumerGroupOffsets(groupId)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      Map<TopicPartition, Long> out = new HashMap<>();
      m.forEach(
          (tp, o) -> {
            if (o != null) {
              out.put(tp, o.offset());
            }
          });
      return out;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
