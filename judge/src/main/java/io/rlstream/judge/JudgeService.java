package io.rlstream.judge;

import io.rlstream.infra.CommittedBatch;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.StageOptions;
import io.rlstream.infra.TransactionalStage;
import io.rlstream.schemas.AvroSerde;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * The judge service: consumes {@code rl.samples}, scores each group with a {@link GroupScorer} and
 * writes the {@link ScoredGroup} to {@code rl.scored} through a {@link TransactionalStage}, so each
 * sample group yields exactly one scored group for {@code read_committed} readers across crashes
 * and restarts. A group a judge cannot score is dead-lettered with the reason, never given a
 * default score.
 *
 * <p>The transactional id must be stable for one instance across restarts and unique among live
 * instances (a restarted instance fences its predecessor's open transaction).
 */
public final class JudgeService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JudgeService.class);

  private final TransactionalStage<String, SampleGroup, String, ScoredGroup> stage;
  private final AtomicLong scored = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private Disposable run;

  /**
   * @param groupId consumer group of this judge set on {@code rl.samples}
   * @param transactionalId stable per instance
   */
  public JudgeService(
      KafkaClientConfig kafka,
      TopicNames topics,
      GroupScorer scorer,
      String groupId,
      String transactionalId) {
    Objects.requireNonNull(scorer, "scorer");
    StageOptions options =
        StageOptions.of("judge", groupId, transactionalId, topics.samples())
            .withConcurrency(2)
            .withDeadLetterTopic(topics.dlq());
    this.stage =
        new TransactionalStage<>(
            kafka,
            options,
            new StringDeserializer(),
            AvroSerde.of(SampleGroup.class),
            new StringSerializer(),
            AvroSerde.of(ScoredGroup.class),
            in ->
                Mono.fromCallable(
                    () ->
                        new ProducerRecord<>(topics.scored(), in.key(), scorer.score(in.value()))));
  }

  public synchronized JudgeService start() {
    if (run == null) {
      run =
          stage
              .run()
              .subscribe(
                  this::committed, e -> log.error("judge service stopped: {}", e.toString(), e));
    }
    return this;
  }

  private void committed(CommittedBatch batch) {
    scored.addAndGet(batch.outputs());
    deadLettered.addAndGet(batch.deadLettered());
  }

  /** Scored groups committed so far. */
  public long scored() {
    return scored.get();
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
      if (!stage.awaitStopped(java.time.Duration.ofSeconds(60))) {
        log.warn("judge stage did not stop within 60 s");
      }
    }
  }
}
