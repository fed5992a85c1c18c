package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.infra.MetricsEndpoint;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.infra.testing.Wait;
import io.rlstream.learner.LearnerService;
import io.rlstream.learner.WeightPublisher;
import io.rlstream.policy.Checkpoint;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.PolicyAnnouncement;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import io.rlstream.schemas.WeightChunk;
import io.rlstream.schemas.WeightChunks;
import io.rlstream.schemas.WeightTransport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The first end-to-end loop on the real embedded broker: generator, judge and learner as in the
 * demo, on single-digit addition so a short run learns. Issue 4.
 */
class LoopIT {
  private static String scrape(int port) throws Exception {
    java.net.http.HttpResponse<String> r =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://localhost:" + port + "/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  /** The value of the first sample of {@code name} in a Prometheus text scrape. */
  private static double metric(String scrape, String name) {
    for (String line : scrape.split("\n")) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no " + name + " in the scrape:\n" + scrape);
  }

  /** Every rlstream_consumer_lag sample in a scrape. */
  private static List<Double> lags(String scrape) {
    List<Double> out = new ArrayList<>();
    for (String line : scrape.split("\n")) {
      if (line.startsWith("rlstream_consumer_lag{")) {
        out.add(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
      }
    }
    return out;
  }

  private static final AvroCodec<SampleGroup> SAMPLES = AvroCodec.of(SampleGroup.class);
  private static final AvroCodec<ScoredGroup> SCORED = AvroCodec.of(ScoredGroup.class);
  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);
  private static final AvroCodec<PolicyAnnouncement> ANNOUNCEMENTS =
      AvroCodec.of(PolicyAnnouncement.class);

  @Test
  void policyLearnsThroughKafkaAndNothingIsLostOrLeftRunning() throws Exception {
    ArithmeticTask task = new ArithmeticTask(9, 0);
    WarmStart warm = new WarmStart(90, 0.25, 60, 32, 2e-3, 0, 7);
    Checkpoint start =
        WarmStartOptions.train(warm, task, new PrintStream(new ByteArrayOutputStream()));
    TopicNames topics = TestTopics.pipeline(SharedKafka.uniqueName("loop"));
    LoopConfig config = LoopConfig.parse("--max-new-tokens", "4");
    Set<String> threadsBefore = liveThreads();
    List<LearnerService.StepReport> steps = new CopyOnWriteArrayList<>();
    long refused;
    long versionAfterCorruption;
    long versionBeforeCorruption;
    int window = 25;
    long generated;
    try (Loop loop =
        Loop.create(
            SharedKafka.config(),
            topics,
            config,
            start,
            Device.cpu(),
            task.train(),
            "loop-it",
            steps::add)) {
      loop.start();
      waitUntil(() -> steps.size() >= 30, 120);

      // a corrupt chunk (bytes that do not match its SHA-256) and a torn version (a chunk missing)
      versionBeforeCorruption = loop.generator.version();
      try (WeightPublisher raw =
          new WeightPublisher(SharedKafka.config(), topics.policy(), 1 << 20)) {
        raw.send(corruptVersion(1_000_000));
        raw.send(tornVersion(1_000_001));
      }
      waitUntil(() -> loop.generator.refusedVersions() >= 2, 60);
      refused = loop.generator.refusedVersions();
      versionAfterCorruption = loop.generator.version();

      waitUntil(() -> steps.size() >= 4 * window + 30, 150);
      // drain: no new samples; everything sampled gets judged and trained on
      loop.generator.close();
      generated = loop.generator.acknowledged();
      waitUntil(() -> loop.assembler.emitted() >= generated, 60);
      int perStep = config.groupsPerStep();
      waitUntil(() -> loop.learner.groupsConsumed() >= generated / perStep * perStep, 60);
      assertThat(loop.learner.version()).as("versions advance").isGreaterThan(50);

      // the Prometheus endpoint, scraped over HTTP as Prometheus would
      try (MetricsEndpoint metrics = MetricsEndpoint.start("loop-it", 0)) {
        ServiceMetrics.loop(metrics, loop);
        String scrape = scrape(metrics.port());
        assertThat(metric(scrape, "rlstream_learner_steps_total")).isGreaterThanOrEqualTo(130);
        assertThat(metric(scrape, "rlstream_learner_policy_version"))
            .isEqualTo(loop.learner.version());
        assertThat(metric(scrape, "rlstream_generator_groups_acknowledged_total"))
            .isEqualTo(generated);
        assertThat(metric(scrape, "rlstream_judge_groups_judged_total")).isEqualTo(generated);
        assertThat(metric(scrape, "rlstream_judge_dead_letters_total")).isZero();
        assertThat(metric(scrape, "rlstream_assembler_groups_emitted_total")).isEqualTo(generated);
        assertThat(metric(scrape, "rlstream_learner_reward_mean")).isBetween(0.0, 1.0);
        assertThat(scrape)
            .contains("rlstream_learner_staleness_mean", "rlstream_judge_cost_usd_total");
        // lag as the broker sees it: per group and topic, down to transaction markers and a
        // partial step once the offsets consumed are committed (every few seconds)
        assertThat(lags(scrape)).as(scrape).hasSize(4).allMatch(l -> l >= 0);
        Wait.until(
            () -> {
              try {
                return lags(scrape(metrics.port())).stream().allMatch(l -> l <= perStep + 3);
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            },
            Duration.ofSeconds(30),
            "consumer lag comes down once offsets are committed");
      }
    }

    // versions advanced and the generator swapped them in
    List<SampleGroup> samples = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r :
        TestTopics.readAll(topics.samples(), "read_committed")) {
      samples.add(SAMPLES.decode(r.value()));
    }
    long maxSampledVersion =
        samples.stream().mapToLong(SampleGroup::getPolicyVersion).max().orElse(0);
    assertThat(maxSampledVersion).as("samples carry new versions").isGreaterThan(50);

    // the corrupt and torn versions were refused and the old version kept serving
    assertThat(refused).isGreaterThanOrEqualTo(2);
    assertThat(versionAfterCorruption)
        .isLessThan(1_000_000)
        .isGreaterThanOrEqualTo(versionBeforeCorruption);

    // no group lost between topics
    Set<String> sampled = samples.stream().map(SampleGroup::getGroupId).collect(Collectors.toSet());
    List<ScoredGroup> scored = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : TestTopics.readAll(topics.scored(), "read_committed")) {
      scored.add(SCORED.decode(r.value()));
    }
    Set<String> scoredIds = new HashSet<>();
    scored.forEach(s -> scoredIds.add(s.getGroup().getGroupId()));
    assertThat(samples).hasSize((int) generated);
    assertThat(scored).as("exactly one scored group per sample group").hasSize(samples.size());
    assertThat(scoredIds).isEqualTo(sampled);
    long trained = steps.get(steps.size() - 1).groupsConsumed();
    assertThat(trained)
        .isGreaterThan(scored.size() - config.groupsPerStep())
        .isLessThanOrEqualTo(scored.size());

    // rlstream inspect: an early group's whole history, down to the version that trained on it
    String early = samples.get(0).getGroupId();
    Inspect.History h = Inspect.history(SharedKafka.config(), topics, early);
    assertThat(h.samples()).hasSize(1);
    assertThat(h.judgements()).hasSize(1);
    assertThat(h.judgements().get(0).getJudgeId()).isEqualTo("math");
    assertThat(h.scored()).hasSize(1);
    assertThat(h.trainedInto()).isNotEmpty();
    assertThat(h.trainedInto().get(0).getVersion()).isPositive();
    assertThat(h.deadLetters()).isEmpty();
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    Inspect.print(h, new PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    System.out.print(printed.toString(java.nio.charset.StandardCharsets.UTF_8));

    // learning: the last window's training reward beats the first by more than noise explains
    double first = meanReward(steps.subList(0, window));
    double last = meanReward(steps.subList(steps.size() - window, steps.size()));
    double n = window * config.groupsPerStep() * config.groupSize();
    double se = Math.sqrt(first * (1 - first) / n + last * (1 - last) / n);
    System.out.printf(
        "LoopIT: %d steps, version %d, reward first %d steps %.3f, last %d steps %.3f (SE %.4f);"
            + " %d groups sampled = scored, %d trained; %d versions refused%n",
        steps.size(),
        maxSampledVersion,
        window,
        first,
        window,
        last,
        se,
        samples.size(),
        trained,
        refused);
    assertThat(last - first)
        .as("reward first %d steps %.3f, last %.3f, standard error %.4f", window, first, last, se)
        .isGreaterThan(5 * se);

    // clean shutdown: every thread the loop started has ended
    waitUntil(() -> leftover(threadsBefore).isEmpty(), 30);
    assertThat(leftover(threadsBefore)).isEmpty();
  }

  private static double meanReward(List<LearnerService.StepReport> steps) {
    return steps.stream()
        .mapToDouble(LearnerService.StepReport::rewardMean)
        .average()
        .orElseThrow();
  }

  private static List<byte[]> corruptVersion(long version) {
    byte[] payload = new byte[4096];
    List<WeightChunk> chunks = WeightChunks.split(version, 0, payload, 1024);
    chunks.get(2).setData(ByteBuffer.wrap(new byte[1024 - 1]).put(0, (byte) 1)); // torn bytes
    return records(chunks, announcement(version, payload, chunks.size()));
  }

  private static List<byte[]> tornVersion(long version) {
    byte[] payload = new byte[4096];
    List<WeightChunk> chunks = new ArrayList<>(WeightChunks.split(version, 0, payload, 1024));
    chunks.remove(1);
    return records(chunks, announcement(version, payload, 4));
  }

  private static PolicyAnnouncement announcement(long version, byte[] payload, int chunks) {
    return PolicyAnnouncement.newBuilder()
        .setVersion(version)
        .setLearnerStep(0)
        .setSizeBytes(payload.length)
        .setSha256(WeightChunks.sha256(payload))
        .setTransport(WeightTransport.INLINE_CHUNKS)
        .setChunkCount(chunks)
        .setConsumedOffsets(Map.of())
        .setMetrics(Map.of())
        .setProvenance(Provenances.now("loop-it"))
        .build();
  }

  private static List<byte[]> records(List<WeightChunk> chunks, PolicyAnnouncement a) {
    List<byte[]> out = new ArrayList<>();
    chunks.forEach(c -> out.add(CHUNKS.encode(c)));
    out.add(ANNOUNCEMENTS.encode(a));
    return out;
  }

  private static Set<String> liveThreads() {
    Set<String> out = new HashSet<>();
    Thread.getAllStackTraces().keySet().forEach(t -> out.add(t.getName()));
    return out;
  }

  /** Threads started since {@code before} that belong to our clients and services. */
  private static Set<String> leftover(Set<String> before) {
    Set<String> out = new HashSet<>();
    for (String name : liveThreads()) {
      if (!before.contains(name)
          && (name.startsWith("rlstream-")
              || name.startsWith("kafka-")
              || name.contains("producer")
              || name.contains("consumer"))) {
        out.add(name);
      }
    }
    return out;
  }

  private static void waitUntil(java.util.function.BooleanSupplier condition, int seconds)
      throws InterruptedException {
    Wait.until(condition, Duration.ofSeconds(seconds), "the condition holds");
  }
}
