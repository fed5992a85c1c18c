package io.rlstream.judge;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.DeadLetters;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.StartPosition;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.infra.testing.Wait;
import io.rlstream.judge.llm.FakeChatServer;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * Judges, the assembler and judge sets on the real broker: exactly one scored group per sample
 * group across an assembler restart, a judge set changed while the assembler runs, a judge that
 * joins late and back-fills from a time of its choosing, partial groups after the timeout, and a
 * failing judge dead-lettered with the reason after its retries.
 */
class JudgePipelineIT {
  private static final AvroCodec<SampleGroup> SAMPLES = AvroCodec.of(SampleGroup.class);
  private static final AvroCodec<ScoredGroup> SCORED = AvroCodec.of(ScoredGroup.class);

  private TopicNames topics;
  private KafkaClientConfig kafka;

  @BeforeEach
  void topics() {
    topics = TopicNames.prefixed(SharedKafka.uniqueName("judges"));
    kafka = SharedKafka.config();
    try (TopicAdmin admin = new TopicAdmin(kafka)) {
      admin.createIfAbsent(topics.specs());
    }
  }

  @Test
  void assemblerSurvivesRestartAndJudgeSetsChangeWhileItRuns() throws Exception {
    int n = 120;
    produce("a", n);
    publish("math=1.0,len=0.5", "partial", 600_000);
    Judge math = Judges.create(JudgeSpec.of("math"));
    Judge len = Judges.create(JudgeSpec.parse("length,id=len,max=4,buffer=2,truncated=false"));
    try (JudgeService mathService = service(math, new StartPosition.Earliest())) {
      mathService.start();
      Assembler first = assembler().start();
      // only math answers: every group waits for len, in the changelog
      waitUntil(() -> first.counts().pending() >= n, "all groups waiting for len");
      assertThat(first.emitted()).isZero();
      first.close();
      assertThat(first.counts().handedOver()).isEqualTo(n); // left in the changelog, not lost

      try (JudgeService lenService = service(len, new StartPosition.Earliest());
          Assembler second = assembler()) {
        lenService.start();
        second.start();
        waitUntil(() -> second.emitted() >= n, "restarted assembler emits every group");
        assertThat(second.counts().pending()).isZero();

        // live change: a third judge joins, back-filling only samples from now on
        long now = System.currentTimeMillis();
        publish("math=1.0,len=0.5,exact=2.0", "partial", 600_000);
        waitUntil(() -> second.counts().setChanges() >= 2, "assembler applies the new set");
        produce("b", 40);
        Judge exact = Judges.create(JudgeSpec.of("exact"));
        try (JudgeService exactService =
            service(exact, new StartPosition.AtTimestamp(now)).start()) {
          waitUntil(() -> second.emitted() >= n + 40, "groups after the change are emitted");
          assertThat(exactService.judged()).isEqualTo(40); // back-filled from the time, not all
        }
      }
    }
    Map<String, ScoredGroup> scored = scored(n + 40);
    assertThat(scored).hasSize(n + 40); // each group exactly once
    for (ScoredGroup s : scored.values()) {
      assertThat(s.getPartial()).isFalse();
      boolean late = s.getGroup().getGroupId().startsWith("b");
      assertThat(s.getJudgements()).hasSize(late ? 3 : 2);
      // completions "7" (right, 1 token) and "8888888" (wrong, 7 tokens: len penalty -1)
      double exactWeight = late ? 2.0 : 0;
      assertThat(s.getRewards().get(0)).isEqualTo(1.0 + exactWeight);
      assertThat(s.getRewards().get(1)).isEqualTo(-0.5);
      assertThat(s.getAggregation())
          .isEqualTo(
              late ? "weighted_sum(math=1.0,len=0.5,exact=2.0)" : "weighted_sum(math=1.0,len=0.5)");
    }
  }

