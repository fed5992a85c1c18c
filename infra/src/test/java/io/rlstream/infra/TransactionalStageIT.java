package io.rlstream.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

class TransactionalStageIT {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void everyInputYieldsExactlyOneCommittedOutput() {
    Topics t = topics("eos-ok", 100);
    List<CommittedBatch> batches =
        runUntil(stage(t, StageOptions.of("upper", t.group, t.txId, t.in), upper()), 100);
    assertThat(batches).allMatch(b -> b.attempts() == 1 && b.outputs() == b.inputs());
    assertThat(outputs(t.out, "read_committed", 100))
        .hasSize(100)
        .doesNotHaveDuplicates()
        .allMatch(v -> v.startsWith("V"));
    assertThat(TestTopics.committed(t.group)).isEqualTo(TestTopics.endOffsets(t.in));
  }

  @Test
  void aRetriableFailureMidBatchAbortsSoNothingOfTheAttemptIsVisibleAndTheInputIsProcessedAgain() {
    Topics t = topics("eos-retry", 60);
    AtomicBoolean failed = new AtomicBoolean();
    TransactionalStage.Processor<String, String, String, String> flaky =
        in -> {
          if (in.value().equals("v30") && failed.compareAndSet(false, true)) {
            // fails after a while, so the outputs before it have reached the broker by then
            return Mono.delay(Duration.ofMillis(200))
                .thenMany(Flux.error(new TimeoutException("judge timed out")));
          }
          return upper().process(in);
        };
    StageOptions options =
        StageOptions.of("flaky", t.group, t.txId, t.in)
            .withConcurrency(1)
            .withRetries(5, Duration.ofMillis(10), Duration.ofMillis(50));
    List<CommittedBatch> batches = runUntil(stage(t, options, flaky), 60);
    assertThat(failed).isTrue();
    assertThat(batches).anyMatch(b -> b.attempts() >= 2);
    assertThat(batches).allMatch(b -> b.deadLettered() == 0);
    List<String> committed = outputs(t.out, "read_committed", 60);
    assertThat(committed).hasSize(60).doesNotHaveDuplicates();
    // the aborted attempt's outputs were written, and only read_uncommitted sees them
    assertThat(outputs(t.out, "read_uncommitted", 61).size()).isGreaterThan(60);
    assertThat(TestTopics.committed(t.group)).isEqualTo(TestTopics.endOffsets(t.in));
  }

  @Test
  void undecodableAndFailingInputsAreDeadLetteredInTheTransactionAndTheRestFlows() {
    Topics t = topics("eos-dlq", 20);
    String dlq = SharedKafka.createTopic("eos-dlq-dead", 1);
    TestTopics.produce(
        List.of(
            new ProducerRecord<>(
                t.in,
                0,
                null,
                "k".getBytes(StandardCharsets.UTF_8),
                "POISON".getBytes(StandardCharsets.UTF_8))));
    Deserializer<String> strict =
        (topic, data) -> {
          String s = new String(data, StandardCharsets.UTF_8);
          if (s.equals("POISON")) {
            throw new org.apache.kafka.common.errors.SerializationException("unreadable value");
          }
          return s;
        };
    TransactionalStage.Processor<String, String, String, String> picky =
        in ->
            in.value().equals("v7")
                ? Flux.error(new IllegalArgumentException("v7 is not allowed"))
                : upper().process(in);
    TransactionalStage<String, String, String, String> stage =
        new TransactionalStage<>(
            SharedKafka.config(),
            StageOptions.of("picky", t.group, t.txId, t.in).withDeadLetterTopic(dlq),
            new StringDeserializer(),
            strict,
            new StringSerializer(),
            new StringSerializer(),
            in ->
                Flux.from(picky.process(in))
                    .map(r -> new ProducerRecord<>(t.out, r.key(), r.value())));
    List<CommittedBatch> batches = runUntil(stage, 21);
    assertThat(batches.stream().mapToInt(CommittedBatch::deadLettered).sum()).isEqualTo(2);
    assertThat(outputs(t.out, "read_committed", 19)).hasSize(19).doesNotContain("V7");
    List<ConsumerRecord<byte[], byte[]>> dead = TestTopics.readAtLeast(dlq, "read_committed", 2);
    assertThat(dead)
        .extracting(d -> DeadLetters.header(d.headers(), DeadLetters.EXCEPTION_MESSAGE))
        .containsExactlyInAnyOrder("unreadable value", "v7 is not allowed");
    assertThat(dead)
        .allSatisfy(
            d -> {
              assertThat(DeadLetters.header(d.headers(), DeadLetters.SOURCE_TOPIC)).isEqualTo(t.in);
              assertThat(DeadLetters.header(d.headers(), DeadLetters.STAGE)).isEqualTo("picky");
            });
  }

