package io.rlstream.infra;

import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/** A change of a group member's partitions, as the consumer's rebalance listener saw it. */
public record AssignmentEvent(Kind kind, Set<TopicPartition> partitions) {
  public enum Kind {
    ASSIGNED,
    REVOKED,
    LOST
  }
}
