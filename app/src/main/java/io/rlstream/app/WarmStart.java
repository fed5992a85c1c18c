package io.rlstream.app;

import io.rlstream.generator.GroupSampler;
import io.rlstream.generator.Prompt;
import io.rlstream.learner.AdamW;
import io.rlstream.learner.Sft;
import io.rlstream.policy.Policy;
import io.rlstream.policy.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The supervised warm start of the demo: next-token training on a small sample of the training
 * split in which a fraction of the answers are deliberately wrong, for a few hundred steps — enough
 * for the policy to learn the format and some arithmetic, not enough to be good at it, so that RL
 * has room to show learning.
 *
 * @param examples training problems used
 * @param noise fraction of them given a wrong answer
 * @param steps optimizer steps
 * @param batchSize examples per step
 * @param lr AdamW learning rate
 * @param seed the examples' order and noise
 * @param modelSeed the initial weights
 */
public record WarmStart(
    int examples, double noise, int steps, int batchSize, double lr, long seed, long modelSeed) {
  public WarmStart {
    if (examples < 1 || steps < 1 || batchSize < 1) {
      throw new IllegalArgumentException("sft examples, steps and batch size must be positive");
    }
    if (!(noise >= 0 && noise < 1)) {
      throw new IllegalArgumentException("sft noise must be in [0, 1), was " + noise);
    }
  }

  public static WarmStart defaults() {
    return new WarmStart(2000, 0.25, 350, 64, 2e-3, 0, 7);
  }

  /**
   * A directory name that changes whenever a setting does, so a saved warm start is reused safely.
   */
  public String fingerprint() {
    return String.format(
        java.util.Locale.ROOT,
        "arith-tiny-n%d-noise%.3f-s%d-b%d-lr%.1e-seed%d-model%d",
        examples,
        noise,
        steps,
        batchSize,
        lr,
        seed,
        modelSeed);
  }

  /** Trains {@code policy} in place; returns the per-step losses. */
  List<Double> train(Policy policy, List<Prompt> train, Consumer<Sft.Progress> progress) {
    Tokenizer tok = policy.tokenizer();
    int bos = policy.config().bosTokenId();
    int eos = policy.config().eosTokenIds().get(0);
    Random random = new Random(seed);
    List<Sft.Example> data = new ArrayList<>();
    for (int i = 0; i < Math.min(examples, train.size()); i++) {
      Prompt p = train.get(i);
      String answer = p.answer();
      if (random.nextDouble() < noise) {
        int offset = (1 + random.nextInt(9)) * (random.nextBoolean() ? 1 : -1);
        answer = Integer.toString(Math.abs(Integer.parseInt(answer) + offset)); // never the sum
      }
      int[] body = tok.encode(answer);
      int[] target = java.util.Arrays.copyOf(body, body.length + 1);
      target[body.length] = eos;
      data.add(new Sft.Example(GroupSampler.promptTokens(tok, bos, p.text()), target));
    }
    return Sft.train(
        policy.model(), data, new AdamW(AdamW.Config.of(lr)), steps, batchSize, seed, progress);
  }
}
