package io.rlstream.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  @TempDir Path dir;

  private static Map<String, HostTensor> sample() {
    Random rng = new Random(1);
    Map<String, HostTensor> t = new LinkedHashMap<>();
    t.put("a.weight", random(rng, 3, 5));
    t.put("b.bias", random(rng, 7));
    t.put("c", random(rng, 2, 3, 4));
    t.put("scalar", HostTensor.of(new long[0], new float[] {2.5f}));
    return t;
  }

  private static HostTensor random(Random rng, long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] v = new float[(int) n];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    return HostTensor.of(shape, v);
  }

  @Test
  void f32RoundTripIsExactAndHeaderIsWhatHuggingFaceReads() throws IOException {
    Path f = dir.resolve("x.safetensors");
    Safetensors.write(f, sample(), TensorType.F32);
    assertThat(Safetensors.read(f)).isEqualTo(sample());

    byte[] bytes = Files.readAllBytes(f);
    long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(n % 8).as("data aligned to 8 bytes").isZero();
    var header = new ObjectMapper().readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
    assertThat(header.path("__metadata__").path("format").asText()).isEqualTo("pt");
    assertThat(header.path("a.weight").path("dtype").asText()).isEqualTo("F32");
    assertThat(header.path("a.weight").path("shape").toString()).isEqualTo("[3,5]");
    assertThat(header.path("a.weight").path("data_offsets").toString()).isEqualTo("[0,60]");
    assertThat(header.path("b.bias").path("data_offsets").toString()).isEqualTo("[60,88]");
    assertThat(bytes.length).isEqualTo(8 + n + 4 * (15 + 7 + 24 + 1));
    assertThat(Safetensors.decode(Safetensors.encode(sample(), TensorType.F32)))
        .isEqualTo(sample());
  }

  @Test
  void halfPrecisionRoundTripsWithinTheirPrecision() {
    for (TensorType type : new TensorType[] {TensorType.BF16, TensorType.F16}) {
      Map<String, HostTensor> back = Safetensors.decode(Safetensors.encode(sample(), type));
      double tolerance = type == TensorType.BF16 ? 1.0 / 256 : 1.0 / 2048; // relative, half an ulp
      sample()
          .forEach(
              (name, t) -> {
                float[] want = t.values();
                float[] got = back.get(name).values();
                assertThat(back.get(name).shape()).isEqualTo(t.shape());
                for (int i = 0; i < want.length; i++) {
                  assertThat((double) Math.abs(got[i] - want[i]))
                      .isLessThanOrEqualTo(Math.abs(want[i]) * tolerance + 1e-7);
                }
                // A second trip changes nothing: half values are exact in float32.
                assertThat(Safetensors.decode(Safetensors.encode(back, type)).get(name))
                    .isEqualTo(back.get(name));
              });
    }
  }

  @Test
  void halfConversionsAreExactForEveryBitPattern() {
    for (int bits = 0; bits < 65536; bits++) {
      short h = (short) bits;
      float f = TensorType.f16ToFloat(h);
      if (Float.isNaN(f)) {
        assertThat(Float.isNaN(TensorType.f16ToFloat(TensorType.floatToF16(f)))).isTrue();
      } else {
        assertThat(TensorType.floatToF16(f)).as("f16 %04x", bits).isEqualTo(h);
      }
      float b = TensorType.bf16ToFloat(h);
      if (!Float.isNaN(b)) {
        assertThat(TensorType.floatToBf16(b)).as("bf16 %04x", bits).isEqualTo(h);
      }
    }
    assertThat(TensorType.f16ToFloat((short) 0x3C00)).isEqualTo(1f);
    assertThat(TensorType.f16ToFloat((short) 0x7BFF)).isEqualTo(65504f);
    assertThat(TensorType.floatToF16(1e6f)).isEqualTo((short) 0x7C00);
    assertThat(TensorType.floatToBf16(1.00390625f)).isEqualTo((short) 0x3F80); // tie to even
    assertThat(TensorType.floatToBf16(1.01171875f)).isEqualTo((short) 0x3F82); // tie to even, up
  }

  @Test
  void tensorsSplitIntoPartsReadBackWhole() throws IOException {
    Path f = dir.resolve("x.safetensors");
    Safetensors.write(f, sample(), TensorType.BF16);
    try (FileChannel ch = FileChannel.open(f)) {
      Safetensors.Source src = Safetensors.source(ch);
      Map<String, HostTensor> parts = Safetensors.readAll(src, 10); // 10 floats per part at most
      assertThat(parts.get("c").parts().length).isEqualTo(2); // [2,3,4]: one row of 12 per part
      assertThat(parts.get("a.weight").parts().length)
          .isEqualTo(2); // 3 rows of 5: two rows per part
      assertThat(parts).isEqualTo(Safetensors.read(f));
    }
  }

  /** Data beyond 2 GB is addressed with 64-bit offsets: a sparse 2.1 GB file, read lazily. */
  @Test
  void readsTensorsBeyondTwoGigabytes() throws IOException {
    long big = (1L << 31) + (64L << 20);
    String json =
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"filler\":{\"dtype\":\"BF16\",\"shape\":["
            + big / 2
            + "],\"data_offsets\":[0,"
            + big
            + "]},"
            + "\"late\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":["
            + big
            + ","
            + (big + 8)
            + "]}}";
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    Path f = dir.resolve("big.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
      raf.write(len.array());
      raf.write(header);
      long dataStart = 8 + header.length;
      raf.seek(dataStart + big);
      ByteBuffer late =
          ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-3f);
      raf.write(late.array());
    }
    assertThat(Files.size(f)).isGreaterThan(1L << 31);
    var entries = Safetensors.entries(f);
    assertThat(entries.get(1).name()).isEqualTo("late");
    assertThat(entries.get(1).begin()).isGreaterThan(Integer.MAX_VALUE);
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
      Safetensors.Source src = Safetensors.source(ch);
      HostTensor late = Safetensors.readTensor(src, entries.get(1), HostTensor.MAX_PART_FLOATS);
      assertThat(late.values()).containsExactly(1.5f, -3f);
    }
  }

  @Test
  void corruptFilesFailWithAReason() throws IOException {
    Path f = dir.resolve("bad.safetensors");
    Files.write(f, new byte[] {1, 2, 3});
    assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("file ends");
    Files.write(
        f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
    assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("not a safetensors file");
    byte[] good = Safetensors.encode(sample(), TensorType.F32);
    Files.write(f, java.util.Arrays.copyOf(good, good.length - 4));
    assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("do not fit");
    String i64 = "{\"x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
    ByteBuffer b = ByteBuffer.allocate(8 + i64.length() + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(i64.length()).put(i64.getBytes(StandardCharsets.UTF_8));
    Files.write(f, b.array());
    assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("dtype I64");
  }
}
