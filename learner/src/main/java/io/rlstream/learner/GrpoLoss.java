package io.rlstream.learner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.rlstream.policy.Scorer;
import io.rlstream.policy.TokenScores;
import io.rlstream.policy.Transformer;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The GRPO family over one shared core (Shao et al. 2024, "DeepSeekMath", Eq. 3, and the variants
 * that followed). Per completion i of a group the advantage is
 *
 * <pre>
 *   GROUP_STD (GRPO):   A_i = (r_i - mean_g(r)) / (std_g(r) + eps)
 *   NONE (Dr. GRPO):    A_i =  r_i - mean_g(r)
 *   BATCH_STD:          A_i = (r_i - mean_g(r)) / (std_batch(r - mean_g(r)) + eps)
 * </pre>
 *
 * (population std). Per token, with ρ the ratio of the policy to the anchor (the behaviour policy,
 * or the learner's own pre-update policy when importance correction is on),
 *
 * <pre>
 *   L_t = -w · min(ρ A_i, clip(ρ, 1-ε_low, 1+ε_high) A_i) + β · KL_t
 * </pre>
 *
 * where ρ is per token ({@code exp(log π - log anchor)}) or per sequence (GSPO, Zheng et al. 2025:
 * {@code exp(mean_t(log π - log anchor))}, the same for every token of the completion); ε_high >
 * ε_low is DAPO's clip-higher. KL is k1 ({@code log π - log π_ref}) or k3 ({@code exp(q) - q - 1},
 * {@code q = log π_ref - log π}, Schulman 2020). The importance weight w (decoupled PPO, as in
 * AReaL) corrects a stale behaviour policy μ against the learner's pre-update policy π_prox: {@code
 * min(exp(log π_prox - log μ), C)} per token or {@code min(exp(Σ_t(log π_prox - log μ)), C)} per
 * sequence, with no gradient; without it w = 1 and ρ is taken against μ directly.
 *
 * <p>Token losses are aggregated as the mean over each completion's tokens then over completions
 * (GRPO), the mean over every token of the batch (DAPO), or the sum over tokens divided by a fixed
 * length and the number of completions (Dr. GRPO). Groups whose rewards are all equal carry no
 * signal; they are optionally left out and counted. Completions cut off at the length limit are
 * optionally masked out (DAPO's overlong filtering).
 */
public final class GrpoLoss implements PolicyLoss {
  private static final double STD_EPS = 1e-4;

  /** How rewards become advantages. */
  public enum Advantage {
    GROUP_STD,
    NONE,
    BATCH_STD
  }

  /** How token losses become the batch loss. */
  public enum Aggregation {
    SEQUENCE_MEAN,
    TOKEN_MEAN,
    FIXED_LENGTH
  }

  /** Where the importance ratio is taken. */
  public enum Level {
    TOKEN,
    SEQUENCE
  }

  /** How many times w is applied against a stale behaviour policy. */
  public enum Importance {
    OFF,
    TOKEN,
    SEQUENCE
  }

  /** KL estimator. */
  public enum Kl {
    K1,
    K3
  }

  /**
   * @param clipLow ε_low: the ratio's lower clip is 1 - ε_low
   * @param clipHigh ε_high: the ratio's upper clip is 1 + ε_high (clip-higher when > ε_low)
   * @param klBeta β of the KL penalty; 0 loads no reference
   * @param kl estimator of the KL term
   * @param advantage advantage scaling
   * @param aggregation loss aggregation
   * @param fixedLength the normaliser of {@link Aggregation#FIXED_LENGTH} (a token budget)
   * @param ratio token- or sequence-level ratio (GSPO)
   * @param importance truncated importance weights against the behaviour log-probs, or off
   * @param importanceCap C, the weights' cap
   * @param iterations optimizer steps over each batch (ratios move away from 1 after the first)
   * @param filterZeroVariance leave out groups whose rewards are all equal (counted)
   * @param maskTruncated leave out the tokens of completions cut off at the length limit
   */
  public record Config(
      double clipLow,
      double clipHigh,
      double klBeta,
      Kl kl,
      Advantage advantage,
      Aggregation aggregation,
      int fixedLength,
      Level ratio,
      Importance importance,
      double importanceCap,
      int iterations,
      boolean filterZeroVariance,
      boolean maskTruncated) {
    public Config {
      Objects.requireNonNull(kl, "kl");
      Objects.requireNonNull(advantage, "advantage");
      Objects.requireNonNull(aggregation, "aggregation");
      Objects.requireNonNull(ratio, "ratio");
      Objects.requireNonNull(importance, "importance");
      if (!(clipLow > 0 && clipLow < 1)) {
        throw new IllegalArgumentException("clip-low must be in (0, 1), was " + clipLow);
      }
      if (!(clipHigh > 0) || Double.isInfinite(clipHigh)) {
        throw new IllegalArgumentException("clip-high must be > 0, was " + clipHigh);
      }
      if (!(klBeta >= 0) || Double.isInfinite(klBeta)) {
        throw new IllegalArgumentException("KL beta must be >= 0, was " + klBeta);
      }
      if (fixedLength < 1) {
        throw new IllegalArgumentException("fixed length must be >= 1, was " + fixedLength);
      }
      if (!(importanceCap >= 1) || Double.isInfinite(importanceCap)) {
        throw new IllegalArgumentException("importance cap must be >= 1, was " + importanceCap);
      }
      if (iterations < 1) {
        throw new IllegalArgumentException("iterations must be >= 1, was " + iterations);
      }
    }

    /** GRPO as published: ε = 0.2 both sides, β = 0 (k3), group std, sequence mean, 1 pass. */
    public static Config defaults() {
      return of(0.2, 0);
    }

    /** GRPO with symmetric clip ε and k3 KL β. */
    public static Config of(double clip, double klBeta) {
      return new Config(
          clip,
          clip,
          klBeta,
          Kl.K3,
          Advantage.GROUP_STD,
          Aggregation.SEQUENCE_MEAN,
          1024,
          Level.TOKEN,
          Importance.OFF,
          2.0,
          1,
          false,
          false);
    }

    /**
     * DAPO: clip-higher (0.2 / 0.28), token mean, zero-variance groups filtered, overlong masked.
     */
    public static Config dapo() {
      return of(0.2, 0)
          .withClip(0.2, 0.28)
          .withAggregation(Aggregation.TOKEN_MEAN)
          .withFilterZeroVariance(true)
          .withMaskTruncated(true);
    }

    /** Dr. GRPO: no std scaling, sum over tokens over a fixed length. */
    public static Config drGrpo(int fixedLength) {
      return of(0.2, 0)
          .withAdvantage(Advantage.NONE)
          .withAggregation(Aggregation.FIXED_LENGTH)
          .withFixedLength(fixedLength);
    }

    /** GSPO: sequence-level ratio with the paper's small clip (3e-4 / 4e-4). */
    public static Config gspo() {
      return of(0.2, 0).withRatio(Level.SEQUENCE).withClip(3e-4, 4e-4);
    }

    public Config withClip(double low, double high) {
      return with(
          c -> {
            c.clipLow = low;
            c.clipHigh = high;
          });
    }

    public Config withKl(double beta, Kl estimator) {
      return with(
          c -> {
            c.klBeta = beta;
            c.kl = estimator;
          });
    }

    public Config withAdvantage(Advantage a) {
      return with(c -> c.advantage = a);
    }

    public Config withAggregation(Aggregation a) {
      return with(c -> c.aggregation = a);
    }

    public Config withFixedLength(int n) {
      return with(c -> c.fixedLength = n);
    }

    public Config withRatio(Level level) {
      return with(c -> c.ratio = level);
    }

    public Config withImportance(Importance level, double cap) {
      return with(
          c -> {
            c.importance = level;
            c.importanceCap = cap;
          });
    }

    public Config withIterations(int n) {
      return with(c -> c.iterations = n);
    }

    public Config withFilterZeroVariance(boolean on) {
      return with(c -> c.filterZeroVariance = on);
    }

    public Config withMaskTruncated(boolean on) {
      return with(c -> c.maskTruncated = on);
    }

    /** A copy with {@code change} applied to its fields, checked like any config. */
    private Config with(Consumer<Fields> change) {
      Fields f = new Fields(this);
      change.accept(f);
      return new Config(
          f.clipLow,
          f.clipHigh,
          f.klBeta,
          f.kl,
          f.advantage,
          f.aggregation,
          f.fixedLength,
          f.ratio,
          f.importance,
          f.importanceCap,
          f.iterations,
          f.filterZeroVariance,
          f.maskTruncated);
    }

    /** The fields of a config being copied. */
    private static final class Fields {
      double clipLow;
      double clipHigh;
      double klBeta;
      Kl kl;
      Advantage advantage;
      Aggregation aggregation;
      int fixedLength;
      Level ratio;
      Importance importance;
      double importanceCap;
      int iterations;
      boolean filterZeroVariance;
      boolean maskTruncated;

      Fields(Config c) {
        clipLow = c.clipLow;
        clipHigh = c.clipHigh;
        klBeta = c.klBeta;
        kl = c.kl;
        advantage = c.advantage;
        aggregation = c.aggregation;
        fixedLength = c.fixedLength;
        ratio = c.ratio;
        importance = c.importance;
        importanceCap = c.importanceCap;
        iterations = c.iterations;
        filterZeroVariance = c.filterZeroVariance;
        maskTruncated = c.maskTruncated;
      }
    }

    /** One line for logs and run records. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "grpo(clip=%s/%s, kl=%s*%s, adv=%s, agg=%s%s, ratio=%s, is=%s%s, iters=%d%s%s)",
          clipLow,
          clipHigh,
          klBeta,
          kl,
          advantage,
          aggregation,
          aggregation == Aggregation.FIXED_LENGTH ? "/" + fixedLength : "",
          ratio,
          importance,
          importance == Importance.OFF ? "" : "<=" + importanceCap,
          iterations,
          filterZeroVariance ? ", zero-var filtered" : "",
          maskTruncated ? ", truncated masked" : "");
    }
  }

  /**
   * The tensors the loss reads, all [rows, maxLen] and right-padded: the policy's log-probs (in the
   * autograd graph), the anchor of the ratio, the importance weights' numerator (the proximal
   * policy; null when off), the reference (null without KL), the behaviour log-probs and the mask
   * of real tokens.
   */
  public record Inputs(
      NDArray logp, NDArray behaviour, NDArray proximal, NDArray reference, NDArray mask) {}

  private final Config config;

  public GrpoLoss(Config config) {
    this.config = Objects.requireNonNull(config, "config");
  }

  public Config config() {
    return config;
  }

  @Override
  public String name() {
    return "grpo";
  }

  @Override
  public boolean needsReference() {
    return config.klBeta() > 0;
  }

  @Override
  public boolean needsProximal() {
    return config.importance() != Importance.OFF;
  }

  @Override
  public int iterations() {
    return config.iterations();
  }

  /** Group-normalised advantages (GRPO's scaling) of the batch's rows. */
  public static double[] advantages(TrainBatch batch) {
    return advantages(batch, Advantage.GROUP_STD);
  }

  /** Advantages of the batch's rows under {@code scaling}; rows of a group are contiguous. */
  public static double[] advantages(TrainBatch batch, Advantage scaling) {
    double[] r = batch.rewards();
    double[] out = new double[r.length];
    for (int[] span : batch.spans()) {
      int n = span[1] - span[0];
      double sum = 0;
      for (int i = span[0]; i < span[1]; i++) {
        sum += r[i];
      }
      double mean = sum / n;
      double sq = 0;
      for (int i = span[0]; i < span[1]; i++) {
        sq += (r[i] - mean) * (r[i] - mean);
      }
      double std = Math.sqrt(sq / n);
      for (int i = span[0]; i < span[1]; i++) {
        out[i] = scaling == Advantage.GROUP_STD ? (r[i] - mean) / (std + STD_EPS) : r[i] - mean;
      }
    }
    if (scaling == Advantage.BATCH_STD && out.length > 0) {
      double mean = 0;
      for (double a : out) {
        mean += a;
      }
      mean /= out.length;
      double sq = 0;
      for (double a : out) {
        sq += (a - mean) * (a - mean);
      }
      double std = Math.sqrt(sq / out.length);
      for (int i = 0; i < out.length; i++) {
        out[i] /= std + STD_EPS;
      }
    }
    return out;
  }

  @Override
  public Result compute(
      Transformer policy, Transformer reference, TrainBatch input, NDManager manager) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    TrainBatch batch = input;
    if (config.filterZeroVariance()) {
      TrainBatch kept = batch.withoutZeroVarianceGroups();
      metrics.put("zero_variance_groups", (double) (batch.spans().size() - kept.spans().size()));
      if (kept.rows() == 0) {
        return Result.skipped(metrics);
      }
      batch = kept;
    }
    TokenScores scores =
        Scorer.score(policy, manager, batch.prompts(), batch.completions(), batch.temperature());
    NDArray mask = scores.mask();
    if (config.maskTruncated()) {
      float[] keep = new float[batch.rows()];
      int cut = 0;
      for (int i = 0; i < keep.length; i++) {
        keep[i] = batch.truncated()[i] ? 0 : 1;
        cut += batch.truncated()[i] ? 1 : 0;
      }
      metrics.put("truncated_masked", (double) cut);
      if (cut == keep.length) {
        return Result.skipped(metrics);
      }
      mask = mask.mul(manager.create(keep).expandDims(1));
    }
    NDArray behaviour = manager.create(batch.paddedBehaviourLogProbs());
    if (needsProximal() && batch.proximalLogProbs() == null) {
      throw new IllegalStateException("importance correction needs the proximal log-probs");
    }
    NDArray proximal =
        needsProximal() ? manager.create(batch.padded(batch.proximalLogProbs())) : null;
    NDArray ref = null;
    if (needsReference()) {
      ref = PolicyLoss.frozenLogProbs(reference, batch, manager);
    }
    Result core =
        loss(
            config,
            new Inputs(scores.logProbs(), behaviour, proximal, ref, mask),
            weighted(advantages(batch, config.advantage()), batch.weights()),
            manager);
    metrics.putAll(core.metrics());
    float tokens = mask.sum().getFloat();
    metrics.put("entropy", (double) (scores.entropy().mul(mask).sum().getFloat() / tokens));
    return new Result(core.loss(), metrics);
  }

  /**
   * Advantages times the rows' weights: a down-weighted stale row's clipped surrogate scales by its
   * weight (the surrogate is linear in the advantage); the KL term is not weighted.
   */
  static double[] weighted(double[] advantages, double[] weights) {
    double[] out = advantages.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] *= weights[i];
    }
    return out;
  }

  /**
   * The loss of {@code in} with {@code advantages} per row: the formula alone, on whatever model
   * produced {@code in.logp()} (the learner's transformer, or a tiny float64 table in the tests).
   */
  public static Result loss(Config config, Inputs in, double[] advantages, NDManager manager) {
    NDArray logp = in.logp();
    DataType type = logp.getDataType();
    NDArray mask = in.mask().toType(type, false);
    NDArray anchor = (in.proximal() != null ? in.proximal() : in.behaviour()).toType(type, false);
    NDArray a = manager.create(advantages).toType(type, false).expandDims(1);
    NDArray lengths = mask.sum(new int[] {1});
    NDArray logRatio = logp.sub(anchor).mul(mask);
    NDArray ratio =
        config.ratio() == Level.TOKEN
            ? logRatio.exp()
            : logRatio.sum(new int[] {1}).div(lengths).exp().expandDims(1);
    NDArray clipped =
        ratio
            .maximum(scalar(manager, 1 - config.clipLow(), type))
            .minimum(scalar(manager, 1 + config.clipHigh(), type));
    NDArray perToken = ratio.mul(a).minimum(clipped.mul(a)).neg();
    if (config.ratio() == Level.SEQUENCE) {
      perToken = perToken.broadcast(logp.getShape());
    }
    Map<String, Double> metrics = new LinkedHashMap<>();
    if (in.proximal() != null) {
      NDArray drift = in.proximal().toType(type, false).sub(in.behaviour().toType(type, false));
      NDArray w =
          config.importance() == Importance.TOKEN
              ? drift.mul(mask).exp()
              : drift.mul(mask).sum(new int[] {1}).exp().expandDims(1);
      w = w.minimum(scalar(manager, config.importanceCap(), type)).stopGradient();
      NDArray wm = config.importance() == Importance.TOKEN ? w.mul(mask) : w;
      double n = config.importance() == Importance.TOKEN ? value(mask.sum()) : w.size();
      double sum = value(wm.sum());
      double sq = value(wm.mul(wm).sum());
      metrics.put("ess", sq == 0 ? 0 : sum * sum / (n * sq));
      metrics.put("is_weight_mean", sum / n);
      perToken = perToken.mul(w);
    }
    if (in.reference() != null && config.klBeta() > 0) {
      NDArray q = in.reference().toType(type, false).sub(logp);
      NDArray kl =
          (config.kl() == Kl.K3 ? q.exp().sub(q).sub(scalar(manager, 1, type)) : q.neg()).mul(mask);
      perToken = perToken.add(kl.mul(scalar(manager, config.klBeta(), type)));
      metrics.put("kl", value(kl.sum()) / value(mask.sum()));
    }
    NDArray masked = perToken.mul(mask);
    NDArray loss =
        switch (config.aggregation()) {
          case SEQUENCE_MEAN -> masked.sum(new int[] {1}).div(lengths).mean();
          case TOKEN_MEAN -> masked.sum().div(mask.sum());
          case FIXED_LENGTH ->
              masked
                  .sum()
                  .div(scalar(manager, (double) config.fixedLength() * advantages.length, type));
        };
    double tokens = value(mask.sum());
    NDArray outside =
        ratio
            .gt(scalar(manager, 1 + config.clipHigh(), type))
            .logicalOr(ratio.lt(scalar(manager, 1 - config.clipLow(), type)))
            .toType(type, false);
    if (config.ratio() == Level.SEQUENCE) {
      outside = outside.broadcast(logp.getShape());
    }
    metrics.put("clip_frac", value(outside.mul(mask).sum()) / tokens);
    metrics.put(
        "ratio_mean",
        (config.ratio() == Level.TOKEN
            ? value(ratio.mul(mask).sum()) / tokens
            : value(ratio.mean())));
    return new Result(loss, metrics);
  }

  /** A scalar the engine owns (see DEPENDENCY-NOTES: Java scalars corrupt autograd). */
  static NDArray scalar(NDManager manager, double v, DataType type) {
    return manager.create(v).toType(type, false);
  }

  /** A one-element array's value as a double, whatever its type. */
  static double value(NDArray a) {
    return a.toType(DataType.FLOAT64, false).getDouble();
  }
}
