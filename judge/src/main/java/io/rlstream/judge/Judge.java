package io.rlstream.judge;

import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.SampleGroup;
import reactor.core.publisher.Mono;

/**
 * A judge: gives a {@link SampleGroup} either a score per completion ({@link
 * JudgementKind#POINTWISE}) or preferences between pairs of its completions ({@link
 * JudgementKind#PAIRWISE}). Judges are found by {@link java.util.ServiceLoader} through a {@link
 * JudgeFactory} and configured by a {@link JudgeSpec} (id, version, parameters).
 *
 * <p>Implementations are thread-safe: the judge service calls {@link #judge} for several groups at
 * once. A failure is signalled as an error, never as a default score: {@link
 * TransientJudgeException} (and time-outs, I/O errors) are retried with back-off; anything else, or
 * a transient error that outlasts the retries, sends the group to the dead-letter topic with the
 * reason.
 */
public interface Judge extends AutoCloseable {
  /** The configured id, written to every judgement (e.g. {@code math}). */
  String id();

  /** Version of the judge's logic, prompt or model; caches and replays key on it. */
  String version();

  /** Which of scores or preferences {@link #judge} returns. */
  JudgementKind kind();

  /** The verdict on {@code group}; may complete on another thread (an HTTP call, a model). */
  Mono<Verdict> judge(SampleGroup group);

  /** Groups this judge wants in flight at once (an HTTP judge wants more than a verifier). */
  default int concurrency() {
    return 2;
  }

  /**
   * Most sample groups judged in one transaction of the judge service. A fast judge (a rule
   * verifier) wants large batches, since each commit costs a few round trips; a slow one (an HTTP
   * model) small ones, so that a batch ends well within the transaction time-out and its judgements
   * become visible soon.
   */
  default int maxBatch() {
    return 5000;
  }

  /** Releases what the judge holds (a model, an HTTP client). */
  @Override
  default void close() {}
}
