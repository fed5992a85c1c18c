package io.rlstream.infra.internal;

import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The acknowledgement cells of one poll batch of one partition: offsets and flags in two arrays, so
 * the ledger costs 12 bytes a record and keeps no record alive. The records themselves are handed
 * over once ({@link #takeRecords}) and then forgotten here.
 *
 * <p>Flags are written by any thread; the scan position is the poll thread's.
 */
public final class AckChunk {
  private final long[] offsets;
  private final AtomicIntegerArray acked;
  private List<ConsumerRecord<byte[], byte[]>> records;
  private int scan;

  AckChunk(List<ConsumerRecord<byte[], byte[]>> records) {
    this.records = records;
    this.offsets = new long[records.size()];
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = records.get(i).offset();
    }
    this.acked = new AtomicIntegerArray(offsets.length);
  }

  /** The records of this chunk, in offset order; a second call returns null. Delivery thread. */
  public List<ConsumerRecord<byte[], byte[]>> takeRecords() {
    List<ConsumerRecord<byte[], byte[]>> r = records;
    records = null;
    return r;
  }

  /**
   * Marks record {@code index} handled. Idempotent, any thread. A release store is enough: the poll
   * thread reads the flag at its next commit, and a stop (a volatile write) orders every earlier
   * acknowledgement before the final commit.
   */
  public void ack(int index) {
    acked.lazySet(index, 1);
  }

  /** Number of records in the chunk. */
  public int size() {
    return offsets.length;
  }

  /**
   * Moves past the acknowledged prefix; returns the offset after its last record, or -1 if the
   * prefix did not grow. Poll thread.
   */
  long advance() {
    long next = -1;
    while (scan < offsets.length && acked.get(scan) == 1) {
      next = offsets[scan] + 1;
      scan++;
    }
    return next;
  }

  /** Every record acknowledged (as of the last {@link #advance}). */
  boolean complete() {
    return scan == offsets.length;
  }

  /** Records not acknowledged, now. */
  int unacknowledged() {
    int n = 0;
    for (int i = scan; i < offsets.length; i++) {
      n += 1 - acked.get(i);
    }
    return n;
  }
}
