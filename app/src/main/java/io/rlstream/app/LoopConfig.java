package io.rlstream.app;

import io.rlstream.learner.AdamW;
import io.rlstream.learner.GrpoLoss;
import io.rlstream.learner.LearnerService;
import io.rlstream.policy.SamplingConfig;
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
 * @param clip GRPO ratio clip ε
 * @param klBeta KL penalty β (0 loads no reference)
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
    double clip,
    double klBeta,
    double maxGradNorm,
    long seed) {

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
      """;

  /** The demo's settings. */
  public static LoopConfig defaults() {
    return from(new Args("defaults", new String[0]));
  }

  /** The settings with {@code flags} (as on the command line) applied over the defaults. */
  public static LoopConfig parse(String... flags) {
    Args a = new Args("loop", flags);
    LoopConfig c = from(a);
    a.rejectUnknown();
    return c;
  }

  static LoopConfig from(Args a) {
    return new LoopConfig(
        a.integer("group-size", 8, 2, 1024),
        a.integer("prompts-per-batch", 16, 1, 4096),
        a.integer("groups-per-step", 16, 1, 4096),
        a.integer("publish-every", 2, 1, 1_000_000),
        a.integer("max-versions-ahead", 2, 1, 1000),
        a.number("temperature", 1.0, 0.05, 10),
        a.integer("max-new-tokens", 6, 1, 4096),
        a.number("lr", 3e-4, 1e-8, 1),
        a.number("clip", 0.2, 1e-3, 0.999),
        a.number("kl-beta", 0, 0, 100),
        a.number("max-grad-norm", 1.0, 0, 1e6),
        a.integer("seed", 1, 0, Integer.MAX_VALUE));
  }

  public SamplingConfig sampling(Set<Integer> stopTokens) {
    return SamplingConfig.sample(maxNewTokens, stopTokens).withTemperature(temperature);
  }

  /** The learner service's settings: batching and publication. */
  public LearnerService.Config learner() {
    return LearnerService.Config.of(groupsPerStep, publishEvery);
  }

  public AdamW.Config optimizer() {
    return AdamW.Config.of(lr).withMaxGradNorm(maxGradNorm);
  }

  public GrpoLoss.Config loss() {
    return new GrpoLoss.Config(clip, klBeta);
  }
}
