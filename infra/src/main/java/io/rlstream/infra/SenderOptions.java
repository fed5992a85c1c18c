package io.rlstream.infra;

/**
 * How a {@link KafkaSender} sends.
 *
 * @param maxInFlight most records handed to the producer and not yet acknowledged; upstream is
 *     asked for more only below it
 * @param stopOnError true: the first failed send ends the result stream with its error; false:
 *     failures come back as {@link SenderResult}s and sending goes on
 */
public record SenderOptions(int maxInFlight, boolean stopOnError) {
  public SenderOptions {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
    }
  }

  /** 4,096 in flight, stop on the first error. */
  public static SenderOptions defaults() {
    return new SenderOptions(4096, true);
  }

  public SenderOptions withMaxInFlight(int n) {
    return new SenderOptions(n, stopOnError);
  }

  public SenderOptions withStopOnError(boolean stop) {
    return new SenderOptions(maxInFlight, stop);
  }
}
