package io.rlstream.learner;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rlstream.policy.Scorer;
import io.rlstream.policy.TokenScores;
import io.rlstream.policy.Transformer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Supervised fine-tuning: next-token cross-entropy on each example's target tokens (prompt tokens
 * are context, not targets), averaged over target tokens, in shuffled mini-batches with {@link
 * AdamW}. Warm-starts a policy before RL.
 */
public final class Sft {
  /** A prompt (BOS included) and the tokens the model should continue it with. */
  public record Example(int[] prompt, int[] target) {}

  /** Progress after a step. */
  public record Progress(int step, int steps, double loss) {}

  private Sft() {}

  /**
   * Trains {@code model} for {@code steps} mini-batches of {@code batchSize} drawn by a seeded
   * shuffle of {@code examples}; returns the loss of each step.
   */
  public static List<Double> train(
      Transformer model,
      List<Example> examples,
      AdamW optimizer,
      int steps,
      int batchSize,
      long seed,
      Consumer<Progress> progress) {
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("SFT needs at least one example");
    }
    model.parameters().values().forEach(p -> p.setRequiresGradient(true));
    JniUtils.setGradMode(true);
    Random random = new Random(seed);
    List<Example> order = new ArrayList<>(examples);
    int at = order.size();
    List<Double> losses = new ArrayList<>(steps);
    for (int step = 1; step <= steps; step++) {
      List<int[]> prompts = new ArrayList<>(batchSize);
      List<int[]> targets = new ArrayList<>(batchSize);
      while (prompts.size() < batchSize) {
        if (at == order.size()) {
          Collections.shuffle(order, random);
          at = 0;
        }
        Example e = order.get(at++);
        prompts.add(e.prompt());
        targets.add(e.target());
      }
      try (NDManager m = NDManager.newBaseManager(model.device());
          GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        TokenScores s = Scorer.score(model, m, prompts, targets, 1.0);
        NDArray loss = s.logProbs().sum().neg().div(s.mask().sum());
        gc.backward(loss);
        losses.add((double) loss.getFloat());
      }
      optimizer.step(model.parameters());
      progress.accept(new Progress(step, steps, losses.get(losses.size() - 1)));
    }
    return losses;
  }
}
