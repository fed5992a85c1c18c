package io.rlstream.judge;

import io.rlstream.schemas.Aggregation;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Judges a {@link SampleGroup} in-process with a fixed set of weighted judges and aggregates their
 * judgements like the assembler does: the scored group of the synchronous loop and of evaluation,
 * where no Kafka sits between judge and learner. A judge that fails fails the group.
 */
public final class GroupScorer {
  private final List<JudgeRunner> runners = new ArrayList<>();
  private final Aggregator aggregator;

  /**
   * @param judges each judge with its weight, in a stable order
   */
  public GroupScorer(Map<? extends Judge, Double> judges, Aggregation aggregation, double k) {
    Map<String, Double> weights = new LinkedHashMap<>();
    judges.forEach(
        (j, w) -> {
          if (weights.put(j.id(), w) != null) {
            throw new IllegalArgumentException("two judges with id " + j.id());
          }
          runners.add(new JudgeRunner(j, JudgeRunner.Retries.defaults()));
        });
    this.aggregator = new Aggregator(aggregation, weights, k);
  }

  /** One judge with weight 1. */
  public static GroupScorer of(Judge judge) {
    return new GroupScorer(Map.of(judge, 1.0), Aggregation.WEIGHTED_SUM, 1);
  }

  /** How rewards are aggregated, e.g. {@code weighted_sum(math=1.0)}. */
  public String aggregation() {
    return aggregator.description();
  }

  public ScoredGroup score(SampleGroup group) {
    Map<String, Judgement> byJudge = new LinkedHashMap<>();
    for (JudgeRunner r : runners) {
      byJudge.put(r.judge().id(), r.judgement(group).block());
    }
    double[] rewards = aggregator.rewards(group.getCompletions().size(), byJudge);
    List<Double> rewardList = new ArrayList<>(rewards.length);
    for (double r : rewards) {
      rewardList.add(r);
    }
    return ScoredGroup.newBuilder()
        .setGroup(group)
        .setJudgements(new ArrayList<>(byJudge.values()))
        .setRewards(rewardList)
        .setAggregation(aggregator.description())
        .setProvenance(Provenances.now("judge"))
        .build();
  }
}
