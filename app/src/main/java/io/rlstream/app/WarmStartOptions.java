package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.ModelConfig;
import io.rlstream.policy.Policy;
import io.rlstream.policy.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The warm-start flags shared by {@code demo} and {@code sft}, and the reuse of a saved warm start.
 */
public final class WarmStartOptions {
  static final String HELP =
      """
        --sft-examples N        training problems in the warm-start set (default 2000)
        --sft-noise F           fraction of them with a wrong answer (default 0.25)
        --sft-steps N           warm-start optimizer steps (default 350)
        --sft-batch N           warm-start batch size (default 64)
        --sft-lr X              warm-start learning rate (default 2e-3)
        --sft-seed N            order and noise of the warm-start set (default 0)
        --model-seed N          initial weights of the tiny policy (default 7)
      """;

  private WarmStartOptions() {}

  static WarmStart from(Args a) {
    WarmStart d = WarmStart.defaults();
    return new WarmStart(
        a.integer("sft-examples", d.examples(), 1, 1_000_000),
        a.number("sft-noise", d.noise(), 0, 0.99),
        a.integer("sft-steps", d.steps(), 1, 10_000_000),
        a.integer("sft-batch", d.batchSize(), 1, 65_536),
        a.number("sft-lr", d.lr(), 1e-8, 1),
        a.integer("sft-seed", (int) d.seed(), 0, Integer.MAX_VALUE),
        a.integer("model-seed", (int) d.modelSeed(), 0, Integer.MAX_VALUE));
  }

  /** Where the warm start of {@code warm}'s settings is kept: {@code .data/sft/<settings>}. */
  public static Path defaultDir(WarmStart warm) {
    return Rlstream.home().resolve(".data/sft/" + warm.fingerprint());
  }

  /** The warm start saved in {@code dir}, or a fresh one trained and saved there. */
  public static Checkpoint loadOrTrain(
      WarmStart warm, Path dir, ArithmeticTask task, PrintStream out) {
    if (Files.isRegularFile(dir.resolve("config.json"))) {
      out.printf("reusing warm start %s%n", dir);
      return Checkpoint.load(dir);
    }
    Checkpoint trained = train(warm, task, out);
    trained.save(dir, Checkpoint.SaveOptions.DEFAULT);
    out.printf("warm start saved to %s%n", dir);
    return trained;
  }

  /** Trains the tiny policy from random weights with {@code warm}; prints progress. */
  static Checkpoint train(WarmStart warm, ArithmeticTask task, PrintStream out) {
    Tokenizer tok = Tokenizer.builtIn("char");
    ModelConfig config =
        ModelConfig.tiny(tok.vocabSize(), tok.tokenId("<bos>"), tok.tokenId("<eos>"));
    long start = System.nanoTime();
    try (Policy policy = Policy.random(config, tok, warm.modelSeed(), Device.cpu())) {
      out.printf(
          Locale.ROOT,
          "warm start: %d steps of SFT on %d problems, %.0f%% with a wrong answer (%,d parameters)%n",
          warm.steps(),
          warm.examples(),
          warm.noise() * 100,
          policy.model().parameterCount());
      List<Double> losses =
          warm.train(
              policy,
              task.train(),
              p -> {
                if (p.step() % 50 == 0 || p.step() == p.steps()) {
                  double s = (System.nanoTime() - start) / 1e9;
                  out.printf(
                      Locale.ROOT,
                      "  sft step %d/%d loss %.3f (%.1f steps/s, %.0f s, ~%.0f s left)%n",
                      p.step(),
                      p.steps(),
                      p.loss(),
                      p.step() / s,
                      s,
                      (p.steps() - p.step()) * s / p.step());
                }
              });
      if (!Double.isFinite(losses.get(losses.size() - 1))) {
        throw new IllegalStateException(
            "warm start diverged: loss " + losses.get(losses.size() - 1));
      }
      return policy.snapshot();
    }
  }
}
