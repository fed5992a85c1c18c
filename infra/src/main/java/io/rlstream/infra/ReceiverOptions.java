package io.rlstream.infra;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.TopicPartition;

/**
 * How a {@link KafkaReceiver} consumes.
 *
 * @param groupId consumer group; members of a group share the topics' partitions
 * @param topics topics to subscribe to
 * @param commitInterval how often acknowledged offsets are committed (asynchronously); they are
 *     also committed synchronously when partitions are revoked and when the receiver stops
 * @param pollTimeout longest a poll blocks; also the latency of resuming after back-pressure
 * @param prefetchBatches poll batches buffered ahead of the subscriber (each up to {@code
 *     max.poll.records}); at zero demand the assignment is paused, not dropped
 * @param closeTimeout longest the final commit and close may take
 * @param startOffsets where to start reading partitions the first time they are assigned,
 *     overriding the group's committed offsets (a learner resuming from a checkpoint that holds its
 *     own offsets); empty: the committed offsets
 */
public record ReceiverOptions(
    String groupId,
    List<String> topics,
    Duration commitInterval,
    Duration pollTimeout,
    int prefetchBatches,
    Duration closeTimeout,
    Map<TopicPartition, Long> startOffsets) {

  public ReceiverOptions {
    Objects.requireNonNull(groupId, "groupId");
    topics = List.copyOf(topics);
    startOffsets = Map.copyOf(startOffsets);
    if (topics.isEmpty()) {
      throw new IllegalArgumentException("a receiver needs at least one topic");
    }
    requirePositive(commitInterval, "commitInterval");
    requirePositive(pollTimeout, "pollTimeout");
    requirePositive(closeTimeout, "closeTimeout");
    if (prefetchBatches < 1) {
      throw new IllegalArgumentException("prefetchBatches must be >= 1, got " + prefetchBatches);
    }
  }

  /** Commit every second, poll up to 100 ms, 2 batches ahead, 30 s to close. */
  public static ReceiverOptions of(String groupId, String... topics) {
    return new ReceiverOptions(
        groupId,
        List.of(topics),
        Duration.ofSeconds(1),
        Duration.ofMillis(100),
        2,
        Duration.ofSeconds(30),
        Map.of());
  }

  public ReceiverOptions withCommitInterval(Duration interval) {
    return new ReceiverOptions(
        groupId, topics, interval, pollTimeout, prefetchBatches, closeTimeout, startOffsets);
  }

  public ReceiverOptions withPrefetchBatches(int batches) {
    return new ReceiverOptions(
        groupId, topics, commitInterval, pollTimeout, batches, closeTimeout, startOffsets);
  }

  public ReceiverOptions withStartOffsets(Map<TopicPartition, Long> offsets) {
    return new ReceiverOptions(
        groupId, topics, commitInterval, pollTimeout, prefetchBatches, closeTimeout, offsets);
  }

  private static void requirePositive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
  }
}
