package io.rlstream.infra;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Serializer;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
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
  private static final int RESULT_PREFETCH = 256;

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
    return Flux.<SenderResult<T>>create(
            sink -> new SendLoop<T>(sink).start(records), FluxSink.OverflowStrategy.BUFFER)
        .publishOn(resultScheduler, RESULT_PREFETCH);
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

  /**
   * Subscribes to the records on the send thread and hands each to the producer. Up to {@code
   * maxInFlight} records are requested ahead; acknowledgements are turned into requests for more,
   * but only as far as downstream has asked for results, so a stalled subscriber stops the sending
   * rather than piling up results. A result is emitted before it stops counting as in flight, so
   * completion never overtakes a result.
   */
  private final class SendLoop<T> extends BaseSubscriber<SenderRecord<K, V, T>> {
    private final FluxSink<SenderResult<T>> sink;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong owed = new AtomicLong();
    private final AtomicBoolean terminated = new AtomicBoolean();
    private final int replenishChunk = Math.max(1, options.maxInFlight() / 4);
    private volatile boolean upstreamDone;

    SendLoop(FluxSink<SenderResult<T>> sink) {
      this.sink = sink;
    }

    void start(Publisher<SenderRecord<K, V, T>> records) {
      sink.onRequest(n -> replenish());
      sink.onDispose(this::dispose);
      Flux.from(records)
          .publishOn(sendScheduler, Math.min(options.maxInFlight(), 256))
          .subscribe(this);
    }

    @Override
    protected void hookOnSubscribe(Subscription subscription) {
      subscription.request(options.maxInFlight());
    }

    @Override
    protected void hookOnNext(SenderRecord<K, V, T> r) {
      if (closed.get()) {
        fail(new IllegalStateException("sender is closed"));
        return;
      }
      pending.incrementAndGet();
      inFlight.incrementAndGet();
      try {
        producer.send(r.record(), (metadata, exception) -> complete(r, metadata, exception));
      } catch (RuntimeException e) {
        // serialization errors, oversized records, a closed or fatally failed producer
        complete(r, null, e);
      }
    }

    private void complete(SenderRecord<K, V, T> r, RecordMetadata metadata, Exception exception) {
      inFlight.decrementAndGet();
      if (exception != null && options.stopOnError()) {
        pending.decrementAndGet();
        fail(exception);
        return;
      }
      sink.next(new SenderResult<>(metadata, exception, r.correlation()));
      owed.incrementAndGet();
      replenish();
      if (pending.decrementAndGet() == 0 && upstreamDone) {
        finish();
      }
    }

    /**
     * Requests from upstream what acknowledgements freed, within downstream's demand: in chunks of
     * a quarter of {@code maxInFlight}, or at once when few records are left in flight, so the
     * producer's I/O thread, which runs this, does not wake the send thread once per record.
     */
    private void replenish() {
      while (true) {
        long o = owed.get();
        if (o < replenishChunk && pending.get() >= replenishChunk) {
          return;
        }
        long n = Math.min(o, sink.requestedFromDownstream());
        if (n <= 0) {
          return;
        }
        if (owed.compareAndSet(o, o - n)) {
          upstream().request(n);
          return;
        }
      }
    }

    @Override
    protected void hookOnComplete() {
      upstreamDone = true;
      if (pending.get() == 0) {
        finish();
      }
    }

    @Override
    protected void hookOnError(Throwable t) {
      if (terminated.compareAndSet(false, true)) {
        sink.error(t);
      }
    }

    private void fail(Throwable t) {
      if (terminated.compareAndSet(false, true)) {
        dispose();
        sink.error(t);
      }
    }

    private void finish() {
      if (terminated.compareAndSet(false, true)) {
        sink.complete();
      }
    }
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
