package io.rlstream.schemas;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A policy version's weight payload as inline {@link WeightChunk}s on {@code rl.policy}, and its
 * re-assembly with verification. Splitting gives chunks of at most {@code chunkBytes}, each with
 * its own SHA-256; {@link Assembly} collects the chunks of one version and hands out the payload
 * only when every chunk is present and intact and the whole matches the announcement's size and
 * SHA-256 — so a torn or corrupt update is refused, never half-applied.
 */
public final class WeightChunks {
  /** Default chunk size: 1 MiB, far below the topic's 8 MiB record limit. */
  public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

  private WeightChunks() {}

  /** Splits {@code payload} into chunks of version {@code version}. */
  public static List<WeightChunk> split(long version, long epoch, byte[] payload, int chunkBytes) {
    Objects.requireNonNull(payload, "payload");
    if (chunkBytes < 1) {
      throw new IllegalArgumentException("chunk size must be positive, got " + chunkBytes);
    }
    int count = Math.max(1, (payload.length + chunkBytes - 1) / chunkBytes);
    List<WeightChunk> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int from = i * chunkBytes;
      int to = Math.min(payload.length, from + chunkBytes);
      byte[] slice = java.util.Arrays.copyOfRange(payload, from, to);
      out.add(
          new WeightChunk(
              version, epoch, i, count, (long) from, ByteBuffer.wrap(slice), sha256(slice)));
    }
    return out;
  }

  /** Lower-case hex SHA-256 of {@code bytes}. */
  /**
   * False for a learner's progress report (inline transport, no chunks): an announcement that moves
   * the generators' throttle but carries no new weights.
   */
  public static boolean carriesWeights(PolicyAnnouncement a) {
    return a.getTransport() != WeightTransport.INLINE_CHUNKS || a.getChunkCount() > 0;
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  /** A weight update that failed verification; the message says what was wrong. */
  public static final class RefusedUpdateException extends RuntimeException {
    public RefusedUpdateException(String message) {
      super(message);
    }
  }

  /** Collects the chunks of one version; not thread-safe. */
  public static final class Assembly {
    private final long version;
    private final long epoch;
    private final TreeMap<Integer, WeightChunk> chunks = new TreeMap<>();
    private int count = -1;

    public Assembly(long version, long epoch) {
      this.version = version;
      this.epoch = epoch;
    }

    public long version() {
      return version;
    }

    public long epoch() {
      return epoch;
    }

    /** Adds a chunk of this version; a repeated index replaces the earlier copy. */
    public void add(WeightChunk chunk) {
      if (chunk.getVersion() != version || chunk.getEpoch() != epoch) {
        throw new IllegalArgumentException(
            "chunk of version " + chunk.getVersion() + " added to assembly of " + version);
      }
      count = chunk.getCount();
      chunks.put(chunk.getIndex(), chunk);
    }

    /**
     * The verified payload of {@code announcement}.
     *
     * @throws RefusedUpdateException if a chunk is missing, torn or corrupt, or the whole does not
     *     match the announced size and SHA-256
     */
    public byte[] payload(PolicyAnnouncement announcement) {
      String v = "version " + version + ": ";
      if (announcement.getVersion() != version || announcement.getEpoch() != epoch) {
        throw new RefusedUpdateException(
            v + "announcement is for version " + announcement.getVersion());
      }
      if (announcement.getTransport() != WeightTransport.INLINE_CHUNKS) {
        throw new RefusedUpdateException(
            v + "transport " + announcement.getTransport() + " is not supported yet");
      }
      int expected = announcement.getChunkCount();
      if (count != expected || chunks.size() != expected) {
        throw new RefusedUpdateException(
            v + "have " + chunks.size() + " of " + expected + " chunks (torn update)");
      }
      long size = announcement.getSizeBytes();
      if (size < 0 || size > Integer.MAX_VALUE - 8) {
        throw new RefusedUpdateException(
            v + "announced size " + size + " is not an inline payload size");
      }
      byte[] out = new byte[(int) size];
      long at = 0;
      for (WeightChunk c : chunks.values()) {
        ByteBuffer data = c.getData().duplicate();
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        if (!sha256(bytes).equals(c.getSha256())) {
          throw new RefusedUpdateException(
              v + "chunk " + c.getIndex() + " fails its SHA-256 (corrupt)");
        }
        if (c.getOffsetBytes() != at || at + bytes.length > size) {
          throw new RefusedUpdateException(
              v
                  + "chunk "
                  + c.getIndex()
                  + " at offset "
                  + c.getOffsetBytes()
                  + " does not continue the payload at "
                  + at);
        }
        System.arraycopy(bytes, 0, out, (int) at, bytes.length);
        at += bytes.length;
      }
      if (at != size) {
        throw new RefusedUpdateException(v + "chunks hold " + at + " bytes, announced " + size);
      }
      String sha = sha256(out);
      if (!sha.equals(announcement.getSha256())) {
        throw new RefusedUpdateException(
            v + "payload SHA-256 " + sha + " differs from announced " + announcement.getSha256());
      }
      return out;
    }
  }
}
