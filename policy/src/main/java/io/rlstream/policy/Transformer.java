package io.rlstream.policy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A Llama-family decoder-only transformer: token embedding, {@code numLayers} pre-norm blocks of
 * grouped-query self-attention with rotary positions and a SwiGLU MLP, a final RMSNorm and an
 * output head (optionally tied to the embedding). Weights are plain named arrays with Hugging Face
 * Llama/Qwen2 names, so checkpoints move between rlstream and transformers unchanged.
 *
 * <p>One forward serves both modes: teacher-forced scoring (no cache, a whole padded batch) and
 * incremental decoding (a {@link KvCache} holding earlier keys and values). Inside autograd every
 * scalar is an engine-made array: DJL frees a {@code mul(Number)} scalar while the graph still
 * reads it (see DEPENDENCY-NOTES.md).
 *
 * <p>Not thread-safe: one thread (the sampler's or the learner's) owns an instance.
 */
public final class Transformer implements AutoCloseable {
  /** Score added where attention is masked; finite so that a fully masked pad row is no NaN. */
  private static final float MASKED = -1e9f;

  private final ModelConfig config;
  private final NDManager manager;
  private final Map<String, NDArray> parameters;
  private final NDArray invFreq;

  private Transformer(ModelConfig config, NDManager manager, Map<String, NDArray> parameters) {
    this.config = config;
    this.manager = manager;
    this.parameters = Collections.unmodifiableMap(parameters);
    // Rotary frequencies theta^(-2i/headDim), i < headDim/2 (RoFormer, Su et al. 2021, eq. 15).
    int half = config.headDim() / 2;
    float[] freq = new float[half];
    for (int i = 0; i < half; i++) {
      freq[i] = (float) Math.pow(config.ropeTheta(), -2.0 * i / config.headDim());
    }
    this.invFreq = manager.create(freq);
  }

