package io.rlstream.infra;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads partitions from their beginning to their end as of now, without a consumer group
 * (read_committed, nothing committed): how a changelog is restored, a judge set is looked up and a
 * logged topic is replayed.
 */
public final class LogReader {
  private static final Duration POLL = Duration.ofMillis(200);

  private LogReader() {}

  /** A consumer without a group; the caller assigns and closes it. */
  public static KafkaConsumer<byte[], byte[]> open(KafkaClientConfig config) {
    return new KafkaConsumer<>(
        config.reader(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** Every partition of {@code topic}. */
  public static List<TopicPartition> partitions(
      KafkaConsumer<byte[], byte[]> consumer, String topic) {
    return consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
        .map(p -> new TopicPartition(topic, p.partition()))
        .toList();
  }

  /**
   * Hands {@code each} every record of {@code partitions}, from the beginning to their end offsets
   * as of the call.
   *
   * @param timeout how long the whole read may take, or null for no limit
   */
  public static void readAll(
      KafkaClientConfig config,
      Collection<TopicPartition> partitions,
      Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> consumer = open(config)) {
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      readToEnd(consumer, partitions, timeout, each);
    }
  }

  /**
   * Hands {@code each} every record of every partition of {@code topic}, from the beginning to the
   * end offsets as of the call, with one consumer.
   *
   * @param timeout how long the whole read may take, or null for no limit
   */
  public static void readTopic(
      KafkaClientConfig config,
      String topic,
      Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> consumer = open(config)) {
      List<TopicPartition> partitions = partitions(consumer, topic);
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      readToEnd(consumer, partitions, timeout, each);
    }
  }

  /**
   * Hands {@code each} what {@code consumer} reads of {@code partitions} from its positions up to
   * their end offsets as of the call; fails when {@code timeout} (null: none) runs out first.
   */
  public static void readToEnd(
      KafkaConsumer<byte[], byte[]> consumer,
      Collection<TopicPartition> partitions,
      Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
    long start = System.nanoTime();
    while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
      if (timeout != null && System.nanoTime() - start > timeout.toNanos()) {
        throw new IllegalStateException(
            "could not read " + partitions + " to their end within " + timeout);
      }
      consumer.poll(POLL).forEach(each);
    }
  }
}
