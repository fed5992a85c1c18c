package io.rlstream.infra.internal;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Per assigned partition, the delivered records in offset order and the offset committed last. Only
 * the poll thread touches it. The committable offset of a partition is one past the longest
 * acknowledged prefix, so a commit never passes a record that is not acknowledged, even when
 * records are acknowledged out of order.
 */
final class AckLedger {
  private static final class Partition {
    final ArrayDeque<Ack> outstanding = new ArrayDeque<>();
    long committed = -1;
  }

  private final Map<TopicPartition, Partition> partitions = new HashMap<>();

  /** Registers a delivered record; returns its acknowledgement cell. */
  Ack deliver(TopicPartition tp, long offset) {
    Ack ack = new Ack(offset);
    partitions.computeIfAbsent(tp, k -> new Partition()).outstanding.addLast(ack);
    return ack;
  }

  /**
   * Offsets that may be committed and are beyond the last commit, for {@code only} or all if null.
   */
  Map<TopicPartition, OffsetAndMetadata> committable(Set<TopicPartition> only) {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    partitions.forEach(
        (tp, p) -> {
          if (only != null && !only.contains(tp)) {
            return;
          }
          long next = -1;
          while (!p.outstanding.isEmpty() && p.outstanding.peekFirst().isDone()) {
            next = p.outstanding.pollFirst().offset + 1;
          }
          if (next > p.committed) {
            out.put(tp, new OffsetAndMetadata(next));
            p.committed = next; // optimistic; reverted by failed() if the commit fails
          }
        });
    return out;
  }

  /** A commit of these offsets failed: offer them again next time. */
  void failed(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach(
        (tp, o) -> {
          Partition p = partitions.get(tp);
          if (p != null && p.committed == o.offset()) {
            p.committed = -1;
            p.outstanding.addFirst(doneAck(o.offset() - 1));
          }
        });
  }

  /**
   * Forgets partitions that left this member; later acknowledgements of their records are no-ops.
   */
  void remove(Set<TopicPartition> tps) {
    tps.forEach(partitions::remove);
  }

  /** Records delivered and not yet acknowledged, over all partitions. */
  int unacknowledged() {
    int n = 0;
    for (Partition p : partitions.values()) {
      for (Ack a : p.outstanding) {
        if (!a.isDone()) {
          n++;
        }
      }
    }
    return n;
  }

  private static Ack doneAck(long offset) {
    Ack a = new Ack(offset);
    a.done();
    return a;
  }
}