  @Test
  void missingJudgesGivePartialGroupsAndFailingJudgesDeadLetterWithTheReason() throws Exception {
    publish("math=1.0,ghost=1.0", "partial", 1_500);
    AtomicInteger calls = new AtomicInteger();
    Judge flaky =
        new Judge() {
          @Override
          public String id() {
            return "flaky";
          }

          @Override
          public String version() {
            return "1";
          }

          @Override
          public JudgementKind kind() {
            return JudgementKind.POINTWISE;
          }

          @Override
          public Mono<Verdict> judge(SampleGroup group) {
            calls.incrementAndGet();
            return Mono.error(new TransientJudgeException("HTTP 503 from the model server"));
          }
        };
    produce("c", 5);
    JudgeService.Options fast =
        JudgeService.Options.of("0")
            .withRetries(
                new JudgeRunner.Retries(
                    3, Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofSeconds(5)));
    try (JudgeService math =
            service(Judges.create(JudgeSpec.of("math")), new StartPosition.Earliest());
        JudgeService failing = new JudgeService(kafka, topics, flaky, fast);
        Assembler asm = assembler()) {
      math.start();
      failing.start();
      asm.start();
      waitUntil(() -> asm.emitted() >= 5, "partial groups after the timeout");
      waitUntil(() -> failing.deadLettered() >= 5, "failing judge dead-letters");
      assertThat(asm.counts().partial()).isEqualTo(5);
      assertThat(failing.judged()).isZero();
    }
    for (ScoredGroup s : scored(5).values()) {
      assertThat(s.getPartial()).isTrue();
      assertThat(s.getMissingJudges()).containsExactly("ghost");
      assertThat(s.getRewards()).containsExactly(1.0, 0.0);
    }
    assertThat(calls.get()).isEqualTo(15); // 3 attempts per group, never a default score
    List<ConsumerRecord<byte[], byte[]>> dead =
        TestTopics.readAtLeast(topics.dlq(), "read_committed", 5);
    assertThat(dead).hasSize(5);
    for (ConsumerRecord<byte[], byte[]> d : dead) {
      assertThat(DeadLetters.header(d.headers(), DeadLetters.EXCEPTION_MESSAGE))
          .contains("judge flaky v1 failed on group")
          .contains("after 3 attempts")
          .contains("HTTP 503 from the model server");
      assertThat(SAMPLES.decode(d.value()).getGroupId()).startsWith("c");
    }
  }

  @Test
  void llmJudgeScoresThroughThePipelineAndReplaysFromItsCache() throws Exception {
    publish("llm=1.0", "partial", 600_000);
    produce("d", 30);
    try (FakeChatServer server = FakeChatServer.start()) {
      Judge llm = Judges.create(JudgeSpec.parse("llm,id=llm,endpoint=" + server.endpoint()));
      llm.judge(Groups.group("d0", "7", List.of("7", "8888888"))).block();
      try (JudgeService service = service(llm, new StartPosition.Earliest()).start();
          Assembler asm = assembler().start()) {
        waitUntil(() -> asm.emitted() >= 30, "LLM-judged groups are assembled");
        assertThat(service.judged()).isEqualTo(30);
      }
      // every group has the same prompt and completions: one request per distinct completion
      assertThat(server.requests()).isEqualTo(2);
    }
    for (ScoredGroup s : scored(30).values()) {
      assertThat(s.getRewards()).containsExactly(1.0, 0.0);
      assertThat(s.getJudgements().get(0).getJudgeId()).isEqualTo("llm");
    }
  }

  private JudgeService service(Judge judge, StartPosition start) {
    return new JudgeService(kafka, topics, judge, JudgeService.Options.of("0").startingAt(start));
  }

  private Assembler assembler() {
    return new Assembler(kafka, topics, Assembler.Options.of("main", "0"));
  }

  private void publish(String judges, String missing, long timeoutMs) {
    JudgeSets.publish(
        kafka,
        topics.assemblerConfig(),
        JudgeSets.parse("main", judges, "weighted_sum", 1, missing, Duration.ofMillis(timeoutMs)));
  }

  private void produce(String prefix, int n) {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      SampleGroup g = Groups.group(prefix + i, "7", List.of("7", "8888888"));
      records.add(
          new ProducerRecord<>(
              topics.samples(),
              g.getGroupId().getBytes(StandardCharsets.UTF_8),
              SAMPLES.encode(g)));
    }
    TestTopics.produce(records);
  }

  private Map<String, ScoredGroup> scored(int expected) {
    Map<String, ScoredGroup> out = new HashMap<>();
    List<ConsumerRecord<byte[], byte[]>> all =
        TestTopics.readAtLeast(topics.scored(), "read_committed", expected);
    for (ConsumerRecord<byte[], byte[]> r : all) {
      ScoredGroup s = SCORED.decode(r.value());
      assertThat(out.put(s.getGroup().getGroupId(), s))
          .as("group %s scored twice", s.getGroup().getGroupId())
          .isNull();
    }
    return out;
  }

  static void waitUntil(BooleanSupplier condition, String what) throws InterruptedException {
    Wait.until(condition, Duration.ofSeconds(60), what);
  }
}
