package io.rlstream.infra;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Serializer;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Sends records to Kafka from Reactor streams over one idempotent {@link KafkaProducer}.
 *
 * <ul>
 *   <li>Order: {@code producer.send} is called on one dedicated thread in the order records arrive,
 *       so with idempotence the order is kept per partition (hence per key).
 *   <li>Back-pressure: at most {@link SenderOptions#maxInFlight()} records are unacknowledged;
 *       upstream is asked for more as acknowledgements come back.
 *   <li>Blocking: {@code send} blocks when the producer's buffer is full or metadata is missing;
 *       that happens on the sender's own thread, never on a Reactor thread. Results are emitted on
 *       the sender's result thread, not on the producer's network thread.
 *   <li>Errors: a send that fails after the producer's retries ({@code delivery.timeout.ms}) ends
 *       the stream, or comes back as a failed {@link SenderResult} if {@code stopOnError} is false.
 *       A fatal producer error (authorization, fencing) fails every later send too; close the
 *       sender and make a new one.
 * </ul>
 *
 * Thread-safe; one producer serves every {@code send} call. Close it when done.
 */
public final class KafkaSender<K, V> implements AutoCloseable {
  private final Producer<K, V> producer;
  private final SenderOptions options;
  private final ExecutorService sendThread;
  private final Scheduler sendScheduler;
  private final Scheduler resultScheduler;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicInteger inFlight = new AtomicInteger();

  private KafkaSender(Producer<K, V> producer, SenderOptions options, String name) {
    this.producer = producer;
    this.options = options;
    this.sendThread = Executors.newSingleThreadExecutor(r -> daemon(r, "rlstream-send-" + name));
    this.sendScheduler = Schedulers.fromExecutorService(sendThread, "rlstream-send-" + name);
    this.resultScheduler = Schedulers.newSingle("rlstream-send-result-" + name, true);
  }

  /** A sender with an idempotent producer built from {@code config}. */
  public static <K, V> KafkaSender<K, V> create(
      KafkaClientConfig config,
      Serializer<K> keySerializer,
      Serializer<V> valueSerializer,
      SenderOptions options) {
    Map<String, Object> props = config.producer();
    return new KafkaSender<>(
        new KafkaProducer<>(props, keySerializer, valueSerializer),
        Objects.requireNonNull(options, "options"),
        String.valueOf(
            props.getOrDefault("client.id", Integer.toHexString(System.identityHashCode(props)))));
  }

  /**
   * Sends every record of {@code records} and emits one result per record, in acknowledgement order
   * (which is send order within a partition).
   */
  public <T> Flux<SenderResult<T>> send(Publisher<SenderRecord<K, V, T>> records) {
    Objects.requireNonNull(records, "records");
    int prefetch = Math.min(options.maxInFlight(), 256);
    return Flux.from(records)
        .publishOn(sendScheduler, prefetch)
        .flatMap(this::sendOne, options.maxInFlight(), 1)
        .publishOn(resultScheduler, prefetch);
  }

  /** Sends one record; the Mono completes when the broker acknowledges it, or fails. */
  public Mono<RecordMetadata> send(ProducerRecord<K, V> record) {
    Objects.requireNonNull(record, "record");
    return send(Mono.just(SenderRecord.of(record, (Void) null)))
        .single()
        .flatMap(r -> r.ok() ? Mono.just(r.metadata()) : Mono.error(r.exception()));
  }

  /** Records handed to the producer and not yet acknowledged or failed, now. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Waits until every record handed to the producer so far is acknowledged or failed. */
  public Mono<Void> flush() {
    return Mono.<Void>fromRunnable(producer::flush).subscribeOn(Schedulers.boundedElastic());
  }

  private <T> Mono<SenderResult<T>> sendOne(SenderRecord<K, V, T> r) {
    return Mono.create(
        sink -> {
          if (closed.get()) {
            sink.error(new IllegalStateException("sender is closed"));
            return;
          }
          inFlight.incrementAndGet();
          try {
            producer.send(
                r.record(),
                (metadata, exception) -> {
                  inFlight.decrementAndGet();
                  if (exception == null) {
                    sink.success(new SenderResult<>(metadata, null, r.correlation()));
                  } else if (options.stopOnError()) {
                    sink.error(exception);
                  } else {
                    sink.success(new SenderResult<>(metadata, exception, r.correlation()));
                  }
                });
          } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            // serialization errors, oversized records, a closed or fatally failed producer
            if (options.stopOnError()) {
              sink.error(e);
            } else {
              sink.success(new SenderResult<>(null, e, r.correlation()));
            }
          }
        });
  }

  /** Flushes what is in flight, then closes the producer and the sender's threads. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      producer.close(Duration.ofSeconds(30));
      sendScheduler.dispose();
      resultScheduler.dispose();
      sendThread.shutdown();
    }
  }

  static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
