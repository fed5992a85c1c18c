package io.rlstream.judge;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.rlstream.infra.DeadLetters;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.LogReader;
import io.rlstream.schemas.AssemblerEntry;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.JudgeSet;
import io.rlstream.schemas.JudgeWeight;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.MissingJudgements;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread of an {@link Assembler}: owns its consumer (samples + judgements, range-assigned so a
 * member gets the same partition numbers of both), its transactional producer and its waiting
 * groups. One transaction per batch; state changes are staged in the batch and applied to the cache
 * only after the commit, so an aborted batch leaves the state as the committed offsets imply.
 */
final class AssemblerLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(AssemblerLoop.class);
  private static final AvroCodec<SampleGroup> SAMPLES = AvroCodec.of(SampleGroup.class);
  private static final AvroCodec<Judgement> JUDGEMENTS = AvroCodec.of(Judgement.class);
  private static final AvroCodec<ScoredGroup> SCORED = AvroCodec.of(ScoredGroup.class);
  private static final AvroCodec<AssemblerEntry> ENTRIES = AvroCodec.of(AssemblerEntry.class);
  private static final Duration POLL = Duration.ofMillis(100);

  /** A waiting group: committed state in the cache, or a batch's working copy. */
  private static final class Pending {
    final String groupId;
    final int partition;
    final long firstSeenMs;
    SampleGroup group;
    long sampleOffset = -1;
    final Map<String, Judgement> judgements = new LinkedHashMap<>();
    boolean persisted; // has a changelog entry
    boolean done; // emitted or dead-lettered in this batch

    Pending(String groupId, int partition, long firstSeenMs) {
      this.groupId = groupId;
      this.partition = partition;
      this.firstSeenMs = firstSeenMs;
    }

    Pending copy() {
      Pending p = new Pending(groupId, partition, firstSeenMs);
      p.group = group;
      p.sampleOffset = sampleOffset;
      p.judgements.putAll(judgements);
      p.persisted = persisted;
      return p;
    }
  }

  private final KafkaClientConfig kafka;
  private final TopicNames topics;
  private final Assembler.Options options;
  private final String stage;
  private final Cache<String, Pending> pending;
  private final List<Pending> evicted = new ArrayList<>();
  private final AtomicLong emitted = new AtomicLong();
  private final AtomicLong partial = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong orphans = new AtomicLong();
  private final AtomicLong late = new AtomicLong();
  private final AtomicLong handedOver = new AtomicLong();
  private volatile boolean stopping;
  private volatile Throwable failure;
  private volatile JudgeSet set;
  private volatile long setChanges;
  private Aggregator aggregator;
  private Set<String> required = Set.of();
  private KafkaConsumer<byte[], byte[]> consumer;
  private long lastSweep;
  private boolean recheck;

  AssemblerLoop(KafkaClientConfig kafka, TopicNames topics, Assembler.Options options) {
    this.kafka = kafka;
    this.topics = topics;
    this.options = options;
    this.stage = "assembler/" + options.name();
    this.pending =
        Caffeine.newBuilder()
            .maximumSize(options.maxPending())
            .expireAfterWrite(options.maxAge())
            .executor(Runnable::run)
            .<String, Pending>evictionListener(
                (k, v, cause) -> {
                  if (v != null && cause.wasEvicted()) {
                    evicted.add(v);
                    if (cause == RemovalCause.SIZE) {
                      log.warn(
                          "assembler state full ({} groups): group {} is dead-lettered",
                          options.maxPending(),
                          k);
                    }
                  }
                })
            .build();
  }

  Assembler.Counts counts() {
    return new Assembler.Counts(
        emitted.get(),
        partial.get(),
        deadLettered.get(),
        orphans.get(),
        late.get(),
        pending.estimatedSize(),
        handedOver.get(),
        setChanges);
  }

  JudgeSet judgeSet() {
    return set;
  }

  Throwable failure() {
    return failure;
  }

  void stop() {
    stopping = true;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
  }

  @Override
  public void run() {
    KafkaProducer<byte[], byte[]> producer = null;
    try (JudgeSets.Watcher watcher =
        new JudgeSets.Watcher(kafka, topics.assemblerConfig(), options.name())) {
      checkPartitions();
      watcher.catchUp(Duration.ofSeconds(30));
      while (watcher.current() == null && !stopping) {
        log.info(
            "assembler {} waits for a judge set on {} (rlstream judges set ...)",
            options.name(),
            topics.assemblerConfig());
        watcher.poll(Duration.ofSeconds(2));
      }
      if (stopping) {
        return;
      }
      apply(watcher.current());
      Map<String, Object> c =
          new HashMap<>(kafka.consumer(Assembler.consumerGroup(options.name())));
      c.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
      c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000); // fast work: few commits per record
      consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      producer =
          new KafkaProducer<>(
              kafka.transactionalProducer(
                  Assembler.consumerGroup(options.name()) + "-" + options.instanceId()),
              new ByteArraySerializer(),
              new ByteArraySerializer());
      producer.initTransactions();
      consumer.subscribe(List.of(topics.samples(), topics.judgements()), new Rebalance());
      long backoff = 100;
      while (!stopping) {
        if (watcher.poll(Duration.ZERO)) {
          apply(watcher.current());
        }
        ConsumerRecords<byte[], byte[]> records;
        try {
          records = consumer.poll(POLL);
        } catch (WakeupException e) {
          continue;
        }
        try {
          batch(producer, records);
          backoff = 100;
        } catch (ProducerFencedException
            | FencedInstanceIdException
            | OutOfOrderSequenceException
            | AuthorizationException
            | UnsupportedVersionException e) {
          throw e;
        } catch (KafkaException e) {
          log.warn("assembler batch aborted, retrying in {} ms: {}", backoff, e.toString());
          abort(producer, records);
          sleep(backoff);
          backoff = Math.min(5000, backoff * 2);
        }
      }
    } catch (WakeupException e) {
      // stopping
    } catch (Throwable t) {
      failure = t;
      log.error("assembler {} stopped: {}", options.name(), t.toString(), t);
    } finally {
      if (producer != null) {
        producer.close(Duration.ofSeconds(10));
      }
      if (consumer != null) {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(10)));
      }
    }
  }

  private void apply(JudgeSet s) {
    Aggregator a = JudgeSets.aggregator(s);
    Set<String> r = new HashSet<>();
    for (JudgeWeight w : s.getJudges()) {
      r.add(w.getJudgeId());
    }
    log.info(
        "assembler {}: judge set {}{}",
        options.name(),
        set == null ? "" : "now ",
        JudgeSets.describe(s));
    set = s;
    aggregator = a;
    required = r;
    setChanges++;
    recheck = true; // waiting groups may be complete under the new set
  }

  /** One transaction: the batch's records, time-outs and evictions. */
  private void batch(KafkaProducer<byte[], byte[]> producer, ConsumerRecords<byte[], byte[]> in) {
    long now = System.currentTimeMillis();
    boolean sweep = now - lastSweep >= options.sweepInterval().toMillis();
    if (in.isEmpty() && !sweep && !recheck && evicted.isEmpty()) {
      return;
    }
    Map<String, Pending> touched = new LinkedHashMap<>();
    List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
    Counter counter = new Counter();
    for (ConsumerRecord<byte[], byte[]> r : in) {
      record(r, now, touched, out, counter);
    }
    if (recheck) { // groups this batch touched were checked against the new set already
      for (Pending p : pending.asMap().values()) {
        if (!touched.containsKey(p.groupId) && complete(p)) {
          Pending w = p.copy();
          touched.put(p.groupId, w);
          emit(w, false, out, counter);
        }
      }
    }
    if (sweep) {
      for (Pending p : pending.asMap().values()) {
        if (now - p.firstSeenMs >= set.getTimeoutMs()) {
          Pending w = touched.computeIfAbsent(p.groupId, k -> p.copy());
          if (!w.done) {
            timedOut(w, out, counter, "within " + set.getTimeoutMs() + " ms");
          }
        }
      }
    }
    List<Pending> gone = new ArrayList<>(evicted);
    for (Pending p : gone) {
      Pending w = touched.computeIfAbsent(p.groupId, k -> p.copy());
      if (!w.done) {
        timedOut(w, out, counter, "before it was pushed out of the assembler's state");
      }
    }
    // changelog: waiting groups that changed, tombstones for finished ones that had an entry
    for (Pending p : touched.values()) {
      byte[] key = p.groupId.getBytes(StandardCharsets.UTF_8);
      if (p.done) {
        if (p.persisted) {
          out.add(new ProducerRecord<>(topics.assemblerState(), p.partition, key, null));
        }
      } else {
        out.add(
            new ProducerRecord<>(
                topics.assemblerState(), p.partition, key, ENTRIES.encode(entry(p))));
      }
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : in.partitions()) {
      List<ConsumerRecord<byte[], byte[]>> rs = in.records(tp);
      offsets.put(tp, new OffsetAndMetadata(rs.get(rs.size() - 1).offset() + 1));
    }
    if (out.isEmpty() && offsets.isEmpty()) {
      lastSweep = now;
      recheck = false;
      return;
    }
    producer.beginTransaction();
    for (ProducerRecord<byte[], byte[]> r : out) {
      producer.send(r);
    }
    if (!offsets.isEmpty()) {
      producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
    }
    producer.commitTransaction();
    // committed: make the batch's state the state
    evicted.removeAll(gone);
    for (Pending p : touched.values()) {
      if (p.done) {
        pending.invalidate(p.groupId);
      } else {
        p.persisted = true;
        pending.put(p.groupId, p);
      }
    }
    lastSweep = sweep ? now : lastSweep;
    recheck = false;
    emitted.addAndGet(counter.emitted);
    partial.addAndGet(counter.partial);
    deadLettered.addAndGet(counter.deadLettered);
    orphans.addAndGet(counter.orphans);
    late.addAndGet(counter.late);
  }

  private static final class Counter {
    long emitted;
    long partial;
    long deadLettered;
    long orphans;
    long late;
  }

  private void record(
      ConsumerRecord<byte[], byte[]> r,
      long now,
      Map<String, Pending> touched,
      List<ProducerRecord<byte[], byte[]>> out,
      Counter counter) {
    boolean isSample = r.topic().equals(topics.samples());
    SampleGroup sample = null;
    Judgement judgement = null;
    String groupId;
    try {
      if (r.value() == null) {
        throw new IllegalArgumentException("record has no value");
      }
      if (isSample) {
        sample = SAMPLES.decode(r.value());
        groupId = sample.getGroupId();
      } else {
        judgement = JUDGEMENTS.decode(r.value());
        groupId = judgement.getGroupId();
      }
      String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
      if (!groupId.equals(key)) {
        throw new IllegalArgumentException(
            "record key '" + key + "' is not its groupId '" + groupId + "'");
      }
    } catch (RuntimeException e) {
      out.add(DeadLetters.deadLetter(topics.dlq(), stage, r, e));
      counter.deadLettered++;
      return;
    }
    Pending p = touched.get(groupId);
    if (p == null) {
      Pending committed = pending.getIfPresent(groupId);
      p = committed != null ? committed.copy() : new Pending(groupId, r.partition(), now);
      touched.put(groupId, p);
    }
    if (p.done) {
      if (!isSample) {
        counter.late++;
      }
      return;
    }
    if (isSample) {
      if (p.group == null) {
        p.group = sample;
        p.sampleOffset = r.offset();
      }
    } else {
      p.judgements.put(judgement.getJudgeId(), judgement);
    }
    if (complete(p)) {
      emit(p, false, out, counter);
    }
  }

  private boolean complete(Pending p) {
    return p.group != null && p.judgements.keySet().containsAll(required);
  }

  private void emit(
      Pending p, boolean isPartial, List<ProducerRecord<byte[], byte[]>> out, Counter counter) {
    int n = p.group.getCompletions().size();
    double[] rewards;
    try {
      rewards = aggregator.rewards(n, p.judgements);
    } catch (RuntimeException e) {
      deadLetter(p, e, out, counter);
      return;
    }
    List<Double> rewardList = new ArrayList<>(n);
    for (double r : rewards) {
      rewardList.add(r);
    }
    List<String> missing = new ArrayList<>();
    for (JudgeWeight w : set.getJudges()) {
      if (!p.judgements.containsKey(w.getJudgeId())) {
        missing.add(w.getJudgeId());
      }
    }
    ScoredGroup scored =
        ScoredGroup.newBuilder()
            .setGroup(p.group)
            .setJudgements(new ArrayList<>(p.judgements.values()))
            .setRewards(rewardList)
            .setAggregation(aggregator.description())
            .setPartial(isPartial)
            .setMissingJudges(missing)
            .setProvenance(Provenances.now(stage))
            .build();
    out.add(
        new ProducerRecord<>(
            topics.scored(), p.groupId.getBytes(StandardCharsets.UTF_8), SCORED.encode(scored)));
    p.done = true;
    counter.emitted++;
    if (isPartial) {
      counter.partial++;
    }
  }

  private void timedOut(
      Pending p, List<ProducerRecord<byte[], byte[]>> out, Counter counter, String when) {
    if (p.group == null) {
      log.debug("dropping judgements of group {}: its sample never arrived", p.groupId);
      p.done = true;
      counter.orphans++;
      return;
    }
    List<String> missing = new ArrayList<>(required);
    missing.removeAll(p.judgements.keySet());
    boolean any = p.judgements.keySet().stream().anyMatch(required::contains);
    if (set.getMissing() == MissingJudgements.PARTIAL && any) {
      emit(p, true, out, counter);
    } else {
      deadLetter(
          p,
          new IllegalStateException(
              "group "
                  + p.groupId
                  + ": no judgement from "
                  + missing
                  + " "
                  + when
                  + " (has "
                  + p.judgements.keySet()
                  + ", missing policy "
                  + set.getMissing()
                  + ")"),
          out,
          counter);
    }
  }

  private void deadLetter(
      Pending p, Throwable reason, List<ProducerRecord<byte[], byte[]>> out, Counter counter) {
    ConsumerRecord<byte[], byte[]> original =
        new ConsumerRecord<>(
            topics.samples(),
            p.partition,
            p.sampleOffset,
            p.groupId.getBytes(StandardCharsets.UTF_8),
            SAMPLES.encode(p.group));
    out.add(DeadLetters.deadLetter(topics.dlq(), stage, original, reason));
    p.done = true;
    counter.deadLettered++;
  }

  private static AssemblerEntry entry(Pending p) {
    return AssemblerEntry.newBuilder()
        .setGroupId(p.groupId)
        .setFirstSeenMs(p.firstSeenMs)
        .setGroup(p.group)
        .setJudgements(new ArrayList<>(p.judgements.values()))
        .build();
  }

  private void abort(KafkaProducer<byte[], byte[]> producer, ConsumerRecords<byte[], byte[]> in) {
    try {
      producer.abortTransaction();
    } catch (KafkaException e) {
      log.debug("abort failed: {}", e.toString());
    }
    for (TopicPartition tp : in.partitions()) {
      if (consumer.assignment().contains(tp)) {
        consumer.seek(tp, in.records(tp).get(0).offset());
      }
    }
  }

  /** Fails fast when samples and judgements are not partitioned alike. */
  private void checkPartitions() throws InterruptedException, ExecutionException {
    try (Admin admin = Admin.create(kafka.admin())) {
      Map<String, TopicDescription> d =
          admin
              .describeTopics(
                  List.of(topics.samples(), topics.judgements(), topics.assemblerState()))
              .allTopicNames()
              .get();
      int samples = d.get(topics.samples()).partitions().size();
      int judgements = d.get(topics.judgements()).partitions().size();
      int state = d.get(topics.assemblerState()).partitions().size();
      if (samples != judgements || state < samples) {
        throw new IllegalStateException(
            topics.samples()
                + " has "
                + samples
                + " partitions, "
                + topics.judgements()
                + " "
                + judgements
                + " and "
                + topics.assemblerState()
                + " "
                + state
                + ": the assembler joins by partition number, so give "
                + topics.judgements()
                + " and "
                + topics.assemblerState()
                + " as many partitions as "
                + topics.samples());
      }
    }
  }

  /** Rebuilds the waiting groups of assigned partitions; drops those of revoked ones. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      Set<Integer> gone = new HashSet<>();
      partitions.forEach(tp -> gone.add(tp.partition()));
      pending
          .asMap()
          .values()
          .removeIf(
              p -> {
                boolean leaving = gone.contains(p.partition);
                if (leaving) {
                  handedOver.incrementAndGet(); // still in the changelog for the next owner
                }
                return leaving;
              });
      evicted.removeIf(p -> gone.contains(p.partition));
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      Set<Integer> numbers = new HashSet<>();
      partitions.forEach(tp -> numbers.add(tp.partition()));
      if (numbers.isEmpty()) {
        return;
      }
      long start = System.nanoTime();
      int loaded = restore(numbers);
      log.info(
          "assembler {}: partitions {} assigned, {} waiting groups restored in {} ms",
          options.name(),
          numbers,
          loaded,
          (System.nanoTime() - start) / 1_000_000);
    }
  }

  private int restore(Set<Integer> numbers) {
    List<TopicPartition> tps = new ArrayList<>();
    numbers.forEach(n -> tps.add(new TopicPartition(topics.assemblerState(), n)));
    Map<String, Pending> found = new HashMap<>();
    LogReader.readAll(
        kafka,
        tps,
        null,
        r -> {
          String id = new String(r.key(), StandardCharsets.UTF_8);
          if (r.value() == null) {
            found.remove(id);
            return;
          }
          AssemblerEntry e = ENTRIES.decode(r.value());
          Pending p = new Pending(id, r.partition(), e.getFirstSeenMs());
          p.group = e.getGroup();
          for (Judgement j : e.getJudgements()) {
            p.judgements.put(j.getJudgeId(), j);
          }
          p.persisted = true;
          found.put(id, p);
        });
    pending.putAll(found);
    return found.size();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
