package io.rlstream.learner;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.rlstream.policy.ModelConfig;
import io.rlstream.policy.Transformer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Through the trainer, on one fixed batch: a step of each preference loss lowers that loss and
 * raises the chosen completion's log-ratio over the rejected one's (the sign of the whole path:
 * pairs, scoring, loss, autograd, AdamW).
 */
class PreferenceStepTest {
  private static final ModelConfig SMALL =
      new ModelConfig(
          "llama", 20, 16, 32, 1, 2, 1, 8, 1e-6, 10_000, 64, true, false, false, 1, List.of(2));

  @Test
  void eachStepMovesTowardTheChosenCompletions() {
    TrainBatch batch =
        TrainBatch.of(
            List.of(
                LearnerMathTest.group("a", 1, 0, 0, 1),
                // the helper's tokens depend on the index only, so both groups hold the same
                // four completions: preferences that agree (0 over 1, 2 over 0)
                LearnerMathTest.group("b", 0, 0, 1, 0)));
    for (OnlineDpoLoss.Config c :
        List.of(
            OnlineDpoLoss.Config.dpo().withVariant(OnlineDpoLoss.Variant.SIGMOID, 0.5),
            OnlineDpoLoss.Config.dpo().withVariant(OnlineDpoLoss.Variant.IPO, 0.5),
            OnlineDpoLoss.Config.dpo().withVariant(OnlineDpoLoss.Variant.SIMPO, 2.0))) {
      try (Transformer policy = Transformer.random(SMALL, 1, Device.cpu());
          Transformer reference = Transformer.random(SMALL, 1, Device.cpu())) {
        OnlineDpoLoss loss = new OnlineDpoLoss(c);
        PolicyTrainer trainer =
            new PolicyTrainer(policy, reference, loss, new AdamW(AdamW.Config.of(1e-2)));
        double before = lossOf(loss, policy, reference, batch);
        double margin0 = trainer.step(batch).metrics().get("margin");
        for (int i = 0; i < 4; i++) {
          trainer.step(batch);
        }
        double after = lossOf(loss, policy, reference, batch);
        double margin = trainer.step(batch).metrics().get("margin");
        assertThat(after).as(c.describe()).isLessThan(before);
        assertThat(margin).as(c.describe()).isGreaterThan(margin0);
      }
    }
  }

  @Test
  void judgedPairsTrainTowardTheJudgesChoiceWhateverTheRewards() {
    // rewards all equal (no reward pairs); a pairwise judge prefers completion 1 over 0 and 3 over
    // 2
    TrainBatch batch =
        TrainBatch.of(
            List.of(
                TrainBatchTest.withJudgements(
                    LearnerMathTest.group("a", 0, 0, 0, 0),
                    TrainBatchTest.pairwise(
                        "pref", TrainBatchTest.pref(0, 1, 0.0), TrainBatchTest.pref(3, 2, 1.0)))));
    OnlineDpoLoss loss =
        new OnlineDpoLoss(
            OnlineDpoLoss.Config.dpo()
                .withVariant(OnlineDpoLoss.Variant.SIGMOID, 0.5)
                .withPairs(OnlineDpoLoss.Pairs.JUDGED));
    try (Transformer policy = Transformer.random(SMALL, 1, Device.cpu());
        Transformer reference = Transformer.random(SMALL, 1, Device.cpu())) {
      PolicyTrainer trainer =
          new PolicyTrainer(policy, reference, loss, new AdamW(AdamW.Config.of(1e-2)));
      PolicyTrainer.StepResult first = trainer.step(batch);
      assertThat(first.metrics()).containsEntry("pairs", 2.0);
      for (int i = 0; i < 4; i++) {
        trainer.step(batch);
      }
      PolicyTrainer.StepResult last = trainer.step(batch);
      assertThat(last.loss()).isLessThan(first.loss());
      assertThat(last.metrics().get("margin")).isGreaterThan(first.metrics().get("margin"));
      assertThat(last.metrics().get("pair_accuracy")).isEqualTo(1.0);
    }
  }

  private static double lossOf(
      OnlineDpoLoss loss, Transformer policy, Transformer reference, TrainBatch batch) {
    JniUtils.setGradMode(false);
    try (NDManager m = NDManager.newBaseManager()) {
      return GrpoLoss.value(loss.compute(policy, reference, batch, m).loss());
    } finally {
      JniUtils.setGradMode(true);
    }
  }
}
