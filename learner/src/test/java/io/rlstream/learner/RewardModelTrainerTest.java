package io.rlstream.learner;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.policy.ModelConfig;
import io.rlstream.policy.Policy;
import io.rlstream.policy.RewardModel;
import io.rlstream.policy.Tokenizer;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SamplingParams;
import io.rlstream.schemas.ScoredGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reward model learns a preference its logged pairwise judgements encode: the judge preferred
 * the completion that gets the sum right. Pairs come out of scored groups as rm-train reads them.
 */
class RewardModelTrainerTest {
  private static final Tokenizer TOK = Tokenizer.builtIn("char");

  @Test
  void learnsThePreferenceInLoggedPairwiseJudgementsAndSurvivesSaveAndLoad(@TempDir Path tmp)
      throws Exception {
    Random rng = new Random(3);
    List<ScoredGroup> train = new ArrayList<>();
    List<ScoredGroup> heldOut = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      int a = rng.nextInt(5);
      int b = rng.nextInt(5);
      int wrong = (a + b + 1 + rng.nextInt(8)) % 10;
      ScoredGroup g =
          group(a + "+" + b + "=", List.of("" + wrong, "" + (a + b)), rng.nextBoolean());
      (i < 300 ? train : heldOut).add(g);
    }
    List<RewardModelTrainer.Pair> pairs = RewardModelTrainer.pairs(train, "pref");
    List<RewardModelTrainer.Pair> test = RewardModelTrainer.pairs(heldOut, "pref");
    assertThat(pairs).hasSize(300); // one strict preference per group; the tie is skipped
    ModelConfig config =
        ModelConfig.tiny(TOK.vocabSize(), TOK.tokenId("<bos>"), TOK.tokenId("<eos>"));
    try (Policy base = Policy.random(config, TOK, 11, Device.cpu());
        RewardModel rm = RewardModel.fromPolicy(base.snapshot(), Device.cpu(), 5)) {
      double before = RewardModelTrainer.accuracy(rm, test);
      List<RewardModelTrainer.Step> steps =
          RewardModelTrainer.train(
              rm, pairs, new AdamW(AdamW.Config.of(1e-3)), 150, 32, 1, s -> {});
      double after = RewardModelTrainer.accuracy(rm, test);
      double firstLoss =
          steps.subList(0, 10).stream()
              .mapToDouble(RewardModelTrainer.Step::loss)
              .average()
              .orElseThrow();
      double lastLoss =
          steps.subList(140, 150).stream()
              .mapToDouble(RewardModelTrainer.Step::loss)
              .average()
              .orElseThrow();
      System.out.printf(
          "RewardModelTrainerTest: held-out pair accuracy %.3f -> %.3f, loss %.3f -> %.3f%n",
          before, after, firstLoss, lastLoss);
      assertThat(after).isGreaterThan(0.85).isGreaterThan(before + 0.2);
      assertThat(lastLoss).isLessThan(firstLoss * 0.6);
      Path dir = tmp.resolve("rm");
      rm.save(dir);
      assertThat(Files.exists(dir.resolve(RewardModel.HEAD_FILE))).isTrue();
      try (RewardModel loaded = RewardModel.load(dir, Device.cpu())) {
        assertThat(RewardModelTrainer.accuracy(loaded, test)).isEqualTo(after);
      }
    }
  }

  /** A group of two completions and a pairwise judgement preferring the right sum (index 1). */
  private static ScoredGroup group(String prompt, List<String> texts, boolean rightFirst) {
    List<String> order = rightFirst ? List.of(texts.get(1), texts.get(0)) : texts;
    List<Completion> cs = new ArrayList<>();
    for (int i = 0; i < order.size(); i++) {
      int[] ids = TOK.encode(order.get(i));
      cs.add(
          Completion.newBuilder()
              .setIndex(i)
              .setTokenIds(Packed.ints(ids))
              .setText(order.get(i))
              .setLogprobs(Packed.floats(new float[ids.length]))
              .setFinishReason(FinishReason.STOP)
              .build());
    }
    int[] p = TOK.encode(prompt);
    int[] withBos = new int[p.length + 1];
    withBos[0] = TOK.tokenId("<bos>");
    System.arraycopy(p, 0, withBos, 1, p.length);
    SampleGroup g =
        SampleGroup.newBuilder()
            .setGroupId(prompt + order)
            .setRunId("r")
            .setTaskId("t")
            .setPromptId(prompt)
            .setPromptText(prompt)
            .setPromptTokenIds(Packed.ints(withBos))
            .setCompletions(cs)
            .setPolicyVersion(0)
            .setSampling(SamplingParams.newBuilder().setTemperature(1f).setMaxNewTokens(4).build())
            .setSeed(0)
            .setMetadata(Map.of())
            .setProvenance(Provenances.now("test"))
            .build();
    List<PairwisePreference> prefs =
        List.of(
            new PairwisePreference(0, 1, rightFirst ? 1.0 : 0.0, null),
            new PairwisePreference(1, 0, 0.5, null)); // a tie: no pair
    Judgement j =
        Judgement.newBuilder()
            .setJudgementId("j")
            .setGroupId(g.getGroupId())
            .setJudgeId("pref")
            .setJudgeVersion("1")
            .setKind(JudgementKind.PAIRWISE)
            .setPreferences(prefs)
            .setPolicyVersion(0)
            .setProvenance(Provenances.now("test"))
            .build();
    return ScoredGroup.newBuilder()
        .setGroup(g)
        .setJudgements(List.of(j))
        .setRewards(List.of(0.0, 0.0))
        .setAggregation("test")
        .setProvenance(Provenances.now("test"))
        .build();
  }
}
