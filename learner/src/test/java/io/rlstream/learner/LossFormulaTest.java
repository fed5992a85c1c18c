package io.rlstream.learner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rlstream.learner.GrpoLoss.Advantage;
import io.rlstream.learner.GrpoLoss.Aggregation;
import io.rlstream.learner.GrpoLoss.Importance;
import io.rlstream.learner.GrpoLoss.Kl;
import io.rlstream.learner.GrpoLoss.Level;
import io.rlstream.learner.OnlineDpoLoss.Variant;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every loss against its paper's formula: small literal cases worked out by hand, a scalar Java
 * implementation of each formula over random tensors, and the autograd gradient against central
 * finite differences on a tiny float64 model (a table of logits per position).
 */
class LossFormulaTest {
  // a tiny "model": logits θ[row][t][vocab]; log π(y_t) = logSoftmax(θ[row][t])[y_t]
  private static final int ROWS = 4;
  private static final int LEN = 3;
  private static final int VOCAB = 4;
  private static final int[] LENGTHS = {3, 2, 3, 1};
  private static final int[][] TOKENS = {{1, 2, 3}, {0, 3, 0}, {2, 2, 1}, {3, 0, 0}};
  private static final double[] REWARDS = {1, 0, 0.5, 0.2};
  private static final int[] GROUPS = {0, 0, 1, 1};

  private NDManager manager;
  private double[][][] theta;
  private double[][] behaviour;
  private double[][] proximal;
  private double[][] reference;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(); // loads the engine before any JNI call
    JniUtils.setGradMode(true);
    Random rnd = new Random(7);
    theta = new double[ROWS][LEN][VOCAB];
    for (double[][] row : theta) {
      for (double[] t : row) {
        for (int v = 0; v < VOCAB; v++) {
          t[v] = rnd.nextGaussian();
        }
      }
    }
    double[][] lp = logProbs(theta);
    behaviour = new double[ROWS][LEN];
    proximal = new double[ROWS][LEN];
    reference = new double[ROWS][LEN];
    for (int i = 0; i < ROWS; i++) {
      for (int t = 0; t < LENGTHS[i]; t++) {
        // ratios on both sides of the clip range, never on its edges
        behaviour[i][t] = lp[i][t] - 0.37 * Math.sin(3.1 * i + 1.7 * t + 0.3);
        proximal[i][t] = lp[i][t] - 0.11 * Math.cos(2.3 * i + 0.9 * t);
        reference[i][t] = lp[i][t] + 0.5 * Math.sin(1.3 * i - 2.1 * t);
      }
    }
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  // --- literal cases, worked out by hand

  @Test
  void grpoTakesTheClippedSideThatIsWorseForThePolicy() {
    // one token, π = 0.5, μ = 0.4: ρ = 1.25, clipped to 1.2 at ε = 0.2
    NDArray lp = manager.create(new double[][] {{Math.log(0.5)}});
    NDArray mu = manager.create(new double[][] {{Math.log(0.4)}});
    NDArray mask = manager.create(new double[][] {{1}});
    GrpoLoss.Config c = GrpoLoss.Config.of(0.2, 0);
    GrpoLoss.Inputs in = new GrpoLoss.Inputs(lp, mu, null, null, mask);
    assertThat(value(GrpoLoss.loss(c, in, new double[] {1}, manager).loss()))
        .isCloseTo(-1.2, within(1e-12)); // -min(1.25, 1.2)
    assertThat(value(GrpoLoss.loss(c, in, new double[] {-1}, manager).loss()))
        .isCloseTo(1.25, within(1e-12)); // -min(-1.25, -1.2)
    // clip-higher: ε_high = 0.3 lets 1.25 through
    assertThat(value(GrpoLoss.loss(c.withClip(0.2, 0.3), in, new double[] {1}, manager).loss()))
        .isCloseTo(-1.25, within(1e-12));
  }

