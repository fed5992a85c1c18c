package io.rlstream.policy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A reward model: the policy transformer with a scalar head ({@code score.weight}, {@code [1,
 * hidden]}, as Hugging Face's sequence-classification heads) read at the last real token of each
 * sequence. Saved as a policy checkpoint directory plus {@code score.safetensors}.
 */
public final class RewardModel implements AutoCloseable {
  /** The head's file inside a reward-model checkpoint directory. */
  public static final String HEAD_FILE = "score.safetensors";

  private static final String HEAD = "score.weight";

  private final Policy trunk;
  private final NDManager manager;
  private final NDArray head;

  private RewardModel(Policy trunk, float[] head) {
    this.trunk = trunk;
    this.manager = NDManager.newBaseManager(trunk.model().device());
    this.head = manager.create(head, new Shape(1, trunk.config().hiddenSize()));
  }

  /** A reward model starting from a policy checkpoint, with a small random head. */
  public static RewardModel fromPolicy(Checkpoint policy, Device device, long seed) {
    Random rng = new Random(seed);
    float[] h = new float[policy.config().hiddenSize()];
    for (int i = 0; i < h.length; i++) {
      h[i] = (float) (rng.nextGaussian() * 0.02);
    }
    return new RewardModel(Policy.of(policy, device), h);
  }

  /** Loads a reward model saved by {@link #save}. */
  public static RewardModel load(Path dir, Device device) {
    Path headFile = dir.resolve(HEAD_FILE);
    if (!Files.exists(headFile)) {
      throw new IllegalArgumentException(
          dir
              + " is not a reward-model checkpoint: it has no "
              + HEAD_FILE
              + " (train one with"
              + " 'rlstream rm-train')");
    }
    HostTensor h = Safetensors.read(headFile).get(HEAD);
    Checkpoint c = Checkpoint.load(dir);
    if (h == null || h.size() != c.config().hiddenSize()) {
      throw new IllegalArgumentException(
          headFile + " must hold " + HEAD + " of shape [1, " + c.config().hiddenSize() + "]");
    }
    return new RewardModel(Policy.of(c, device), h.values());
  }

  public void save(Path dir) {
    trunk.save(dir, Checkpoint.SaveOptions.DEFAULT);
    Safetensors.write(
        dir.resolve(HEAD_FILE),
        Map.of(
            HEAD, HostTensor.of(new long[] {1, trunk.config().hiddenSize()}, head.toFloatArray())),
        TensorType.F32);
  }

  public Tokenizer tokenizer() {
    return trunk.tokenizer();
  }

  /** Where the weights live: make the arrays of {@link #rewards} on a manager of this device. */
  public Device device() {
    return trunk.model().device();
  }

  public ModelConfig config() {
    return trunk.config();
  }

  /** Every trainable array: the transformer's and the head. */
  public Map<String, NDArray> parameters() {
    Map<String, NDArray> p = new LinkedHashMap<>(trunk.model().parameters());
    p.put(HEAD, head);
    return p;
  }

  /**
   * The reward of each token sequence (prompt + completion), {@code [B]}, under whatever grad mode
   * the calling thread has. Sequences are right-padded; the reward is read at the last real token.
   */
  public NDArray rewards(NDManager m, List<int[]> sequences) {
    int b = sequences.size();
    int t = 1;
    for (int[] s : sequences) {
      if (s.length == 0) {
        throw new IllegalArgumentException("empty sequence: start it with a BOS token");
      }
      t = Math.max(t, s.length);
    }
    long[] ids = new long[b * t];
    long[] pos = new long[b * t];
    float[] mask = new float[b * t];
    float[] last = new float[b * t];
    for (int i = 0; i < b; i++) {
      int[] s = sequences.get(i);
      for (int j = 0; j < t; j++) {
        ids[i * t + j] = j < s.length ? s[j] : 0;
        pos[i * t + j] = j;
        mask[i * t + j] = j < s.length ? 1 : 0;
      }
      last[i * t + s.length - 1] = 1;
    }
    NDArray x =
        trunk
            .model()
            .hidden(
                m.create(ids, new Shape(b, t)),
                m.create(pos, new Shape(b, t)),
                m.create(mask, new Shape(b, t)),
                null); // [B, T, H]
    NDArray perToken = Linear.linear(x, head).singletonOrThrow().squeeze(-1); // [B, T]
    return perToken.mul(m.create(last, new Shape(b, t))).sum(new int[] {1});
  }

  @Override
  public void close() {
    manager.close();
    trunk.close();
  }
}