  /**
   * A transformer over the given weights, which it takes ownership of (they are attached to its
   * manager and closed with it). Names and shapes must be exactly {@link #shapes(ModelConfig)}.
   */
  public static Transformer of(ModelConfig config, Map<String, NDArray> weights, Device device) {
    Map<String, Shape> given = new LinkedHashMap<>();
    weights.forEach((name, w) -> given.put(name, w.getShape()));
    List<String> problems = misfits(config, given);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("weights do not fit " + config + ": " + problems);
    }
    NDManager manager = NDManager.newBaseManager(device);
    Map<String, NDArray> params = new LinkedHashMap<>();
    shapes(config)
        .keySet()
        .forEach(
            n -> {
              NDArray w = weights.get(n).toDevice(device, false).toType(DataType.FLOAT32, false);
              w.attach(manager);
              params.put(n, w);
            });
    return new Transformer(config, manager, params);
  }

  /**
   * What keeps tensors named and shaped as {@code given} from being this config's weights: each
   * missing, misshapen or unexpected tensor, named; empty when they fit.
   */
  static List<String> misfits(ModelConfig config, Map<String, Shape> given) {
    Map<String, Shape> expected = shapes(config);
    List<String> problems = new ArrayList<>();
    expected.forEach(
        (name, shape) -> {
          Shape actual = given.get(name);
          if (actual == null) {
            problems.add("missing " + name + " " + shape);
          } else if (!actual.equals(shape)) {
            problems.add(name + " has shape " + actual + ", expected " + shape);
          }
        });
    given.keySet().stream()
        .filter(n -> !expected.containsKey(n))
        .forEach(n -> problems.add("unexpected tensor " + n));
    return problems;
  }

  /**
   * Fresh weights: normal(0, 0.02) matrices as in Hugging Face's {@code initializer_range}, unit
   * RMSNorm gains, zero biases. Drawn in Java from {@code seed}, so equal on every engine.
   */
  public static Transformer random(ModelConfig config, long seed, Device device) {
    Random rng = new Random(seed);
    try (NDManager tmp = NDManager.newBaseManager(device)) {
      Map<String, NDArray> weights = new LinkedHashMap<>();
      shapes(config)
          .forEach(
              (name, shape) -> {
                float[] v = new float[Math.toIntExact(shape.size())];
                if (name.endsWith("norm.weight")) {
                  java.util.Arrays.fill(v, 1f);
                } else if (!name.endsWith(".bias")) {
                  for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rng.nextGaussian() * 0.02);
                  }
                }
                weights.put(name, tmp.create(v, shape));
              });
      return of(config, weights, device);
    }
  }

  /** Every weight's Hugging Face name and shape, in checkpoint order. */
  public static Map<String, Shape> shapes(ModelConfig c) {
    long d = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    Map<String, Shape> s = new LinkedHashMap<>();
    s.put("model.embed_tokens.weight", new Shape(c.vocabSize(), d));
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      s.put(p + "input_layernorm.weight", new Shape(d));
      s.put(p + "self_attn.q_proj.weight", new Shape(q, d));
      s.put(p + "self_attn.k_proj.weight", new Shape(kv, d));
      s.put(p + "self_attn.v_proj.weight", new Shape(kv, d));
      if (c.qkvBias()) {
        s.put(p + "self_attn.q_proj.bias", new Shape(q));
        s.put(p + "self_attn.k_proj.bias", new Shape(kv));
        s.put(p + "self_attn.v_proj.bias", new Shape(kv));
      }
      s.put(p + "self_attn.o_proj.weight", new Shape(d, q));
      if (c.outputBias()) {
        s.put(p + "self_attn.o_proj.bias", new Shape(d));
      }
      s.put(p + "post_attention_layernorm.weight", new Shape(d));
      s.put(p + "mlp.gate_proj.weight", new Shape(c.intermediateSize(), d));
      s.put(p + "mlp.up_proj.weight", new Shape(c.intermediateSize(), d));
      s.put(p + "mlp.down_proj.weight", new Shape(d, c.intermediateSize()));
    }
    s.put("model.norm.weight", new Shape(d));
    if (!c.tieWordEmbeddings()) {
      s.put("lm_head.weight", new Shape(c.vocabSize(), d));
    }
    return s;
  }

  public ModelConfig config() {
    return config;
  }

  public Device device() {
    return manager.getDevice();
  }

  /** The live weights by Hugging Face name; the learner updates them in place. */
  public Map<String, NDArray> parameters() {
    return parameters;
  }

  /** Total number of weights. */
  public long parameterCount() {
    return parameters.values().stream().mapToLong(a -> a.getShape().size()).sum();
  }

  /** An empty cache for incremental decoding, owned by {@code manager}'s scope. */
  public KvCache newCache(NDManager manager) {
    return new KvCache(manager, config.numLayers());
  }

  /**
   * Next-token logits {@code [B, T, V]} for the tokens {@code ids [B, T]} (int64).
   *
   * @param positions rotary position of each token, {@code [B, T]} int64 (per row, so left padding
   *     keeps every row's first real token at position 0)
   * @param keyMask {@code [B, S]} with S = cached length + T: 1 for a real token a query may see, 0
   *     for padding; causality is added here (a query sees keys at or before its own index)
   * @param cache earlier keys and values, appended to; {@code null} for a stateless forward
   */
  public NDArray forward(NDArray ids, NDArray positions, NDArray keyMask, KvCache cache) {
    NDArray x = hidden(ids, positions, keyMask, cache);
    String head = config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
    return Linear.linear(x, w(head)).singletonOrThrow();
  }

  /**
   * The final normed hidden states {@code [B, T, hidden]}, before the language-model head: what a
   * scalar head (a reward model) reads. Arguments as {@link #forward}.
   */
  public NDArray hidden(NDArray ids, NDArray positions, NDArray keyMask, KvCache cache) {
    long past = cache == null ? 0 : cache.length();
    NDArray x =
        Embedding.embedding(ids, w("model.embed_tokens.weight"), SparseFormat.DENSE)
            .singletonOrThrow();
    NDArray[] rope = rotary(positions);
    NDArray bias = attentionBias(keyMask, ids.getShape().get(1), past);
    NDArray scale = ids.getManager().create((float) (1 / Math.sqrt(config.headDim())));
    for (int layer = 0; layer < config.numLayers(); layer++) {
      String p = "model.layers." + layer + ".";
      NDArray h = rmsNorm(x, w(p + "input_layernorm.weight"));
      x = x.add(attention(h, p + "self_attn.", rope, bias, scale, cache, layer));
      h = rmsNorm(x, w(p + "post_attention_layernorm.weight"));
      x = x.add(mlp(h, p + "mlp."));
    }
    return rmsNorm(x, w("model.norm.weight"));
  }

  /**
   * Grouped-query attention (Ainslie et al. 2023) with rotary queries and keys. Queries and keys
   * are rotated together in one set of ops: decoding small batches is bound by the number of native
   * calls, not by arithmetic.
   */
  private NDArray attention(
      NDArray h, String p, NDArray[] rope, NDArray bias, NDArray scale, KvCache cache, int layer) {
    long b = h.getShape().get(0);
    long t = h.getShape().get(1);
    int hd = config.headDim();
    int nq = config.numHeads();
    int nkv = config.numKvHeads();
    NDArray qk = project(h, p + "q_proj").concat(project(h, p + "k_proj"), 2);
    qk = rotate(heads(qk, b, t, nq + nkv), rope); // [B, H + KV, T, hd]
    NDArray q = qk.get(":, :" + nq);
    NDArray k = qk.get(":, " + nq + ":");
    NDArray v = heads(project(h, p + "v_proj"), b, t, nkv);
    if (cache != null) {
      NDArray[] kv = cache.append(layer, k, v);
      k = kv[0];
      v = kv[1];
    }
    if (config.groupSize() > 1) { // kv head j serves query heads j*g .. j*g+g-1, as HF repeat_kv
      k = k.repeat(1, config.groupSize());
      v = v.repeat(1, config.groupSize());
    }
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).add(bias);
    NDArray out = scores.softmax(-1).matMul(v); // [B, H, T, hd]
    out = out.transpose(0, 2, 1, 3).reshape(b, t, (long) nq * hd);
    return project(out, p + "o_proj");
  }

  /** SwiGLU (Shazeer 2020): down(silu(gate(h)) * up(h)). */
  private NDArray mlp(NDArray h, String p) {
    NDArray gate = Linear.linear(h, w(p + "gate_proj.weight")).singletonOrThrow();
    NDArray up = Linear.linear(h, w(p + "up_proj.weight")).singletonOrThrow();
    NDArray silu = gate.mul(Activation.sigmoid(gate));
    return Linear.linear(silu.mul(up), w(p + "down_proj.weight")).singletonOrThrow();
  }

  /** RMSNorm (Zhang and Sennrich 2019): x / sqrt(mean(x²) + eps) * gain. */
  private NDArray rmsNorm(NDArray x, NDArray gain) {
    NDArray rms = x.square().mean(new int[] {-1}, true).add(config.rmsNormEps()).sqrt();
    return x.div(rms).mul(gain);
  }

  /**
   * cos and signed sin of position × frequency, {@code [B, 1, T, headDim]}, halves repeated as in
   * Hugging Face: x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁] becomes x·cos +
   * swap_halves(x)·[−sin, sin].
   */
  private NDArray[] rotary(NDArray positions) {
    NDArray angles = positions.toType(DataType.FLOAT32, false).expandDims(2).mul(invFreq);
    NDArray sin = angles.sin();
    NDArray signedSin = sin.neg().concat(sin, -1).expandDims(1);
    return new NDArray[] {angles.concat(angles, -1).expandDims(1).cos(), signedSin};
  }

  /** Rotary embedding (RoFormer, Su et al. 2021, eq. 34) of {@code [B, heads, T, headDim]}. */
  private NDArray rotate(NDArray x, NDArray[] rope) {
    long half = config.headDim() / 2;
    NDArray swapped = x.get(":, :, :, " + half + ":").concat(x.get(":, :, :, :" + half), -1);
    return x.mul(rope[0]).add(swapped.mul(rope[1]));
  }

  /**
   * Additive mask {@code [B, 1, T, S]}: 0 where query i (index past+i) may see key j, else −1e9.
   */
  private static NDArray attentionBias(NDArray keyMask, long t, long past) {
    NDManager m = keyMask.getManager();
    long s = keyMask.getShape().get(1);
    if (s != past + t) {
      throw new IllegalArgumentException(
          "keyMask covers "
              + s
              + " keys but cache ("
              + past
              + ") + new tokens ("
              + t
              + ") = "
              + (past + t));
    }
    long b = keyMask.getShape().get(0);
    if (t == 1) { // one new token per row (decoding): it may see every real key
      return keyMask.toType(DataType.FLOAT32, false).sub(1f).mul(-MASKED).reshape(b, 1, 1, s);
    }
    NDArray keyIndex = m.arange(s).reshape(1, s);
    NDArray queryIndex = m.arange(t).add(past).reshape(t, 1);
    NDArray causal = keyIndex.lte(queryIndex).reshape(1, 1, t, s);
    NDArray real = keyMask.toType(DataType.BOOLEAN, false).reshape(b, 1, 1, s);
    NDArray allowed = causal.logicalAnd(real).toType(DataType.FLOAT32, false);
    return allowed.sub(1f).mul(-MASKED);
  }

  private NDArray project(NDArray x, String name) {
    NDArray bias = parameters.get(name + ".bias");
    NDArray weight = w(name + ".weight");
    return (bias == null ? Linear.linear(x, weight) : Linear.linear(x, weight, bias))
        .singletonOrThrow();
  }

  /** [B, T, heads*hd] → [B, heads, T, hd]. */
  private NDArray heads(NDArray x, long b, long t, int heads) {
    return x.reshape(b, t, heads, config.headDim()).transpose(0, 2, 1, 3);
  }

  private NDArray w(String name) {
    return parameters.get(name);
  }

  @Override
  public void close() {
    manager.close();
  }
}