  @Test
  void dpoIpoAndSimpoOnOnePairByHand() {
    // chosen: s = -1 (2 tokens), rejected: s = -2 (4 tokens); reference -1.5 for both
    NDArray lp = manager.create(new double[][] {{-0.5, -0.5, 0, 0}, {-0.5, -0.5, -0.5, -0.5}});
    NDArray ref =
        manager.create(new double[][] {{-0.75, -0.75, 0, 0}, {-0.375, -0.375, -0.375, -0.375}});
    NDArray mask = manager.create(new double[][] {{1, 1, 0, 0}, {1, 1, 1, 1}});
    List<int[]> pair = List.<int[]>of(new int[] {0, 1});
    OnlineDpoLoss.Config dpo = OnlineDpoLoss.Config.dpo(); // β = 0.1
    // h = 0.1 * ((-1 + 1.5) - (-2 + 1.5)) = 0.1; -log σ(0.1) = log(1 + e^-0.1)
    assertThat(
            value(OnlineDpoLoss.loss(dpo, lp, ref, mask, pair, null, new int[0], manager).loss()))
        .isCloseTo(0.6443966600735709, within(1e-12));
    // IPO: (1.0 - 1/(2*0.1))^2 = 16
    assertThat(
            value(
                OnlineDpoLoss.loss(
                        dpo.withVariant(Variant.IPO, 0.1),
                        lp,
                        ref,
                        mask,
                        pair,
                        null,
                        new int[0],
                        manager)
                    .loss()))
        .isCloseTo(16.0, within(1e-12));
    // SimPO β = 2, γ = 0.5: h = 2 * (-1/2 - -2/4) - 0.5 = -0.5; log(1 + e^0.5)
    OnlineDpoLoss.Config simpo = dpo.withVariant(Variant.SIMPO, 2).withSimpoGamma(0.5);
    assertThat(
            value(
                OnlineDpoLoss.loss(simpo, lp, null, mask, pair, null, new int[0], manager).loss()))
        .isCloseTo(0.9740769841801067, within(1e-12));
    // XPO adds α * s(ỹ) of the reference sample (row 1 here): 0.6443966600735709 + 0.5 * -2
    assertThat(
            value(
                OnlineDpoLoss.loss(
                        dpo.withXpoAlpha(0.5), lp, ref, mask, pair, null, new int[] {1}, manager)
                    .loss()))
        .isCloseTo(0.6443966600735709 - 1.0, within(1e-12));
  }

  // --- the formulas on random tensors, and their gradients

  private static List<GrpoLoss.Config> grpoVariants() {
    GrpoLoss.Config base = GrpoLoss.Config.of(0.2, 0.05);
    return List.of(
        base,
        base.withKl(0.05, Kl.K1),
        GrpoLoss.Config.dapo().withKl(0.05, Kl.K3),
        GrpoLoss.Config.drGrpo(5),
        base.withAdvantage(Advantage.BATCH_STD),
        base.withRatio(Level.SEQUENCE).withClip(0.1, 0.15),
        base.withImportance(Importance.TOKEN, 1.1),
        base.withImportance(Importance.SEQUENCE, 1.05).withAggregation(Aggregation.TOKEN_MEAN));
  }

  @Test
  void grpoFamilyMatchesTheFormulaAndFiniteDifferences() {
    for (GrpoLoss.Config c : grpoVariants()) {
      boolean is = c.importance() != Importance.OFF;
      Function<NDArray, NDArray> loss =
          th -> GrpoLoss.loss(c, grpoInputs(th, is), advantages(c.advantage()), manager).loss();
      assertThat(value(loss.apply(manager.create(flat(theta)).reshape(ROWS, LEN, VOCAB))))
          .as(c.describe())
          .isCloseTo(grpoByHand(c, logProbs(theta)), within(1e-10));
      checkGradient(c.describe(), loss);
    }
  }

  @Test
  void preferenceLossesMatchTheFormulaAndFiniteDifferences() {
    List<int[]> pairs = List.of(new int[] {0, 1}, new int[] {2, 3}, new int[] {2, 1});
    OnlineDpoLoss.Config dpo = OnlineDpoLoss.Config.dpo().withVariant(Variant.SIGMOID, 0.7);
    for (OnlineDpoLoss.Config c :
        List.of(
            dpo,
            dpo.withVariant(Variant.IPO, 0.3),
            dpo.withVariant(Variant.SIMPO, 1.5).withSimpoGamma(0.2),
            dpo.withXpoAlpha(0.4))) {
      int[] explore = c.xpoAlpha() > 0 ? new int[] {3} : new int[0];
      NDArray ref = c.variant() == Variant.SIMPO ? null : padded(reference);
      Function<NDArray, NDArray> loss =
          th ->
              OnlineDpoLoss.loss(c, logp(th), ref, padded(mask()), pairs, null, explore, manager)
                  .loss();
      assertThat(value(loss.apply(manager.create(flat(theta)).reshape(ROWS, LEN, VOCAB))))
          .as(c.describe())
          .isCloseTo(preferenceByHand(c, logProbs(theta), pairs, explore), within(1e-10));
      checkGradient(c.describe(), loss);
    }
  }

