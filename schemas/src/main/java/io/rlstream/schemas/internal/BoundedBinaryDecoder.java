package io.rlstream.schemas.internal;

import io.rlstream.schemas.RecordDecodeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * An Avro binary decoder over one byte array that never believes a length it cannot back with
 * input. Avro's own decoder sizes arrays from the declared block count, so ten hostile bytes that
 * declare a billion items allocate gigabytes before failing; here every declared count and length
 * is checked against the bytes left, and fails at once with {@link RecordDecodeException}.
 *
 * <p>The check "count ≤ bytes left" is exact only when every array and map item takes at least one
 * byte; {@code SchemaRulesTest} holds every rlstream schema to that.
 *
 * <p>Binary encoding as in the Avro 1.12 specification, "Binary Encoding": zig-zag varints for int
 * and long, little-endian IEEE 754 for float and double, length-prefixed bytes and strings, arrays
 * and maps as blocks of (count, [byte size when count is negative], items) ended by 0.
 */
public final class BoundedBinaryDecoder extends Decoder {
  private final byte[] buf;
  private int pos;
  private final int limit;
  private long blockBytes = -1; // byte size of the block just read, or -1 if it gave none

  public BoundedBinaryDecoder(byte[] buf, int offset, int length) {
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new IllegalArgumentException("slice out of range");
    }
    this.buf = buf;
    this.pos = offset;
    this.limit = offset + length;
  }

  /** Bytes not yet read. */
  public int remaining() {
    return limit - pos;
  }

  @Override
  public void readNull() {}

  @Override
  public boolean readBoolean() {
    require(1, "boolean");
    int b = buf[pos++];
    if (b != 0 && b != 1) {
      throw corrupt("boolean byte " + b + " is neither 0 nor 1");
    }
    return b == 1;
  }

  @Override
  public int readInt() {
    long v = readLong();
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw corrupt("int varint out of range: " + v);
    }
    return (int) v;
  }

  @Override
  public long readLong() {
    long raw = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      require(1, "varint");
      int b = buf[pos++] & 0xff;
      raw |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw corrupt("varint longer than 10 bytes");
  }

  @Override
  public float readFloat() {
    return Float.intBitsToFloat(readLittleEndianInt());
  }

  @Override
  public double readDouble() {
    long lo = readLittleEndianInt() & 0xffffffffL;
    long hi = readLittleEndianInt() & 0xffffffffL;
    return Double.longBitsToDouble((hi << 32) | lo);
  }

  @Override
  public Utf8 readString(Utf8 old) {
    int len = readLength("string");
    byte[] bytes = new byte[len];
    System.arraycopy(buf, pos, bytes, 0, len);
    pos += len;
    return new Utf8(bytes);
  }

  @Override
  public String readString() {
    int len = readLength("string");
    String s = new String(buf, pos, len, StandardCharsets.UTF_8);
    pos += len;
    return s;
  }

  @Override
  public void skipString() {
    skip(readLength("string"));
  }

  /** Returns a read-only view of the input: no copy, and the caller cannot write through it. */
  @Override
  public ByteBuffer readBytes(ByteBuffer old) {
    int len = readLength("bytes");
    ByteBuffer view = ByteBuffer.wrap(buf, pos, len).slice().asReadOnlyBuffer();
    pos += len;
    return view;
  }

  @Override
  public void skipBytes() {
    skip(readLength("bytes"));
  }

  @Override
  public void readFixed(byte[] bytes, int start, int length) {
    require(length, "fixed");
    System.arraycopy(buf, pos, bytes, start, length);
    pos += length;
  }

  @Override
  public void skipFixed(int length) {
    skip(length);
  }

  @Override
  public int readEnum() {
    return readInt();
  }

  @Override
  public long readArrayStart() {
    return readBlockCount("array");
  }

  @Override
  public long arrayNext() {
    return readBlockCount("array");
  }

  @Override
  public long skipArray() {
    return skipBlocks("array");
  }

  @Override
  public long readMapStart() {
    return readBlockCount("map");
  }

  @Override
  public long mapNext() {
    return readBlockCount("map");
  }

  @Override
  public long skipMap() {
    return skipBlocks("map");
  }

  @Override
  public int readIndex() {
    return readInt();
  }

  /**
   * A block's item count; a negative count is followed by the block's byte size, which is read and
   * kept in {@link #blockBytes}.
   */
  private long readBlockCount(String what) {
    long count = readLong();
    blockBytes = -1;
    if (count < 0) {
      if (count == Long.MIN_VALUE) {
        throw corrupt(what + " block count out of range");
      }
      count = -count;
      long size = readLong();
      if (size < 0 || size > remaining()) {
        throw corrupt(what + " block declares " + size + " bytes, " + remaining() + " left");
      }
      blockBytes = size;
    }
    if (count > remaining()) {
      throw corrupt(
          what + " block declares " + count + " items, only " + remaining() + " bytes left");
    }
    return count;
  }

  /**
   * Skips whole blocks that carry their byte size; returns the item count of the first that does
   * not.
   */
  private long skipBlocks(String what) {
    while (true) {
      long count = readBlockCount(what);
      if (count == 0 || blockBytes < 0) {
        return count;
      }
      pos += (int) blockBytes;
    }
  }

  private int readLength(String what) {
    long len = readLong();
    if (len < 0) {
      throw corrupt(what + " with negative length " + len);
    }
    if (len > remaining()) {
      throw corrupt(what + " declares " + len + " bytes, only " + remaining() + " left");
    }
    return (int) len;
  }

  private int readLittleEndianInt() {
    require(4, "fixed-width number");
    int v =
        (buf[pos] & 0xff)
            | (buf[pos + 1] & 0xff) << 8
            | (buf[pos + 2] & 0xff) << 16
            | (buf[pos + 3] & 0xff) << 24;
    pos += 4;
    return v;
  }

  private void skip(long n) {
    if (n < 0 || n > remaining()) {
      throw corrupt("cannot skip " + n + " bytes, " + remaining() + " left");
    }
    pos += (int) n;
  }

  private void require(int n, String what) {
    if (n < 0 || n > remaining()) {
      throw corrupt(
          "truncated input: " + what + " needs " + n + " bytes, " + remaining() + " left");
    }
  }

  private static RecordDecodeException corrupt(String message) {
    return new RecordDecodeException(message);
  }
}
