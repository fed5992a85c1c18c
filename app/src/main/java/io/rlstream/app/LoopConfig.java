package io.rlstream.app;

import io.rlstream.learner.AdamW;
import io.rlstream.learner.GrpoLoss;
import io.rlstream.learner.LearnerService;
import io.rlstream.learner.OnlineDpoLoss;
import io.rlstream.learner.PolicyLoss;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.policy.Policy;
import io.rlstream.policy.SamplingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The settings of one RL loop, shared by the demo, the services run one by one and the loop
 * benchmark. Defaults are the demo's; every one can be set by a flag of the same name.
 *
 * @param groupSize completions per prompt (G)
 * @param promptsPerBatch prompts per generate call
 * @param groupsPerStep groups per learner step
 * @param publishEvery learner steps per published version
 * @param maxVersionsAhead how many versions the generator may run ahead of the learner
 * @param temperature sampling temperature
 * @param maxNewTokens longest completion
 * @param lr AdamW learning rate
 * @param staleWeight 0: groups older than maxStaleness are dropped; else one {@code s} versions
 *     older weighs {@code staleWeight^(s - maxStaleness)}
 * @param maxStaleness groups sampled more than this many versions behind the learner are dropped
 *     (and counted); 0 keeps all
 * @param xpoSamples completions per group the generator samples from the reference (xpo only)
 * @param algorithm the learner's objective (see {@link #HELP})
 * @param grpo the GRPO family's settings (used when the algorithm is one of it)
 * @param dpo the preference losses' settings (dpo, ipo, simpo, xpo)
 * @param maxGradNorm global gradient-norm clip
 * @param seed seeds prompts and sampling
 */