  @Test
  void pairsComeFromPolicySamplesOnly() {
    TrainBatch b =
        new TrainBatch(
            List.of(new int[] {1}, new int[] {1}, new int[] {1}, new int[] {1}),
            List.of(new int[] {2}, new int[] {2}, new int[] {2}, new int[] {2}),
            List.of(new float[] {0}, new float[] {0}, new float[] {0}, new float[] {0}),
            new double[] {0.2, 1.0, 0.5, 9.0},
            new int[] {0, 0, 0, 0},
            new boolean[4],
            new boolean[] {false, false, false, true},
            1.0,
            null,
            null,
            null);
    assertThat(OnlineDpoLoss.pairs(b, OnlineDpoLoss.Pairs.BEST_WORST))
        .containsExactly(new int[] {1, 0});
    assertThat(OnlineDpoLoss.pairs(b, OnlineDpoLoss.Pairs.ALL))
        .containsExactly(new int[] {1, 0}, new int[] {1, 2}, new int[] {2, 0});
  }

  // --- helpers: the tiny model

  /** θ as a float64 array in autograd's view: log π of each row's tokens, [rows, LEN]. */
  private NDArray logp(NDArray th) {
    double[][][] onehot = new double[ROWS][LEN][VOCAB];
    for (int i = 0; i < ROWS; i++) {
      for (int t = 0; t < LEN; t++) {
        onehot[i][t][TOKENS[i][t]] = 1;
      }
    }
    return th.logSoftmax(2)
        .mul(manager.create(flat(onehot)).reshape(ROWS, LEN, VOCAB))
        .sum(new int[] {2});
  }

  private GrpoLoss.Inputs grpoInputs(NDArray th, boolean withProximal) {
    return new GrpoLoss.Inputs(
        logp(th),
        padded(behaviour),
        withProximal ? padded(proximal) : null,
        padded(reference),
        padded(mask()));
  }

  private static double[][] mask() {
    double[][] m = new double[ROWS][LEN];
    for (int i = 0; i < ROWS; i++) {
      for (int t = 0; t < LENGTHS[i]; t++) {
        m[i][t] = 1;
      }
    }
    return m;
  }

  private NDArray padded(double[][] v) {
    double[][] out = new double[ROWS][LEN];
    for (int i = 0; i < ROWS; i++) {
      for (int t = 0; t < LENGTHS[i]; t++) {
        out[i][t] = v[i][t];
      }
    }
    return manager.create(out);
  }

