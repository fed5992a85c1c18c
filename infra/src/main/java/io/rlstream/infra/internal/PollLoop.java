package io.rlstream.infra.internal;

import io.rlstream.infra.AssignmentEvent;
import io.rlstream.infra.ReceiverOptions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.FluxSink;

/**
 * The one thread that owns a {@link org.apache.kafka.clients.consumer.Consumer}: polls, emits whole
 * poll batches to a {@link FluxSink}, pauses the assignment while {@code prefetchBatches} emitted
 * batches wait to be taken (and keeps polling, so the member stays in its group however long the
 * subscriber holds on), and commits acknowledged offsets on an interval, on revoke and on close.
 *
 * <p>Nothing downstream runs here: {@code KafkaReceiver} puts a {@code publishOn} right after the
 * sink. Rebalance callbacks run inside {@code poll}, on this thread, as Kafka requires.
 */
public final class PollLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(PollLoop.class);

  private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
  private final ReceiverOptions options;
  private final FluxSink<List<AckChunk>> sink;
  private final Consumer<AssignmentEvent> events;
  private final AtomicLong emitted = new AtomicLong();
  private final AtomicLong taken = new AtomicLong();
  private final AtomicBoolean wakeupPending = new AtomicBoolean();
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AckLedger ledger = new AckLedger();
  private volatile boolean stopping;
  private volatile boolean abort;
  private volatile boolean paused;
  private volatile boolean closed;
  private final CompletableFuture<Void> closedFuture = new CompletableFuture<>();
  private long pauses;
  private long lastCommitNanos = System.nanoTime();

  public PollLoop(
      org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer,
      ReceiverOptions options,
      FluxSink<List<AckChunk>> sink,
      Consumer<AssignmentEvent> events) {
    this.consumer = consumer;
    this.options = options;
    this.sink = sink;
    this.events = events;
  }

  /**
   * The delivery stage took a batch out of the buffer. Any thread. The loop pauses the assignment
   * while {@code prefetchBatches} emitted batches wait untaken, and is woken at once when one is
   * taken, rather than waiting out its poll timeout. Counting taken batches, not Reactor requests
   * (which {@code publishOn} replenishes in chunks), keeps the consumer's fetch pipelining going
   * whenever the subscriber keeps up.
   */
  public void taken() {
    taken.incrementAndGet();
    if (paused && wakeupPending.compareAndSet(false, true)) {
      consumer.wakeup();
    }
  }

  /** True while fewer than {@code prefetchBatches} emitted batches wait to be taken. */
  private boolean wanted() {
    return emitted.get() - taken.get() < options.prefetchBatches();
  }

  /**
   * Runs {@code task} on the poll thread before its next poll. Any thread. Returns false, and drops
   * the task, once the loop has closed; a task that arrives while it closes still runs before the
   * consumer is closed.
   */
  public boolean submit(Runnable task) {
    tasks.add(task);
    return !(closed && tasks.remove(task));
  }

  /**
   * Stops the loop; acknowledged offsets are committed unless {@code withoutCommit}. Any thread.
   */
  public void stop(boolean withoutCommit) {
    abort |= withoutCommit;
    stopping = true;
    consumer.wakeup();
  }

  @Override
  public void run() {
    Throwable failure = null;
    try {
      consumer.subscribe(options.topics(), new Listener());
      while (!stopping) {
        runTasks();
        wakeupPending.set(false);
        if (wanted() == paused) {
          setPaused(!paused);
          if (paused && wanted()) {
            continue; // a batch was taken while we paused, and taken() may have missed the flag
          }
        }
        ConsumerRecords<byte[], byte[]> records;
        try {
          records = consumer.poll(options.pollTimeout());
        } catch (WakeupException e) {
          continue;
        }
        if (!records.isEmpty()) {
          emit(records);
        }
        if (System.nanoTime() - lastCommitNanos >= options.commitInterval().toNanos()) {
          commitAsync();
        }
      }
    } catch (Throwable t) {
      failure = t;
      log.error("receiver for group {} failed", options.groupId(), t);
    } finally {
      close();
    }
    if (failure != null) {
      sink.error(failure);
    } else {
      sink.complete();
    }
  }

  /** Commits acknowledged offsets now, synchronously. Poll thread only (use {@link #submit}). */
  public void commitSync() {
    commitSync(null);
  }

  private void emit(ConsumerRecords<byte[], byte[]> records) {
    List<AckChunk> batch = new ArrayList<>(records.partitions().size());
    for (TopicPartition tp : records.partitions()) {
      batch.add(ledger.deliver(tp, records.records(tp)));
    }
    emitted.incrementAndGet();
    sink.next(batch);
  }

  private void setPaused(boolean pause) {
    Set<TopicPartition> current = consumer.assignment();
    if (pause) {
      consumer.pause(current);
      pauses++;
    } else {
      consumer.resume(current);
    }
    paused = pause;
  }

  private void runTasks() {
    Runnable t;
    while ((t = tasks.poll()) != null) {
      t.run();
    }
  }

  private void commitAsync() {
    lastCommitNanos = System.nanoTime();
    Map<TopicPartition, OffsetAndMetadata> offsets = ledger.committable(null);
    if (offsets.isEmpty()) {
      return;
    }
    consumer.commitAsync(
        offsets,
        (committed, e) -> {
          if (e != null) {
            log.warn(
                "async commit of {} failed; retried at the next interval: {}",
                committed,
                e.toString());
            ledger.failed(offsets);
          }
        });
  }

  private void commitSync(Set<TopicPartition> only) {
    Map<TopicPartition, OffsetAndMetadata> offsets = ledger.committable(only);
    if (offsets.isEmpty()) {
      return;
    }
    for (int attempt = 0; ; attempt++) {
      try {
        consumer.commitSync(offsets, options.closeTimeout());
        return;
      } catch (WakeupException e) {
        // a wakeup meant for poll landed here; the commit is still wanted
        if (attempt >= 3) {
          throw e;
        }
      } catch (RuntimeException e) {
        ledger.failed(offsets);
        throw e;
      }
    }
  }

  private void close() {
    log.debug(
        "receiver for group {} stopping: {} batches delivered, paused {} times for back-pressure",
        options.groupId(),
        emitted.get(),
        pauses);
    try {
      if (!abort) {
        commitSync(null);
      }
    } catch (RuntimeException e) {
      log.warn(
          "final commit for group {} failed; uncommitted records will be delivered again",
          options.groupId(),
          e);
    }
    closed = true;
    runTasks(); // tasks that arrived before the flag; later ones are refused by submit()
    try {
      consumer.close(
          org.apache.kafka.clients.consumer.CloseOptions.timeout(options.closeTimeout()));
    } catch (RuntimeException e) {
      log.warn("closing the consumer of group {} failed", options.groupId(), e);
    }
    closedFuture.complete(null);
  }

  /** Completes once the loop has made its final commit and closed the consumer. */
  public CompletableFuture<Void> closed() {
    return closedFuture;
  }

  private final Set<TopicPartition> seeded = new HashSet<>();

  private final class Listener implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      Set<TopicPartition> revoked = Set.copyOf(partitions);
      try {
        if (!abort) {
          commitSync(revoked);
        }
      } catch (RuntimeException e) {
        log.warn(
            "commit on revoke failed for {}; their unacknowledged records go to the next owner",
            revoked,
            e);
      }
      forget(revoked, AssignmentEvent.Kind.REVOKED);
    }

    /** Lost, not revoked: another member may own them already, so nothing is committed. */
    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      forget(Set.copyOf(partitions), AssignmentEvent.Kind.LOST);
    }

    private void forget(Set<TopicPartition> partitions, AssignmentEvent.Kind kind) {
      ledger.remove(partitions);
      events.accept(new AssignmentEvent(kind, partitions));
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      for (TopicPartition tp : partitions) {
        Long start = options.startOffsets().get(tp);
        if (start != null && seeded.add(tp)) {
          consumer.seek(tp, start); // first assignment only: later ones use the commits
        }
      }
      if (paused) {
        consumer.pause(partitions);
      }
      events.accept(new AssignmentEvent(AssignmentEvent.Kind.ASSIGNED, Set.copyOf(partitions)));
    }
  }
}
