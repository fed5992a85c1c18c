package io.rlstream.generator;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.KafkaSender;
import io.rlstream.infra.SenderOptions;
import io.rlstream.infra.SenderRecord;
import io.rlstream.infra.ServiceThread;
import io.rlstream.policy.PolicySampler;
import io.rlstream.policy.SamplingConfig;
import io.rlstream.schemas.AvroSerde;
import io.rlstream.schemas.PolicyAnnouncement;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.TopicNames;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The generator: samples G completions per prompt with the current policy and writes one {@link
 * SampleGroup} per prompt to {@code rl.samples} (keyed by group id, idempotent producer, acks=all),
 * while a {@link WeightSubscriber} swaps in each verified version the learner publishes.
 *
 * <p>Throttle: the generator stays at most {@code maxVersionsAhead} policy versions ahead of the
 * learner. Each announcement tells how many groups the learner has consumed and how many it
 * consumes per version; sampling pauses while this generator's groups exceed what the learner has
 * consumed by {@code maxVersionsAhead × groupsPerVersion}. Before the first announcement the
 * configured {@code groupsPerVersion} is used. (The count is per generator instance: N generators
 * may run N times as far ahead.)
 */
public final class GeneratorService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GeneratorService.class);

  /**
   * @param runId written to every group
   * @param promptsPerBatch prompts per generate call
   * @param groupSize completions per prompt (G)
   * @param sampling sampling settings
   * @param maxVersionsAhead throttle bound K, in learner versions (at least 1)
   * @param groupsPerVersion groups the learner consumes per version, until it announces its own
   * @param seed base seed; batch i samples with {@code seed + i}
   */
  public record Config(
      String runId,
      int promptsPerBatch,
      int groupSize,
      SamplingConfig sampling,
      int maxVersionsAhead,
      int groupsPerVersion,
      long seed) {
    public Config {
      Objects.requireNonNull(runId, "runId");
      Objects.requireNonNull(sampling, "sampling");
      if (promptsPerBatch < 1 || groupSize < 1) {
        throw new IllegalArgumentException("prompts per batch and group size must be >= 1");
      }
      if (maxVersionsAhead < 1) {
        throw new IllegalArgumentException(
            "max versions ahead must be >= 1 (0 would stop the generator before the learner has"
                + " anything to train on), was "
                + maxVersionsAhead);
      }
      if (groupsPerVersion < 1) {
        throw new IllegalArgumentException("groups per version must be >= 1");
      }
    }
  }

  private final Config config;
  private final TopicNames topics;
  private final PolicySampler sampler;
  private final PromptSource prompts;
  private final GroupSampler groups;
  private final KafkaSender<String, SampleGroup> sender;
  private final WeightSubscriber weights;
  private final ServiceThread sampling = new ServiceThread("rlstream-generator");
  private final AtomicLong produced = new AtomicLong();
  private final AtomicLong acknowledged = new AtomicLong();
  private final AtomicLong samples = new AtomicLong();
  private final AtomicLong throttledNanos = new AtomicLong();
  private final Object progress = new Object();
  private volatile long learnerConsumed;
  private volatile long groupsPerVersion;
  private volatile boolean stopping;
  private PolicySampler explorer;
  private Disposable run;
  private final CompletableFuture<Void> sendingEnded = new CompletableFuture<>();

  public GeneratorService(
      KafkaClientConfig kafka,
      TopicNames topics,
      Config config,
      PolicySampler sampler,
      PromptSource prompts) {
    this.config = Objects.requireNonNull(config, "config");
    this.topics = Objects.requireNonNull(topics, "topics");
    this.sampler = Objects.requireNonNull(sampler, "sampler");
    this.prompts = Objects.requireNonNull(prompts, "prompts");
    this.groups =
        new GroupSampler(sampler, config.sampling(), config.groupSize(), config.runId(), 0);
    this.groupsPerVersion = config.groupsPerVersion();
    this.sender =
        KafkaSender.create(
            kafka,
            new StringSerializer(),
            AvroSerde.of(SampleGroup.class),
            SenderOptions.defaults().withMaxInFlight(Math.max(64, 4 * config.promptsPerBatch())));
    this.weights = new WeightSubscriber(kafka, topics.policy(), sampler, this::learnerProgress);
  }

  /** Starts following weights and sampling; returns at once. */
  public synchronized GeneratorService start() {
    if (run != null) {
      throw new IllegalStateException("generator already started");
    }
    weights.start();
    AtomicLong batch = new AtomicLong();
    Flux<SenderRecord<String, SampleGroup, Integer>> records =
        Mono.fromCallable(() -> nextBatch(batch.getAndIncrement()))
            .subscribeOn(sampling.scheduler())
            .repeat(() -> !stopping)
            .concatMapIterable(list -> list)
            .map(
                g ->
                    SenderRecord.of(
                        new ProducerRecord<>(topics.samples(), g.getGroupId(), g),
                        g.getCompletions().size()));
    run =
        sender
            .send(records)
            .doFinally(s -> sendingEnded.complete(null))
            .subscribe(
                r -> {
                  if (r.ok()) {
                    acknowledged.incrementAndGet();
                    samples.addAndGet(r.correlation());
                  }
                },
                e -> log.error("generator stopped: {}", e.toString(), e));
    return this;
  }

  private List<SampleGroup> nextBatch(long index) throws InterruptedException {
    long start = System.nanoTime();
    synchronized (progress) {
      while (!stopping && ahead() >= (long) config.maxVersionsAhead() * groupsPerVersion) {
        progress.wait(100);
      }
    }
    throttledNanos.addAndGet(System.nanoTime() - start);
    if (stopping) {
      return List.of();
    }
    List<SampleGroup> out =
        groups.sample(prompts.next(config.promptsPerBatch()), config.seed() + index);
    produced.addAndGet(out.size());
    return out;
  }

  private long ahead() {
    return produced.get() - learnerConsumed;
  }

  private void learnerProgress(PolicyAnnouncement a) {
    Double consumed = a.getMetrics().get("groups_consumed");
    Double perVersion = a.getMetrics().get("groups_per_version");
    synchronized (progress) {
      if (consumed != null) {
        learnerConsumed = Math.max(learnerConsumed, consumed.longValue());
      }
      if (perVersion != null && perVersion >= 1) {
        groupsPerVersion = perVersion.longValue();
      }
      progress.notifyAll();
    }
  }

  /** Groups the broker has acknowledged. */
  public long acknowledged() {
    return acknowledged.get();
  }

  /** Completions the broker has acknowledged. */
  public long samples() {
    return samples.get();
  }

  /** Time spent paused by the throttle. */
  public Duration throttled() {
    return Duration.ofNanos(throttledNanos.get());
  }

  /** The version serving now. */
  public long version() {
    return sampler.version();
  }

  /** Policy versions refused: torn or corrupt payloads, and weights that do not fit the model. */
  public long refusedVersions() {
    return weights.refused() + sampler.refusedUpdates();
  }

  public PolicySampler sampler() {
    return sampler;
  }

  /**
   * Adds XPO's exploration samples from {@code reference} ({@code count} per group) to every group;
   * the service closes the reference sampler when it closes. Call before {@link #start}.
   */
  public GeneratorService exploreWith(PolicySampler reference, int count) {
    groups.exploreWith(reference, count);
    this.explorer = reference;
    return this;
  }

  /** Stops sampling, waits for what was sampled to be acknowledged, then closes the clients. */
  @Override
  public synchronized void close() {
    stopping = true;
    synchronized (progress) {
      progress.notifyAll();
    }
    weights.close();
    if (run != null) {
      // the batch being sampled finishes, then sending completes once every record is acknowledged
      try {
        sendingEnded.get(30, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        log.warn("generator: records still unacknowledged after 30 s; closing anyway");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException e) {
        throw new IllegalStateException(e); // doFinally completes it normally
      }
      run.dispose();
    }
    sender.close();
    sampling.close();
    if (explorer != null) {
      explorer.close();
    }
  }
}
