package io.rlstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A few bytes that declare absurd lengths must fail at once without allocating them. Surefire runs
 * this class alone in a JVM with a 48 MiB heap (execution "small-heap" in schemas/pom.xml), where
 * allocating what the bytes declare would throw OutOfMemoryError.
 */
class AllocationBombTest {
  private static final long HUGE = 2_000_000_000L;

  @BeforeAll
  static void runsUnderASmallHeap() {
    assertThat(Runtime.getRuntime().maxMemory()).isLessThan(128L << 20);
  }

  @Test
  void arrayDeclaringTwoBillionCompletionsFailsFast() throws IOException {
    byte[] bomb = sampleGroupUpToCompletions(enc -> enc.writeLong(HUGE));
    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).decode(bomb))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining("declares 2000000000 items");
  }

  @Test
  void negativeBlockCountWithHugeByteSizeFailsFast() throws IOException {
    byte[] bomb =
        sampleGroupUpToCompletions(
            enc -> {
              enc.writeLong(-HUGE);
              enc.writeLong(HUGE * 4);
            });
    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).decode(bomb))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining("block declares");
  }

  @Test
  void stringDeclaringTwoGigabytesFailsFast() throws IOException {
    byte[] bomb = withHeader(SampleGroup.class, enc -> enc.writeLong(Integer.MAX_VALUE));
    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).decode(bomb))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining("string declares 2147483647 bytes");
  }

  @Test
  void bytesFieldDeclaringTwoGigabytesFailsFast() throws IOException {
    byte[] bomb =
        withHeader(
            WeightChunk.class,
            enc -> {
              enc.writeLong(1); // version
              enc.writeLong(0); // epoch
              enc.writeInt(0); // index
              enc.writeInt(1); // count
              enc.writeLong(0); // offsetBytes
              enc.writeLong(Integer.MAX_VALUE); // data length
            });
    assertThatThrownBy(() -> AvroCodec.of(WeightChunk.class).decode(bomb))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining("bytes declares 2147483647 bytes");
  }

  @Test
  void lengthBeyondIntRangeFailsFast() throws IOException {
    byte[] bomb = withHeader(SampleGroup.class, enc -> enc.writeLong(Long.MAX_VALUE));
    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).decode(bomb))
        .isInstanceOf(RecordDecodeException.class);
  }

  interface Body {
    void write(BinaryEncoder enc) throws IOException;
  }

  private static byte[] sampleGroupUpToCompletions(Body completions) throws IOException {
    return withHeader(
        SampleGroup.class,
        enc -> {
          for (int i = 0; i < 5; i++) {
            enc.writeString("x"); // groupId, runId, taskId, promptId, promptText
          }
          enc.writeBytes(ByteBuffer.allocate(4)); // promptTokenIds
          enc.writeIndex(0); // referenceAnswer: null
          completions.write(enc);
        });
  }

  private static <T extends org.apache.avro.specific.SpecificRecord> byte[] withHeader(
      Class<T> type, Body body) throws IOException {
    byte[] valid = AvroCodec.of(type).encode(validRecord(type));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(valid, 0, AvroCodec.HEADER_LENGTH);
    BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(out, null);
    body.write(enc);
    enc.flush();
    return out.toByteArray();
  }

  @SuppressWarnings("unchecked")
  private static <T extends org.apache.avro.specific.SpecificRecord> T validRecord(Class<T> type) {
    SyntheticRecords r = new SyntheticRecords(1);
    return (T) (type == WeightChunk.class ? r.weightChunk(1, 0, 1, 4) : r.sampleGroup("g", 1, 2));
  }
}
