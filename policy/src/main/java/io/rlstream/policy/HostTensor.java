package io.rlstream.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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
    long rows = shape.length == 0 ? 1 : shape[0];
    long rowSize = rows == 0 ? 0 : array.getShape().size() / rows;
    long rowsPerPart = rowSize == 0 ? Math.max(rows, 1) : Math.max(1, MAX_PART_FLOATS / rowSize);
    if (rows <= rowsPerPart) {
      return of(shape, array.toFloatArray());
    }
    List<float[]> parts = new ArrayList<>();
    for (long r = 0; r < rows; r += rowsPerPart) {
      parts.add(array.get(r + ":" + Math.min(rows, r + rowsPerPart)).toFloatArray());
    }
    return new HostTensor(shape, parts.toArray(float[][]::new));
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
    long rowSize = size() / shape[0];
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
