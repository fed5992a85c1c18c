package io.rlstream.judge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rlstream.schemas.Aggregation;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.Provenances;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each aggregation against numbers worked out by hand. */
class AggregatorTest {
  // two judges over three completions: a = (1, 0, 1), b = (0.2, 0.4, 0.9)
  private final Map<String, Judgement> judgements =
      Map.of("a", pointwise("a", 1, 0, 1), "b", pointwise("b", 0.2, 0.4, 0.9));

  private static Map<String, Double> weights(double wa, double wb) {
    Map<String, Double> w = new LinkedHashMap<>();
    w.put("a", wa);
    w.put("b", wb);
    return w;
  }

  @Test
  void weightedSum() {
    double[] r = new Aggregator(Aggregation.WEIGHTED_SUM, weights(1, 2), 1).rewards(3, judgements);
    assertThat(r).containsExactly(new double[] {1.4, 0.8, 2.8}, within(1e-12));
  }

  @Test
  void minimumIsTheWorstJudge() {
    double[] r = new Aggregator(Aggregation.MIN, weights(1, 1), 1).rewards(3, judgements);
    assertThat(r).containsExactly(new double[] {0.2, 0, 0.9}, within(1e-12));
  }

  @Test
  void meanMinusKStd() {
    // completion 0: mean 0.6, population std 0.4 -> 0.6 - 2*0.4 = -0.2
    // completion 2: mean 0.95, std 0.05 -> 0.85
    double[] r =
        new Aggregator(Aggregation.MEAN_MINUS_STD, weights(1, 1), 2).rewards(3, judgements);
    assertThat(r).containsExactly(new double[] {-0.2, -0.2, 0.85}, within(1e-12));
  }

  @Test
  void normalizedSumStandardisesEachJudgeWithinTheGroup() {
    double[] r =
        new Aggregator(Aggregation.NORMALIZED_SUM, weights(1, 0), 1).rewards(3, judgements);
    // a = (1,0,1): mean 2/3, std sqrt(2/9)
    double sd = Math.sqrt(2.0 / 9);
    assertThat(r)
        .containsExactly(
            new double[] {(1 - 2.0 / 3) / sd, (0 - 2.0 / 3) / sd, (1 - 2.0 / 3) / sd},
            within(1e-12));
    Map<String, Judgement> flat = Map.of("a", pointwise("a", 5, 5, 5));
    assertThat(new Aggregator(Aggregation.NORMALIZED_SUM, Map.of("a", 1.0), 1).rewards(3, flat))
        .containsExactly(0, 0, 0);
  }

  @Test
  void pairwiseJudgementsCountAsWinRates() {
    List<PairwisePreference> prefs =
        List.of(new PairwisePreference(0, 1, 1.0, null), new PairwisePreference(0, 2, 0.5, null));
    Judgement p =
        Judgement.newBuilder(pointwise("p"))
            .setKind(JudgementKind.PAIRWISE)
            .setScores(List.of())
            .setPreferences(prefs)
            .build();
    double[] r =
        new Aggregator(Aggregation.WEIGHTED_SUM, Map.of("p", 1.0), 1).rewards(3, Map.of("p", p));
    assertThat(r).containsExactly(new double[] {0.75, 0, 0.5}, within(1e-12));
  }

  @Test
  void judgementOutOfRangeIsAnError() {
    assertThatThrownBy(
            () ->
                new Aggregator(Aggregation.WEIGHTED_SUM, Map.of("a", 1.0), 1)
                    .rewards(2, Map.of("a", pointwise("a", 1, 2, 3))))
        .hasMessageContaining("refers to completion 2");
  }

  static Judgement pointwise(String judge, double... scores) {
    List<CompletionScore> s = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      s.add(new CompletionScore(i, scores[i], null));
    }
    return Judgement.newBuilder()
        .setJudgementId("j-" + judge)
        .setGroupId("g")
        .setJudgeId(judge)
        .setJudgeVersion("1")
        .setKind(JudgementKind.POINTWISE)
        .setScores(s)
        .setPolicyVersion(0)
        .setProvenance(Provenances.now("test"))
        .build();
  }
}
