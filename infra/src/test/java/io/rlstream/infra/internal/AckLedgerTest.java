package io.rlstream.infra.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class AckLedgerTest {
  private static final TopicPartition P0 = new TopicPartition("t", 0);
  private static final TopicPartition P1 = new TopicPartition("t", 1);

  /** Delivers records at {@code offsets} of {@code tp} as one poll batch. */
  private static AckChunk deliver(AckLedger ledger, TopicPartition tp, long... offsets) {
    List<ConsumerRecord<byte[], byte[]>> records =
        LongStream.of(offsets)
            .mapToObj(
                o -> new ConsumerRecord<>(tp.topic(), tp.partition(), o, new byte[0], new byte[0]))
            .toList();
    return ledger.deliver(tp, records);
  }

  @Test
  void nothingIsCommittableUntilAcknowledged() {
    AckLedger ledger = new AckLedger();
    deliver(ledger, P0, 0, 1);
    assertThat(ledger.committable(null)).isEmpty();
    assertThat(ledger.unacknowledged()).isEqualTo(2);
  }

  @Test
  void commitStopsAtTheFirstUnacknowledgedRecordAcrossChunks() {
    AckLedger ledger = new AckLedger();
    AckChunk first = deliver(ledger, P0, 10, 11, 12);
    AckChunk second = deliver(ledger, P0, 13, 14);
    first.ack(0);
    first.ack(1);
    second.ack(0); // out of order: 12 is still open
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(12));
    first.ack(2);
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(14));
    assertThat(ledger.committable(null)).isEmpty(); // nothing new
    second.ack(1);
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(15));
    assertThat(ledger.unacknowledged()).isZero();
  }

  @Test
  void gapsInOffsetsAreCommittedPastTheLastRecord() {
    AckLedger ledger = new AckLedger(); // compacted topics and transaction markers leave gaps
    AckChunk c = deliver(ledger, P0, 3, 7, 20);
    c.ack(0);
    c.ack(1);
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(8));
  }

  @Test
  void partitionsAreIndependentAndCanBeSelected() {
    AckLedger ledger = new AckLedger();
    deliver(ledger, P0, 0).ack(0);
    deliver(ledger, P1, 5).ack(0);
    assertThat(ledger.committable(Set.of(P1))).isEqualTo(Map.of(P1, new OffsetAndMetadata(6)));
    assertThat(ledger.committable(null)).isEqualTo(Map.of(P0, new OffsetAndMetadata(1)));
  }

  @Test
  void aFailedCommitIsOfferedAgain() {
    AckLedger ledger = new AckLedger();
    deliver(ledger, P0, 0).ack(0);
    Map<TopicPartition, OffsetAndMetadata> first = ledger.committable(null);
    ledger.failed(first);
    assertThat(ledger.committable(null)).isEqualTo(first);
  }

  @Test
  void acknowledgementsOfRemovedPartitionsAreIgnored() {
    AckLedger ledger = new AckLedger();
    AckChunk stale = deliver(ledger, P0, 0);
    ledger.remove(Set.of(P0));
    stale.ack(0);
    assertThat(ledger.committable(null)).isEmpty();
    deliver(ledger, P0, 0).ack(0); // re-delivered to this member later
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(1));
  }

  @Test
  void recordsAreHandedOverOnceAndNotKeptByTheLedger() {
    AckLedger ledger = new AckLedger();
    AckChunk c = deliver(ledger, P0, 0, 1);
    assertThat(c.takeRecords()).hasSize(2);
    assertThat(c.takeRecords()).isNull();
  }
}
