package io.rlstream.infra;

import io.rlstream.infra.internal.StageLoop;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * An exactly-once consume → process → produce stage: each poll batch is processed inside one Kafka
 * transaction that holds the outputs, any dead letters and the input offsets ({@code
 * sendOffsetsToTransaction}), so for {@code read_committed} readers every input yields its outputs
 * exactly once, across crashes and rebalances.
 *
 * <p>Error policy:
 *
 * <ul>
 *   <li>an input that cannot be deserialized is dead-lettered in the transaction;
 *   <li>a processing error that {@link StageOptions#retriable()} accepts aborts the transaction
 *       (its outputs become invisible), rewinds the batch and retries it with exponential back-off;
 *       at the last attempt the failing record is dead-lettered instead;
 *   <li>any other processing error dead-letters its record in the transaction;
 *   <li>an abortable Kafka error (a failed send, a commit refused after a rebalance) aborts and
 *       retries; fencing by a newer instance with the same transactional id, authorization and
 *       unsupported-version errors are fatal and end the stream.
 * </ul>
 *
 * While a batch is processed the consumer keeps polling with its partitions paused, so slow
 * processing does not cost the group membership; a batch whose partitions are revoked meanwhile is
 * aborted and left to their new owner. Emits one {@link CommittedBatch} per transaction; new input
 * is consumed only while downstream requests them.
 *
 * @param <KI> input key type
 * @param <VI> input value type
 * @param <KO> output key type
 * @param <VO> output value type
 */
public final class TransactionalStage<KI, VI, KO, VO> {

  /** What the stage does with one input: zero or more outputs. Runs on the stage's worker. */
  @FunctionalInterface
  public interface Processor<KI, VI, KO, VO> {
    Publisher<ProducerRecord<KO, VO>> process(ConsumerRecord<KI, VI> input);
  }

  private final KafkaClientConfig config;
  private final StageOptions options;
  private final Deserializer<KI> keyIn;
  private final Deserializer<VI> valueIn;
  private final Serializer<KO> keyOut;
  private final Serializer<VO> valueOut;
  private final Processor<KI, VI, KO, VO> processor;
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile Thread thread;

  public TransactionalStage(
      KafkaClientConfig config,
      StageOptions options,
      Deserializer<KI> keyIn,
      Deserializer<VI> valueIn,
      Serializer<KO> keyOut,
      Serializer<VO> valueOut,
      Processor<KI, VI, KO, VO> processor) {
    this.config = Objects.requireNonNull(config, "config");
    this.options = Objects.requireNonNull(options, "options");
    this.keyIn = Objects.requireNonNull(keyIn, "keyIn");
    this.valueIn = Objects.requireNonNull(valueIn, "valueIn");
    this.keyOut = Objects.requireNonNull(keyOut, "keyOut");
    this.valueOut = Objects.requireNonNull(valueOut, "valueOut");
    this.processor = Objects.requireNonNull(processor, "processor");
  }

  /** Runs the stage until the subscription is cancelled or a fatal error. One run at a time. */
  public Flux<CommittedBatch> run() {
    return Flux.defer(
        () -> {
          if (!running.compareAndSet(false, true)) {
            return Flux.error(
                new IllegalStateException("stage " + options.name() + " is already running"));
          }
          Scheduler worker =
              Schedulers.newBoundedElastic(
                  Math.max(1, options.concurrency()),
                  10_000,
                  "rlstream-stage-" + options.name(),
                  60,
                  true);
          Scheduler results = Schedulers.newSingle("rlstream-stage-out-" + options.name(), true);
          return Flux.<CommittedBatch>create(
                  sink -> start(sink, worker), FluxSink.OverflowStrategy.BUFFER)
              .publishOn(results, 1)
              .doFinally(
                  s -> {
                    worker.dispose();
                    results.dispose();
                    running.set(false);
                  });
        });
  }

  private void start(FluxSink<CommittedBatch> sink, Scheduler worker) {
    StageLoop<KI, VI, KO, VO> loop =
        new StageLoop<>(
            config, options, keyIn, valueIn, keyOut, valueOut, processor::process, sink, worker);
    sink.onRequest(loop::request);
    sink.onDispose(loop::stop);
    Thread t = KafkaSender.daemon(loop, "rlstream-stage-" + options.name());
    thread = t;
    t.start();
  }

  /**
   * Waits until the stage's thread has aborted any open transaction and closed its clients, after
   * the run was cancelled or ended; true if it has within {@code timeout}.
   */
  public boolean awaitStopped(java.time.Duration timeout) {
    Thread t = thread;
    if (t == null) {
      return true;
    }
    try {
      t.join(timeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return !t.isAlive();
  }
}
