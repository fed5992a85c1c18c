package io.rlstream.judge;

/**
 * A judge could not judge a group and retrying will not help (or did not): the group goes to the
 * dead-letter topic with this message. Carries no cause on purpose, so the transactional stage does
 * not mistake a wrapped time-out for a transient Kafka error and retry the whole batch; the cause's
 * description is in the message.
 */
public final class JudgeFailedException extends RuntimeException {
  public JudgeFailedException(String message) {
    super(message, null, false, false);
  }
}
