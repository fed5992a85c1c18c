package io.rlstream.infra;

import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The outcome of one send: where the record landed, or why it failed after the producer's own
 * retries, with the caller's correlation value.
 */
public record SenderResult<T>(RecordMetadata metadata, Exception exception, T correlation) {
  /** True if the broker acknowledged the record. */
  public boolean ok() {
    return exception == null;
  }
}
