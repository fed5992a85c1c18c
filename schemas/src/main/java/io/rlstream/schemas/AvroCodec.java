package io.rlstream.schemas;

import io.rlstream.schemas.SchemaCatalog.Release;
import io.rlstream.schemas.internal.BoundedBinaryDecoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Encodes and decodes one record type with Avro single-object encoding: the two marker bytes {@code
 * C3 01}, the writer schema's 8-byte little-endian fingerprint, then the Avro binary body (Avro
 * specification, "Single-object encoding"). The fingerprint selects the writer schema from the
 * {@link SchemaCatalog}, so a record written by any released version decodes into the current class
 * by Avro's schema-resolution rules.
 *
 * <p>Decoding is bounded: every declared length is checked against the input before anything is
 * allocated, and every failure, whatever the bytes, is a {@link RecordDecodeException}. Instances
 * are thread-safe.
 */
public final class AvroCodec<T extends SpecificRecord> {
  static final byte MARKER_0 = (byte) 0xC3;
  static final byte MARKER_1 = (byte) 0x01;
  static final int HEADER_LENGTH = 10;
  private static boolean trusted;

  static {
    trustGeneratedClasses();
  }

  private final Class<T> type;
  private final Schema schema;
  private final SchemaCatalog catalog;
  private final SpecificData data;
  private final SpecificDatumWriter<T> writer;
  private final byte[] header;
  private final ConcurrentMap<Long, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();

  private AvroCodec(Class<T> type, SchemaCatalog catalog) {
    this.type = type;
    this.catalog = catalog;
    this.data = SpecificData.getForClass(type);
    this.schema = data.getSchema(type);
    long fingerprint = SchemaCatalog.fingerprint(schema);
    if (catalog.find(fingerprint).isEmpty()) {
      throw new IllegalStateException(
          "schema of "
              + schema.getFullName()
              + " is not released, so records written with it could become unreadable: release it"
              + " as a new file under "
              + SchemaCatalog.RELEASED_DIR
              + " (SchemaEvolutionTest prints its content)");
    }
    this.writer = new SpecificDatumWriter<>(schema, data);
    this.header = new byte[HEADER_LENGTH];
    header[0] = MARKER_0;
    header[1] = MARKER_1;
    for (int i = 0; i < 8; i++) {
      header[2 + i] = (byte) (fingerprint >>> (8 * i));
    }
  }

  /** A codec for {@code type} that reads every version released with this build. */
  public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type) {
    return of(type, SchemaCatalog.released());
  }

  /** A codec for {@code type} that reads every writer schema in {@code catalog}. */
  public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type, SchemaCatalog catalog) {
    return new AvroCodec<>(
        Objects.requireNonNull(type, "type"), Objects.requireNonNull(catalog, "catalog"));
  }

  /** The current (reader and writer) schema. */
  public Schema schema() {
    return schema;
  }

  /**
   * Encodes {@code record}.
   *
   * @throws SerializationException if the record breaks its schema (a required field is null)
   */
  public byte[] encode(T record) {
    Objects.requireNonNull(record, "record");
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    out.write(header, 0, HEADER_LENGTH);
    try {
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      writer.write(record, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "cannot encode " + schema.getName() + ": " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  /** Decodes a whole array; see {@link #decode(byte[], int, int)}. */
  public T decode(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    return decode(bytes, 0, bytes.length);
  }

  /**
   * Decodes one single-object encoded record that fills the slice exactly. The result may share the
   * input array for {@code bytes} fields (read-only views): do not modify the input after.
   *
   * @throws RecordDecodeException for anything but a well-formed record of a known writer schema
   *     that resolves to this type
   */
  public T decode(byte[] bytes, int offset, int length) {
    Objects.requireNonNull(bytes, "bytes");
    if (length < HEADER_LENGTH) {
      throw new RecordDecodeException(
          "truncated input: " + length + " bytes, a single-object header takes " + HEADER_LENGTH);
    }
    if (bytes[offset] != MARKER_0 || bytes[offset + 1] != MARKER_1) {
      throw new RecordDecodeException(
          String.format(
              "not Avro single-object encoding: starts %02x %02x, expected c3 01",
              bytes[offset], bytes[offset + 1]));
    }
    SpecificDatumReader<T> reader = readerFor(fingerprint(bytes, offset));
    BoundedBinaryDecoder decoder =
        new BoundedBinaryDecoder(bytes, offset + HEADER_LENGTH, length - HEADER_LENGTH);
    T record;
    try {
      record = reader.read(null, decoder);
    } catch (RecordDecodeException e) {
      throw e;
    } catch (IOException
        | AvroRuntimeException
        | IndexOutOfBoundsException
        | ClassCastException e) {
      throw new RecordDecodeException("corrupt " + schema.getName() + ": " + e, e);
    }
    if (decoder.remaining() != 0) {
      throw new RecordDecodeException(
          decoder.remaining() + " trailing bytes after a " + schema.getName() + " record");
    }
    return record;
  }

  /**
   * True when {@code bytes} carry a record written with a released version of this type — how a
   * reader of a topic that holds several record types (such as {@code rl.policy}) tells them apart
   * without decoding.
   */
  public boolean writtenAs(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    return bytes.length >= HEADER_LENGTH
        && bytes[0] == MARKER_0
        && bytes[1] == MARKER_1
        && catalog
            .find(fingerprint(bytes, 0))
            .map(r -> r.fullName().equals(schema.getFullName()))
            .orElse(false);
  }

  private static long fingerprint(byte[] bytes, int offset) {
    long fingerprint = 0;
    for (int i = 0; i < 8; i++) {
      fingerprint |= (bytes[offset + 2 + i] & 0xffL) << (8 * i);
    }
    return fingerprint;
  }

  private SpecificDatumReader<T> readerFor(long fingerprint) {
    SpecificDatumReader<T> reader = readers.get(fingerprint);
    if (reader != null) {
      return reader;
    }
    Release release =
        catalog
            .find(fingerprint)
            .orElseThrow(
                () ->
                    new RecordDecodeException(
                        String.format(
                            "unknown writer schema fingerprint %016x: written by a schema version"
                                + " this build does not hold",
                            fingerprint)));
    if (!release.fullName().equals(schema.getFullName())) {
      throw new RecordDecodeException(
          "record is a " + release.fullName() + ", expected " + schema.getFullName());
    }
    return readers.computeIfAbsent(
        fingerprint, f -> new SpecificDatumReader<>(release.schema(), schema, data));
  }

  /**
   * Avro 1.12 refuses to instantiate classes outside a trusted list (CVE-2024-47561 hardening); our
   * generated records are trusted in addition to whatever the process already trusts. Called from
   * the static initialisers of the classes every record path goes through first (this codec, {@link
   * Packed}, {@link Provenances}); installs the predicate once.
   */
  static synchronized void trustGeneratedClasses() {
    if (trusted) {
      return;
    }
    trusted = true;
    ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
    ClassSecurityValidator.setGlobal(
        c -> c.getName().startsWith("io.rlstream.schemas.") || previous.isTrusted(c));
  }
}
