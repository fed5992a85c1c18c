package io.rlstream.schemas;

import java.util.List;
import java.util.Objects;

/**
 * The topic names one pipeline uses: the {@link Topics} defaults, or the same names under a prefix
 * so several pipelines (or tests) share a cluster without seeing each other's records.
 */
public record TopicNames(
    String samples,
    String judgements,
    String assemblerState,
    String assemblerConfig,
    String scored,
    String policy,
    String dlq) {
  public TopicNames {
    Objects.requireNonNull(samples, "samples");
    Objects.requireNonNull(judgements, "judgements");
    Objects.requireNonNull(assemblerState, "assemblerState");
    Objects.requireNonNull(assemblerConfig, "assemblerConfig");
    Objects.requireNonNull(scored, "scored");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(dlq, "dlq");
  }

  /**
   * {@code rl.samples}, {@code rl.judgements}, {@code rl.assembler.state}, {@code
   * rl.assembler.config}, {@code rl.scored}, {@code rl.policy}, {@code rl.dlq}.
   */
  public static TopicNames defaults() {
    return new TopicNames(
        Topics.SAMPLES,
        Topics.JUDGEMENTS,
        Topics.ASSEMBLER_STATE,
        Topics.ASSEMBLER_CONFIG,
        Topics.SCORED,
        Topics.POLICY,
        Topics.DLQ);
  }

  /** The defaults with {@code prefix + "."} in front of each name. */
  public static TopicNames prefixed(String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      return defaults();
    }
    TopicNames d = defaults();
    return new TopicNames(
        prefix + "." + d.samples,
        prefix + "." + d.judgements,
        prefix + "." + d.assemblerState,
        prefix + "." + d.assemblerConfig,
        prefix + "." + d.scored,
        prefix + "." + d.policy,
        prefix + "." + d.dlq);
  }

  /** The specs of these topics: the defaults' partitions and configs under these names. */
  public List<TopicSpec> specs() {
    return List.of(
        rename(Topics.SAMPLES_SPEC, samples),
        rename(Topics.JUDGEMENTS_SPEC, judgements),
        rename(Topics.ASSEMBLER_STATE_SPEC, assemblerState),
        rename(Topics.ASSEMBLER_CONFIG_SPEC, assemblerConfig),
        rename(Topics.SCORED_SPEC, scored),
        rename(Topics.POLICY_SPEC, policy),
        rename(Topics.DLQ_SPEC, dlq));
  }

  private static TopicSpec rename(TopicSpec spec, String name) {
    return new TopicSpec(name, spec.partitions(), spec.configs(), spec.doc());
  }
}
