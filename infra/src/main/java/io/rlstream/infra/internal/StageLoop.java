package io.rlstream.infra.internal;

import io.rlstream.infra.CommittedBatch;
import io.rlstream.infra.DeadLetters;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.StageOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;

/**
 * The thread of a {@code TransactionalStage}: owns its consumer and drives its transactional
 * producer, one poll batch per transaction. Processing runs on the worker scheduler while this
 * thread keeps polling with the partitions paused. See {@code TransactionalStage} for the error
 * policy; this class is its implementation.
 *
 * <p>Longer than our 400-line budget on purpose: the poll loop, an attempt, the error
 * classification and the rebalance listener share one transaction's state (the open batch, whether
 * a transaction is open, whether the batch was revoked), and splitting them would spread that state
 * over classes that must then coordinate.
 */
public final class StageLoop<KI, VI, KO, VO> implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(StageLoop.class);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  private enum Outcome {
    COMMITTED,
    RETRY,
    REVOKED,
    STOPPED
  }

  /** The records of one poll, where they start and where the stage resumes after them. */
  private static final class Batch {
    final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    final Map<TopicPartition, Long> first = new HashMap<>();
    final Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
    boolean revoked;

    Batch(ConsumerRecords<byte[], byte[]> polled) {
      for (TopicPartition tp : polled.partitions()) {
        List<ConsumerRecord<byte[], byte[]>> rs = polled.records(tp);
        records.addAll(rs);
        first.put(tp, rs.get(0).offset());
        next.put(tp, new OffsetAndMetadata(rs.get(rs.size() - 1).offset() + 1));
      }
    }
  }

  /** Counts of one attempt, written from worker threads. */
  private static final class Counts {
    final AtomicInteger outputs = new AtomicInteger();
    final AtomicInteger deadLettered = new AtomicInteger();
    final AtomicReference<Exception> sendError = new AtomicReference<>();
  }

  private final StageOptions options;
  private final Deserializer<KI> keyIn;
  private final Deserializer<VI> valueIn;
  private final Serializer<KO> keyOut;
  private final Serializer<VO> valueOut;
  private final Function<ConsumerRecord<KI, VI>, Publisher<ProducerRecord<KO, VO>>> processor;
  private final FluxSink<CommittedBatch> sink;
  private final Scheduler worker;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final AtomicLong requested = new AtomicLong();
  private volatile boolean stopping;
  private boolean paused;
  private boolean inTransaction;
  private Batch current;

  public StageLoop(
      KafkaClientConfig config,
      StageOptions options,
      Deserializer<KI> keyIn,
      Deserializer<VI> valueIn,
      Serializer<KO> keyOut,
      Serializer<VO> valueOut,
      Function<ConsumerRecord<KI, VI>, Publisher<ProducerRecord<KO, VO>>> processor,
      FluxSink<CommittedBatch> sink,
      Scheduler worker) {
    this.options = options;
    this.keyIn = keyIn;
    this.valueIn = valueIn;
    this.keyOut = keyOut;
    this.valueOut = valueOut;
    this.processor = processor;
    this.sink = sink;
    this.worker = worker;
    this.consumer =
        new KafkaConsumer<>(
            consumerConfig(config, options),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    this.producer =
        new KafkaProducer<>(
            config.transactionalProducer(options.transactionalId()),
            new ByteArraySerializer(),
            new ByteArraySerializer());
  }

  /** The consumer's settings: one poll returns at most a batch. */
  private static Map<String, Object> consumerConfig(
      KafkaClientConfig config, StageOptions options) {
    Map<String, Object> c = config.consumer(options.groupId());
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, options.maxBatch());
    return c;
  }

  public void request(long n) {
    requested.getAndUpdate(r -> r + n < 0 ? Long.MAX_VALUE : r + n);
  }

  public void stop() {
    stopping = true;
    consumer.wakeup();
  }

  @Override
  public void run() {
    Throwable failure = null;
    try {
      producer.initTransactions(); // fences any earlier incarnation with the same transactional id
      consumer.subscribe(options.inputTopics(), new Listener());
      while (!stopping) {
        setPaused(requested.get() == 0);
        ConsumerRecords<byte[], byte[]> records = poll(options.pollTimeout());
        if (records.isEmpty()) {
          continue;
        }
        setPaused(true);
        CommittedBatch done = process(new Batch(records));
        if (done != null) {
          requested.decrementAndGet();
          sink.next(done);
        }
      }
    } catch (Throwable t) {
      failure = t;
      log.error("stage {} stopped on a fatal error", options.name(), t);
    } finally {
      close();
    }
    if (failure != null) {
      sink.error(failure);
    } else {
      sink.complete();
    }
  }

  /**
   * Runs a batch to a commit, retrying retriable failures; null if it was given up to a rebalance
   * or stop.
   */
  private CommittedBatch process(Batch batch) {
    current = batch;
    try {
      for (int attempt = 1; ; attempt++) {
        Counts counts = new Counts();
        Outcome outcome = attempt(batch, attempt, counts);
        switch (outcome) {
          case COMMITTED:
            Map<TopicPartition, Long> offsets = new HashMap<>();
            batch.next.forEach((tp, o) -> offsets.put(tp, o.offset()));
            return new CommittedBatch(
                batch.records.size(),
                counts.outputs.get(),
                counts.deadLettered.get(),
                Map.copyOf(offsets),
                attempt);
          case RETRY:
            waitPolling(backoff(attempt));
            if (!batch.revoked && !stopping) {
              continue;
            }
            rewind(batch);
            return null;
          default:
            rewind(batch);
            return null;
        }
      }
    } finally {
      current = null;
    }
  }

  private Outcome attempt(Batch batch, int attempt, Counts counts) {
    if (batch.revoked) {
      return Outcome.REVOKED;
    }
    producer.beginTransaction();
    inTransaction = true;
    boolean lastAttempt = attempt >= options.maxAttempts();
    CompletableFuture<Void> processing =
        Flux.fromIterable(batch.records)
            .flatMapSequential(
                r ->
                    Flux.defer(() -> processOne(r, attempt, lastAttempt, counts))
                        .subscribeOn(worker),
                options.concurrency())
            .doOnNext(out -> send(out, counts))
            .then()
            .toFuture();
    while (!processing.isDone()) {
      // wait on the work itself, polling (paused) only to stay in the group: a poll blocks for its
      // whole time-out on paused partitions, which would add up to that much to every batch
      try {
        processing.get(options.pollTimeout().toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        pollWhileBusy(Duration.ofMillis(10));
      } catch (ExecutionException | CancellationException e) {
        // reported by join() below
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopping = true;
      }
      if (stopping) {
        processing.cancel(true);
        abort();
        return Outcome.STOPPED;
      }
    }
    try {
      processing.join();
    } catch (CompletionException | CancellationException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      log.warn(
          "stage {}: attempt {} at a batch of {} failed, aborting: {}",
          options.name(),
          attempt,
          batch.records.size(),
          cause.toString());
      abort();
      return Outcome.RETRY;
    }
    if (counts.sendError.get() != null) {
      Exception e = counts.sendError.get();
      failIfFatal(e);
      log.warn("stage {}: a send failed, aborting: {}", options.name(), e.toString());
      abort();
      return Outcome.RETRY;
    }
    if (batch.revoked) {
      abort();
      return Outcome.REVOKED;
    }
    try {
      producer.sendOffsetsToTransaction(batch.next, consumer.groupMetadata());
      producer.commitTransaction();
      inTransaction = false;
      return Outcome.COMMITTED;
    } catch (KafkaException e) {
      failIfFatal(e);
      log.warn("stage {}: commit failed, aborting: {}", options.name(), e.toString());
      abort();
      return batch.revoked ? Outcome.REVOKED : Outcome.RETRY;
    }
  }

  /** Outputs of one input, all or none; failures become a dead letter or fail the attempt. */
  private Flux<ProducerRecord<byte[], byte[]>> processOne(
      ConsumerRecord<byte[], byte[]> raw, int attempt, boolean lastAttempt, Counts counts) {
    ConsumerRecord<KI, VI> input;
    try {
      input = decode(raw);
    } catch (RuntimeException e) {
      counts.deadLettered.incrementAndGet();
      return Flux.just(deadLetter(raw, e));
    }
    return Flux.defer(() -> Flux.from(processor.apply(input)))
        .map(this::serialize)
        .collectList()
        .flatMapMany(Flux::fromIterable)
        .onErrorResume(
            e -> {
              boolean retriable = options.retriable().test(e);
              if (retriable && !lastAttempt) {
                return Flux.error(e);
              }
              counts.deadLettered.incrementAndGet();
              Throwable reason =
                  retriable
                      ? new KafkaException("gave up after " + attempt + " attempts: " + e, e)
                      : e;
              return Flux.just(deadLetter(raw, reason));
            });
  }

  private ConsumerRecord<KI, VI> decode(ConsumerRecord<byte[], byte[]> r) {
    KI key = keyIn.deserialize(r.topic(), r.headers(), r.key());
    VI value = valueIn.deserialize(r.topic(), r.headers(), r.value());
    return new ConsumerRecord<>(
        r.topic(),
        r.partition(),
        r.offset(),
        r.timestamp(),
        r.timestampType(),
        r.serializedKeySize(),
        r.serializedValueSize(),
        key,
        value,
        r.headers(),
        r.leaderEpoch());
  }

  private ProducerRecord<byte[], byte[]> serialize(ProducerRecord<KO, VO> out) {
    byte[] key = out.key() == null ? null : keyOut.serialize(out.topic(), out.headers(), out.key());
    byte[] value =
        out.value() == null ? null : valueOut.serialize(out.topic(), out.headers(), out.value());
    return new ProducerRecord<>(
        out.topic(), out.partition(), out.timestamp(), key, value, out.headers());
  }

  private ProducerRecord<byte[], byte[]> deadLetter(
      ConsumerRecord<byte[], byte[]> raw, Throwable e) {
    return DeadLetters.deadLetter(options.deadLetterTopic(), options.name(), raw, e);
  }

  private void send(ProducerRecord<byte[], byte[]> out, Counts counts) {
    try {
      producer.send(
          out,
          (md, e) -> {
            if (e != null) {
              counts.sendError.compareAndSet(null, e);
            }
          });
      counts.outputs.incrementAndGet();
    } catch (RuntimeException e) {
      counts.sendError.compareAndSet(null, e);
    }
  }

  private void abort() {
    if (!inTransaction) {
      return;
    }
    inTransaction = false;
    try {
      producer.abortTransaction();
    } catch (KafkaException e) {
      failIfFatal(e);
      throw new KafkaException(
          "stage " + options.name() + ": cannot abort transaction: " + e.getMessage(), e);
    }
  }

  /**
   * The producer's own rule: after these, the producer is unusable and must be closed. Fencing
   * means a newer instance with our transactional id took over.
   */
  private void failIfFatal(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ProducerFencedException
          || t instanceof FencedInstanceIdException
          || t instanceof OutOfOrderSequenceException
          || t instanceof AuthorizationException
          || t instanceof UnsupportedVersionException) {
        inTransaction = false;
        throw t instanceof KafkaException ke ? ke : new KafkaException(t);
      }
    }
  }

  /** Puts the batch's partitions that are still ours back at the batch's start. */
  private void rewind(Batch batch) {
    var assignment = consumer.assignment();
    batch.first.forEach(
        (tp, offset) -> {
          if (assignment.contains(tp)) {
            consumer.seek(tp, offset);
          }
        });
  }

  private Duration backoff(int attempt) {
    long min = options.minBackoff().toMillis();
    long max = options.maxBackoff().toMillis();
    long exp = Math.min(max, min << Math.min(attempt - 1, 20));
    long jittered = exp / 2 + ThreadLocalRandom.current().nextLong(exp / 2 + 1);
    return Duration.ofMillis(Math.max(min, jittered));
  }

  private void waitPolling(Duration d) {
    long until = System.nanoTime() + d.toNanos();
    while (!stopping && System.nanoTime() < until) {
      pollWhileBusy(
          Duration.ofNanos(Math.min(options.pollTimeout().toNanos(), until - System.nanoTime())));
    }
  }

  /** Polls with every partition paused: keeps the membership, runs rebalance callbacks. */
  private void pollWhileBusy(Duration timeout) {
    setPaused(true);
    ConsumerRecords<byte[], byte[]> unexpected = poll(timeout);
    if (!unexpected.isEmpty()) {
      // a partition slipped through unpaused: put it back so nothing is skipped
      for (TopicPartition tp : unexpected.partitions()) {
        consumer.seek(tp, unexpected.records(tp).get(0).offset());
      }
    }
  }

  private ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
    try {
      return consumer.poll(timeout);
    } catch (WakeupException e) {
      return ConsumerRecords.empty();
    }
  }

  private void setPaused(boolean pause) {
    if (pause == paused) {
      return;
    }
    if (pause) {
      consumer.pause(consumer.assignment());
    } else {
      consumer.resume(consumer.assignment());
    }
    paused = pause;
  }

  private void close() {
    try {
      if (inTransaction) {
        producer.abortTransaction();
      }
    } catch (RuntimeException e) {
      log.debug("abort on close failed", e);
    }
    try {
      producer.close(CLOSE_TIMEOUT);
    } catch (RuntimeException e) {
      log.warn("closing the producer of stage {} failed", options.name(), e);
    }
    try {
      consumer.close(CloseOptions.timeout(CLOSE_TIMEOUT));
    } catch (RuntimeException e) {
      log.warn("closing the consumer of stage {} failed", options.name(), e);
    }
  }

  private final class Listener implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      markRevoked(partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      markRevoked(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (paused) {
        consumer.pause(partitions);
      }
    }

    private void markRevoked(Collection<TopicPartition> partitions) {
      Batch b = current;
      if (b != null && partitions.stream().anyMatch(b.first::containsKey)) {
        b.revoked = true;
        log.info(
            "stage {}: partitions {} revoked mid-batch; the batch is aborted and left to the new owner",
            options.name(),
            partitions);
      }
    }
  }
}
