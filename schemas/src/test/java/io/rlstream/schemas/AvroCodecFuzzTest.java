package io.rlstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.avro.specific.SpecificRecord;

/** Whatever bytes arrive, decoding returns a record or throws {@link RecordDecodeException}. */
class AvroCodecFuzzTest {
  private static final SyntheticRecords RECORDS = new SyntheticRecords(11);
  private static final SampleGroup GROUP = RECORDS.sampleGroup("g-fuzz", 3, 12);
  private static final List<Valid<?>> VALID =
      List.of(
          Valid.of(SampleGroup.class, GROUP),
          Valid.of(Judgement.class, RECORDS.judgement(GROUP, "math")),
          Valid.of(ScoredGroup.class, RECORDS.scoredGroup(GROUP)),
          Valid.of(PolicyAnnouncement.class, RECORDS.announcement(2, 1000, 2)),
          Valid.of(WeightChunk.class, RECORDS.weightChunk(2, 0, 2, 64)));

  record Valid<T extends SpecificRecord>(AvroCodec<T> codec, byte[] bytes) {
    static <T extends SpecificRecord> Valid<T> of(Class<T> type, T record) {
      AvroCodec<T> codec = AvroCodec.of(type);
      return new Valid<>(codec, codec.encode(record));
    }
  }

  @Property(tries = 2000)
  void randomBytesDecodeOrThrowTheDocumentedException(
      @ForAll @Size(max = 300) byte[] bytes, @ForAll @IntRange(max = 4) int type) {
    assertDecodesOrRefuses(VALID.get(type).codec(), bytes);
  }

  /** Random bodies behind a valid header reach the decoder proper, not just the header check. */
  @Property(tries = 3000)
  void randomBodiesBehindAValidHeaderDecodeOrThrow(
      @ForAll @Size(max = 300) byte[] body, @ForAll @IntRange(max = 4) int type) {
    Valid<?> valid = VALID.get(type);
    byte[] bytes = Arrays.copyOf(valid.bytes(), AvroCodec.HEADER_LENGTH + body.length);
    System.arraycopy(body, 0, bytes, AvroCodec.HEADER_LENGTH, body.length);
    assertDecodesOrRefuses(valid.codec(), bytes);
  }

  @Property(tries = 3000)
  void mutatedRecordsDecodeOrThrow(
      @ForAll @IntRange(max = 4) int type, @ForAll("mutations") List<int[]> mutations) {
    Valid<?> valid = VALID.get(type);
    byte[] bytes = valid.bytes().clone();
    for (int[] m : mutations) {
      int at =
          AvroCodec.HEADER_LENGTH + Math.floorMod(m[0], bytes.length - AvroCodec.HEADER_LENGTH);
      bytes[at] = (byte) m[1];
    }
    assertDecodesOrRefuses(valid.codec(), bytes);
  }

  @Provide
  Arbitrary<List<int[]>> mutations() {
    Arbitrary<int[]> one =
        Arbitraries.integers()
            .between(0, Integer.MAX_VALUE)
            .tuple2()
            .flatMap(t -> Arbitraries.integers().between(0, 255).map(v -> new int[] {t.get1(), v}));
    return one.list().ofMinSize(1).ofMaxSize(4);
  }

  private static void assertDecodesOrRefuses(AvroCodec<?> codec, byte[] bytes) {
    try {
      Object record = codec.decode(bytes);
      assertThat(record).isNotNull();
    } catch (RecordDecodeException expected) {
      assertThat(expected.getMessage()).isNotBlank();
    }
  }
}
