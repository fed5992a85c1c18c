package io.rlstream.infra;

import io.rlstream.schemas.Topics;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.apache.kafka.common.errors.RetriableException;

/**
 * How a {@link TransactionalStage} runs.
 *
 * @param name the stage's name, written into dead letters
 * @param groupId consumer group of the input
 * @param transactionalId producer transactional id: stable across restarts of this instance, unique
 *     among live instances; a restart fences the previous incarnation
 * @param inputTopics topics consumed
 * @param concurrency records of one batch processed at once (outputs keep input order)
 * @param maxBatch most records in one batch, that is in one poll and one transaction: large for
 *     fast processing (fewer commits per record), small for slow processing so that a batch ends
 *     well within the producer's transaction time-out
 * @param maxAttempts attempts at a batch whose processing fails retriably; at the last, a record
 *     that still fails is dead-lettered instead of failing the batch
 * @param minBackoff first wait before a retry, doubled each attempt up to {@code maxBackoff}
 * @param maxBackoff longest wait between attempts
 * @param retriable which processing errors abort and retry the batch; the others dead-letter their
 *     record at once
 * @param pollTimeout longest a poll blocks
 * @param deadLetterTopic where undecodable and failed records go
 */
public record StageOptions(
    String name,
    String groupId,
    String transactionalId,
    List<String> inputTopics,
    int concurrency,
    int maxBatch,
    int maxAttempts,
    Duration minBackoff,
    Duration maxBackoff,
    Predicate<Throwable> retriable,
    Duration pollTimeout,
    String deadLetterTopic) {

  public StageOptions {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(groupId, "groupId");
    Objects.requireNonNull(transactionalId, "transactionalId");
    inputTopics = List.copyOf(inputTopics);
    Objects.requireNonNull(retriable, "retriable");
    Objects.requireNonNull(deadLetterTopic, "deadLetterTopic");
    if (inputTopics.isEmpty()) {
      throw new IllegalArgumentException("a stage needs at least one input topic");
    }
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
    }
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
    }
    if (minBackoff.isNegative() || maxBackoff.compareTo(minBackoff) < 0) {
      throw new IllegalArgumentException(
          "need 0 <= minBackoff <= maxBackoff, got " + minBackoff + ", " + maxBackoff);
    }
  }

  /**
   * Defaults: concurrency 8, batches of up to 500 records, 10 attempts, back-off 100 ms to 10 s,
   * Kafka's retriable errors, time-outs and I/O errors retried, dead letters to {@value
   * Topics#DLQ}.
   */
  public static StageOptions of(
      String name, String groupId, String transactionalId, String... inputTopics) {
    return new StageOptions(
        name,
        groupId,
        transactionalId,
        List.of(inputTopics),
        8,
        500,
        10,
        Duration.ofMillis(100),
        Duration.ofSeconds(10),
        StageOptions::isTransient,
        Duration.ofMillis(100),
        Topics.DLQ);
  }

  public StageOptions withConcurrency(int n) {
    return new StageOptions(
        name,
        groupId,
        transactionalId,
        inputTopics,
        n,
        maxBatch,
        maxAttempts,
        minBackoff,
        maxBackoff,
        retriable,
        pollTimeout,
        deadLetterTopic);
  }

  public StageOptions withMaxBatch(int n) {
    return new StageOptions(
        name,
        groupId,
        transactionalId,
        inputTopics,
        concurrency,
        n,
        maxAttempts,
        minBackoff,
        maxBackoff,
        retriable,
        pollTimeout,
        deadLetterTopic);
  }

  public StageOptions withRetries(int attempts, Duration min, Duration max) {
    return new StageOptions(
        name,
        groupId,
        transactionalId,
        inputTopics,
        concurrency,
        maxBatch,
        attempts,
        min,
        max,
        retriable,
        pollTimeout,
        deadLetterTopic);
  }

  public StageOptions withDeadLetterTopic(String topic) {
    return new StageOptions(
        name,
        groupId,
        transactionalId,
        inputTopics,
        concurrency,
        maxBatch,
        maxAttempts,
        minBackoff,
        maxBackoff,
        retriable,
        pollTimeout,
        topic);
  }

  /** Kafka's retriable errors, time-outs and I/O errors, anywhere in the cause chain. */
  public static boolean isTransient(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof RetriableException
          || t instanceof TimeoutException
          || t instanceof IOException) {
        return true;
      }
    }
    return false;
  }
}
