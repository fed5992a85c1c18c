package io.rlstream.infra;

import io.rlstream.infra.internal.AckChunk;
import io.rlstream.infra.internal.PollLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Consumes Kafka topics as a Reactor {@link Flux} with at-least-once delivery.
 *
 * <ul>
 *   <li>One thread owns the consumer ({@link PollLoop}); records reach the subscriber on the
 *       receiver's own delivery thread, never on the poll thread.
 *   <li>Back-pressure: when the subscriber stops requesting, the assignment is paused and the poll
 *       thread keeps polling, so a slow subscriber neither drops out of the group nor makes records
 *       pile up; at most {@code prefetchBatches} poll batches wait.
 *   <li>Commits: only offsets of acknowledged records (and every earlier record of their
 *       partition), asynchronously every {@code commitInterval}, synchronously on revoke and on
 *       close. Unacknowledged records are delivered again to the next owner.
 *   <li>Bad records: a record whose key or value cannot be deserialized goes to the dead-letter
 *       topic (when {@link DeadLetters} are given) and is acknowledged once that write is durable;
 *       the subscriber never sees it. Without dead letters, it ends the stream with the error, and
 *       nothing past it is committed.
 * </ul>
 *
 * One subscription at a time; cancelling it (or completing downstream) commits and closes.
 */
public final class KafkaReceiver<K, V> {
  private final KafkaClientConfig config;
  private final ReceiverOptions options;
  private final Deserializer<K> keyDeserializer;
  private final Deserializer<V> valueDeserializer;
  private final DeadLetters deadLetters;
  private final AtomicReference<PollLoop> loop = new AtomicReference<>();
  private final AtomicBoolean subscribed = new AtomicBoolean();
  private final Sinks.Many<AssignmentEvent> assignments = Sinks.many().replay().limit(256);

  private KafkaReceiver(
      KafkaClientConfig config,
      ReceiverOptions options,
      Deserializer<K> keyDeserializer,
      Deserializer<V> valueDeserializer,
      DeadLetters deadLetters) {
    this.config = Objects.requireNonNull(config, "config");
    this.options = Objects.requireNonNull(options, "options");
    this.keyDeserializer = Objects.requireNonNull(keyDeserializer, "keyDeserializer");
    this.valueDeserializer = Objects.requireNonNull(valueDeserializer, "valueDeserializer");
    this.deadLetters = deadLetters;
  }

  /** A receiver whose undeserializable records end the stream. */
  public static <K, V> KafkaReceiver<K, V> create(
      KafkaClientConfig config,
      ReceiverOptions options,
      Deserializer<K> keys,
      Deserializer<V> values) {
    return new KafkaReceiver<>(config, options, keys, values, null);
  }

  /** A receiver whose undeserializable records go to {@code deadLetters}. */
  public static <K, V> KafkaReceiver<K, V> create(
      KafkaClientConfig config,
      ReceiverOptions options,
      Deserializer<K> keys,
      Deserializer<V> values,
      DeadLetters deadLetters) {
    return new KafkaReceiver<>(
        config, options, keys, values, Objects.requireNonNull(deadLetters, "deadLetters"));
  }

  /** The records of the subscribed topics; starts consuming on subscribe. */
  public Flux<ReceiverRecord<K, V>> receive() {
    return Flux.defer(
        () -> {
          if (!subscribed.compareAndSet(false, true)) {
            return Flux.error(
                new IllegalStateException("a KafkaReceiver allows one subscription at a time"));
          }
          Scheduler delivery = Schedulers.newSingle("rlstream-receive-" + options.groupId(), true);
          return Flux.<List<AckChunk>>create(this::start, FluxSink.OverflowStrategy.BUFFER)
              .publishOn(delivery, options.prefetchBatches())
              .concatMap(
                  batch -> {
                    loop.get().taken();
                    return decode(batch);
                  },
                  1)
              // An error (an undecodable record without a dead-letter topic) reaches the
              // subscriber only after the final commit of what it acknowledged: a restarted
              // consumer then resumes at the failing record, not before it. Regression (issue 3
              // CI): the error used to overtake the commit.
              .onErrorResume(e -> afterClose().then(Mono.error(e)))
              .doFinally(
                  s -> {
                    delivery.dispose();
                    subscribed.set(false);
                  });
        });
  }

