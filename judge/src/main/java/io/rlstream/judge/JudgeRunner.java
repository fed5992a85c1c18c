package io.rlstream.judge;

import io.rlstream.infra.StageOptions;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import java.time.Duration;
import java.util.BitSet;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * Calls one {@link Judge} on a group and turns its {@link Verdict} into a checked {@link
 * Judgement}: a call that fails transiently is retried with jittered exponential back-off; a call
 * that times out counts as transient; a verdict that does not fit the group (a missing or extra
 * score, an index out of range, a non-finite score, a probability outside [0, 1]) is an error. What
 * still fails becomes a {@link JudgeFailedException} whose message says which judge, which group,
 * after how many attempts and why — the reason the dead letter carries.
 */
public final class JudgeRunner {
  /** Retry and time-out settings of judge calls. */
  public record Retries(int attempts, Duration minBackoff, Duration maxBackoff, Duration timeout) {
    public Retries {
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts must be >= 1, got " + attempts);
      }
      Objects.requireNonNull(minBackoff, "minBackoff");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
      Objects.requireNonNull(timeout, "timeout");
    }

    /** 4 attempts, 200 ms to 5 s back-off, 60 s per call. */
    public static Retries defaults() {
      return new Retries(4, Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofSeconds(60));
    }
  }

  private final Judge judge;
  private final Retries retries;
  private final String producer;

  public JudgeRunner(Judge judge, Retries retries) {
    this.judge = Objects.requireNonNull(judge, "judge");
    this.retries = Objects.requireNonNull(retries, "retries");
    this.producer = "judge/" + judge.id();
  }

  public Judge judge() {
    return judge;
  }

  /** The judgement of {@code group}, or a {@link JudgeFailedException}. */
  public Mono<Judgement> judgement(SampleGroup group) {
    AtomicInteger attempts = new AtomicInteger();
    return Mono.defer(
            () -> {
              attempts.incrementAndGet();
              long start = System.nanoTime();
              return Mono.defer(() -> judge.judge(group))
                  .timeout(retries.timeout())
                  .map(v -> build(group, check(group, v), System.nanoTime() - start));
            })
        .retryWhen(
            Retry.backoff(retries.attempts() - 1, retries.minBackoff())
                .maxBackoff(retries.maxBackoff())
                .jitter(0.5)
                .filter(JudgeRunner::isTransient)
                .onRetryExhaustedThrow((spec, signal) -> signal.failure()))
        .onErrorMap(
            e -> !(e instanceof JudgeFailedException),
            e ->
                new JudgeFailedException(
                    "judge "
                        + judge.id()
                        + " v"
                        + judge.version()
                        + " failed on group "
                        + group.getGroupId()
                        + " after "
                        + attempts.get()
                        + (attempts.get() == 1 ? " attempt: " : " attempts: ")
                        + e));
  }

  /**
   * Transient judge errors plus what the transactional stage also treats as transient (time-outs,
   * I/O errors, Kafka's retriable errors), anywhere in the cause chain: what is worth retrying.
   */
  public static boolean isTransient(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof TransientJudgeException) {
        return true;
      }
    }
    return StageOptions.isTransient(e);
  }

  private Verdict check(SampleGroup group, Verdict v) {
    int n = group.getCompletions().size();
    if (v.kind() != judge.kind()) {
      throw new IllegalStateException(
          "returned a " + v.kind() + " verdict but is a " + judge.kind() + " judge");
    }
    if (v.kind() == JudgementKind.POINTWISE) {
      BitSet seen = new BitSet(n);
      for (CompletionScore s : v.scores()) {
        int i = s.getCompletionIndex();
        if (i < 0 || i >= n || seen.get(i) || !Double.isFinite(s.getScore())) {
          throw new IllegalStateException(
              "returned an invalid score (index " + i + ", score " + s.getScore() + ")");
        }
        seen.set(i);
      }
      if (seen.cardinality() != n) {
        throw new IllegalStateException(
            "returned " + v.scores().size() + " scores for " + n + " completions");
      }
    } else {
      if (v.preferences().isEmpty() && n > 1) {
        throw new IllegalStateException("returned no preferences for " + n + " completions");
      }
      for (PairwisePreference p : v.preferences()) {
        double q = p.getProbabilityA();
        if (p.getIndexA() < 0
            || p.getIndexA() >= n
            || p.getIndexB() < 0
            || p.getIndexB() >= n
            || p.getIndexA() == p.getIndexB()
            || !(q >= 0 && q <= 1)) {
          throw new IllegalStateException(
              "returned an invalid preference ("
                  + p.getIndexA()
                  + " vs "
                  + p.getIndexB()
                  + ", P(A) "
                  + q
                  + ")");
        }
      }
    }
    return v;
  }

  private Judgement build(SampleGroup group, Verdict v, long nanos) {
    return Judgement.newBuilder()
        .setJudgementId(UUID.randomUUID().toString())
        .setGroupId(group.getGroupId())
        .setJudgeId(judge.id())
        .setJudgeVersion(judge.version())
        .setKind(v.kind())
        .setScores(v.scores())
        .setPreferences(v.preferences())
        .setPolicyVersion(group.getPolicyVersion())
        .setLatencyMs(nanos / 1_000_000)
        .setInputTokens(v.inputTokens())
        .setOutputTokens(v.outputTokens())
        .setCostUsd(v.costUsd())
        .setProvenance(Provenances.now(producer))
        .build();
  }
}
