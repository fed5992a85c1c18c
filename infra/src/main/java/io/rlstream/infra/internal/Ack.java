package io.rlstream.infra.internal;

/**
 * The acknowledgement cell of one delivered record: written by any thread, read by the poll thread
 * when it computes what may be committed.
 */
public final class Ack {
  final long offset;
  private volatile boolean done;

  Ack(long offset) {
    this.offset = offset;
  }

  public void done() {
    done = true;
  }

  boolean isDone() {
    return done;
  }
}
