package io.rlstream.judge;

import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Judges a {@link SampleGroup} with a fixed set of weighted judges and aggregates their scores into
 * one reward per completion by weighted sum, giving the {@link ScoredGroup} the learner trains on.
 * Every judge's {@link Judgement} travels inside it, so the reward can be audited and re-aggregated
 * later. A judge that throws, or returns other than one score per completion, fails the group.
 */
public final class GroupScorer {
  private final Map<Judge, Double> judges;
  private final String aggregation;

  /**
   * @param judges each judge with its weight, in a stable order
   */
  public GroupScorer(Map<Judge, Double> judges) {
    if (judges.isEmpty()) {
      throw new IllegalArgumentException("a scorer needs at least one judge");
    }
    this.judges = new LinkedHashMap<>(judges);
    this.aggregation =
        "weighted_sum("
            + this.judges.entrySet().stream()
                .map(e -> e.getKey().id() + "=" + e.getValue())
                .collect(Collectors.joining(","))
            + ")";
  }

  /** One judge with weight 1. */
  public static GroupScorer of(Judge judge) {
    return new GroupScorer(Map.of(judge, 1.0));
  }

  /** How rewards are aggregated, e.g. {@code weighted_sum(math=1.0)}. */
  public String aggregation() {
    return aggregation;
  }

  public ScoredGroup score(SampleGroup group) {
    int n = group.getCompletions().size();
    double[] rewards = new double[n];
    List<Judgement> judgements = new ArrayList<>(judges.size());
    for (Map.Entry<Judge, Double> e : judges.entrySet()) {
      Judge judge = e.getKey();
      long start = System.nanoTime();
      List<CompletionScore> scores = judge.score(group);
      if (scores.size() != n) {
        throw new IllegalStateException(
            "judge "
                + judge.id()
                + " returned "
                + scores.size()
                + " scores for "
                + n
                + " completions of group "
                + group.getGroupId());
      }
      for (CompletionScore s : scores) {
        int i = s.getCompletionIndex();
        if (i < 0 || i >= n || !Double.isFinite(s.getScore())) {
          throw new IllegalStateException(
              "judge "
                  + judge.id()
                  + " returned an invalid score "
                  + s
                  + " for group "
                  + group.getGroupId());
        }
        rewards[i] += e.getValue() * s.getScore();
      }
      judgements.add(
          Judgement.newBuilder()
              .setJudgementId(UUID.randomUUID().toString())
              .setGroupId(group.getGroupId())
              .setJudgeId(judge.id())
              .setJudgeVersion(judge.version())
              .setKind(JudgementKind.POINTWISE)
              .setScores(scores)
              .setPolicyVersion(group.getPolicyVersion())
              .setLatencyMs((System.nanoTime() - start) / 1_000_000)
              .setProvenance(Provenances.now("judge/" + judge.id()))
              .build());
    }
    List<Double> rewardList = new ArrayList<>(n);
    for (double r : rewards) {
      rewardList.add(r);
    }
    return ScoredGroup.newBuilder()
        .setGroup(group)
        .setJudgements(judgements)
        .setRewards(rewardList)
        .setAggregation(aggregation)
        .setProvenance(Provenances.now("judge"))
        .build();
  }
}
