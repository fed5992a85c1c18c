package io.rlstream.learner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionSource;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Pairs from pairwise judges and stale-group weights, from scored groups to the losses' input. */
class TrainBatchTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void pairwiseJudgementsBecomeChosenRejectedRows() {
    // group a: 4 completions; judge p1 prefers 2 over 0 and calls 1-3 a tie; judge p2 says 0 over 2
    // at 0.3 (i.e. 2 over 0 at 0.7) and 3 over 1 at 0.9 -> averaged: 2 over 0, 3 over 1 (0.7)
    ScoredGroup a =
        withJudgements(
            LearnerMathTest.group("a", 0, 0, 0, 0),
            pairwise("p1", pref(2, 0, 1.0), pref(1, 3, 0.5)),
            pairwise("p2", pref(0, 2, 0.3), pref(3, 1, 0.9)));
    // group b: a tie overall (0.8 and 0.2 for the same pair) -> no pair; rows start at 4
    ScoredGroup b =
        withJudgements(
            LearnerMathTest.group("b", 1, 1), pairwise("p1", pref(0, 1, 0.8), pref(1, 0, 0.8)));
    // group c: completion 1 sampled from the reference -> its pair is left out
    ScoredGroup c =
        withJudgements(
            reference(LearnerMathTest.group("c", 0, 0, 0), 1),
            pairwise("p1", pref(0, 1, 1.0), pref(2, 0, 1.0)));

    TrainBatch batch = TrainBatch.of(List.of(a, b, c));

    assertThat(batch.judgedPairs())
        .containsExactlyInAnyOrder(new int[] {2, 0}, new int[] {3, 1}, new int[] {8, 6});
    assertThat(OnlineDpoLoss.pairs(batch, OnlineDpoLoss.Pairs.JUDGED))
        .isSameAs(batch.judgedPairs());
    // the rewards (all 0 in a) give no pairs; the judge's pairs do not depend on them
    assertThat(OnlineDpoLoss.pairs(batch, OnlineDpoLoss.Pairs.BEST_WORST)).isEmpty();

    // dropping group a's rows renumbers the surviving pairs
    boolean[] keep = new boolean[batch.rows()];
    for (int i = 4; i < keep.length; i++) {
      keep[i] = true;
    }
    assertThat(batch.select(keep).judgedPairs()).containsExactly(new int[] {4, 2});
    // dropping one row of a pair drops the pair
    keep[8] = false;
    assertThat(batch.select(keep).judgedPairs()).isEmpty();
  }

  @Test
  void groupWeightsReachEveryRowAndSurviveSelection() {
    TrainBatch batch =
        TrainBatch.of(
            List.of(LearnerMathTest.group("a", 1, 0), LearnerMathTest.group("b", 1, 0, 1)),
            new double[] {1.0, 0.25});
    assertThat(batch.weights()).containsExactly(1, 1, 0.25, 0.25, 0.25);
    assertThat(batch.select(new boolean[] {false, true, true, false, true}).weights())
        .containsExactly(1, 0.25, 0.25);
    assertThat(TrainBatch.of(List.of(LearnerMathTest.group("a", 1, 0))).weights())
        .containsExactly(1, 1);
    assertThatThrownBy(
            () -> TrainBatch.of(List.of(LearnerMathTest.group("a", 1, 0)), new double[] {1, 1}))
        .hasMessageContaining("2 group weights for 1 groups");
  }

  @Test
  void aDownWeightedPairOrRowContributesInProportion() {
    // DPO: weights scale each pair's term before the mean over pairs
    NDArray logp = manager.create(new double[][] {{-1.0, -2.0}, {-1.5, -0.5}, {-0.2, -3.0}});
    NDArray ref = manager.create(new double[][] {{-1.2, -1.8}, {-1.0, -1.0}, {-0.4, -2.0}});
    NDArray mask = manager.ones(logp.getShape(), DataType.FLOAT64);
    List<int[]> pairs = List.of(new int[] {0, 1}, new int[] {2, 1});
    OnlineDpoLoss.Config dpo = OnlineDpoLoss.Config.dpo();
    double[] per = new double[2];
    for (int k = 0; k < 2; k++) {
      per[k] =
          GrpoLoss.value(
              OnlineDpoLoss.loss(
                      dpo, logp, ref, mask, List.of(pairs.get(k)), null, new int[0], manager)
                  .loss());
    }
    double weighted =
        GrpoLoss.value(
            OnlineDpoLoss.loss(
                    dpo, logp, ref, mask, pairs, new double[] {1.0, 0.25}, new int[0], manager)
                .loss());
    assertThat(weighted).isCloseTo((per[0] + 0.25 * per[1]) / 2, within(1e-12));

    // GRPO: the surrogate is linear in the advantage, so a weight scales the row's advantage
    assertThat(GrpoLoss.weighted(new double[] {1.5, -0.5}, new double[] {1, 0.5}))
        .containsExactly(1.5, -0.25);
  }

  @Test
  void stalenessBucketsDoubleInWidth() {
    assertThat(
            List.of(0L, 1L, 2L, 3L, 4L, 7L, 8L, 15L, 16L, 1000L).stream()
                .map(s -> LearnerService.STALENESS_BUCKETS[LearnerService.bucket(s)])
                .toList())
        .containsExactly("0", "1", "2_3", "2_3", "4_7", "4_7", "8_15", "8_15", "16_up", "16_up");
  }

  static PairwisePreference pref(int a, int b, double pA) {
    return new PairwisePreference(a, b, pA, null);
  }

  static Judgement pairwise(String judge, PairwisePreference... prefs) {
    return Judgement.newBuilder()
        .setJudgementId(judge)
        .setGroupId("g")
        .setJudgeId(judge)
        .setJudgeVersion("1")
        .setKind(JudgementKind.PAIRWISE)
        .setPreferences(List.of(prefs))
        .setPolicyVersion(0)
        .setProvenance(Provenances.now("test"))
        .build();
  }

  static ScoredGroup withJudgements(ScoredGroup g, Judgement... judgements) {
    return ScoredGroup.newBuilder(g).setJudgements(List.of(judgements)).build();
  }

  private static ScoredGroup reference(ScoredGroup g, int index) {
    List<Completion> cs = new ArrayList<>();
    for (Completion c : g.getGroup().getCompletions()) {
      cs.add(
          c.getIndex() == index
              ? Completion.newBuilder(c).setSource(CompletionSource.REFERENCE).build()
              : c);
    }
    return ScoredGroup.newBuilder(g)
        .setGroup(
            io.rlstream.schemas.SampleGroup.newBuilder(g.getGroup()).setCompletions(cs).build())
        .build();
  }
}
