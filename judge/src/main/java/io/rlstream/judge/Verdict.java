package io.rlstream.judge;

import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.PairwisePreference;
import java.util.List;
import java.util.Objects;

/**
 * What a judge says about one group: scores (pointwise) or preferences (pairwise), and what it cost
 * to say it (tokens and money for a model-based judge, zero for a rule).
 */
public record Verdict(
    JudgementKind kind,
    List<CompletionScore> scores,
    List<PairwisePreference> preferences,
    long inputTokens,
    long outputTokens,
    double costUsd) {
  public Verdict {
    Objects.requireNonNull(kind, "kind");
    scores = List.copyOf(scores);
    preferences = List.copyOf(preferences);
  }

  public static Verdict pointwise(List<CompletionScore> scores) {
    return new Verdict(JudgementKind.POINTWISE, scores, List.of(), 0, 0, 0);
  }

  public static Verdict pairwise(List<PairwisePreference> preferences) {
    return new Verdict(JudgementKind.PAIRWISE, List.of(), preferences, 0, 0, 0);
  }

  /** This verdict with its usage added to. */
  public Verdict plusUsage(long in, long out, double cost) {
    return new Verdict(
        kind, scores, preferences, inputTokens + in, outputTokens + out, costUsd + cost);
  }
}
