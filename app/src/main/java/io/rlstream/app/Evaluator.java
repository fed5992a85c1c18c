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
 * scored 1. Or, with {@code samples} > 1, the mean score of that many completions per prompt
 * sampled at a temperature (the expected accuracy of one sample: finer-grained than greedy on a few
 * prompts). Runs on the sampler's model thread, so it sees exactly the version serving.
 */
final class Evaluator {
  private final List<Prompt> prompts;
  private final GroupScorer scorer;
  private final int maxNewTokens;
  private final int batch;
  private final int samples;
  private final double temperature;

  Evaluator(List<Prompt> prompts, Judge verifier, int maxNewTokens) {
    this(prompts, verifier, maxNewTokens, 1, 0);
  }

  /** {@code samples} completions per prompt at {@code temperature} (greedy when samples is 1). */
  Evaluator(
      List<Prompt> prompts, Judge verifier, int maxNewTokens, int samples, double temperature) {
    if (samples < 1 || (samples > 1 && !(temperature > 0))) {
      throw new IllegalArgumentException("sampled accuracy needs samples >= 1 and temperature > 0");
    }
    this.prompts = List.copyOf(prompts);
    this.scorer = GroupScorer.of(verifier);
    this.maxNewTokens = maxNewTokens;
    this.batch = Math.max(1, 256 / samples);
    this.samples = samples;
    this.temperature = temperature;
  }

  /** Accuracy and the version it was measured on. */
  record Result(long version, double accuracy) {}

  /** Told after each batch: prompts done of the total, and the accuracy over those done. */
  interface Listener {
    void done(int prompts, int total, double accuracySoFar);
  }

  Result evaluate(PolicySampler sampler) {
    return evaluate(sampler, (done, total, acc) -> {});
  }

  Result evaluate(PolicySampler sampler, Listener listener) {
    Set<Integer> stop = Set.copyOf(sampler.config().eosTokenIds());
    GroupSampler greedy =
        new GroupSampler(
            sampler,
            samples == 1
                ? SamplingConfig.greedy(maxNewTokens, stop)
                : SamplingConfig.sample(maxNewTokens, stop).withTemperature(temperature),
            samples,
            "eval",
            0);
    long version = sampler.version();
    double correct = 0;
    for (int from = 0; from < prompts.size(); from += batch) {
      List<Prompt> part = prompts.subList(from, Math.min(prompts.size(), from + batch));
      for (var g : greedy.sample(part, 0)) {
        ScoredGroup s = scorer.score(g);
        for (double r : s.getRewards()) {
          correct += r / samples;
        }
        version = g.getPolicyVersion();
      }
      int done = from + part.size();
      listener.done(done, prompts.size(), correct / done);
    }
    return new Result(version, correct / prompts.size());
  }
}
