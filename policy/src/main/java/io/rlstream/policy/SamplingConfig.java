package io.rlstream.policy;

import java.util.List;
import java.util.Set;

/**
 * How to sample.
 *
 * @param temperature logits are divided by it; 0 means greedy (argmax)
 * @param topP nucleus sampling: keep the smallest set of most likely tokens whose probability
 *     reaches topP (1 keeps all)
 * @param topK keep the k most likely tokens (0 keeps all)
 * @param maxNewTokens a completion stops with {@link FinishReason#LENGTH} after this many tokens
 * @param stopTokenIds a completion stops with {@link FinishReason#STOP} after one of these
 * @param stopStrings a completion stops when its text contains one; the text is cut before it
 * @param kvCache decode with a KV cache (false recomputes the whole prefix each step; for
 *     benchmarks and tests)
 */
public record SamplingConfig(
    double temperature,
    double topP,
    int topK,
    int maxNewTokens,
    Set<Integer> stopTokenIds,
    List<String> stopStrings,
    boolean kvCache) {

  public SamplingConfig {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException(
          "temperature must be >= 0 (0 = greedy), was " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], was " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0 (0 = off), was " + topK);
    }
    if (maxNewTokens <= 0) {
      throw new IllegalArgumentException("max_new_tokens must be positive, was " + maxNewTokens);
    }
    stopTokenIds = Set.copyOf(stopTokenIds);
    stopStrings = List.copyOf(stopStrings);
    if (stopStrings.stream().anyMatch(String::isEmpty)) {
      throw new IllegalArgumentException("a stop string must not be empty");
    }
  }

  /** Plain sampling at temperature 1 with the given stop tokens. */
  public static SamplingConfig sample(int maxNewTokens, Set<Integer> stopTokenIds) {
    return new SamplingConfig(1.0, 1.0, 0, maxNewTokens, stopTokenIds, List.of(), true);
  }

  /** Greedy decoding with the given stop tokens. */
  public static SamplingConfig greedy(int maxNewTokens, Set<Integer> stopTokenIds) {
    return new SamplingConfig(0, 1.0, 0, maxNewTokens, stopTokenIds, List.of(), true);
  }

  public SamplingConfig withTemperature(double t) {
    return new SamplingConfig(t, topP, topK, maxNewTokens, stopTokenIds, stopStrings, kvCache);
  }

  public SamplingConfig withTopP(double p) {
    return new SamplingConfig(
        temperature, p, topK, maxNewTokens, stopTokenIds, stopStrings, kvCache);
  }

  public SamplingConfig withTopK(int k) {
    return new SamplingConfig(
        temperature, topP, k, maxNewTokens, stopTokenIds, stopStrings, kvCache);
  }

  public SamplingConfig withStopStrings(List<String> s) {
    return new SamplingConfig(temperature, topP, topK, maxNewTokens, stopTokenIds, s, kvCache);
  }

  public SamplingConfig withKvCache(boolean on) {
    return new SamplingConfig(temperature, topP, topK, maxNewTokens, stopTokenIds, stopStrings, on);
  }

  /** The temperature the log-probs are taken at: 1 for greedy decoding. */
  public double logProbTemperature() {
    return temperature == 0 ? 1 : temperature;
  }
}
