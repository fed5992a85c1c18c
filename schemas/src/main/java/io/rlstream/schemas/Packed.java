package io.rlstream.schemas;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Packed arrays as the records carry them: token ids as little-endian int32 and log-probs as
 * little-endian float32 in one Avro {@code bytes} field, so a 512-token completion is one 2 KiB
 * field rather than 512 boxed values. Any language reads them with a 4-byte little-endian loop.
 */
public final class Packed {
  static {
    // record builders fill defaults (e.g. Completion.source) by loading our generated classes,
    // which Avro 1.12 refuses unless trusted; records with packed fields are built after this
    AvroCodec.trustGeneratedClasses();
  }

  private Packed() {}

  /** Packs {@code values} as little-endian int32. */
  public static ByteBuffer ints(int[] values) {
    Objects.requireNonNull(values, "values");
    ByteBuffer out =
        ByteBuffer.allocate(values.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    out.asIntBuffer().put(values);
    return out.order(ByteOrder.BIG_ENDIAN);
  }

  /** Packs {@code values} as little-endian float32. */
  public static ByteBuffer floats(float[] values) {
    Objects.requireNonNull(values, "values");
    ByteBuffer out =
        ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    out.asFloatBuffer().put(values);
    return out.order(ByteOrder.BIG_ENDIAN);
  }

  /**
   * Unpacks little-endian int32 values; the buffer's position is left unchanged.
   *
   * @throws IllegalArgumentException if the remaining length is not a multiple of 4
   */
  public static int[] toInts(ByteBuffer packed) {
    ByteBuffer view = littleEndianView(packed, Integer.BYTES);
    int[] out = new int[view.remaining() / Integer.BYTES];
    view.asIntBuffer().get(out);
    return out;
  }

  /**
   * Unpacks little-endian float32 values; the buffer's position is left unchanged.
   *
   * @throws IllegalArgumentException if the remaining length is not a multiple of 4
   */
  public static float[] toFloats(ByteBuffer packed) {
    ByteBuffer view = littleEndianView(packed, Float.BYTES);
    float[] out = new float[view.remaining() / Float.BYTES];
    view.asFloatBuffer().get(out);
    return out;
  }

  /** Number of 4-byte values in a packed buffer. */
  public static int length(ByteBuffer packed) {
    return littleEndianView(packed, Integer.BYTES).remaining() / Integer.BYTES;
  }

  private static ByteBuffer littleEndianView(ByteBuffer packed, int width) {
    Objects.requireNonNull(packed, "packed");
    if (packed.remaining() % width != 0) {
      throw new IllegalArgumentException(
          "packed array of " + packed.remaining() + " bytes is not a multiple of " + width);
    }
    return packed.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }
}
