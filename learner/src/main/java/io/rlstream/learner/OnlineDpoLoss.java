package io.rlstream.learner;

import static io.rlstream.learner.GrpoLoss.scalar;
import static io.rlstream.learner.GrpoLoss.value;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import io.rlstream.policy.Scorer;
import io.rlstream.policy.TokenScores;
import io.rlstream.policy.Transformer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Online preference optimisation over the groups the pipeline scores: each group's completions are
 * paired by reward (chosen = higher), and with the sequence log-probs {@code s(y) = Σ_t log π(y_t |
 * x, y_<t)}
 *
 * <pre>
 *   SIGMOID (DPO, Rafailov et al. 2023): -log σ(β [(s(y_w) - s_ref(y_w)) - (s(y_l) - s_ref(y_l))])
 *   IPO (Azar et al. 2023):              ((s(y_w) - s_ref(y_w)) - (s(y_l) - s_ref(y_l)) - 1/(2β))²
 *   SIMPO (Meng et al. 2024):            -log σ(β (s(y_w)/|y_w| - s(y_l)/|y_l|) - γ)   (no reference)
 * </pre>
 *
 * averaged over pairs. XPO (Xie et al. 2024, "Exploratory Preference Optimization") adds {@code α ·
 * mean s(ỹ)} over completions ỹ sampled from the reference (marked {@code REFERENCE} by the
 * generator): minimising it moves mass away from what the reference already covers. Pairs are built
 * from the policy's own completions only. The reference is frozen, or replaced by the policy every
 * {@code syncEvery} steps.
 */
public final class OnlineDpoLoss implements PolicyLoss {

  /** The pairwise objective. */
  public enum Variant {
    SIGMOID,
    IPO,
    SIMPO
  }

  /** Which pairs a group yields. */
  public enum Pairs {
    /** The best against the worst completion (none when all rewards are equal). */
    BEST_WORST,
    /** Every ordered pair with a strictly higher reward first. */
    ALL,
    /**
     * The pairs a pairwise judge compared, its preferred completion first (several judgements of a
     * pair are averaged; ties yield none); the rewards are not used.
     */
    JUDGED
  }

  /**
   * @param variant the pairwise objective
   * @param beta β (SIGMOID and SIMPO: the logit scale; IPO: the margin is 1/(2β))
   * @param simpoGamma γ, SimPO's target margin
   * @param pairs pair construction
   * @param syncEvery steps between copies of the policy into the reference; 0 = frozen
   * @param xpoAlpha α of XPO's exploration term; 0 = plain online DPO
   */
  public record Config(
      Variant variant,
      double beta,
      double simpoGamma,
      Pairs pairs,
      int syncEvery,
      double xpoAlpha) {
    public Config {
      Objects.requireNonNull(variant, "variant");
      Objects.requireNonNull(pairs, "pairs");
      if (!(beta > 0) || Double.isInfinite(beta)) {
        throw new IllegalArgumentException("beta must be > 0, was " + beta);
      }
      if (!(simpoGamma >= 0) || Double.isInfinite(simpoGamma)) {
        throw new IllegalArgumentException("SimPO gamma must be >= 0, was " + simpoGamma);
      }
      if (syncEvery < 0) {
        throw new IllegalArgumentException("sync-every must be >= 0, was " + syncEvery);
      }
      if (!(xpoAlpha >= 0) || Double.isInfinite(xpoAlpha)) {
        throw new IllegalArgumentException("XPO alpha must be >= 0, was " + xpoAlpha);
      }
      if (xpoAlpha > 0 && variant == Variant.SIMPO) {
        throw new IllegalArgumentException("XPO needs a reference policy; SimPO has none");
      }
    }

    /** DPO with β = 0.1, best against worst, frozen reference. */
    public static Config dpo() {
      return new Config(Variant.SIGMOID, 0.1, 0, Pairs.BEST_WORST, 0, 0);
    }

    public Config withVariant(Variant v, double beta) {
      return new Config(v, beta, simpoGamma, pairs, syncEvery, xpoAlpha);
    }

    public Config withSimpoGamma(double gamma) {
      return new Config(variant, beta, gamma, pairs, syncEvery, xpoAlpha);
    }

    public Config withPairs(Pairs p) {
      return new Config(variant, beta, simpoGamma, p, syncEvery, xpoAlpha);
    }

    public Config withSyncEvery(int n) {
      return new Config(variant, beta, simpoGamma, pairs, n, xpoAlpha);
    }

    public Config withXpoAlpha(double alpha) {
      return new Config(variant, beta, simpoGamma, pairs, syncEvery, alpha);
    }

    public String describe() {
      return String.format(
          Locale.ROOT,
          "%s(beta=%s%s, pairs=%s, reference=%s%s)",
          xpoAlpha > 0
              ? "xpo-" + variant.name().toLowerCase(Locale.ROOT)
              : variant.name().toLowerCase(Locale.ROOT),
          beta,
          variant == Variant.SIMPO ? ", gamma=" + simpoGamma : "",
          pairs,
          syncEvery == 0 ? "frozen" : "synced every " + syncEvery,
          xpoAlpha > 0 ? ", alpha=" + xpoAlpha : "");
    }
  }

  private final Config config;

  public OnlineDpoLoss(Config config) {
    this.config = Objects.requireNonNull(config, "config");
  }

  public Config config() {
    return config;
  }

  @Override
  public String name() {
    return config.xpoAlpha() > 0 ? "xpo" : config.variant().name().toLowerCase(Locale.ROOT);
  }