  /**
   * Commits the offsets acknowledged so far, now; completes when the broker has them. Fails if no
   * subscription is active.
   */
  public Mono<Void> commit() {
    return Mono.create(
        sink -> {
          PollLoop l = loop.get();
          if (l == null) {
            sink.error(new IllegalStateException("receiver is not running"));
            return;
          }
          boolean accepted =
              l.submit(
                  () -> {
                    try {
                      l.commitSync();
                      sink.success();
                    } catch (RuntimeException e) {
                      sink.error(e);
                    }
                  });
          if (!accepted) {
            sink.error(new IllegalStateException("receiver is not running"));
          }
        });
  }

  /**
   * Stops consuming without committing, as a crash would: acknowledged records not yet committed
   * are delivered again to the next member. For fault injection and tests.
   */
  public void abort() {
    PollLoop l = loop.get();
    if (l != null) {
      l.stop(true);
    }
  }

  /**
   * Stops consuming, committing what was acknowledged, and completes once the consumer has closed:
   * what an owner calls after cancelling its subscription to wait for the final commit.
   */
  public Mono<Void> close() {
    return afterClose();
  }

  /** Stops the poll loop, committing what was acknowledged, and completes once it has closed. */
  private Mono<Void> afterClose() {
    PollLoop l = loop.get();
    if (l == null) {
      return Mono.empty();
    }
    l.stop(false);
    return Mono.fromFuture(l.closed())
        .timeout(options.closeTimeout().multipliedBy(2))
        .onErrorResume(x -> Mono.empty());
  }

  /** Assignment changes of this member, replayed to late subscribers (the last 256). */
  public Flux<AssignmentEvent> assignments() {
    return assignments.asFlux().publishOn(Schedulers.boundedElastic());
  }

  private void start(FluxSink<List<AckChunk>> sink) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            config.consumer(options.groupId()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    PollLoop l =
        new PollLoop(
            consumer,
            options,
            sink,
            e ->
                assignments.emitNext(
                    e, Sinks.EmitFailureHandler.busyLooping(Duration.ofSeconds(1))));
    loop.set(l);
    sink.onDispose(() -> l.stop(false));
    Thread t = KafkaSender.daemon(l, "rlstream-poll-" + options.groupId());
    t.start();
  }

  private static SerializationException undecodable(ConsumerRecord<byte[], byte[]> r, Exception e) {
    return new SerializationException(
        "cannot deserialize "
            + r.topic()
            + "-"
            + r.partition()
            + "@"
            + r.offset()
            + " and no dead-letter topic is configured: "
            + e.getMessage(),
        e);
  }

  /** Deserializes a batch; dead-letters what fails and emits the rest in order. */
  private Flux<ReceiverRecord<K, V>> decode(List<AckChunk> batch) {
    int size = 0;
    for (AckChunk chunk : batch) {
      size += chunk.size();
    }
    List<ReceiverRecord<K, V>> good = new ArrayList<>(size);
    List<Mono<?>> deadLettered = null;
    for (AckChunk chunk : batch) {
      List<ConsumerRecord<byte[], byte[]>> records = chunk.takeRecords();
      for (int i = 0; i < records.size(); i++) {
        ConsumerRecord<byte[], byte[]> r = records.get(i);
        try {
          K key = keyDeserializer.deserialize(r.topic(), r.headers(), r.key());
          V value = valueDeserializer.deserialize(r.topic(), r.headers(), r.value());
          good.add(new ReceiverRecord<>(r, key, value, chunk, i));
        } catch (RuntimeException e) {
          if (deadLetters == null) {
            return Flux.fromIterable(good).concatWith(Flux.error(undecodable(r, e)));
          }
          if (deadLettered == null) {
            deadLettered = new ArrayList<>();
          }
          int index = i;
          deadLettered.add(deadLetters.send(r, e).doOnSuccess(m -> chunk.ack(index)));
        }
      }
    }
    if (deadLettered == null) {
      return Flux.fromIterable(good);
    }
    return Mono.when(deadLettered).thenMany(Flux.fromIterable(good));
  }
}
