package io.rlstream.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SamplingTest {
  static Policy policy;
  static final List<int[]> PROMPTS =
      List.of(Fixtures.prompt("12+7="), Fixtures.prompt("3+4="), Fixtures.prompt("100+250="));

  @BeforeAll
  static void load() {
    policy = Fixtures.peaked(11);
  }

  @AfterAll
  static void close() {
    policy.close();
  }

  private static List<List<Completion>> run(SamplingConfig cfg, long seed) {
    boolean grad = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      return Sampling.run(policy.model(), policy.tokenizer(), PROMPTS, 4, cfg, seed);
    } finally {
      JniUtils.setGradMode(grad);
    }
  }

  @Test
  void sameSeedSameOutputDifferentSeedDifferentOutput() {
    SamplingConfig cfg = SamplingConfig.sample(24, Set.of()).withTemperature(1.3);
    List<List<Completion>> a = run(cfg, 5);
    List<List<Completion>> b = run(cfg, 5);
    List<List<Completion>> c = run(cfg, 6);
    assertThat(tokens(a)).isEqualTo(tokens(b));
    assertThat(tokens(a)).isNotEqualTo(tokens(c));
    // Samples of one prompt differ from each other: each row has its own random stream.
    assertThat(a.get(0).get(0).tokens()).isNotEqualTo(a.get(0).get(1).tokens());
  }

  @Test
  void cachedAndUncachedDecodingSampleTheSameTokens() {
    SamplingConfig cfg = SamplingConfig.sample(16, Set.of()).withTemperature(0.9).withTopP(0.95);
    List<List<Completion>> cached = run(cfg, 3);
    List<List<Completion>> plain = run(cfg.withKvCache(false), 3);
    assertThat(tokens(cached)).isEqualTo(tokens(plain));
    for (int p = 0; p < cached.size(); p++) {
      for (int g = 0; g < 4; g++) {
        float[] x = cached.get(p).get(g).logProbs();
        float[] y = plain.get(p).get(g).logProbs();
        for (int i = 0; i < x.length; i++) {
          assertThat(x[i]).isCloseTo(y[i], Offset.offset(1e-4f));
        }
      }
    }
  }

  @Test
  void stopTokensEndCompletionsAndAreKept() {
    Set<Integer> stops = Set.of(40, 41, 42, 43, 44, 45);
    List<List<Completion>> out = run(SamplingConfig.sample(10, stops).withTemperature(1.5), 9);
    int stopped = 0;
    int truncated = 0;
    for (List<Completion> group : out) {
      for (Completion c : group) {
        int[] t = c.tokens();
        for (int i = 0; i < t.length - 1; i++) {
          assertThat(stops).doesNotContain(t[i]);
        }
        if (c.finish() == FinishReason.STOP) {
          stopped++;
          assertThat(stops).contains(t[t.length - 1]);
        } else {
          truncated++;
          assertThat(t).hasSize(10);
          assertThat(stops).doesNotContain(t[t.length - 1]);
        }
        assertThat(c.logProbs()).hasSameSizeAs(t);
      }
    }
    assertThat(stopped).as("completions ended by a stop token").isPositive();
    assertThat(truncated).as("completions ended by length").isPositive();
  }

  @Test
  void stopStringsCutTheText() {
    SamplingConfig free = SamplingConfig.sample(20, Set.of()).withTemperature(1.5);
    Completion first = run(free, 21).get(0).get(0);
    String stop = first.text().substring(3, 5); // occurs in this completion, sampled again below
    Completion again = run(free.withStopStrings(List.of(stop)), 21).get(0).get(0);
    assertThat(again.finish()).isEqualTo(FinishReason.STOP);
    assertThat(again.text()).isEqualTo(first.text().substring(0, first.text().indexOf(stop)));
    assertThat(again.tokens().length).isLessThan(first.tokens().length);
  }

  @Test
  void topKOneIsGreedy() {
    List<List<Completion>> greedy = run(SamplingConfig.greedy(12, Set.of()), 1);
    List<List<Completion>> k1 = run(SamplingConfig.sample(12, Set.of()).withTopK(1), 77);
    assertThat(tokens(k1)).isEqualTo(tokens(greedy));
    // Greedy rows of one prompt are identical.
    assertThat(greedy.get(0).get(0).tokens()).isEqualTo(greedy.get(0).get(3).tokens());
  }

  @Test
  void nucleusKeepsOnlyTheTopMass() {
    // With top_p tiny, only the single most likely token survives: sampling equals greedy.
    List<List<Completion>> nucleus = run(SamplingConfig.sample(12, Set.of()).withTopP(1e-6), 4);
    assertThat(tokens(nucleus)).isEqualTo(tokens(run(SamplingConfig.greedy(12, Set.of()), 1)));
  }

  /** The invariant the learner's importance ratios rest on (issue 3). */
  @Test
  void sampledLogProbsEqualTeacherForcedRescoring() {
    for (SamplingConfig cfg :
        List.of(
            SamplingConfig.sample(20, Set.of(50, 60))
                .withTemperature(0.7)
                .withTopP(0.9)
                .withTopK(20),
            SamplingConfig.greedy(20, Set.of(50)),
            SamplingConfig.sample(20, Set.of()).withTemperature(1.0))) {
      List<List<Completion>> out = run(cfg, 13);
      List<int[]> prompts = new ArrayList<>();
      List<int[]> completions = new ArrayList<>();
      List<float[]> sampled = new ArrayList<>();
      for (int p = 0; p < out.size(); p++) {
        for (Completion c : out.get(p)) {
          prompts.add(PROMPTS.get(p));
          completions.add(c.tokens());
          sampled.add(c.logProbs());
        }
      }
      try (NDManager m = NDManager.newBaseManager()) {
        TokenScores s =
            Scorer.score(policy.model(), m, prompts, completions, cfg.logProbTemperature());
        float[][] rescored = rows(s.logProbs().toFloatArray(), prompts.size());
        float[][] mask = rows(s.mask().toFloatArray(), prompts.size());
        for (int r = 0; r < prompts.size(); r++) {
          for (int j = 0; j < rescored[r].length; j++) {
            if (j < sampled.get(r).length) {
              assertThat(rescored[r][j])
                  .as("row %d token %d", r, j)
                  .isCloseTo(sampled.get(r)[j], Offset.offset(1e-4f));
              assertThat(mask[r][j]).isEqualTo(1f);
            } else {
              assertThat(mask[r][j]).isZero();
              assertThat(rescored[r][j]).isZero();
            }
          }
        }
        for (float e : s.entropy().toFloatArray()) {
          assertThat(e).isGreaterThanOrEqualTo(0f);
        }
      }
    }
  }

  @Test
  void badRequestsFailWithAReason() {
    assertThatThrownBy(() -> SamplingConfig.sample(10, Set.of()).withTopP(0))
        .hasMessageContaining("top_p");
    assertThatThrownBy(
            () ->
                Sampling.run(
                    policy.model(),
                    policy.tokenizer(),
                    List.of(new int[300]),
                    1,
                    SamplingConfig.greedy(10, Set.of()),
                    1))
        .hasMessageContaining("max_position_embeddings");
    assertThatThrownBy(() -> Policy.device("tpu")).hasMessageContaining("use cpu, gpu or auto");
    if (ai.djl.engine.Engine.getInstance().getGpuCount() == 0) {
      assertThatThrownBy(() -> Policy.device("gpu")).hasMessageContaining("--device cpu");
      assertThat(Policy.device("auto")).isEqualTo(ai.djl.Device.cpu());
    }
  }

  private static float[][] rows(float[] flat, int n) {
    int w = flat.length / n;
    float[][] out = new float[n][];
    for (int r = 0; r < n; r++) {
      out[r] = java.util.Arrays.copyOfRange(flat, r * w, r * w + w);
    }
    return out;
  }

  static List<List<String>> tokens(List<List<Completion>> out) {
    return out.stream()
        .map(g -> g.stream().map(c -> java.util.Arrays.toString(c.tokens())).toList())
        .toList();
  }
}