  private static double[][] logProbs(double[][][] th) {
    double[][] out = new double[ROWS][LEN];
    for (int i = 0; i < ROWS; i++) {
      for (int t = 0; t < LEN; t++) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : th[i][t]) {
          max = Math.max(max, x);
        }
        double z = 0;
        for (double x : th[i][t]) {
          z += Math.exp(x - max);
        }
        out[i][t] = th[i][t][TOKENS[i][t]] - max - Math.log(z);
      }
    }
    return out;
  }

  private static double[] flat(double[][][] a) {
    double[] out = new double[ROWS * LEN * VOCAB];
    int k = 0;
    for (double[][] row : a) {
      for (double[] t : row) {
        for (double x : t) {
          out[k++] = x;
        }
      }
    }
    return out;
  }

  private static double[] advantages(Advantage scaling) {
    TrainBatch b =
        new TrainBatch(
            List.of(new int[1], new int[1], new int[1], new int[1]),
            List.of(new int[1], new int[1], new int[1], new int[1]),
            List.of(new float[1], new float[1], new float[1], new float[1]),
            REWARDS,
            GROUPS,
            new boolean[4],
            new boolean[4],
            1.0,
            null,
            null,
            null);
    return GrpoLoss.advantages(b, scaling);
  }

  /** Autograd's gradient of {@code loss} at θ against central differences, element by element. */
  private void checkGradient(String what, Function<NDArray, NDArray> loss) {
    NDArray th = manager.create(flat(theta)).reshape(ROWS, LEN, VOCAB);
    th.setRequiresGradient(true);
    double[] grad;
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      collector.backward(loss.apply(th));
      grad = th.getGradient().toDoubleArray();
    }
    double h = 1e-6;
    double[] x = flat(theta);
    JniUtils.setGradMode(false);
    try {
      for (int k = 0; k < x.length; k++) {
        double[] plus = x.clone();
        double[] minus = x.clone();
        plus[k] += h;
        minus[k] -= h;
        double fd =
            (value(loss.apply(manager.create(plus).reshape(ROWS, LEN, VOCAB)))
                    - value(loss.apply(manager.create(minus).reshape(ROWS, LEN, VOCAB))))
                / (2 * h);
        assertThat(grad[k]).as("%s: dL/dθ[%d]", what, k).isCloseTo(fd, within(1e-6));
      }
    } finally {
      JniUtils.setGradMode(true);
    }
  }

  private static double value(NDArray a) {
    return GrpoLoss.value(a);
  }

  // --- the formulas, written out in scalars

  private double grpoByHand(GrpoLoss.Config c, double[][] lp) {
    double[] adv = advantages(c.advantage());
    boolean is = c.importance() != Importance.OFF;
    double total = 0;
    double tokens = 0;
    for (int i = 0; i < ROWS; i++) {
      int n = LENGTHS[i];
      double seqLogRatio = 0;
      double seqDrift = 0;
      for (int t = 0; t < n; t++) {
        seqLogRatio += lp[i][t] - (is ? proximal[i][t] : behaviour[i][t]);
        seqDrift += proximal[i][t] - behaviour[i][t];
      }
      double row = 0;
      for (int t = 0; t < n; t++) {
        double rho =
            c.ratio() == Level.TOKEN
                ? Math.exp(lp[i][t] - (is ? proximal[i][t] : behaviour[i][t]))
                : Math.exp(seqLogRatio / n);
        double clipped = Math.min(Math.max(rho, 1 - c.clipLow()), 1 + c.clipHigh());
        double l = -Math.min(rho * adv[i], clipped * adv[i]);
        if (c.importance() == Importance.TOKEN) {
          l *= Math.min(Math.exp(proximal[i][t] - behaviour[i][t]), c.importanceCap());
        } else if (c.importance() == Importance.SEQUENCE) {
          l *= Math.min(Math.exp(seqDrift), c.importanceCap());
        }
        double q = reference[i][t] - lp[i][t];
        double kl = c.kl() == Kl.K3 ? Math.exp(q) - q - 1 : -q;
        row += l + c.klBeta() * kl;
      }
      total += c.aggregation() == Aggregation.SEQUENCE_MEAN ? row / n : row;
      tokens += n;
    }
    return switch (c.aggregation()) {
      case SEQUENCE_MEAN -> total / ROWS;
      case TOKEN_MEAN -> total / tokens;
      case FIXED_LENGTH -> total / (c.fixedLength() * ROWS);
    };
  }

  private double preferenceByHand(
      OnlineDpoLoss.Config c, double[][] lp, List<int[]> pairs, int[] explore) {
    double[] s = new double[ROWS];
    double[] sr = new double[ROWS];
    for (int i = 0; i < ROWS; i++) {
      for (int t = 0; t < LENGTHS[i]; t++) {
        s[i] += lp[i][t];
        sr[i] += reference[i][t];
      }
    }
    double total = 0;
    for (int[] p : pairs) {
      int w = p[0];
      int l = p[1];
      double h =
          switch (c.variant()) {
            case SIGMOID -> c.beta() * ((s[w] - sr[w]) - (s[l] - sr[l]));
            case IPO -> (s[w] - sr[w]) - (s[l] - sr[l]);
            case SIMPO -> c.beta() * (s[w] / LENGTHS[w] - s[l] / LENGTHS[l]) - c.simpoGamma();
          };
      total +=
          c.variant() == Variant.IPO
              ? Math.pow(h - 1 / (2 * c.beta()), 2)
              : -Math.log(1 / (1 + Math.exp(-h)));
    }
    double loss = total / pairs.size();
    if (explore.length > 0) {
      double bonus = 0;
      for (int e : explore) {
        bonus += s[e];
      }
      loss += c.xpoAlpha() * bonus / explore.length;
    }
    return loss;
  }
}
