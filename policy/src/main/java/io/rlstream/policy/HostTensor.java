package io.rlstream.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * A float32 tensor in Java memory, split along its first axis into parts of at most {@link
 * #MAX_PART_FLOATS} elements: Java arrays and DJL's buffers stop at 2 GB, embeddings of large
 * vocabularies do not.
 *
 * @param shape dimensions, outermost first
 * @param parts row-major data, each part a whole number of rows
 */
public record HostTensor(long[] shape, float[][] parts) {
  /** 256 M floats = 1 GiB per part. */
  public static final int MAX_PART_FLOATS = 1 << 28;

  public HostTensor {
    shape = shape.clone();
    long total = 0;
    for (float[] p : parts) {
      total += p.length;
    }
    if (total != size(shape)) {
      throw new IllegalArgumentException(
          "data has "
              + total
              + " values, shape "
              + Arrays.toString(shape)
              + " needs "
              + size(shape));
    }
  }

  public static HostTensor of(long[] shape, float[] data) {
    return new HostTensor(shape, new float[][] {data});
  }

  /** Copies an engine array to Java memory. */
  public static HostTensor of(NDArray array) {
    long[] shape = array.getShape().getShape();
    long[] partRows = partRows(shape, MAX_PART_FLOATS);
    if (partRows.length == 1) {
      return of(shape, array.toFloatArray());
    }
    float[][] parts = new float[partRows.length][];
    long row = 0;
    for (int i = 0; i < parts.length; i++) {
      parts[i] = array.get(row + ":" + (row + partRows[i])).toFloatArray();
      row += partRows[i];
    }
    return new HostTensor(shape, parts);
  }

  /**
   * Rows (along the first axis) of each part when a tensor of {@code shape} is split into parts of
   * at most {@code maxPartFloats} values; a scalar is one part of one row.
   */
  static long[] partRows(long[] shape, long maxPartFloats) {
    long rows = shape.length == 0 ? 1 : shape[0];
    long perPart = Math.max(1, maxPartFloats / Math.max(1, rowSize(shape)));
    if (rows <= perPart) {
      return new long[] {rows};
    }
    long[] parts = new long[Math.toIntExact((rows + perPart - 1) / perPart)];
    for (int i = 0; i < parts.length; i++) {
      parts[i] = Math.min(perPart, rows - i * perPart);
    }
    return parts;
  }

  /** Values per row of the first axis (1 for a scalar). */
  static long rowSize(long[] shape) {
    long n = 1;
    for (int i = 1; i < shape.length; i++) {
      n = Math.multiplyExact(n, shape[i]);
    }
    return n;
  }

  public long size() {
    return size(shape);
  }

  /** The whole tensor as one array; fails above 2^31 − 1 values. */
  public float[] values() {
    if (parts.length == 1) {
      return parts[0];
    }
    float[] all = new float[Math.toIntExact(size())];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }

  /** An engine array with this data, attached to {@code manager}. */
  public NDArray toNDArray(NDManager manager) {
    if (parts.length == 1) {
      return manager.create(parts[0], new Shape(shape));
    }
    long rowSize = rowSize(shape);
    NDList pieces = new NDList();
    for (float[] p : parts) {
      long[] s = shape.clone();
      s[0] = p.length / rowSize;
      pieces.add(manager.create(p, new Shape(s)));
    }
    NDArray whole = NDArrays.concat(pieces, 0);
    pieces.close();
    return whole;
  }

  private static long size(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HostTensor t
        && Arrays.equals(shape, t.shape)
        && Arrays.equals(values(), t.values());
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return "HostTensor" + Arrays.toString(shape);
  }
}
