package io.rlstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Numerics guard: the DJL transformer's logits equal an independent float64 implementation of the
 * same math, written here from the papers, within 1e-4 — on padded batches, with grouped-query
 * attention, head_dim ≠ hidden/heads, biases, tied and untied heads, and through the KV cache.
 */
class TransformerReferenceTest {

  static List<ModelConfig> configs() {
    return List.of(
        // Qwen2-style: q/k/v biases, untied head, 4 query heads on 2 kv heads, head_dim 6 ≠ 16/4.
        new ModelConfig(
            "qwen2", 13, 16, 24, 2, 4, 2, 6, 1e-6, 10_000, 64, false, true, false, 1, List.of(2)),
        // Llama-style: tied embeddings, attention_bias (q, k, v and o), multi-query attention.
        new ModelConfig(
            "llama", 11, 12, 20, 3, 3, 1, 4, 1e-5, 500, 64, true, true, true, 1, List.of(2)),
        new ModelConfig(
            "llama", 11, 8, 16, 1, 2, 2, 4, 1e-6, 10_000, 64, true, false, false, 1, List.of(2)));
  }

  @ParameterizedTest
  @MethodSource("configs")
  void logitsMatchFloat64ReferenceOnLeftPaddedBatch(ModelConfig c) {
    // Row 0: 5 real tokens; row 1: 2 pad tokens then 3 real tokens (left padding).
    long[][] ids = {{3, 7, 1, 9, 4}, {0, 0, 5, 2, 8}};
    int[][] mask = {{1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}};
    try (Transformer model = randomWithBiases(c, 42);
        NDManager m = NDManager.newBaseManager(Device.cpu())) {
      Reference ref = new Reference(c, model);
      NDArray logits =
          model.forward(m.create(ids), m.create(positions(mask)), m.create(mask), null);
      float[] got = logits.toFloatArray();
      int v = c.vocabSize();
      for (int b = 0; b < 2; b++) {
        double[][] want = ref.logits(realTokens(ids[b], mask[b]));
        int offset = pads(mask[b]);
        for (int t = 0; t < want.length; t++) {
          for (int j = 0; j < v; j++) {
            int at = (b * 5 + offset + t) * v + j;
            assertThat((double) got[at])
                .as("row %d token %d logit %d", b, t, j)
                .isCloseTo(want[t][j], org.assertj.core.data.Offset.offset(1e-4));
          }
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("configs")
  void kvCacheDecodingMatchesReference(ModelConfig c) {
    long[] seq = {3, 7, 1, 9, 4, 6, 2};
    int prompt = 3;
    try (Transformer model = randomWithBiases(c, 7);
        NDManager m = NDManager.newBaseManager(Device.cpu());
        KvCache cache = model.newCache(m)) {
      double[][] want = new Reference(c, model).logits(seq);
      long[][] first = {java.util.Arrays.copyOf(seq, prompt)};
      long[][] pos = {{0, 1, 2}};
      NDArray logits =
          model.forward(m.create(first), m.create(pos), m.ones(new Shape(1, prompt)), cache);
      assertClose(logits.get(0, prompt - 1).toFloatArray(), want[prompt - 1]);
      for (int t = prompt; t < seq.length; t++) {
        logits =
            model.forward(
                m.create(new long[][] {{seq[t]}}),
                m.create(new long[][] {{t}}),
                m.ones(new Shape(1, t + 1)),
                cache);
        assertClose(logits.get(0, 0).toFloatArray(), want[t]);
      }
      assertThat(cache.length()).isEqualTo(seq.length);
    }
  }

  private static void assertClose(float[] got, double[] want) {
    for (int j = 0; j < want.length; j++) {
      assertThat((double) got[j]).isCloseTo(want[j], org.assertj.core.data.Offset.offset(1e-4));
    }
  }

  /** Random weights with non-zero biases and norm gains, so that bias and gain bugs show. */
  static Transformer randomWithBiases(ModelConfig c, long seed) {
    java.util.Random rng = new java.util.Random(seed);
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      Map<String, NDArray> w = new HashMap<>();
      Transformer.shapes(c)
          .forEach(
              (name, shape) -> {
                float[] v = new float[(int) shape.size()];
                double scale = name.endsWith("norm.weight") ? 0.3 : 0.4;
                for (int i = 0; i < v.length; i++) {
                  v[i] =
                      (float) ((name.endsWith("norm.weight") ? 1 : 0) + rng.nextGaussian() * scale);
                }
                w.put(name, m.create(v, shape));
              });
      return Transformer.of(c, w, Device.cpu());
    }
  }

  static long[][] positions(int[][] mask) {
    long[][] pos = new long[mask.length][];
    for (int b = 0; b < mask.length; b++) {
      pos[b] = new long[mask[b].length];
      int p = 0;
      for (int t = 0; t < mask[b].length; t++) {
        pos[b][t] = mask[b][t] == 1 ? p++ : 0;
      }
    }
    return pos;
  }

  private static int pads(int[] mask) {
    int n = 0;
    while (mask[n] == 0) {
      n++;
    }
    return n;
  }

  private static long[] realTokens(long[] ids, int[] mask) {
    return java.util.Arrays.copyOfRange(ids, pads(mask), ids.length);
  }

  /** The model in plain float64 Java: one sequence, no padding, no cache. */
  static final class Reference {
    private final ModelConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    Reference(ModelConfig c, Transformer model) {
      this.c = c;
      model
          .parameters()
          .forEach(
              (name, a) -> {
                float[] f = a.toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                  d[i] = f[i];
                }
                w.put(name, d);
              });
    }

    double[][] logits(long[] tokens) {
      int n = tokens.length;
      int d = c.hiddenSize();
      double[][] x = new double[n][];
      for (int t = 0; t < n; t++) {
        x[t] =
            java.util.Arrays.copyOfRange(
                w.get("model.embed_tokens.weight"), (int) tokens[t] * d, (int) tokens[t] * d + d);
      }
      for (int l = 0; l < c.numLayers(); l++) {
        String p = "model.layers." + l + ".";
        double[][] h = norm(x, p + "input_layernorm.weight");
        double[][] a = attention(h, p + "self_attn.");
        x = add(x, a);
        h = norm(x, p + "post_attention_layernorm.weight");
        double[][] gate = linear(h, p + "mlp.gate_proj", c.intermediateSize());
        double[][] up = linear(h, p + "mlp.up_proj", c.intermediateSize());
        for (int t = 0; t < n; t++) {
          for (int i = 0; i < gate[t].length; i++) {
            double g = gate[t][i];
            gate[t][i] = g / (1 + Math.exp(-g)) * up[t][i];
          }
        }
        x = add(x, linear(gate, p + "mlp.down_proj", d));
      }
      x = norm(x, "model.norm.weight");
      return linear(x, c.tieWordEmbeddings() ? "model.embed_tokens" : "lm_head", c.vocabSize());
    }

    private double[][] attention(double[][] h, String p) {
      int n = h.length;
      int hd = c.headDim();
      double[][] q = linear(h, p + "q_proj", c.numHeads() * hd);
      double[][] k = linear(h, p + "k_proj", c.numKvHeads() * hd);
      double[][] v = linear(h, p + "v_proj", c.numKvHeads() * hd);
      for (int t = 0; t < n; t++) {
        rope(q[t], c.numHeads(), t);
        rope(k[t], c.numKvHeads(), t);
      }
      double[][] out = new double[n][c.numHeads() * hd];
      for (int head = 0; head < c.numHeads(); head++) {
        int kvHead = head / (c.numHeads() / c.numKvHeads());
        for (int i = 0; i < n; i++) {
          double[] s = new double[i + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j <= i; j++) {
            double dot = 0;
            for (int e = 0; e < hd; e++) {
              dot += q[i][head * hd + e] * k[j][kvHead * hd + e];
            }
            s[j] = dot / Math.sqrt(hd);
            max = Math.max(max, s[j]);
          }
          double z = 0;
          for (int j = 0; j <= i; j++) {
            s[j] = Math.exp(s[j] - max);
            z += s[j];
          }
          for (int j = 0; j <= i; j++) {
            for (int e = 0; e < hd; e++) {
              out[i][head * hd + e] += s[j] / z * v[j][kvHead * hd + e];
            }
          }
        }
      }
      return linear(out, p + "o_proj", c.hiddenSize());
    }

    /** Rotates pairs (e, e + hd/2) of every head by angle pos·θ^(−2e/hd). */
    private void rope(double[] vec, int heads, int pos) {
      int hd = c.headDim();
      int half = hd / 2;
      for (int head = 0; head < heads; head++) {
        for (int e = 0; e < half; e++) {
          double angle = pos * Math.pow(c.ropeTheta(), -2.0 * e / hd);
          double a = vec[head * hd + e];
          double b = vec[head * hd + e + half];
          vec[head * hd + e] = a * Math.cos(angle) - b * Math.sin(angle);
          vec[head * hd + e + half] = b * Math.cos(angle) + a * Math.sin(angle);
        }
      }
    }

    private double[][] norm(double[][] x, String gain) {
      double[] g = w.get(gain);
      double[][] y = new double[x.length][];
      for (int t = 0; t < x.length; t++) {
        double ms = 0;
        for (double v : x[t]) {
          ms += v * v;
        }
        double r = Math.sqrt(ms / x[t].length + c.rmsNormEps());
        y[t] = new double[x[t].length];
        for (int i = 0; i < x[t].length; i++) {
          y[t][i] = x[t][i] / r * g[i];
        }
      }
      return y;
    }

    private double[][] linear(double[][] x, String name, int out) {
      double[] weight = w.get(name + ".weight");
      double[] bias = w.get(name + ".bias");
      int in = x[0].length;
      double[][] y = new double[x.length][out];
      for (int t = 0; t < x.length; t++) {
        for (int o = 0; o < out; o++) {
          double s = bias == null ? 0 : bias[o];
          for (int i = 0; i < in; i++) {
            s += weight[o * in + i] * x[t][i];
          }
          y[t][o] = s;
        }
      }
      return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
      double[][] y = new double[a.length][];
      for (int t = 0; t < a.length; t++) {
        y[t] = a[t].clone();
        for (int i = 0; i < y[t].length; i++) {
          y[t][i] += b[t][i];
        }
      }
      return y;
    }
  }
}
