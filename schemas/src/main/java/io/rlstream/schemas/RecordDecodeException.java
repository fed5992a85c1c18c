package io.rlstream.schemas;

import org.apache.kafka.common.errors.SerializationException;

/**
 * The one exception a decode of rlstream record bytes throws: truncated or corrupt input, an
 * unknown writer schema, a declared length larger than the input, trailing bytes. Whatever bytes
 * arrive, decoding either returns a record or throws this; nothing else escapes (see {@code
 * AvroCodecFuzzTest}). It is a Kafka {@link SerializationException}, so a Kafka deserializer that
 * throws it is understood by the clients as a bad record rather than a broken consumer.
 */
public final class RecordDecodeException extends SerializationException {
  private static final long serialVersionUID = 1L;

  public RecordDecodeException(String message) {
    super(message);
  }

  public RecordDecodeException(String message, Throwable cause) {
    super(message, cause);
  }
}