  @Test
  void aStageThatDiesMidBatchIsFencedByItsSuccessorAndEveryInputIsOutputExactlyOnce()
      throws Exception {
    Topics t = topics("eos-zombie", 30, 1); // one partition: the batch is v0..v29 in order
    CountDownLatch stuck = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TransactionalStage.Processor<String, String, String, String> hangsAtV15 =
        in -> {
          if (in.value().equals("v15")) {
            stuck.countDown();
            try {
              release.await(); // the process "dies" here with earlier outputs of the batch already
              // sent
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return upper().process(in);
        };
    StageOptions options = StageOptions.of("zombie", t.group, t.txId, t.in).withConcurrency(1);
    AtomicReference<Throwable> zombieError = new AtomicReference<>();
    Disposable zombie = stage(t, options, hangsAtV15).run().subscribe(b -> {}, zombieError::set);
    assertThat(stuck.await(60, TimeUnit.SECONDS)).isTrue();
    long sentBy = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < sentBy && !outputs(t.out, "read_uncommitted").contains("V14")) {
      Thread.sleep(100); // v0..v14 were sent before the hang, in the open transaction
    }
    assertThat(outputs(t.out, "read_uncommitted")).contains("V0", "V14").doesNotContain("V15");
    assertThat(outputs(t.out, "read_committed")).isEmpty();

    // the successor: same transactional id, same group; the zombie wakes only once fenced (its
    // transaction aborted and its producer epoch bumped), or it could simply finish its batch
    short zombieEpoch = producerEpoch(t.txId);
    List<String> done = new ArrayList<>();
    Disposable successor = stage(t, options, upper()).run().subscribe(b -> done.add(b.toString()));
    long fencedBy = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < fencedBy && producerEpoch(t.txId) == zombieEpoch) {
      Thread.sleep(50);
    }
    assertThat(producerEpoch(t.txId)).isGreaterThan(zombieEpoch);
    release.countDown();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline && outputs(t.out, "read_committed").size() < 30) {
      Thread.sleep(200);
    }
    while (System.nanoTime() < deadline && zombieError.get() == null) {
      Thread.sleep(50); // the released zombie reaches its fenced abort on its own time
    }
    successor.dispose();
    zombie.dispose();
    assertThat(outputs(t.out, "read_committed", 30)).hasSize(30).doesNotHaveDuplicates();
    assertThat(zombieError.get()).isNotNull();
    assertThat(causes(zombieError.get()))
        .anyMatch(
            c ->
                c instanceof ProducerFencedException
                    || c.getClass().getSimpleName().contains("Fenced")
                    || c.getClass().getSimpleName().contains("Epoch"));
  }

  // --- helpers

  /** The coordinator's current producer epoch for a transactional id. */
  private static short producerEpoch(String transactionalId) throws Exception {
    try (Admin admin = Admin.create(SharedKafka.config().admin())) {
      return (short)
          admin
              .describeTransactions(List.of(transactionalId))
              .description(transactionalId)
              .get(30, TimeUnit.SECONDS)
              .producerEpoch();
    }
  }

  record Topics(String in, String out, String group, String txId) {}

  private static Topics topics(String prefix, int inputs) {
    return topics(prefix, inputs, 3);
  }

  private static Topics topics(String prefix, int inputs, int inputPartitions) {
    String in = SharedKafka.createTopic(prefix + "-in", inputPartitions);
    String out = SharedKafka.createTopic(prefix + "-out", 3);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < inputs; i++) {
      records.add(
          new ProducerRecord<>(
              in,
              ("k" + i).getBytes(StandardCharsets.UTF_8),
              ("v" + i).getBytes(StandardCharsets.UTF_8)));
    }
    TestTopics.produce(records);
    return new Topics(
        in, out, SharedKafka.uniqueName(prefix + "-group"), SharedKafka.uniqueName(prefix + "-tx"));
  }

  /**
   * One output per input: the value upper-cased (the test's stage routes it to its output topic).
   */
  private static TransactionalStage.Processor<String, String, String, String> upper() {
    return in ->
        Mono.just(new ProducerRecord<>("routed-by-stage", in.key(), in.value().toUpperCase()));
  }

  private TransactionalStage<String, String, String, String> stage(
      Topics t,
      StageOptions options,
      TransactionalStage.Processor<String, String, String, String> processor) {
    TransactionalStage.Processor<String, String, String, String> routed =
        in ->
            Flux.from(processor.process(in))
                .map(r -> new ProducerRecord<>(t.out, r.key(), r.value()));
    return new TransactionalStage<>(
        SharedKafka.config(),
        options,
        new StringDeserializer(),
        new StringDeserializer(),
        new StringSerializer(),
        new StringSerializer(),
        routed);
  }

  private static List<CommittedBatch> runUntil(TransactionalStage<?, ?, ?, ?> stage, int inputs) {
    List<CommittedBatch> batches = new ArrayList<>();
    stage
        .run()
        .doOnNext(batches::add)
        .scan(0, (n, b) -> n + b.inputs())
        .takeUntil(n -> n >= inputs)
        .then()
        .block(WAIT);
    return batches;
  }

  private static List<String> outputs(String topic, String isolation) {
    return outputs(topic, isolation, 0);
  }

  /** The output values once at least {@code minimum} are visible. */
  private static List<String> outputs(String topic, String isolation, int minimum) {
    return TestTopics.readAtLeast(topic, isolation, minimum).stream()
        .map(r -> new String(r.value(), StandardCharsets.UTF_8))
        .collect(Collectors.toList());
  }

  private static List<Throwable> causes(Throwable t) {
    List<Throwable> out = new ArrayList<>();
    for (Throwable c = t; c != null; c = c.getCause()) {
      out.add(c);
    }
    return out;
  }
}
