package io.rlstream.judge;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The judge contract without our judge classes: a judge written only from the {@code .avsc} files,
 * Avro {@code GenericRecord}s and plain kafka-clients — what a Python or Go judge does — is joined
 * by the assembler like any other. The judge below reads {@code rl.samples} in its own consumer
 * group, scores each completion by its length, and writes a single-object-encoded {@code Judgement}
 * keyed by the group id to the sample's partition number of {@code rl.judgements}.
 */
class AnyLanguageJudgeIT {
  private static final Path AVRO = Path.of("../schemas/src/main/avro");

  @Test
  void aJudgeBuiltFromTheSchemaFilesAloneIsJoinedByTheAssembler() throws Exception {
    TopicNames topics = TopicNames.prefixed(SharedKafka.uniqueName("polyglot"));
    KafkaClientConfig kafka = SharedKafka.config();
    try (TopicAdmin admin = new TopicAdmin(kafka)) {
      admin.createIfAbsent(topics.specs());
    }
    int n = 20;
    List<ProducerRecord<byte[], byte[]>> samples = new ArrayList<>();
    AvroCodec<SampleGroup> codec = AvroCodec.of(SampleGroup.class);
    for (int i = 0; i < n; i++) {
      SampleGroup g = Groups.group("p" + i, "7", List.of("a", "bbb", "cc"));
      samples.add(
          new ProducerRecord<>(
              topics.samples(), g.getGroupId().getBytes(StandardCharsets.UTF_8), codec.encode(g)));
    }
    TestTopics.produce(samples);
    JudgeSets.publish(
        kafka,
        topics.assemblerConfig(),
        JudgeSets.parse(
            "main", "polyglot=1.0", "weighted_sum", 1, "partial", Duration.ofMinutes(5)));

    try (Assembler asm = new Assembler(kafka, topics, Assembler.Options.of("main", "0")).start()) {
      runGenericJudge(SharedKafka.broker().bootstrapServers(), topics, n);
      JudgePipelineIT.waitUntil(() -> asm.emitted() >= n, "groups judged by the generic judge");
    }
    AvroCodec<ScoredGroup> scored = AvroCodec.of(ScoredGroup.class);
    List<ConsumerRecord<byte[], byte[]>> out =
        TestTopics.readAtLeast(topics.scored(), "read_committed", n);
    assertThat(out).hasSize(n);
    for (ConsumerRecord<byte[], byte[]> r : out) {
      ScoredGroup s = scored.decode(r.value());
      assertThat(s.getRewards()).containsExactly(1.0, 3.0, 2.0);
      assertThat(s.getJudgements())
          .singleElement()
          .satisfies(
              j -> {
                assertThat(j.getJudgeId()).isEqualTo("polyglot");
                assertThat(j.getProvenance().getProducer()).isEqualTo("judge/polyglot (generic)");
              });
    }
  }

  /** The whole judge: plain clients, generic records, schemas parsed from the .avsc files. */
  private static void runGenericJudge(String bootstrap, TopicNames topics, int expected)
      throws Exception {
    Schema.Parser parser = new Schema.Parser();
    for (String f :
        List.of(
            "Provenance",
            "SamplingParams",
            "Completion",
            "CompletionScore",
            "PairwisePreference",
            "SampleGroup",
            "Judgement")) {
      parser.parse(Files.readString(AVRO.resolve(f + ".avsc")));
    }
    Schema sampleSchema = parser.getTypes().get("io.rlstream.schemas.SampleGroup");
    Schema judgementSchema = parser.getTypes().get("io.rlstream.schemas.Judgement");
    Schema scoreSchema = parser.getTypes().get("io.rlstream.schemas.CompletionScore");
    Schema provenanceSchema = parser.getTypes().get("io.rlstream.schemas.Provenance");
    BinaryMessageDecoder<GenericRecord> decoder =
        new BinaryMessageDecoder<>(GenericData.get(), sampleSchema);
    BinaryMessageEncoder<GenericRecord> encoder =
        new BinaryMessageEncoder<>(GenericData.get(), judgementSchema);

    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", "rl-judge-polyglot");
    c.put("isolation.level", "read_committed");
    c.put("auto.offset.reset", "earliest");
    c.put("enable.auto.commit", "false");
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    int judged = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      consumer.subscribe(List.of(topics.samples()));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (judged < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          GenericRecord group = decoder.decode(r.value());
          List<GenericRecord> scores = new ArrayList<>();
          for (Object o : (List<?>) group.get("completions")) {
            GenericRecord completion = (GenericRecord) o;
            GenericRecord score = new GenericData.Record(scoreSchema);
            score.put("completionIndex", completion.get("index"));
            score.put("score", (double) completion.get("text").toString().length());
            scores.add(score);
          }
          GenericRecord provenance = new GenericData.Record(provenanceSchema);
          provenance.put("producer", "judge/polyglot (generic)");
          provenance.put("producerVersion", "0.0.1");
          provenance.put("instanceId", "test");
          provenance.put("createdAtMs", System.currentTimeMillis());
          GenericRecord j = new GenericData.Record(judgementSchema);
          j.put("judgementId", UUID.randomUUID().toString());
          j.put("groupId", group.get("groupId").toString());
          j.put("judgeId", "polyglot");
          j.put("judgeVersion", "1");
          j.put(
              "kind",
              new GenericData.EnumSymbol(judgementSchema.getField("kind").schema(), "POINTWISE"));
          j.put("scores", scores);
          j.put("preferences", List.of());
          j.put("policyVersion", group.get("policyVersion"));
          j.put("latencyMs", 0L);
          j.put("inputTokens", 0L);
          j.put("outputTokens", 0L);
          j.put("costUsd", 0.0);
          j.put("provenance", provenance);
          java.nio.ByteBuffer buffer = encoder.encode(j);
          byte[] value = new byte[buffer.remaining()];
          buffer.get(value);
          // same key, same partition number as the sample: the contract the assembler joins on
          producer.send(new ProducerRecord<>(topics.judgements(), r.partition(), r.key(), value));
          judged++;
        }
        producer.flush();
        consumer.commitSync();
      }
    }
    assertThat(judged).isEqualTo(expected);
  }
}
