package io.rlstream.judge;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.schemas.JudgeSet;
import io.rlstream.schemas.TopicNames;
import java.time.Duration;
import java.util.Objects;

/**
 * The assembler service: joins each sample group from {@code rl.samples} with the judgements its
 * {@link JudgeSet} asks for from {@code rl.judgements} and writes one {@code ScoredGroup} per group
 * to {@code rl.scored}, carrying every judgement and the aggregated reward.
 *
 * <ul>
 *   <li><b>Exactly once.</b> Each poll batch is one Kafka transaction holding the scored groups,
 *       the changelog updates of the groups still waiting ({@code rl.assembler.state}, compacted)
 *       and the input offsets. A restarted assembler (or the new owner of a partition) rebuilds its
 *       waiting groups from the changelog, so no group is lost or emitted twice.
 *   <li><b>Missing judgements.</b> A group waits up to the set's timeout from when the assembler
 *       first saw it, then is emitted flagged {@code partial} with the judges it has, or
 *       dead-lettered, as the set says. A group with none of the set's judgements is dead-lettered
 *       either way.
 *   <li><b>Bounded state.</b> Waiting groups live in a Caffeine cache with a size bound and an
 *       expiry; a group pushed out is dead-lettered with the reason, never dropped silently.
 *       Judgements of a group whose sample never arrives are dropped after the timeout (they stay
 *       in {@code rl.judgements}).
 *   <li><b>Live judge sets.</b> The set is read from {@code rl.assembler.config}; a new one applies
 *       from the next batch without a restart, and waiting groups are re-checked against it.
 * </ul>
 *
 * Samples and judgements must have the same number of partitions (judges write a judgement to the
 * partition number of its sample); the assembler checks at start-up.
 */
public final class Assembler implements AutoCloseable {
  /**
   * @param name the assembler's name: its judge set's key, its consumer group {@code
   *     rl-assembler-<name>}
   * @param instanceId stable per instance, unique among live ones (names the transactional id)
   * @param maxPending groups held waiting at most
   * @param maxAge longest a group may wait whatever the set's timeout (the cache's expiry)
   * @param sweepInterval how often waiting groups are checked for time-outs
   */
  public record Options(
      String name, String instanceId, long maxPending, Duration maxAge, Duration sweepInterval) {
    public Options {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(instanceId, "instanceId");
      if (maxPending < 1) {
        throw new IllegalArgumentException("maxPending must be >= 1, got " + maxPending);
      }
    }

    /** 100,000 waiting groups, 1 h expiry, sweep every 500 ms. */
    public static Options of(String name, String instanceId) {
      return new Options(name, instanceId, 100_000, Duration.ofHours(1), Duration.ofMillis(500));
    }

    public Options withMaxPending(long n) {
      return new Options(name, instanceId, n, maxAge, sweepInterval);
    }
  }

  /**
   * Counts since start. {@code pending}: groups waiting now; {@code handedOver}: waiting groups
   * left in the changelog when their partition was given up (a stop or a rebalance), for the
   * partition's next owner to restore.
   */
  public record Counts(
      long emitted,
      long partial,
      long deadLettered,
      long orphansDropped,
      long lateJudgements,
      long pending,
      long handedOver,
      long setChanges) {}

  private final AssemblerLoop loop;
  private Thread thread;

  public Assembler(KafkaClientConfig kafka, TopicNames topics, Options options) {
    this.loop = new AssemblerLoop(kafka, topics, options);
  }

  /** The consumer group of the assembler with this name. */
  public static String consumerGroup(String name) {
    return "rl-assembler-" + name;
  }

  public synchronized Assembler start() {
    if (thread == null) {
      thread = new Thread(loop, "rlstream-assembler");
      thread.setDaemon(true);
      thread.start();
    }
    return this;
  }

  public Counts counts() {
    return loop.counts();
  }

  /** Scored groups committed so far. */
  public long emitted() {
    return loop.counts().emitted();
  }

  /** The judge set in force, or null before one is known. */
  public JudgeSet judgeSet() {
    return loop.judgeSet();
  }

  /** True while the loop runs (false after a fatal error). */
  public boolean running() {
    return thread != null && thread.isAlive() && loop.failure() == null;
  }

  /** What stopped the loop, if it failed. */
  public Throwable failure() {
    return loop.failure();
  }

  @Override
  public synchronized void close() {
    if (thread != null) {
      loop.stop();
      try {
        thread.join(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      thread = null;
    }
  }
}
