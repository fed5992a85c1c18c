package io.rlstream.infra;

import java.util.Objects;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A record to send and a value of the caller's that comes back with its result (the input record to
 * acknowledge, a counter, a latch).
 */
public record SenderRecord<K, V, T>(ProducerRecord<K, V> record, T correlation) {
  public SenderRecord {
    Objects.requireNonNull(record, "record");
  }

  public static <K, V, T> SenderRecord<K, V, T> of(ProducerRecord<K, V> record, T correlation) {
    return new SenderRecord<>(record, correlation);
  }
}
