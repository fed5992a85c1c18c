package io.rlstream.learner;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rlstream.policy.RewardModel;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Trains a {@link RewardModel} on preference pairs with the Bradley–Terry loss, −log σ(r(chosen) −
 * r(rejected)) (Ouyang et al. 2022, eq. 1), with {@link AdamW}. Pairs come from logged pairwise
 * judgements ({@link #pairs}): replaying logged feedback into a reward model.
 */
public final class RewardModelTrainer {
  /** A prompt + chosen and prompt + rejected token sequence. */
  public record Pair(int[] chosen, int[] rejected) {}

  /** One step's loss and the fraction of its pairs the model already ranked right. */
  public record Step(int step, double loss, double accuracy) {}

  private RewardModelTrainer() {}

  /**
   * The preference pairs in logged scored groups: every pairwise judgement (of {@code judgeId}, or
   * any judge when null) with a strict preference (ties are skipped) becomes prompt + winner vs
   * prompt + loser.
   */
  public static List<Pair> pairs(List<ScoredGroup> groups, String judgeId) {
    List<Pair> out = new ArrayList<>();
    for (ScoredGroup s : groups) {
      int[] prompt = Packed.toInts(s.getGroup().getPromptTokenIds());
      List<Completion> cs = s.getGroup().getCompletions();
      for (Judgement j : s.getJudgements()) {
        if (j.getKind() != JudgementKind.PAIRWISE
            || (judgeId != null && !judgeId.equals(j.getJudgeId()))) {
          continue;
        }
        for (PairwisePreference p : j.getPreferences()) {
          if (p.getProbabilityA() == 0.5) {
            continue;
          }
          int[] a = concat(prompt, Packed.toInts(cs.get(p.getIndexA()).getTokenIds()));
          int[] b = concat(prompt, Packed.toInts(cs.get(p.getIndexB()).getTokenIds()));
          out.add(p.getProbabilityA() > 0.5 ? new Pair(a, b) : new Pair(b, a));
        }
      }
    }
    return out;
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = new int[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** {@code steps} steps of {@code batch} pairs drawn with {@code seed}. */
  public static List<Step> train(
      RewardModel model,
      List<Pair> pairs,
      AdamW optimizer,
      int steps,
      int batch,
      long seed,
      Consumer<Step> progress) {
    if (pairs.isEmpty()) {
      throw new IllegalArgumentException("no preference pairs to train on");
    }
    model.parameters().values().forEach(p -> p.setRequiresGradient(true));
    Random rng = new Random(seed);
    List<Step> out = new ArrayList<>();
    JniUtils.setGradMode(true);
    for (int step = 1; step <= steps; step++) {
      int n = Math.min(batch, pairs.size());
      List<int[]> seqs = new ArrayList<>();
      List<int[]> rejected = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Pair p = pairs.get(rng.nextInt(pairs.size()));
        seqs.add(p.chosen());
        rejected.add(p.rejected());
      }
      seqs.addAll(rejected);
      double lossValue;
      double accuracy;
      try (NDManager m = NDManager.newBaseManager(model.device());
          GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        NDArray r = model.rewards(m, seqs);
        NDArray margin = r.get("0:" + n).sub(r.get(n + ":"));
        NDArray loss = Activation.softPlus(margin.neg()).mean(); // −log σ(margin)
        lossValue = loss.getFloat();
        accuracy =
            margin.gt(0).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).mean().getFloat();
        collector.backward(loss);
      }
      optimizer.step(model.parameters());
      Step s = new Step(step, lossValue, accuracy);
      out.add(s);
      progress.accept(s);
    }
    return out;
  }

  /** Fraction of {@code pairs} the model ranks right, without gradients. */
  public static double accuracy(RewardModel model, List<Pair> pairs) {
    JniUtils.setGradMode(false);
    try (NDManager m = NDManager.newBaseManager(model.device())) {
      List<int[]> seqs = new ArrayList<>();
      pairs.forEach(p -> seqs.add(p.chosen()));
      pairs.forEach(p -> seqs.add(p.rejected()));
      float[] r = model.rewards(m, seqs).toFloatArray();
      int right = 0;
      for (int i = 0; i < pairs.size(); i++) {
        right += r[i] > r[i + pairs.size()] ? 1 : 0;
      }
      return (double) right / pairs.size();
    } finally {
      JniUtils.setGradMode(true);
    }
  }
}
