package io.rlstream.learner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rlstream.policy.ModelConfig;
import io.rlstream.policy.Scorer;
import io.rlstream.policy.Transformer;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SamplingParams;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** GRPO and AdamW against their formulas computed by hand in Java. */
class LearnerMathTest {
  private static final ModelConfig SMALL =
      new ModelConfig(
          "llama", 20, 16, 32, 1, 2, 1, 8, 1e-6, 10_000, 64, true, false, false, 1, List.of(2));

  @Test
  void advantagesAreGroupNormalised() {
    TrainBatch b = TrainBatch.of(List.of(group("a", 1, 0, 0, 1), group("b", 1, 1, 1, 1)));
    double[] adv = GrpoLoss.advantages(b);
    double k = 0.5 / (0.5 + 1e-4); // (r - 0.5) / (std 0.5 + eps)
    assertThat(adv).containsExactly(new double[] {k, -k, -k, k, 0, 0, 0, 0}, within(1e-12));
  }

  @Test
  void grpoLossMatchesTheFormulaWithClippingAndKl() {
    JniUtils.setGradMode(false);
    try (Transformer policy = Transformer.random(SMALL, 1, Device.cpu());
        Transformer reference = Transformer.random(SMALL, 2, Device.cpu());
        NDManager m = NDManager.newBaseManager()) {
      TrainBatch b0 = TrainBatch.of(List.of(group("a", 1, 0, 0, 1)));
      float[][] logp = rows(Scorer.score(policy, m, b0.prompts(), b0.completions(), 1).logProbs());
      float[][] ref =
          rows(Scorer.score(reference, m, b0.prompts(), b0.completions(), 1).logProbs());
      // behaviour log-probs shifted so ratios land inside and outside [0.8, 1.2]
      double[] shift = {0.0, 0.5, -0.5, 0.1};
      List<ScoredGroup> shifted = List.of(group("a", 1, 0, 0, 1));
      for (int i = 0; i < 4; i++) {
        float[] old = logp[i].clone();
        for (int t = 0; t < old.length; t++) {
          old[t] = (float) (old[t] - shift[i] * (t + 1));
        }
        shifted
            .get(0)
            .getGroup()
            .getCompletions()
            .get(i)
            .setLogprobs(Packed.floats(lengthOf(old, i)));
      }
      TrainBatch b = TrainBatch.of(shifted);
      double eps = 0.2;
      double beta = 0.05;
      double[] adv = GrpoLoss.advantages(b);
      double expected = 0;
      for (int i = 0; i < 4; i++) {
        int len = b.completions().get(i).length;
        double sum = 0;
        for (int t = 0; t < len; t++) {
          double ratio = Math.exp(logp[i][t] - b.behaviourLogProbs().get(i)[t]);
          double clipped = Math.max(1 - eps, Math.min(1 + eps, ratio));
          double surrogate = Math.min(ratio * adv[i], clipped * adv[i]);
          double q = ref[i][t] - logp[i][t];
          sum += -surrogate + beta * (Math.exp(q) - q - 1);
        }
        expected += sum / len;
      }
      expected /= 4;
      PolicyLoss.Result r =
          new GrpoLoss(GrpoLoss.Config.of(eps, beta)).compute(policy, reference, b, m);
      assertThat((double) r.loss().getFloat()).isCloseTo(expected, within(1e-5));
      assertThat(r.metrics().get("clip_frac")).isGreaterThan(0.0).isLessThan(1.0);
    }
  }

