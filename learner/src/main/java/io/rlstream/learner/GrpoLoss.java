package io.rlstream.learner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.rlstream.policy.Scorer;
import io.rlstream.policy.TokenScores;
import io.rlstream.policy.Transformer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Group Relative Policy Optimization (Shao et al. 2024, "DeepSeekMath", Eq. 3): per completion i of
 * a group, the advantage is the group-normalised reward {@code A_i = (r_i - mean(r)) / (std(r) +
 * eps)} (population std; a group whose rewards are all equal gives zero advantages and so no
 * gradient); per token, the PPO clipped surrogate against the behaviour log-probs
 *
 * <pre>
 *   L_t = -min(ρ_t A_i, clip(ρ_t, 1-ε, 1+ε) A_i) + β · KL_t,   ρ_t = exp(log π(y_t) - log μ(y_t))
 * </pre>
 *
 * with the k3 estimator {@code KL_t = exp(q_t) - q_t - 1}, {@code q_t = log π_ref(y_t) - log
 * π(y_t)} (Schulman 2020, "Approximating KL divergence"); averaged over each completion's tokens,
 * then over completions. β = 0 needs no reference model.
 */
public final class GrpoLoss implements PolicyLoss {
  private static final double STD_EPS = 1e-4;

  /**
   * @param clipEpsilon ε of the clipped ratio
   * @param klBeta β of the KL penalty; 0 loads no reference
   */
  public record Config(double clipEpsilon, double klBeta) {
    public Config {
      if (!(clipEpsilon > 0 && clipEpsilon < 1)) {
        throw new IllegalArgumentException("clip epsilon must be in (0, 1), was " + clipEpsilon);
      }
      if (!(klBeta >= 0) || Double.isInfinite(klBeta)) {
        throw new IllegalArgumentException("KL beta must be >= 0, was " + klBeta);
      }
    }

    /** ε = 0.2, β = 0. */
    public static Config defaults() {
      return new Config(0.2, 0);
    }
  }

  private final Config config;

  public GrpoLoss(Config config) {
    this.config = config;
  }

  @Override
  public String name() {
    return "grpo";
  }

  @Override
  public boolean needsReference() {
    return config.klBeta() > 0;
  }

  /** Group-normalised advantages of the batch's rows. */
  public static double[] advantages(TrainBatch batch) {
    double[] r = batch.rewards();
    int[] g = batch.group();
    double[] out = new double[r.length];
    int start = 0;
    while (start < r.length) {
      int end = start;
      double sum = 0;
      while (end < r.length && g[end] == g[start]) {
        sum += r[end++];
      }
      double mean = sum / (end - start);
      double sq = 0;
      for (int i = start; i < end; i++) {
        sq += (r[i] - mean) * (r[i] - mean);
      }
      double std = Math.sqrt(sq / (end - start));
      for (int i = start; i < end; i++) {
        out[i] = (r[i] - mean) / (std + STD_EPS);
      }
      start = end;
    }
    return out;
  }

  @Override
  public Result compute(
      Transformer policy, Transformer reference, TrainBatch batch, NDManager manager) {
    List<int[]> prompts = batch.prompts();
    List<int[]> completions = batch.completions();
    TokenScores scores = Scorer.score(policy, manager, prompts, completions, batch.temperature());
    NDArray mask = scores.mask();
    NDArray logp = scores.logProbs();
    NDArray old = manager.create(batch.paddedBehaviourLogProbs());
    double[] adv = advantages(batch);
    float[] advF = new float[adv.length];
    for (int i = 0; i < adv.length; i++) {
      advF[i] = (float) adv[i];
    }
    NDArray a = manager.create(advF).expandDims(1);
    NDArray ratio = logp.sub(old).mul(mask).exp();
    NDArray clipped =
        ratio
            .maximum(manager.create((float) (1 - config.clipEpsilon())))
            .minimum(manager.create((float) (1 + config.clipEpsilon())));
    NDArray surrogate = ratio.mul(a).minimum(clipped.mul(a));
    NDArray perToken = surrogate.neg();
    NDArray kl = null;
    if (needsReference()) {
      NDArray refLogp;
      boolean mode = JniUtils.isGradMode();
      JniUtils.setGradMode(false);
      try {
        refLogp =
            Scorer.score(reference, manager, prompts, completions, batch.temperature()).logProbs();
      } finally {
        JniUtils.setGradMode(mode);
      }
      NDArray q = refLogp.sub(logp);
      kl = q.exp().sub(q).sub(manager.create(1f)).mul(mask);
      perToken = perToken.add(kl.mul(manager.create((float) config.klBeta())));
    }
    NDArray lengths = mask.sum(new int[] {1});
    NDArray perSequence = perToken.mul(mask).sum(new int[] {1}).div(lengths);
    NDArray loss = perSequence.mean();

    Map<String, Double> metrics = new LinkedHashMap<>();
    float tokens = mask.sum().getFloat();
    NDArray outside =
        ratio
            .gt(manager.create((float) (1 + config.clipEpsilon())))
            .logicalOr(ratio.lt(manager.create((float) (1 - config.clipEpsilon()))))
            .toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
            .mul(mask);
    metrics.put("clip_frac", (double) (outside.sum().getFloat() / tokens));
    metrics.put("entropy", (double) (scores.entropy().sum().getFloat() / tokens));
    metrics.put("ratio_mean", (double) (ratio.mul(mask).sum().getFloat() / tokens));
    if (kl != null) {
      metrics.put("kl", (double) (kl.sum().getFloat() / tokens));
    }
    return new Result(loss, metrics);
  }
}
