package io.rlstream.judge;

/** A judge failure worth retrying (a rate limit, a server error, a model still loading). */
public class TransientJudgeException extends RuntimeException {
  public TransientJudgeException(String message) {
    super(message);
  }

  public TransientJudgeException(String message, Throwable cause) {
    super(message, cause);
  }
}