public record LoopConfig(
    int groupSize,
    int promptsPerBatch,
    int groupsPerStep,
    int publishEvery,
    int maxVersionsAhead,
    double temperature,
    int maxNewTokens,
    double lr,
    double maxGradNorm,
    long seed,
    long maxStaleness,
    double staleWeight,
    int xpoSamples,
    String algorithm,
    GrpoLoss.Config grpo,
    OnlineDpoLoss.Config dpo) {

  static final List<String> ALGORITHMS =
      List.of("grpo", "dapo", "dr-grpo", "gspo", "dpo", "ipo", "simpo", "xpo");

  static final String HELP =
      """
        --group-size N          completions per prompt, G (default 8)
        --prompts-per-batch N   prompts per generate call (default 16)
        --groups-per-step N     groups per learner step (default 16)
        --publish-every N       learner steps per published policy version (default 2)
        --max-versions-ahead K  generator throttle, in versions (default 2)
        --temperature T         sampling temperature (default 1.0)
        --max-new-tokens N      longest completion (default 6)
        --lr X                  AdamW learning rate (default 3e-4)
        --clip EPS              GRPO ratio clip (default 0.2)
        --kl-beta B             k3 KL penalty to the warm start; 0 loads no reference (default 0)
        --max-grad-norm X       global gradient-norm clip (default 1.0)
        --seed N                prompts and sampling seed (default 1)
        --max-staleness K       drop (and count) groups sampled more than K versions back (default
                                0: keep all)
        --stale-weight W        instead of dropping them, weigh such a group W^(versions over K)
                                in the loss, 0 < W < 1 (default 0: drop)
        --algorithm A           grpo | dapo | dr-grpo | gspo (the GRPO family) or dpo | ipo |
                                simpo | xpo (online preference optimisation) (default grpo)
      GRPO family (presets set these; flags override them):
        --clip-high EPS         upper clip, 1+EPS (default: --clip; dapo 0.28)
        --kl k1|k3              KL estimator (default k3)
        --advantage group|none|batch   advantage scaling by group std, none, batch std
        --aggregation sequence|token|fixed   per-sequence mean, token mean, sum over a fixed length
        --fixed-length N        the fixed length (default: --max-new-tokens)
        --ratio token|sequence  importance ratio per token or per sequence (gspo)
        --importance off|token|sequence   truncated weights against stale behaviour log-probs
        --importance-cap C      their cap (default 2)
        --iterations N          optimizer steps per batch (default 1)
        --filter-zero-variance  leave out groups whose rewards are all equal (counted)
        --mask-truncated        leave out completions cut off at --max-new-tokens
      Preference losses:
        --beta B                DPO/SimPO β, IPO's 1/(2·margin) (default 0.1; simpo 2.0)
        --simpo-gamma G         SimPO target margin (default 0.5)
        --pairs best-worst|all|judged   pairs per group: by reward, best against worst or every
                                ordered pair, or the pairs a pairwise judge compared (default
                                best-worst)
        --ref-sync N            copy the policy into the reference every N steps (default 0: frozen)
        --xpo-alpha A           XPO exploration weight (default 1e-3 for xpo)
        --xpo-samples K         completions per group sampled from the reference for xpo (default 2)
      """;

  /** The demo's settings. */
  public static LoopConfig defaults() {
    return from(Args.flagsOnly("defaults"));
  }

  /** The names of the loop's settings: the keys of the config file's {@code loop} section. */
  static final Set<String> KEYS = keys();

  private static Set<String> keys() {
    Args a = Args.flagsOnly("loop");
    from(a);
    return Set.copyOf(a.read());
  }

  /** The settings with {@code flags} (as on the command line) applied over the defaults. */
  public static LoopConfig parse(String... flags) {
    Args a = Args.flagsOnly("loop", flags);
    LoopConfig c = from(a);
    a.rejectUnknown();
    return c;
  }

  static LoopConfig from(Args a) {
    int maxNewTokens = a.integer("max-new-tokens", 6, 1, 4096);
    double clip = a.number("clip", 0.2, 1e-3, 0.999);
    double klBeta = a.number("kl-beta", 0, 0, 100);
    String algorithm = a.string("algorithm", "grpo");
    if (!ALGORITHMS.contains(algorithm)) {
      throw new IllegalArgumentException(
          a.where("algorithm")
              + " must be one of "
              + String.join(", ", ALGORITHMS)
              + ", got '"
              + algorithm
              + "'");
    }
    GrpoLoss.Config g =
        switch (algorithm) {
          case "dapo" -> GrpoLoss.Config.dapo();
          case "dr-grpo" -> GrpoLoss.Config.drGrpo(maxNewTokens);
          case "gspo" -> GrpoLoss.Config.gspo();
          default -> GrpoLoss.Config.of(clip, 0);
        };
    double low = a.has("clip") ? clip : g.clipLow();
    g =
        g.withClip(low, a.number("clip-high", a.has("clip") ? clip : g.clipHigh(), 1e-4, 10))
            .withKl(klBeta, choice(a, "kl", "k3", GrpoLoss.Kl.class))
            .withIterations(a.integer("iterations", 1, 1, 100));
    if (a.has("advantage")) {
      g = g.withAdvantage(choice(a, "advantage", "group", GrpoLoss.Advantage.class));
    }
    if (a.has("aggregation")) {
      g = g.withAggregation(choice(a, "aggregation", "sequence", GrpoLoss.Aggregation.class));
    }
    if (a.has("fixed-length")) {
      g = g.withFixedLength(a.integer("fixed-length", maxNewTokens, 1, 1 << 20));
    }
    if (a.has("ratio")) {
      g = g.withRatio(choice(a, "ratio", "token", GrpoLoss.Level.class));
    }
    g =
        g.withImportance(
            choice(a, "importance", "off", GrpoLoss.Importance.class),
            a.number("importance-cap", 2.0, 1, 1e6));
    if (a.has("filter-zero-variance")) {
      g = g.withFilterZeroVariance(a.flag("filter-zero-variance"));
    }
    if (a.has("mask-truncated")) {
      g = g.withMaskTruncated(a.flag("mask-truncated"));
    }
    OnlineDpoLoss.Variant variant =
        switch (algorithm) {
          case "ipo" -> OnlineDpoLoss.Variant.IPO;
          case "simpo" -> OnlineDpoLoss.Variant.SIMPO;
          default -> OnlineDpoLoss.Variant.SIGMOID;
        };
    OnlineDpoLoss.Config d =
        new OnlineDpoLoss.Config(
            variant,
            a.number("beta", variant == OnlineDpoLoss.Variant.SIMPO ? 2.0 : 0.1, 1e-6, 1e3),
            a.number("simpo-gamma", 0.5, 0, 100),
            choice(a, "pairs", "best-worst", OnlineDpoLoss.Pairs.class),
            a.integer("ref-sync", 0, 0, 1_000_000),
            a.number("xpo-alpha", algorithm.equals("xpo") ? 1e-3 : 0, 0, 100));
    if (a.has("stale-weight") && !a.has("max-staleness")) {
      throw new IllegalArgumentException(
          a.where("stale-weight")
              + " weighs groups older than max-staleness K; give max-staleness too");
    }
    if (algorithm.equals("xpo") && d.xpoAlpha() == 0) {
      throw new IllegalArgumentException(
          a.where("xpo-alpha") + ": algorithm xpo needs xpo-alpha > 0");
    }
    return new LoopConfig(
        a.integer("group-size", 8, 2, 1024),
        a.integer("prompts-per-batch", 16, 1, 4096),
        a.integer("groups-per-step", 16, 1, 4096),
        a.integer("publish-every", 2, 1, 1_000_000),
        a.integer("max-versions-ahead", 2, 1, 1000),
        a.number("temperature", 1.0, 0.05, 10),
        maxNewTokens,
        a.number("lr", 3e-4, 1e-8, 1),
        a.number("max-grad-norm", 1.0, 0, 1e6),
        a.integer("seed", 1, 0, Integer.MAX_VALUE),
        a.integer("max-staleness", 0, 0, 1_000_000),
        a.number("stale-weight", 0, 0, 0.999999),
        a.integer("xpo-samples", 2, 1, 64),
        algorithm,
        g,
        d);
  }

  /** An enum flag written in lower case with dashes: {@code --aggregation token}. */
  private static <E extends Enum<E>> E choice(Args a, String name, String fallback, Class<E> type) {
    String v = a.string(name, fallback);
    String key = v.toUpperCase(Locale.ROOT).replace('-', '_');
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(key) || e.name().startsWith(key + "_")) {
        return e;
      }
    }
    List<String> names = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    }
    throw new IllegalArgumentException(
        a.where(name) + " must be one of " + String.join(", ", names) + ", got '" + v + "'");
  }

  /** True for the preference losses (dpo, ipo, simpo, xpo). */
  public boolean preference() {
    return List.of("dpo", "ipo", "simpo", "xpo").contains(algorithm);
  }

  /** The learner's objective. */
  public PolicyLoss policyLoss() {
    return preference() ? new OnlineDpoLoss(dpo) : new GrpoLoss(grpo);
  }

  /** Whether the learner needs a reference model next to the policy. */
  public boolean needsReference() {
    return policyLoss().needsReference();
  }

  /** Whether the generator also samples completions from the reference (XPO). */
  public boolean samplesReference() {
    return algorithm.equals("xpo");
  }

  public SamplingConfig sampling(Set<Integer> stopTokens) {
    return SamplingConfig.sample(maxNewTokens, stopTokens).withTemperature(temperature);
  }

  /** The learner service's settings: batching and publication. */
  public LearnerService.Config learner() {
    return LearnerService.Config.of(groupsPerStep, publishEvery)
        .withMaxStaleness(maxStaleness, staleWeight);
  }

  /**
   * The learner's trainer over {@code policy}, with this config's loss and optimizer; {@code
   * reference} is used when the loss needs one (may be null otherwise).
   */
  public PolicyTrainer trainer(Policy policy, Policy reference) {
    return new PolicyTrainer(
        policy.model(),
        reference == null ? null : reference.model(),
        policyLoss(),
        new AdamW(optimizer()));
  }

  public AdamW.Config optimizer() {
    return AdamW.Config.of(lr).withMaxGradNorm(maxGradNorm);
  }
}