  @Test
  void adamwStepMatchesTheAlgorithmWithGlobalNormClipping() {
    AdamW.Config c = new AdamW.Config(0.1, 0.9, 0.999, 1e-8, 0.01, 1.0);
    AdamW opt = new AdamW(c);
    float[] w0 = {1f, -2f, 0.5f, 3f};
    float[] b0 = {0.25f};
    float[][] grads = {{3f, 0f, -4f, 0f}, {0.1f, 0.2f, -0.1f, 0.05f}};
    float[][] gb = {{0f}, {0.3f}};
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray w = m.create(w0, new Shape(2, 2));
      NDArray bias = m.create(b0, new Shape(1));
      w.setRequiresGradient(true);
      bias.setRequiresGradient(true);
      Map<String, NDArray> params = new LinkedHashMap<>();
      params.put("w", w);
      params.put("b", bias);
      double[] mw = new double[4], vw = new double[4], ew = toDouble(w0);
      double[] mb = new double[1], vb = new double[1], eb = toDouble(b0);
      for (int step = 0; step < 2; step++) {
        JniUtils.setGradMode(true);
        try (NDManager s = NDManager.newBaseManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          NDArray loss =
              w.mul(s.create(grads[step], new Shape(2, 2)))
                  .sum()
                  .add(bias.mul(s.create(gb[step])).sum());
          gc.backward(loss);
        }
        double norm = 0;
        for (float g : grads[step]) {
          norm += g * g;
        }
        norm = Math.sqrt(norm + gb[step][0] * gb[step][0]);
        double scale = norm > 1 ? 1 / norm : 1;
        assertThat(opt.step(params)).isCloseTo(norm, within(1e-5));
        int t = step + 1;
        adam(ew, mw, vw, grads[step], scale, t, c, true);
        adam(eb, mb, vb, gb[step], scale, t, c, false);
        assertThat(toDouble(w.toFloatArray())).containsExactly(ew, within(1e-5));
        assertThat(toDouble(bias.toFloatArray())).containsExactly(eb, within(1e-5));
        assertThat(w.getGradient().toFloatArray()).containsOnly(0f);
      }
    }
  }

  /** Loshchilov and Hutter 2019, Algorithm 2; decay only for matrices. */
  private static void adam(
      double[] w,
      double[] m,
      double[] v,
      float[] g,
      double scale,
      int t,
      AdamW.Config c,
      boolean decay) {
    for (int i = 0; i < w.length; i++) {
      double gi = g[i] * scale;
      m[i] = c.beta1() * m[i] + (1 - c.beta1()) * gi;
      v[i] = c.beta2() * v[i] + (1 - c.beta2()) * gi * gi;
      double mh = m[i] / (1 - Math.pow(c.beta1(), t));
      double vh = v[i] / (1 - Math.pow(c.beta2(), t));
      w[i] -=
          c.lr() * mh / (Math.sqrt(vh) + c.eps()) + (decay ? c.lr() * c.weightDecay() * w[i] : 0);
    }
  }

  private static float[][] rows(NDArray a) {
    int r = (int) a.getShape().get(0);
    int c = (int) a.getShape().get(1);
    float[] flat = a.toFloatArray();
    float[][] out = new float[r][c];
    for (int i = 0; i < r; i++) {
      System.arraycopy(flat, i * c, out[i], 0, c);
    }
    return out;
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  private static float[] lengthOf(float[] padded, int i) {
    return java.util.Arrays.copyOf(padded, 2 + i % 3);
  }

  /** A group of completions with lengths 2, 3, 4, 2, ... and the given rewards. */
  static ScoredGroup group(String id, double... rewards) {
    List<Completion> cs = new ArrayList<>();
    List<Double> rs = new ArrayList<>();
    for (int i = 0; i < rewards.length; i++) {
      int len = 2 + i % 3;
      int[] tokens = new int[len];
      float[] lp = new float[len];
      for (int t = 0; t < len; t++) {
        tokens[t] = 3 + (i * 5 + t * 3) % 16;
        lp[t] = -1f;
      }
      cs.add(
          Completion.newBuilder()
              .setIndex(i)
              .setTokenIds(Packed.ints(tokens))
              .setText("x")
              .setLogprobs(Packed.floats(lp))
              .setFinishReason(io.rlstream.schemas.FinishReason.STOP)
              .build());
      rs.add(rewards[i]);
    }
    SampleGroup g =
        SampleGroup.newBuilder()
            .setGroupId(id)
            .setRunId("r")
            .setTaskId("t")
            .setPromptId("p")
            .setPromptText("p")
            .setPromptTokenIds(Packed.ints(new int[] {1, 7, 9}))
            .setCompletions(cs)
            .setPolicyVersion(0)
            .setSampling(SamplingParams.newBuilder().setTemperature(1f).setMaxNewTokens(4).build())
            .setSeed(0)
            .setMetadata(Map.of())
            .setProvenance(Provenances.now("test"))
            .build();
    return ScoredGroup.newBuilder()
        .setGroup(g)
        .setJudgements(List.of())
        .setRewards(rs)
        .setAggregation("test")
        .setProvenance(Provenances.now("test"))
        .build();
  }
}
