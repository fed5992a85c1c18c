package io.rlstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The tiny preset learns: next-token loss falls and every parameter moves. */
class TrainingTest {

  @Test
  void nextTokenTrainingLowersLossAndChangesEveryParameter() {
    Tokenizer tok = Fixtures.CHAR;
    ModelConfig tiny = ModelConfig.tiny(tok.vocabSize(), Fixtures.BOS, Fixtures.EOS);
    List<int[]> prompts = new ArrayList<>();
    List<int[]> targets = new ArrayList<>();
    for (int a = 10; a < 26; a++) {
      prompts.add(Fixtures.prompt(a + "+" + (a * 7 % 50) + "="));
      int[] answer = tok.encode(Integer.toString(a + a * 7 % 50));
      int[] withEos = java.util.Arrays.copyOf(answer, answer.length + 1);
      withEos[answer.length] = Fixtures.EOS;
      targets.add(withEos);
    }
    try (Policy policy = Policy.random(tiny, tok, 1, Device.cpu())) {
      assertThat(policy.model().parameterCount()).isBetween(500_000L, 2_000_000L);
      Map<String, float[]> before = new HashMap<>();
      policy
          .model()
          .parameters()
          .forEach(
              (n, a) -> {
                before.put(n, a.toFloatArray());
                a.setRequiresGradient(true);
              });
      Adam adam = new Adam(3e-3);
      List<Float> losses = new ArrayList<>();
      for (int step = 0; step < 12; step++) {
        try (NDManager m = NDManager.newBaseManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          TokenScores s = Scorer.score(policy.model(), m, prompts, targets, 1.0);
          NDArray loss = s.logProbs().sum().neg().div(s.mask().sum());
          gc.backward(loss);
          losses.add(loss.getFloat());
          adam.step(policy.model().parameters());
        }
      }
      assertThat(losses).allSatisfy(l -> assertThat(l).isFinite());
      assertThat(losses.get(losses.size() - 1))
          .as("loss after 12 steps, from %s", losses)
          .isLessThan(losses.get(0) * 0.7f);
      policy
          .model()
          .parameters()
          .forEach((n, a) -> assertThat(a.toFloatArray()).as(n).isNotEqualTo(before.get(n)));
    }
  }

  /** Adam (Kingma and Ba 2015, Algorithm 1), updating in place with grad mode off. */
  static final class Adam {
    private final double lr;
    private final Map<String, float[][]> moments = new HashMap<>();
    private int t;

    Adam(double lr) {
      this.lr = lr;
    }

    void step(Map<String, NDArray> params) {
      t++;
      JniUtils.setGradMode(false);
      try {
        params.forEach(
            (name, w) -> {
              float[] g = w.getGradient().toFloatArray();
              float[][] mv =
                  moments.computeIfAbsent(
                      name, k -> new float[][] {new float[g.length], new float[g.length]});
              float[] delta = new float[g.length];
              for (int i = 0; i < g.length; i++) {
                mv[0][i] = 0.9f * mv[0][i] + 0.1f * g[i];
                mv[1][i] = 0.999f * mv[1][i] + 0.001f * g[i] * g[i];
                double mHat = mv[0][i] / (1 - Math.pow(0.9, t));
                double vHat = mv[1][i] / (1 - Math.pow(0.999, t));
                delta[i] = (float) (lr * mHat / (Math.sqrt(vHat) + 1e-8));
              }
              try (NDManager m = NDManager.newBaseManager()) {
                w.subi(m.create(delta, w.getShape()));
              }
              JniUtils.zeroGrad((PtNDArray) w);
            });
      } finally {
        JniUtils.setGradMode(true);
      }
    }
  }
}
