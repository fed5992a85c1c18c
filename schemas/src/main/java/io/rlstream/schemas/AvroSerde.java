package io.rlstream.schemas;

import java.util.Map;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer and deserializer of one rlstream record type, by {@link AvroCodec}: Avro
 * single-object encoding, no schema registry. Deserialization throws {@link RecordDecodeException}
 * for bad bytes; a null value (a tombstone) stays null.
 */
public final class AvroSerde<T extends SpecificRecord> implements Serializer<T>, Deserializer<T> {
  private final AvroCodec<T> codec;

  public AvroSerde(AvroCodec<T> codec) {
    this.codec = Objects.requireNonNull(codec, "codec");
  }

  /** A serde for {@code type} reading every released version. */
  public static <T extends SpecificRecord> AvroSerde<T> of(Class<T> type) {
    return new AvroSerde<>(AvroCodec.of(type));
  }

  /** Nothing to configure: the schema store is on the classpath. */
  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {}

  @Override
  public byte[] serialize(String topic, T data) {
    return data == null ? null : codec.encode(data);
  }

  @Override
  public byte[] serialize(String topic, Headers headers, T data) {
    return serialize(topic, data);
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return data == null ? null : codec.decode(data);
  }

  @Override
  public T deserialize(String topic, Headers headers, byte[] data) {
    return deserialize(topic, data);
  }

  @Override
  public void close() {}
}
