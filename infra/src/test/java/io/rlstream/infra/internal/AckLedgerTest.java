package io.rlstream.infra.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class AckLedgerTest {
  private static final TopicPartition P0 = new TopicPartition("t", 0);
  private static final TopicPartition P1 = new TopicPartition("t", 1);

  @Test
  void nothingIsCommittableUntilAcknowledged() {
    AckLedger ledger = new AckLedger();
    ledger.deliver(P0, 0);
    ledger.deliver(P0, 1);
    assertThat(ledger.committable(null)).isEmpty();
    assertThat(ledger.unacknowledged()).isEqualTo(2);
  }

  @Test
  void commitStopsAtTheFirstUnacknowledgedRecord() {
    AckLedger ledger = new AckLedger();
    List<Ack> acks = new ArrayList<>();
    for (long o = 10; o < 15; o++) {
      acks.add(ledger.deliver(P0, o));
    }
    acks.get(0).done();
    acks.get(1).done();
    acks.get(3).done(); // out of order: 12 is still open
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(12));
    acks.get(2).done();
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(14));
    assertThat(ledger.committable(null)).isEmpty(); // nothing new
    acks.get(4).done();
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(15));
  }

  @Test
  void partitionsAreIndependentAndCanBeSelected() {
    AckLedger ledger = new AckLedger();
    ledger.deliver(P0, 0).done();
    ledger.deliver(P1, 5).done();
    assertThat(ledger.committable(Set.of(P1))).isEqualTo(Map.of(P1, new OffsetAndMetadata(6)));
    assertThat(ledger.committable(null)).isEqualTo(Map.of(P0, new OffsetAndMetadata(1)));
  }

  @Test
  void aFailedCommitIsOfferedAgain() {
    AckLedger ledger = new AckLedger();
    ledger.deliver(P0, 0).done();
    Map<TopicPartition, OffsetAndMetadata> first = ledger.committable(null);
    ledger.failed(first);
    assertThat(ledger.committable(null)).isEqualTo(first);
  }

  @Test
  void acknowledgementsOfRemovedPartitionsAreIgnored() {
    AckLedger ledger = new AckLedger();
    Ack stale = ledger.deliver(P0, 0);
    ledger.remove(Set.of(P0));
    stale.done();
    assertThat(ledger.committable(null)).isEmpty();
    ledger.deliver(P0, 0).done(); // re-delivered to this member later
    assertThat(ledger.committable(null)).containsEntry(P0, new OffsetAndMetadata(1));
  }
}
