package io.rlstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroCodecTest {
  private final SyntheticRecords records = new SyntheticRecords(7);

  @Test
  void everyRecordTypeRoundTrips() {
    SampleGroup group = records.sampleGroup("g-1", 8, 64);
    assertRoundTrip(SampleGroup.class, group);
    assertRoundTrip(Judgement.class, records.judgement(group, "math"));
    assertRoundTrip(ScoredGroup.class, records.scoredGroup(group));
    assertRoundTrip(PolicyAnnouncement.class, records.announcement(3, 1 << 20, 4));
    assertRoundTrip(WeightChunk.class, records.weightChunk(3, 1, 4, 4096));
  }

  @Test
  void packedArraysSurviveTheRoundTrip() {
    SampleGroup group = records.sampleGroup("g-2", 2, 16);
    SampleGroup decoded =
        AvroCodec.of(SampleGroup.class).decode(AvroCodec.of(SampleGroup.class).encode(group));
    Completion before = group.getCompletions().get(1);
    Completion after = decoded.getCompletions().get(1);
    assertThat(Packed.toInts(after.getTokenIds()))
        .containsExactly(Packed.toInts(before.getTokenIds()));
    assertThat(Packed.toFloats(after.getLogprobs()))
        .containsExactly(Packed.toFloats(before.getLogprobs()));
    assertThat(Packed.length(after.getTokenIds())).isEqualTo(16);
  }

  @Test
  void encodingIsStandardSingleObjectEncoding() throws Exception {
    SampleGroup group = records.sampleGroup("g-3", 2, 8);
    byte[] bytes = AvroCodec.of(SampleGroup.class).encode(group);
    // Avro's own decoder reads what we write: other Avro libraries can too.
    BinaryMessageDecoder<SampleGroup> avro = SampleGroup.getDecoder();
    assertThat(avro.decode(ByteBuffer.wrap(bytes))).isEqualTo(group);
    // And we read what Avro writes.
    assertThat(
            AvroCodec.of(SampleGroup.class).decode(SampleGroup.getEncoder().encode(group).array()))
        .isEqualTo(group);
  }

  @Test
  void recordWrittenWithAnOlderSchemaDecodesWithCurrentClasses() throws Exception {
    Schema older;
    try (var in = getClass().getResourceAsStream("/older/SampleGroup.v0.avsc")) {
      older = new Schema.Parser().parse(in);
    }
    GenericRecord old = olderGroup(older);
    byte[] bytes = singleObject(older, old);

    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).decode(bytes))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining("unknown writer schema fingerprint");

    AvroCodec<SampleGroup> codec =
        AvroCodec.of(SampleGroup.class, SchemaCatalog.released().with(older, 0));
    SampleGroup current = codec.decode(bytes);
    assertThat(current.getGroupId()).isEqualTo("old-1");
    assertThat(current.getPolicyEpoch()).isZero(); // added later, default
    assertThat(current.getMetadata()).isEmpty(); // added later, default
    assertThat(current.getSampling().getLogprobDistribution()).isEqualTo("sampling");
    assertThat(current.getCompletions().get(0).getSource()).isEqualTo(CompletionSource.POLICY);
    assertThat(Packed.toInts(current.getCompletions().get(0).getTokenIds()))
        .containsExactly(5, 6, 7);
  }

  @Test
  void kafkaSerdeRoundTripsAndKeepsTombstones() {
    AvroSerde<Judgement> serde = AvroSerde.of(Judgement.class);
    Judgement j = records.judgement(records.sampleGroup("g-4", 4, 8), "math");
    assertThat(serde.deserialize("rl.judgements", serde.serialize("rl.judgements", j)))
        .isEqualTo(j);
    assertThat(serde.serialize("t", null)).isNull();
    assertThat(serde.deserialize("t", null)).isNull();
  }

  @Test
  void wrongRecordTypeIsRefused() {
    byte[] judgement =
        AvroCodec.of(Judgement.class)
            .encode(records.judgement(records.sampleGroup("g", 2, 4), "m"));
    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).decode(judgement))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining(
            "is a io.rlstream.schemas.Judgement, expected io.rlstream.schemas.SampleGroup");
  }

  @Test
  void trailingAndTruncatedBytesAreRefused() {
    byte[] ok = AvroCodec.of(WeightChunk.class).encode(records.weightChunk(1, 0, 1, 16));
    byte[] longer = Arrays.copyOf(ok, ok.length + 1);
    assertThatThrownBy(() -> AvroCodec.of(WeightChunk.class).decode(longer))
        .isInstanceOf(RecordDecodeException.class)
        .hasMessageContaining("trailing");
    for (int cut = 0; cut < ok.length; cut++) {
      byte[] shorter = Arrays.copyOf(ok, cut);
      assertThatThrownBy(() -> AvroCodec.of(WeightChunk.class).decode(shorter))
          .isInstanceOf(RecordDecodeException.class);
    }
  }

  @Test
  void encodingAnIncompleteRecordSaysWhichField() {
    SampleGroup group = records.sampleGroup("g", 1, 4);
    group.setPromptText(null);
    assertThatThrownBy(() -> AvroCodec.of(SampleGroup.class).encode(group))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("promptText");
  }

  private static <T extends org.apache.avro.specific.SpecificRecord> void assertRoundTrip(
      Class<T> type, T record) {
    AvroCodec<T> codec = AvroCodec.of(type);
    byte[] bytes = codec.encode(record);
    assertThat(bytes[0]).isEqualTo((byte) 0xC3);
    assertThat(bytes[1]).isEqualTo((byte) 0x01);
    assertThat(codec.decode(bytes)).isEqualTo(record);
  }

  private static GenericRecord olderGroup(Schema older) {
    Schema completion = older.getField("completions").schema().getElementType();
    GenericRecord c = new GenericData.Record(completion);
    c.put("index", 0);
    c.put("tokenIds", Packed.ints(new int[] {5, 6, 7}));
    c.put("text", "567");
    c.put("logprobs", Packed.floats(new float[] {-0.1f, -0.2f, -0.3f}));
    c.put(
        "finishReason",
        new GenericData.EnumSymbol(completion.getField("finishReason").schema(), "STOP"));
    GenericRecord sampling = new GenericData.Record(older.getField("sampling").schema());
    sampling.put("temperature", 1.0f);
    sampling.put("topP", 1.0f);
    sampling.put("topK", 0);
    sampling.put("maxNewTokens", 8);
    sampling.put("stopTokenIds", List.of());
    sampling.put("stopStrings", List.of());
    GenericRecord prov = new GenericData.Record(older.getField("provenance").schema());
    prov.put("producer", "generator");
    prov.put("producerVersion", "0.0.9");
    prov.put("instanceId", "");
    prov.put("createdAtMs", 1L);
    GenericRecord g = new GenericData.Record(older);
    g.put("groupId", "old-1");
    g.put("runId", "r");
    g.put("taskId", "arith");
    g.put("promptId", "p");
    g.put("promptText", "1+2=");
    g.put("promptTokenIds", Packed.ints(new int[] {1, 2, 3}));
    g.put("referenceAnswer", "3");
    g.put("completions", List.of(c));
    g.put("policyVersion", 4L);
    g.put("sampling", sampling);
    g.put("seed", 9L);
    g.put("legacyNote", "dropped by the current schema");
    g.put("provenance", prov);
    return g;
  }

  private static byte[] singleObject(Schema schema, GenericRecord record) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long fp = SchemaCatalog.fingerprint(schema);
    out.write(new byte[] {(byte) 0xC3, 0x01});
    for (int i = 0; i < 8; i++) {
      out.write((int) (fp >>> (8 * i)) & 0xff);
    }
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(schema, GenericData.get()).write(record, enc);
    enc.flush();
    return out.toByteArray();
  }
}
