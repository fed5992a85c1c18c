package io.rlstream.infra;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer group's lag on its topics, as the broker sees it: the last stable offset (read
 * committed) minus the group's committed offset, summed over each topic's partitions; a partition
 * the group has not committed on counts from its start. Asked at most every {@code refresh} (a
 * scrape must not cost a round trip per meter), from one admin client. A committed transaction
 * leaves its marker after the last record, so a caught-up group on a transactional topic can read
 * one per partition, as {@code kafka-consumer-groups.sh} shows too.
 */
public final class ConsumerLag implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConsumerLag.class);

  private final KafkaClientConfig kafka;
  private final String group;
  private final List<String> topics;
  private final long refreshNanos;
  private Admin admin;
  private long askedAt;
  private Map<String, Long> last = Map.of();

  public ConsumerLag(
      KafkaClientConfig kafka, String group, Collection<String> topics, long refreshMillis) {
    this.kafka = kafka;
    this.group = group;
    this.topics = List.copyOf(topics);
    this.refreshNanos = TimeUnit.MILLISECONDS.toNanos(refreshMillis);
  }

  public String group() {
    return group;
  }

  public List<String> topics() {
    return topics;
  }

  /** The lag on {@code topic} (records), or NaN when the broker could not be asked. */
  public synchronized double lag(String topic) {
    long now = System.nanoTime();
    if (askedAt == 0 || now - askedAt >= refreshNanos) {
      askedAt = now;
      try {
        last = ask();
      } catch (Exception e) {
        log.debug("lag of {} not known: {}", group, e.toString());
        last = Map.of();
      }
    }
    Long v = last.get(topic);
    return v == null ? Double.NaN : v;
  }

  private Map<String, Long> ask() throws Exception {
    if (admin == null) {
      admin = Admin.create(kafka.admin());
    }
    List<TopicPartition> partitions = new ArrayList<>();
    admin
        .describeTopics(topics)
        .allTopicNames()
        .get(10, TimeUnit.SECONDS)
        .forEach(
            (name, d) ->
                d.partitions()
                    .forEach(p -> partitions.add(new TopicPartition(name, p.partition()))));
    Map<TopicPartition, Long> end = lastStableOffsets(admin, partitions);
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS);
    Map<String, Long> out = new HashMap<>();
    end.forEach(
        (tp, e) -> {
          OffsetAndMetadata c = committed.get(tp);
          long from = c == null ? 0 : c.offset();
          out.merge(tp.topic(), Math.max(0, e - from), Long::sum);
        });
    return out;
  }

  /**
   * The end of each partition as a read-committed consumer sees it (the last stable offset): where
   * lag is measured to, here and in {@code rlstream topics}.
   */
  public static Map<TopicPartition, Long> lastStableOffsets(
      Admin admin, Collection<TopicPartition> partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
    partitions.forEach(tp -> ask.put(tp, OffsetSpec.latest()));
    Map<TopicPartition, Long> end = new HashMap<>();
    admin
        .listOffsets(ask, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
        .all()
        .get(10, TimeUnit.SECONDS)
        .forEach((tp, i) -> end.put(tp, i.offset()));
    return end;
  }

  @Override
  public synchronized void close() {
    if (admin != null) {
      admin.close();
      admin = null;
    }
  }
}
