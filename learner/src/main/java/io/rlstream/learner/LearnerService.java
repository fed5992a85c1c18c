package io.rlstream.learner;

import io.rlstream.infra.DeadLetters;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.KafkaReceiver;
import io.rlstream.infra.KafkaSender;
import io.rlstream.infra.ReceiverOptions;
import io.rlstream.infra.ReceiverRecord;
import io.rlstream.infra.SenderOptions;
import io.rlstream.infra.ServiceThread;
import io.rlstream.policy.HostTensor;
import io.rlstream.policy.Policy;
import io.rlstream.schemas.AvroSerde;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import io.rlstream.schemas.WeightChunks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * The learner service: consumes {@code rl.scored}, trains on every {@code groupsPerStep} groups
 * with a {@link PolicyTrainer}, and every {@code publishEvery} steps publishes a new policy version
 * on {@code rl.policy} ({@link WeightPublisher}) whose announcement carries the consumed offsets
 * and the learner's progress (groups consumed, groups per version) that generators throttle on.
 *
 * <p>Records are acknowledged after the step that trained on them (at-least-once: a crash between a
 * step and the next commit trains those groups again). Undecodable records go to the dead-letter
 * topic. Training runs on one dedicated thread.
 */
public final class LearnerService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LearnerService.class);

  /**
   * @param consumerGroup consumer group on {@code rl.scored}
   * @param groupsPerStep scored groups per optimizer step
   * @param publishEvery steps between published versions
   * @param epoch learner epoch written to announcements
   * @param chunkBytes weight chunk size
   */
  public record Config(
      String consumerGroup,
      int groupsPerStep,
      int publishEvery,
      long epoch,
      int chunkBytes,
      long maxStaleness,
      double staleWeight,
      Path checkpointDir,
      int checkpointEvery,
      int keepCheckpoints,
      Path ledger) {
    public Config {
      Objects.requireNonNull(consumerGroup, "consumerGroup");
      if (groupsPerStep < 1 || publishEvery < 1 || chunkBytes < 1) {
        throw new IllegalArgumentException(
            "groups per step, publish interval and chunk size must be >= 1");
      }
      if (checkpointDir != null && (checkpointEvery < 1 || keepCheckpoints < 1)) {
        throw new IllegalArgumentException("checkpoint every and keep must be >= 1");
      }
      if (maxStaleness < 0) {
        throw new IllegalArgumentException("max staleness must be >= 0 (0: no bound)");
      }
      if (!(staleWeight >= 0 && staleWeight < 1)) {
        throw new IllegalArgumentException(
            "stale weight must be in [0, 1) (0: drop stale groups), was " + staleWeight);
      }
    }

    public static Config of(int groupsPerStep, int publishEvery) {
      return new Config(
          "rl-learner",
          groupsPerStep,
          publishEvery,
          0,
          WeightChunks.DEFAULT_CHUNK_BYTES,
          0,
          0,
          null,
          0,
          0,
          null);
    }

    /**
     * Groups sampled more than {@code k} versions before the learner's are dropped (counted, and
     * still consumed: a resume does not see them again); 0 keeps every group.
     */
    public Config withMaxStaleness(long k) {
      return withMaxStaleness(k, 0);
    }

    /**
     * Groups sampled more than {@code k} versions before the learner's are down-weighted: a group
     * {@code s > k} versions old weighs {@code weight^(s - k)} in the loss; weight 0 drops them
     * (see {@link #withMaxStaleness(long)}).
     */
    public Config withMaxStaleness(long k, double weight) {
      return with(
          f -> {
            f.maxStaleness = k;
            f.staleWeight = weight;
          });
    }

    /**
     * A checkpoint every {@code every} steps in {@code dir}, the newest {@code keep} kept; a
     * learner started on a directory with a checkpoint resumes from the newest complete one,
     * offsets included.
     */
    public Config withCheckpoints(Path dir, int every, int keep) {
      return with(
          f -> {
            f.checkpointDir = dir;
            f.checkpointEvery = every;
            f.keepCheckpoints = keep;
          });
    }

    public Config withConsumerGroup(String group) {
      return with(f -> f.consumerGroup = group);
    }

    /**
     * Appends one line per step to {@code file}: step, epoch, loss, the ids of the groups it
     * trained on and of the stale groups it dropped (tab-separated, ids comma-separated), written
     * before the step's checkpoint. After a resume the steps since the checkpoint are written
     * again: the last line of each step is what the surviving model was trained on.
     */
    public Config withLedger(Path file) {
      return with(f -> f.ledger = file);
    }

    /** A copy with {@code change} applied to its fields, checked like any config. */
    private Config with(java.util.function.Consumer<Fields> change) {
      Fields f = new Fields(this);
      change.accept(f);
      return new Config(
          f.consumerGroup,
          groupsPerStep,
          publishEvery,
          epoch,
          chunkBytes,
          f.maxStaleness,
          f.staleWeight,
          f.checkpointDir,
          f.checkpointEvery,
          f.keepCheckpoints,
          f.ledger);
    }

    /** The fields the withers change. */
    private static final class Fields {
      String consumerGroup;
      long maxStaleness;
      double staleWeight;
      Path checkpointDir;
      int checkpointEvery;
      int keepCheckpoints;
      Path ledger;

      Fields(Config c) {
        consumerGroup = c.consumerGroup;
        maxStaleness = c.maxStaleness;
        staleWeight = c.staleWeight;
        checkpointDir = c.checkpointDir;
        checkpointEvery = c.checkpointEvery;
        keepCheckpoints = c.keepCheckpoints;
        ledger = c.ledger;
      }
    }

    public int groupsPerVersion() {
      return groupsPerStep * publishEvery;
    }
  }

  /** What one step did, for progress lines and the run's metrics. */
  public record StepReport(
      long step,
      long version,
      double loss,
      double rewardMean,
      double gradNorm,
      long tokens,
      double stalenessMean,
      long stalenessMax,
      long groupsConsumed,
      double stepSeconds,
      Map<String, Double> metrics,
      List<String> groupIds) {}

  /**
   * The staleness histogram's buckets, by version lag: 0, 1, 2-3, 4-7, 8-15, 16 and more (metric
   * names {@code staleness_<bucket>}, groups per step).
   */
  /**
   * Announcement metric prefix: {@code resumed_offset.<topic-partition>} is where the checkpoint
   * this epoch resumed from had read to; groups before it came with the checkpoint, not retrained.
   */
  public static final String RESUMED_OFFSET = "resumed_offset.";

  public static final String[] STALENESS_BUCKETS = {"0", "1", "2_3", "4_7", "8_15", "16_up"};

  static int bucket(long staleness) {
    if (staleness <= 0) {
      return 0;
    }
    int b = 64 - Long.numberOfLeadingZeros(staleness); // 1 -> 1, 2..3 -> 2, 4..7 -> 3, ...
    return Math.min(b, STALENESS_BUCKETS.length - 1);
  }

  private static double std(double[] v) {
    double mean = Arrays.stream(v).average().orElse(0);
    double sq = 0;
    for (double x : v) {
      sq += (x - mean) * (x - mean);
    }
    return v.length == 0 ? 0 : Math.sqrt(sq / v.length);
  }

  private final Config config;
  private final PolicyTrainer trainer;
  private final KafkaReceiver<String, ScoredGroup> receiver;
  private final KafkaSender<byte[], byte[]> deadLetterSender;
  private final WeightPublisher publisher;
  private final ServiceThread thread = new ServiceThread("rlstream-learner");
  private final Consumer<StepReport> listener;
  private final Map<String, Long> offsets = new TreeMap<>();

  /** The offsets the resumed checkpoint held, as announcement metrics; empty on a fresh start. */
  private final Map<String, Double> resumedOffsets = new TreeMap<>();

  private final AtomicLong groups = new AtomicLong();
  private final AtomicLong steps = new AtomicLong();
  private final AtomicLong staleDropped = new AtomicLong();
  private final AtomicLong busyNanos = new AtomicLong();
  private final AtomicLong idleNanos = new AtomicLong();
  private volatile long version;
  private final LearnerCheckpoints checkpoints;
  private long resumedStep = -1;
  private long epoch;
  private volatile StepReport last;
  private long lastEnd;
  private Disposable run;
  private final Writer ledger;

  /**
   * @param startVersion the version the policy's weights are (the generators' starting version)
   * @param listener told of every step, on the training thread
   */
  public LearnerService(
      KafkaClientConfig kafka,
      TopicNames topics,
      Config config,
      PolicyTrainer trainer,
      long startVersion,
      Consumer<StepReport> listener) {
    this.config = Objects.requireNonNull(config, "config");
    this.trainer = Objects.requireNonNull(trainer, "trainer");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.version = startVersion;
    long startEpoch = config.epoch();
    this.checkpoints =
        config.checkpointDir() == null
            ? null
            : new LearnerCheckpoints(config.checkpointDir(), config.keepCheckpoints());
    Map<TopicPartition, Long> start = new HashMap<>();
    if (checkpoints != null) {
      Optional<LearnerCheckpoints.State> resumed = checkpoints.latest();
      if (resumed.isPresent()) {
        LearnerCheckpoints.State c = resumed.get();
        trainer.restore(c.weights(), c.optimizer());
        this.version = c.version();
        // a new epoch: generators replace the versions the lost process published after this
        startEpoch = Math.max(startEpoch, c.epoch() + 1);
        steps.set(c.step());
        groups.set(c.groupsConsumed());
        offsets.putAll(c.offsets());
        c.offsets().forEach((tp, o) -> resumedOffsets.put(RESUMED_OFFSET + tp, (double) o));
        resumedStep = c.step();
        log.info(
            "learner resumes from {}: step {}, version {}, offsets {}",
            checkpoints.dir(),
            c.step(),
            c.version(),
            c.offsets());
      } else {
        // where this learner's history starts on every partition, saved as step 0 below: a
        // process lost before its first checkpoint is replaced from the same offsets
        offsets.putAll(startingOffsets(kafka, config.consumerGroup(), topics.scored()));
      }
      // above every epoch a process on this directory used, lost before a checkpoint or not
      startEpoch = checkpoints.claimEpoch(startEpoch);
      log.info("learner publishes in epoch {}", startEpoch);
      offsets.forEach((tp, o) -> start.put(partition(tp), o));
    }
    this.epoch = startEpoch;
    if (checkpoints != null && resumedStep < 0) {
      checkpoint(0, 0, Policy.hostWeights(trainer.policy()));
    }
    this.deadLetterSender =
        KafkaSender.create(
            kafka, new ByteArraySerializer(), new ByteArraySerializer(), SenderOptions.defaults());
    this.receiver =
        KafkaReceiver.create(
            // a static member: a learner restarted after a crash takes its partitions back at once
            // instead of waiting out the dead process's session (and fences it, were it alive)
            kafka.with(Map.of("group.instance.id", config.consumerGroup() + "-learner")),
            ReceiverOptions.of(config.consumerGroup(), topics.scored()).withStartOffsets(start),
            new StringDeserializer(),
            AvroSerde.of(ScoredGroup.class),
            new DeadLetters(deadLetterSender, "learner", topics.dlq()));
    this.publisher = new WeightPublisher(kafka, topics.policy(), config.chunkBytes());
    try {
      this.ledger =
          config.ledger() == null
              ? null
              : Files.newBufferedWriter(
                  config.ledger(),
                  StandardCharsets.UTF_8,
                  StandardOpenOption.CREATE,
                  StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot open the ledger " + config.ledger() + ": " + e.getMessage(), e);
    }
  }

  private static TopicPartition partition(String topicPartition) {
    int dash = topicPartition.lastIndexOf('-');
    return new TopicPartition(
        topicPartition.substring(0, dash), Integer.parseInt(topicPartition.substring(dash + 1)));
  }

  /**
   * Where {@code group} would start reading each partition of {@code topic}: its committed offset,
   * else the partition's beginning ({@code topic-partition} keys).
   */
  private static Map<String, Long> startingOffsets(
      KafkaClientConfig kafka, String group, String topic) {
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(
            kafka.consumer(group), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      Set<TopicPartition> parts = new java.util.HashSet<>();
      c.partitionsFor(topic, Duration.ofSeconds(30))
          .forEach(i -> parts.add(new TopicPartition(i.topic(), i.partition())));
      Map<TopicPartition, OffsetAndMetadata> committed = c.committed(parts, Duration.ofSeconds(30));
      Map<TopicPartition, Long> beginning = c.beginningOffsets(parts, Duration.ofSeconds(30));
      Map<String, Long> out = new TreeMap<>();
      for (TopicPartition tp : parts) {
        OffsetAndMetadata o = committed.get(tp);
        out.put(tp.topic() + "-" + tp.partition(), o != null ? o.offset() : beginning.get(tp));
      }
      return out;
    }
  }

  /** The learner epoch its versions are published in. */
  public long epoch() {
    return epoch;
  }

  /** Optimizer steps taken, counting those before the checkpoint it resumed from. */
  public long steps() {
    return steps.get();
  }

  /** The step of the checkpoint this learner resumed from, or -1 when it started fresh. */
  public long resumedStep() {
    return resumedStep;
  }

  /** Groups dropped as older than the staleness bound so far. */
  public long staleDropped() {
    return staleDropped.get();
  }

  public synchronized LearnerService start() {
    if (run != null) {
      throw new IllegalStateException("learner already started");
    }
    run =
        receiver
            .receive()
            .buffer(config.groupsPerStep())
            .concatMap(
                batch -> Mono.fromCallable(() -> train(batch)).subscribeOn(thread.scheduler()), 1)
            .subscribe(r -> {}, e -> log.error("learner stopped: {}", e.toString(), e));
    return this;
  }

  private StepReport train(List<ReceiverRecord<String, ScoredGroup>> records) {
    long start = System.nanoTime();
    if (lastEnd != 0) {
      idleNanos.addAndGet(start - lastEnd);
    }
    List<ScoredGroup> batchGroups = new ArrayList<>(records.size());
    List<Double> groupWeights = new ArrayList<>(records.size());
    double stalenessSum = 0;
    long stalenessMax = 0;
    int dropped = 0;
    int downWeighted = 0;
    long[] histogram = new long[STALENESS_BUCKETS.length];
    for (ReceiverRecord<String, ScoredGroup> r : records) {
      long staleness = version - r.value().getGroup().getPolicyVersion();
      stalenessSum += staleness;
      stalenessMax = Math.max(stalenessMax, staleness);
      histogram[bucket(staleness)]++;
      long over = config.maxStaleness() > 0 ? staleness - config.maxStaleness() : 0;
      if (over > 0 && config.staleWeight() == 0) {
        dropped++;
        continue;
      }
      batchGroups.add(r.value());
      groupWeights.add(over > 0 ? Math.pow(config.staleWeight(), over) : 1.0);
      downWeighted += over > 0 ? 1 : 0;
    }
    staleDropped.addAndGet(dropped);
    PolicyTrainer.StepResult result;
    TrainBatch batch = null;
    if (batchGroups.isEmpty()) {
      result = PolicyTrainer.StepResult.skipped(steps.get(), Map.of());
    } else {
      batch =
          TrainBatch.of(
              batchGroups,
              downWeighted == 0
                  ? null
                  : groupWeights.stream().mapToDouble(Double::doubleValue).toArray());
      result = trainer.step(batch);
    }
    double reward = batch == null ? Double.NaN : Arrays.stream(batch.rewards()).average().orElse(0);
    boolean trained = result.trained();
    long step = trained ? steps.incrementAndGet() : steps.get();
    for (ReceiverRecord<String, ScoredGroup> r : records) {
      offsets.merge(r.topic() + "-" + r.partition(), r.offset() + 1, Math::max);
      r.acknowledge();
    }
    long consumed = groups.addAndGet(records.size());
    if (ledger != null && trained) {
      writeLedger(step, result.loss(), batchGroups, records);
    }
    Map<String, Double> metrics = new LinkedHashMap<>(result.metrics());
    metrics.put("stale_dropped", (double) dropped);
    if (downWeighted > 0) {
      metrics.put("stale_downweighted", (double) downWeighted);
    }
    for (int b = 0; b < histogram.length; b++) {
      metrics.put("staleness_" + STALENESS_BUCKETS[b], (double) histogram[b]);
    }
    if (batch != null) {
      metrics.put("reward_std", std(batch.rewards()));
    }
    boolean publish = trained && step % config.publishEvery() == 0;
    boolean save = checkpoints != null && trained && step % config.checkpointEvery() == 0;
    Map<String, HostTensor> weights =
        publish || save ? Policy.hostWeights(trainer.policy()) : null; // one copy off the device
    if (!trained) {
      // consumed without a step (no pairs, no variance, all stale): no new version, but the
      // generators must hear that these groups are read, or their throttle waits for ever
      publisher.progress(version, epoch, step, Map.copyOf(offsets), progressMetrics(consumed));
    }
    if (publish) {
      metrics.putAll(progressMetrics(consumed));
      metrics.put("loss", result.loss());
      metrics.put("reward_mean", reward);
      publisher.publish(version + 1, epoch, step, weights, Map.copyOf(offsets), metrics);
      version++;
    }
    if (save) {
      checkpoint(step, consumed, weights);
    }
    long end = System.nanoTime();
    busyNanos.addAndGet(end - start);
    lastEnd = end;
    StepReport report =
        new StepReport(
            step,
            version,
            result.loss(),
            reward,
            result.gradNorm(),
            result.tokens(),
            stalenessSum / records.size(),
            stalenessMax,
            consumed,
            (end - start) / 1e9,
            metrics,
            records.stream().map(r -> r.value().getGroup().getGroupId()).toList());
    last = report;
    try {
      listener.accept(report);
    } catch (RuntimeException e) {
      log.warn("step listener failed", e);
    }
    return report;
  }

  /** What every announcement tells: groups consumed, per version, and where this epoch resumed. */
  private Map<String, Double> progressMetrics(long consumed) {
    Map<String, Double> m = new LinkedHashMap<>(resumedOffsets);
    m.put("groups_consumed", (double) consumed);
    m.put("groups_per_version", (double) config.groupsPerVersion());
    return m;
  }

  /**
   * Saves the learner's state after {@code step} with these weights (the policy's, on the host).
   */
  private void checkpoint(long step, long consumed, Map<String, HostTensor> weights) {
    checkpoints.save(
        new LearnerCheckpoints.State(
            step,
            version,
            epoch,
            consumed,
            Map.copyOf(offsets),
            weights,
            trainer.optimizer().state()));
  }

  private void writeLedger(
      long step,
      double loss,
      List<ScoredGroup> trainedGroups,
      List<ReceiverRecord<String, ScoredGroup>> records) {
    Set<String> trainedIds = new LinkedHashSet<>();
    trainedGroups.forEach(g -> trainedIds.add(g.getGroup().getGroupId()));
    List<String> droppedIds =
        records.stream()
            .map(r -> r.value().getGroup().getGroupId())
            .filter(id -> !trainedIds.contains(id))
            .toList();
    try {
      ledger.write(
          String.format(
              Locale.ROOT,
              "%d\t%d\t%.6f\t%s\t%s%n",
              step,
              epoch,
              loss,
              String.join(",", trainedIds),
              String.join(",", droppedIds)));
      ledger.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the ledger " + config.ledger(), e);
    }
  }

  /** The newest published version (the start version before the first publication). */
  public long version() {
    return version;
  }

  /** Groups trained on. */
  public long groupsConsumed() {
    return groups.get();
  }

  /** The last step's report, or null before the first. */
  public StepReport last() {
    return last;
  }

  /** Seconds spent waiting for data between steps, since the first step. */
  public double idleSeconds() {
    return idleNanos.get() / 1e9;
  }

  /** Seconds spent in steps (training and publishing). */
  public double busySeconds() {
    return busyNanos.get() / 1e9;
  }

  /** Runs {@code task} on the training thread between steps and waits for it. */
  public <T> T onTrainingThread(java.util.concurrent.Callable<T> task) {
    return Mono.fromCallable(task).subscribeOn(thread.scheduler()).block();
  }

  /** Stops after the step in progress, commits what was trained on, closes the clients. */
  /** The consumer group it reads {@code rl.scored} with. */
  public String consumerGroup() {
    return config.consumerGroup();
  }

  @Override
  public synchronized void close() {
    if (run != null) {
      run.dispose();
      run = null;
    }
    thread.close(); // lets a step in progress finish and acknowledge its records
    receiver.close().block();
    publisher.close();
    deadLetterSender.close();
    if (ledger != null) {
      try {
        ledger.close();
      } catch (IOException e) {
        log.warn("closing the ledger", e);
      }
    }
  }
}
