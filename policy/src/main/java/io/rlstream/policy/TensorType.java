package io.rlstream.policy;

/**
 * Element types of safetensors files that rlstream reads and writes. Half types are widened to
 * float32 in Java on read (DJL aborts the JVM on BF16 arrays; see DEPENDENCY-NOTES.md) and narrowed
 * with round-to-nearest-even on write.
 */
public enum TensorType {
  F32(4),
  F16(2),
  BF16(2);

  private final int bytes;

  TensorType(int bytes) {
    this.bytes = bytes;
  }

  public int bytes() {
    return bytes;
  }

  static TensorType parse(String name, String tensor) {
    try {
      return valueOf(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "tensor " + tensor + " has dtype " + name + "; rlstream reads F32, F16 and BF16");
    }
  }

  /** bfloat16 bits → float: the upper half of a float32. */
  static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  /** float → bfloat16 bits, rounding to nearest even (NaN stays NaN). */
  static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** IEEE 754 binary16 bits → float (exact). */
  static float f16ToFloat(short h) {
    int bits = h & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0x1F) { // inf or NaN
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    if (exp == 0) { // zero or subnormal: mant · 2^-24
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** float → IEEE 754 binary16 bits, round to nearest even; overflow gives infinity. */
  static short floatToF16(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    float abs = Math.abs(f);
    if (Float.isNaN(f)) {
      return (short) (sign | 0x7E00);
    }
    if (abs >= 65520f) { // rounds past the largest half (65504)
      return (short) (sign | 0x7C00);
    }
    if (abs < 0x1p-14f) { // subnormal half: multiples of 2^-24
      return (short) (sign | Math.round(Math.rint(abs * 0x1p24f)));
    }
    int abits = bits & 0x7FFFFFFF;
    int exp = (abits >>> 23) - 112;
    int mant = abits & 0x7FFFFF;
    int half = (exp << 10) | (mant >>> 13);
    int rest = mant & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
      half++; // may carry into the exponent, which is still right
    }
    return (short) (sign | half);
  }
}
