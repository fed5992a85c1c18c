package io.rlstream.infra.internal;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Per assigned partition, the delivered chunks in offset order, how far the acknowledged prefix
 * reaches and what was committed last. Only the poll thread touches it. The committable offset of a
 * partition is one past the longest acknowledged prefix, so a commit never passes a record that is
 * not acknowledged, even when records are acknowledged out of order.
 */
final class AckLedger {
  private static final class Partition {
    final ArrayDeque<AckChunk> chunks = new ArrayDeque<>();
    long acknowledged = -1;
    long committed = -1;
  }

  private final Map<TopicPartition, Partition> partitions = new HashMap<>();

  /** Registers the records of one partition from one poll, in offset order. */
  AckChunk deliver(TopicPartition tp, List<ConsumerRecord<byte[], byte[]>> records) {
    AckChunk chunk = new AckChunk(records);
    partitions.computeIfAbsent(tp, k -> new Partition()).chunks.addLast(chunk);
    return chunk;
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
          while (!p.chunks.isEmpty()) {
            AckChunk head = p.chunks.peekFirst();
            long next = head.advance();
            if (next > p.acknowledged) {
              p.acknowledged = next;
            }
            if (!head.complete()) {
              break;
            }
            p.chunks.pollFirst();
          }
          if (p.acknowledged > p.committed) {
            out.put(tp, new OffsetAndMetadata(p.acknowledged));
            p.committed = p.acknowledged; // optimistic; failed() takes it back
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
      for (AckChunk c : p.chunks) {
        n += c.unacknowledged();
      }
    }
    return n;
  }
}
