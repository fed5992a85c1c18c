package io.rlstream.infra;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Where a consumer group that has never committed starts reading a topic: the earliest record, the
 * end, an offset, or the first record at or after a timestamp. A new judge back-fills with it; a
 * group that has committed offsets resumes from them and ignores its start position, so a restart
 * never re-reads or skips.
 */
public sealed interface StartPosition {
  /** From the oldest retained record. */
  record Earliest() implements StartPosition {}

  /** Only records written from now on. */
  record Latest() implements StartPosition {}

  /** From {@code offset} in every partition (clamped to what the partition retains). */
  record AtOffset(long offset) implements StartPosition {}

  /** From the first record with a timestamp at or after {@code epochMs} in every partition. */
  record AtTimestamp(long epochMs) implements StartPosition {}

  /**
   * {@code earliest}, {@code latest}, {@code offset:N}, {@code timestamp:MS} or {@code
   * time:ISO-8601} (e.g. {@code time:2026-11-22T10:00:00Z}).
   */
  static StartPosition parse(String text) {
    String t = text.trim();
    try {
      if (t.equals("earliest")) {
        return new Earliest();
      } else if (t.equals("latest")) {
        return new Latest();
      } else if (t.startsWith("offset:")) {
        long o = Long.parseLong(t.substring(7));
        if (o < 0) {
          throw new IllegalArgumentException("negative offset");
        }
        return new AtOffset(o);
      } else if (t.startsWith("timestamp:")) {
        return new AtTimestamp(Long.parseLong(t.substring(10)));
      } else if (t.startsWith("time:")) {
        return new AtTimestamp(java.time.Instant.parse(t.substring(5)).toEpochMilli());
      }
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read start position '" + text + "': " + e.getMessage(), e);
    }
    throw new IllegalArgumentException(
        "unknown start position '"
            + text
            + "': use earliest, latest, offset:N, timestamp:EPOCH_MS or time:2026-11-22T10:00:00Z");
  }

  /**
   * Commits this start position for {@code groupId} on every partition of {@code topic}, unless the
   * group already has committed offsets on the topic (then it resumes there). The group must have
   * no live members. Returns the offsets committed, empty when the group resumes.
   */
  default Map<TopicPartition, Long> applyIfNew(
      KafkaClientConfig config, String groupId, String topic) {
    try (Admin admin = Admin.create(config.admin())) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get();
      if (committed.keySet().stream().anyMatch(tp -> tp.topic().equals(topic))) {
        return Map.of();
      }
      Map<TopicPartition, Long> start = resolve(admin, topic);
      admin
          .alterConsumerGroupOffsets(
              groupId,
              start.entrySet().stream()
                  .collect(
                      Collectors.toMap(
                          Map.Entry::getKey, e -> new OffsetAndMetadata(e.getValue()))))
          .all()
          .get();
      return Map.copyOf(start);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while setting the start of " + groupId, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "could not set the start position of consumer group "
              + groupId
              + " on "
              + topic
              + ": "
              + e.getCause(),
          e.getCause());
    }
  }

  /**
   * The offset this position names in every partition of {@code topic}: offsets clamped to what the
   * partition retains; a time after the last record gives the end.
   */
  default Map<TopicPartition, Long> resolve(Admin admin, String topic)
      throws InterruptedException, ExecutionException {
    List<TopicPartition> partitions =
        admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().stream()
            .map(p -> new TopicPartition(topic, p.partition()))
            .toList();
    Map<TopicPartition, Long> earliest = offsets(admin, partitions, OffsetSpec.earliest());
    Map<TopicPartition, Long> latest = offsets(admin, partitions, OffsetSpec.latest());
    Map<TopicPartition, Long> byTime =
        this instanceof AtTimestamp ts
            ? offsets(admin, partitions, OffsetSpec.forTimestamp(ts.epochMs()))
            : Map.of();
    Map<TopicPartition, Long> out = new HashMap<>();
    for (TopicPartition tp : partitions) {
      long lo = earliest.get(tp);
      long hi = latest.get(tp);
      long at = lo;
      if (this instanceof Latest) {
        at = hi;
      } else if (this instanceof AtOffset o) {
        at = Math.max(lo, Math.min(hi, o.offset()));
      } else if (this instanceof AtTimestamp) {
        long o = byTime.get(tp);
        at = o < 0 ? hi : o; // no record that late: the end
      }
      out.put(tp, at);
    }
    return out;
  }

  /** The offset {@code spec} names in each of {@code partitions}. */
  private static Map<TopicPartition, Long> offsets(
      Admin admin, List<TopicPartition> partitions, OffsetSpec spec)
      throws InterruptedException, ExecutionException {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    partitions.forEach(tp -> request.put(tp, spec));
    Map<TopicPartition, ListOffsetsResultInfo> r = admin.listOffsets(request).all().get();
    Map<TopicPartition, Long> out = new HashMap<>();
    r.forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }
}
