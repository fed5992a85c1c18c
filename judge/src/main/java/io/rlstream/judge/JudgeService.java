package io.rlstream.judge;

import io.rlstream.infra.CommittedBatch;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.StageOptions;
import io.rlstream.infra.StartPosition;
import io.rlstream.infra.TransactionalStage;
import io.rlstream.schemas.AvroSerde;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.TopicNames;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;

/**
 * Runs one {@link Judge} as a Kafka service: its own consumer group {@code rl-judge-<id>} on {@code
 * rl.samples}, one {@link Judgement} per group to {@code rl.judgements} through a {@link
 * TransactionalStage}, so each sample group yields exactly one judgement of this judge for {@code
 * read_committed} readers across crashes and restarts. The judgement goes to the same partition
 * number as its sample group, which is how the assembler joins them.
 *
 * <p>A judge call that fails transiently is retried with back-off ({@link JudgeRunner}); what still
 * fails is dead-lettered with the reason, never given a default score. A judge started for the
 * first time begins where {@link Options#start()} says (a back-fill from an offset or a time); a
 * restarted one resumes from its committed offsets.
 */
public final class JudgeService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JudgeService.class);

  /**
   * @param instanceId stable per instance across restarts, unique among live instances of this
   *     judge: it names the transactional id, so a restarted instance fences its predecessor
   * @param start where a judge that has never committed starts reading
   * @param concurrency groups judged at once (0: the judge's own {@link Judge#concurrency()})
   */
  public record Options(
      String instanceId, StartPosition start, int concurrency, JudgeRunner.Retries retries) {
    public Options {
      Objects.requireNonNull(instanceId, "instanceId");
      Objects.requireNonNull(start, "start");
      Objects.requireNonNull(retries, "retries");
    }

    public static Options of(String instanceId) {
      return new Options(
          instanceId, new StartPosition.Earliest(), 0, JudgeRunner.Retries.defaults());
    }

    public Options startingAt(StartPosition p) {
      return new Options(instanceId, p, concurrency, retries);
    }

    public Options withRetries(JudgeRunner.Retries r) {
      return new Options(instanceId, start, concurrency, r);
    }
  }

  private final KafkaClientConfig kafka;
  private final TopicNames topics;
  private final Judge judge;
  private final Options options;
  private final TransactionalStage<String, SampleGroup, String, Judgement> stage;
  private final AtomicLong judged = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final java.util.concurrent.atomic.LongAdder verdicts =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder latencyMs =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.DoubleAdder costUsd =
      new java.util.concurrent.atomic.DoubleAdder();
  private volatile Map<TopicPartition, Long> startedAt = Map.of();
  private Disposable run;

  public JudgeService(KafkaClientConfig kafka, TopicNames topics, Judge judge, Options options) {
    this.kafka = Objects.requireNonNull(kafka, "kafka");
    this.topics = Objects.requireNonNull(topics, "topics");
    this.judge = Objects.requireNonNull(judge, "judge");
    this.options = Objects.requireNonNull(options, "options");
    JudgeRunner runner = new JudgeRunner(judge, options.retries());
    StageOptions stageOptions =
        StageOptions.of(
                "judge/" + judge.id(),
                consumerGroup(judge.id()),
                consumerGroup(judge.id()) + "-" + options.instanceId(),
                topics.samples())
            .withConcurrency(
                options.concurrency() > 0 ? options.concurrency() : judge.concurrency())
            .withMaxBatch(judge.maxBatch())
            .withRetries(10, Duration.ofMillis(100), Duration.ofSeconds(10))
            .withDeadLetterTopic(topics.dlq());
    this.stage =
        new TransactionalStage<>(
            kafka,
            stageOptions,
            new StringDeserializer(),
            AvroSerde.of(SampleGroup.class),
            new StringSerializer(),
            AvroSerde.of(Judgement.class),
            in ->
                runner
                    .judgement(in.value())
                    .map(
                        j -> {
                          verdicts.increment();
                          latencyMs.add(j.getLatencyMs());
                          costUsd.add(j.getCostUsd());
                          return new ProducerRecord<>(
                              topics.judgements(), in.partition(), in.key(), j);
                        }));
  }

  /** The consumer group of the judge with this id on {@code rl.samples}. */
  public static String consumerGroup(String judgeId) {
    return "rl-judge-" + judgeId;
  }

  public Judge judge() {
    return judge;
  }

  /**
   * Starts consuming: first sets the start position if this judge's group has never committed, then
   * runs the stage.
   */
  public synchronized JudgeService start() {
    if (run == null) {
      startedAt = options.start().applyIfNew(kafka, consumerGroup(judge.id()), topics.samples());
      if (!startedAt.isEmpty()) {
        log.info("judge {} starts at {} ({})", judge.id(), options.start(), startedAt);
      }
      run =
          stage
              .run()
              .subscribe(
                  this::committed,
                  e -> log.error("judge {} stopped: {}", judge.id(), e.toString(), e));
    }
    return this;
  }

  private void committed(CommittedBatch batch) {
    judged.addAndGet(batch.outputs() - batch.deadLettered());
    deadLettered.addAndGet(batch.deadLettered());
  }

  /**
   * Verdicts reached (including those of batches retried after an aborted transaction: each cost
   * what it cost), their summed wall time and their summed cost.
   */
  public record VerdictTotals(long verdicts, long latencyMs, double costUsd) {}

  public VerdictTotals verdictTotals() {
    return new VerdictTotals(verdicts.sum(), latencyMs.sum(), costUsd.sum());
  }

  /** Offsets this judge started from when it was new; empty when it resumed. */
  public Map<TopicPartition, Long> startedAt() {
    return startedAt;
  }

  /** Judgements committed so far. */
  public long judged() {
    return judged.get();
  }

  /** Sample groups dead-lettered so far. */
  public long deadLettered() {
    return deadLettered.get();
  }

  /** True while the stage runs (false after a fatal error). */
  public boolean running() {
    return run != null && !run.isDisposed();
  }

  @Override
  public synchronized void close() {
    if (run != null) {
      run.dispose();
      run = null;
      if (!stage.awaitStopped(Duration.ofSeconds(60))) {
        log.warn("judge {} stage did not stop within 60 s", judge.id());
      }
    }
  }
}
