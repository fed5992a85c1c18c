package io.rlstream.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys and values of every layer for the tokens decoded so far, so that each new token attends to
 * them without recomputing them. Grows by concatenation along the sequence axis; owns its arrays in
 * its own manager and frees the previous ones on each append.
 */
public final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys;
  private final NDArray[] values;

  KvCache(NDManager parent, int layers) {
    this.manager = parent.newSubManager();
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
  }

  /** Cached sequence length: keys a new query at index {@code length()} can attend to. */
  public long length() {
    return keys[0] == null ? 0 : keys[0].getShape().get(2);
  }

  /**
   * Appends this step's keys and values ({@code [B, kvHeads, T, headDim]}) for one layer and
   * returns the whole cached keys and values, past and new.
   */
  NDArray[] append(int layer, NDArray k, NDArray v) {
    NDArray oldK = keys[layer];
    NDArray oldV = values[layer];
    NDArray allK = oldK == null ? k : oldK.concat(k, 2);
    NDArray allV = oldV == null ? v : oldV.concat(v, 2);
    allK.attach(manager);
    allV.attach(manager);
    keys[layer] = allK;
    values[layer] = allV;
    if (oldK != null) {
      oldK.close();
      oldV.close();
    }
    return new NDArray[] {allK, allV};
  }

  @Override
  public void close() {
    manager.close();
  }
}
