package io.rlstream.app;

import io.rlstream.generator.GroupSampler;
import io.rlstream.generator.Prompt;
import io.rlstream.judge.GroupScorer;
import io.rlstream.judge.Judge;
import io.rlstream.policy.PolicySampler;
import io.rlstream.policy.SamplingConfig;
import io.rlstream.schemas.ScoredGroup;
import java.util.List;
import java.util.Set;

/**
 * Held-out accuracy: one greedy completion per prompt, scored by the task's verifier; the fraction
 * scored 1. Runs on the sampler's model thread, so it sees exactly the version serving.
 */
final class Evaluator {
  private final List<Prompt> prompts;
  private final GroupScorer scorer;
  private final int maxNewTokens;
  private final int batch;

  Evaluator(List<Prompt> prompts, Judge verifier, int maxNewTokens) {
    this.prompts = List.copyOf(prompts);
    this.scorer = GroupScorer.of(verifier);
    this.maxNewTokens = maxNewTokens;
    this.batch = 256;
  }

  /** Accuracy and the version it was measured on. */
  record Result(long version, double accuracy) {}

  Result evaluate(PolicySampler sampler) {
    GroupSampler greedy =
        new GroupSampler(
            sampler,
            SamplingConfig.greedy(maxNewTokens, Set.copyOf(sampler.config().eosTokenIds())),
            1,
            "eval",
            0);
    long version = sampler.version();
    double correct = 0;
    for (int from = 0; from < prompts.size(); from += batch) {
      List<Prompt> part = prompts.subList(from, Math.min(prompts.size(), from + batch));
      for (var g : greedy.sample(part, 0)) {
        ScoredGroup s = scorer.score(g);
        correct += s.getRewards().get(0);
        version = g.getPolicyVersion();
      }
    }
    return new Result(version, correct / prompts.size());
  }
}