  @Override
  public boolean needsReference() {
    return config.variant() != Variant.SIMPO;
  }

  @Override
  public int referenceSyncEvery() {
    return config.syncEvery();
  }

  /** (chosen row, rejected row) pairs of the batch's policy-sampled rows. */
  public static List<int[]> pairs(TrainBatch batch, Pairs how) {
    if (how == Pairs.JUDGED) {
      return batch.judgedPairs();
    }
    List<int[]> out = new ArrayList<>();
    double[] r = batch.rewards();
    boolean[] explore = batch.fromReference();
    for (int[] span : batch.spans()) {
      int best = -1;
      int worst = -1;
      for (int i = span[0]; i < span[1]; i++) {
        if (explore[i]) {
          continue;
        }
        if (how == Pairs.ALL) {
          for (int j = span[0]; j < span[1]; j++) {
            if (!explore[j] && r[i] > r[j]) {
              out.add(new int[] {i, j});
            }
          }
        }
        best = best < 0 || r[i] > r[best] ? i : best;
        worst = worst < 0 || r[i] < r[worst] ? i : worst;
      }
      if (how == Pairs.BEST_WORST && best >= 0 && r[best] > r[worst]) {
        out.add(new int[] {best, worst});
      }
    }
    return out;
  }

  @Override
  public Result compute(
      Transformer policy, Transformer reference, TrainBatch batch, NDManager manager) {
    List<int[]> pairs = pairs(batch, config.pairs());
    List<Integer> explore = new ArrayList<>();
    for (int i = 0; i < batch.rows(); i++) {
      if (batch.fromReference()[i]) {
        explore.add(i);
      }
    }
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("pairs", (double) pairs.size());
    if (pairs.isEmpty()) {
      return Result.skipped(metrics);
    }
    TokenScores scores =
        Scorer.score(policy, manager, batch.prompts(), batch.completions(), batch.temperature());
    NDArray ref = null;
    if (needsReference()) {
      ref = PolicyLoss.frozenLogProbs(reference, batch, manager);
    }
    int[] ex = explore.stream().mapToInt(Integer::intValue).toArray();
    double[] pairWeights = new double[pairs.size()];
    boolean weighted = false;
    for (int k = 0; k < pairWeights.length; k++) {
      pairWeights[k] = batch.weights()[pairs.get(k)[0]];
      weighted |= pairWeights[k] != 1;
    }
    Result core =
        loss(
            config,
            scores.logProbs(),
            ref,
            scores.mask(),
            pairs,
            weighted ? pairWeights : null,
            ex,
            manager);
    metrics.putAll(core.metrics());
    return new Result(core.loss(), metrics);
  }

  /**
   * The loss over {@code pairs} (row indices into {@code logp}), each pair's term multiplied by its
   * weight (a stale group's down-weighting; null: all 1) before the mean over pairs, plus XPO's
   * term over {@code explore} rows: the formula alone, on whatever model produced {@code logp}
   * [rows, maxLen].
   *
   * @param ref the reference's log-probs, same shape; null for SimPO
   */
  public static Result loss(
      Config config,
      NDArray logp,
      NDArray ref,
      NDArray mask,
      List<int[]> pairs,
      double[] pairWeights,
      int[] explore,
      NDManager manager) {
    DataType type = logp.getDataType();
    NDArray m = mask.toType(type, false);
    NDArray s = logp.mul(m).sum(new int[] {1});
    long[] w = new long[pairs.size()];
    long[] l = new long[pairs.size()];
    for (int k = 0; k < pairs.size(); k++) {
      w[k] = pairs.get(k)[0];
      l[k] = pairs.get(k)[1];
    }
    NDArray wi = manager.create(w);
    NDArray li = manager.create(l);
    NDArray h;
    if (config.variant() == Variant.SIMPO) {
      NDArray len = m.sum(new int[] {1});
      NDArray avg = s.div(len);
      h =
          avg.take(wi)
              .sub(avg.take(li))
              .mul(scalar(manager, config.beta(), type))
              .sub(scalar(manager, config.simpoGamma(), type));
    } else {
      NDArray sr = ref.toType(type, false).mul(m).sum(new int[] {1});
      NDArray logRatio = s.sub(sr);
      h = logRatio.take(wi).sub(logRatio.take(li));
      if (config.variant() == Variant.SIGMOID) {
        h = h.mul(scalar(manager, config.beta(), type));
      }
    }
    NDArray perPair =
        config.variant() == Variant.IPO
            ? h.sub(scalar(manager, 1 / (2 * config.beta()), type)).square()
            : Activation.softPlus(h.neg()); // -log σ(h)
    if (pairWeights != null) {
      perPair = perPair.mul(manager.create(pairWeights).toType(type, false));
    }
    NDArray loss = perPair.mean();
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("margin", value(h.mean()));
    metrics.put("pair_accuracy", value(h.gt(scalar(manager, 0, type)).toType(type, false).mean()));
    if (config.xpoAlpha() > 0 && explore.length > 0) {
      long[] e = new long[explore.length];
      for (int k = 0; k < e.length; k++) {
        e[k] = explore[k];
      }
      NDArray bonus = s.take(manager.create(e)).mean();
      loss = loss.add(bonus.mul(scalar(manager, config.xpoAlpha(), type)));
      metrics.put("xpo_logp", value(bonus));
    }
    return new Result(loss, metrics);
  }
}
