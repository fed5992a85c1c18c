package io.rlstream.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format (8-byte little-endian header length, a JSON header of
 * {@code name → {dtype, shape, data_offsets}} plus optional {@code __metadata__}, then the raw
 * little-endian data). Offsets are 64-bit throughout, so files and tensors beyond 2 GB work; F32,
 * F16 and BF16 are read (widened to float32) and written. Files written here carry {@code
 * __metadata__ {"format": "pt"}}, which Hugging Face transformers requires.
 */
public final class Safetensors {
  /** Hugging Face's reader refuses headers over 100 MB; so do we, before allocating. */
  static final long MAX_HEADER_BYTES = 100L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int WRITE_BUFFER = 1 << 22;

  private Safetensors() {}

  /** Where one tensor lies in a file. */
  public record Entry(String name, TensorType type, long[] shape, long begin, long end) {
    long size() {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }
  }

  /** Positional reads from a file or a byte array. */
  interface Source {
    int read(ByteBuffer into, long position) throws IOException;

    long size() throws IOException;
  }

  /** Every tensor of a file, in file order, widened to float32. */
  public static Map<String, HostTensor> read(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return readAll(source(ch), HostTensor.MAX_PART_FLOATS);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /** The header of a file: its tensors in file order. */
  public static List<Entry> entries(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return header(source(ch));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /** Decodes safetensors bytes (a weight update that travelled over Kafka). */
  public static Map<String, HostTensor> decode(byte[] bytes) {
    ByteBuffer all = ByteBuffer.wrap(bytes);
    Source s =
        new Source() {
          @Override
          public int read(ByteBuffer into, long position) {
            if (position >= bytes.length) {
              return -1;
            }
            int n = (int) Math.min(into.remaining(), bytes.length - position);
            into.put(all.duplicate().position((int) position).limit((int) position + n));
            return n;
          }

          @Override
          public long size() {
            return bytes.length;
          }
        };
    try {
      return readAll(s, HostTensor.MAX_PART_FLOATS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Map<String, HostTensor> readAll(Source source, int maxPartFloats) throws IOException {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    for (Entry e : header(source)) {
      out.put(e.name(), readTensor(source, e, maxPartFloats));
    }
    return out;
  }

  static List<Entry> header(Source source) throws IOException {
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(source, len, 0);
    long n = len.flip().getLong();
    long fileSize = source.size();
    if (n <= 0 || n > MAX_HEADER_BYTES || 8 + n > fileSize) {
      throw new IllegalArgumentException(
          "not a safetensors file: header length " + n + " in a file of " + fileSize + " bytes");
    }
    ByteBuffer json = ByteBuffer.allocate((int) n);
    readFully(source, json, 8);
    JsonNode root = JSON.readTree(new String(json.array(), StandardCharsets.UTF_8));
    long dataStart = 8 + n;
    List<Entry> entries = new ArrayList<>();
    for (var it = root.fields(); it.hasNext(); ) {
      var field = it.next();
      if (field.getKey().equals("__metadata__")) {
        continue;
      }
      entries.add(entry(field.getKey(), field.getValue(), dataStart, fileSize));
    }
    entries.sort(Comparator.comparingLong(Entry::begin));
    return entries;
  }

  private static Entry entry(String name, JsonNode info, long dataStart, long fileSize) {
    TensorType type = TensorType.parse(info.path("dtype").asText(), name);
    JsonNode dims = info.path("shape");
    long[] shape = new long[dims.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = dims.get(i).asLong();
    }
    JsonNode offsets = info.path("data_offsets");
    Entry e =
        new Entry(
            name,
            type,
            shape,
            dataStart + offsets.path(0).asLong(-1),
            dataStart + offsets.path(1).asLong(-1));
    if (e.begin() < dataStart
        || e.end() > fileSize
        || e.end() - e.begin() != e.size() * type.bytes()) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has data_offsets "
              + offsets
              + " that do not fit its shape, dtype or the file ("
              + fileSize
              + " bytes)");
    }
    return e;
  }

  static HostTensor readTensor(Source source, Entry e, int maxPartFloats) throws IOException {
    long[] partRows = HostTensor.partRows(e.shape(), maxPartFloats);
    long rowSize = HostTensor.rowSize(e.shape());
    float[][] parts = new float[partRows.length][];
    long at = e.begin();
    for (int i = 0; i < parts.length; i++) {
      int floats = Math.toIntExact(partRows[i] * rowSize);
      ByteBuffer buf =
          ByteBuffer.allocate(floats * e.type().bytes()).order(ByteOrder.LITTLE_ENDIAN);
      readFully(source, buf, at);
      at += buf.capacity();
      parts[i] = widen(buf.flip(), e.type(), floats);
    }
    return new HostTensor(e.shape(), parts);
  }

  private static float[] widen(ByteBuffer buf, TensorType type, int n) {
    float[] out = new float[n];
    switch (type) {
      case F32 -> buf.asFloatBuffer().get(out);
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = TensorType.bf16ToFloat(buf.getShort());
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = TensorType.f16ToFloat(buf.getShort());
        }
      }
    }
    return out;
  }

  private static void readFully(Source s, ByteBuffer into, long position) throws IOException {
    long at = position;
    while (into.hasRemaining()) {
      int n = s.read(into, at);
      if (n < 0) {
        throw new IllegalArgumentException("file ends inside a tensor at byte " + at);
      }
      at += n;
    }
  }

  static Source source(FileChannel ch) {
    return new Source() {
      @Override
      public int read(ByteBuffer into, long position) throws IOException {
        return ch.read(into, position);
      }

      @Override
      public long size() throws IOException {
        return ch.size();
      }
    };
  }

  /** Writes tensors (in the map's order) as {@code type}, with {@code format: pt} metadata. */
  public static void write(Path file, Map<String, HostTensor> tensors, TensorType type) {
    try (FileChannel ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      write(ch, tensors, type);
      ch.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Encodes tensors as safetensors bytes (for transport; below 2 GB). */
  public static byte[] encode(Map<String, HostTensor> tensors, TensorType type) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      write(Channels.newChannel(out), tensors, type);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static void write(WritableByteChannel ch, Map<String, HostTensor> tensors, TensorType type)
      throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    for (var e : tensors.entrySet()) {
      ObjectNode info = header.putObject(e.getKey());
      info.put("dtype", type.name());
      var shape = info.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      long bytes = e.getValue().size() * type.bytes();
      info.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8; // align data to 8 bytes, padding with spaces
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    writeFully(ch, head.flip());
    ByteBuffer buf = ByteBuffer.allocate(WRITE_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
    for (HostTensor t : tensors.values()) {
      for (float[] part : t.parts()) {
        for (float v : part) {
          if (buf.remaining() < 4) {
            writeFully(ch, buf.flip());
            buf.clear();
          }
          switch (type) {
            case F32 -> buf.putFloat(v);
            case BF16 -> buf.putShort(TensorType.floatToBf16(v));
            case F16 -> buf.putShort(TensorType.floatToF16(v));
          }
        }
      }
    }
    writeFully(ch, buf.flip());
  }

  private static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }
}
