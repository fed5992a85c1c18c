package io.rlstream.infra;

import io.rlstream.infra.internal.AckChunk;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Headers;

/**
 * A consumed record and its acknowledgement. Acknowledge once the record is fully handled (its
 * output durable); the receiver commits an offset only when every earlier record of the partition
 * is acknowledged too. A record never acknowledged is delivered again after a restart.
 */
public final class ReceiverRecord<K, V> {
  private final ConsumerRecord<byte[], byte[]> raw;
  private final K key;
  private final V value;
  private final AckChunk chunk;
  private final int index;

  ReceiverRecord(ConsumerRecord<byte[], byte[]> raw, K key, V value, AckChunk chunk, int index) {
    this.raw = raw;
    this.key = key;
    this.value = value;
    this.chunk = chunk;
    this.index = index;
  }

  public K key() {
    return key;
  }

  public V value() {
    return value;
  }

  public String topic() {
    return raw.topic();
  }

  public int partition() {
    return raw.partition();
  }

  public long offset() {
    return raw.offset();
  }

  public long timestamp() {
    return raw.timestamp();
  }

  public Headers headers() {
    return raw.headers();
  }

  /** The record as it came off the wire: what a dead letter carries. */
  public ConsumerRecord<byte[], byte[]> raw() {
    return raw;
  }

  /** Marks the record handled; its offset may now be committed. Idempotent, any thread. */
  public void acknowledge() {
    chunk.ack(index);
  }

  @Override
  public String toString() {
    return raw.topic() + "-" + raw.partition() + "@" + raw.offset();
  }
}
