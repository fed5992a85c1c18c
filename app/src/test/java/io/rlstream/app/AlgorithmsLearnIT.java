package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.policy.Checkpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Learner algorithms, from one warm start on single-digit addition, in a short synchronous run (80
 * steps) (sample, verify, train, repeat): sampled accuracy on the 10 held-out problems goes up. The
 * same objects the services use (LoopConfig, PolicyTrainer, the losses); Kafka is left out here
 * because LoopIT covers it.
 */
class AlgorithmsLearnIT {
  private static final ArithmeticTask TASK = new ArithmeticTask(9, 0);
  private static Checkpoint start;
  private static Evaluator heldOut;
  private static double before;

  @BeforeAll
  static void warmStart() {
    WarmStart warm = new WarmStart(90, 0.25, 60, 32, 2e-3, 0, 7);
    start = WarmStartOptions.train(warm, TASK, new PrintStream(new ByteArrayOutputStream()));
    // the expected accuracy of one sample at T = 1 (32 per problem, fixed seeds): finer than
    // greedy accuracy on 10 problems, where one problem is 0.1
    heldOut = new Evaluator(TASK.heldOut(10), new MathAnswerVerifier(), 4, 32, 1.0);
    try (SyncLoop loop = new SyncLoop(LoopConfig.parse(), start, Device.cpu(), TASK.train())) {
      before = loop.accuracy(heldOut);
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "--algorithm grpo",
        "--algorithm dapo",
        "--algorithm gspo",
        "--algorithm grpo --importance token --iterations 2 --kl-beta 0.02",
        "--algorithm simpo",
        "--algorithm dpo --pairs all --beta 0.5",
        "--algorithm ipo --pairs all --beta 0.1",
        "--algorithm dr-grpo --lr 3e-4",
        "--algorithm xpo --pairs all --beta 0.5 --xpo-alpha 1e-3"
        // not here: dr-grpo at lr 1e-3 lowers it (0.122 -> 0.031 in 40 steps); dpo and ipo with
        // best-worst pairs do not raise it in 40 steps (dpo 0.088)
      })
  void raisesHeldOutAccuracyOverTheWarmStart(String flags) {
    List<String> args = new ArrayList<>(List.of(flags.split(" ")));
    args.addAll(0, List.of("--max-new-tokens", "4", "--lr", "1e-3", "--publish-every", "1"));
    LoopConfig config = LoopConfig.parse(args.toArray(String[]::new));
    int steps = 80;
    List<Double> losses = new ArrayList<>();
    double after;
    try (SyncLoop loop = new SyncLoop(config, start, Device.cpu(), TASK.train())) {
      for (int i = 0; i < steps; i++) {
        PolicyTrainer.StepResult r = loop.step();
        losses.add(r.loss());
      }
      after = loop.accuracy(heldOut);
    }
    System.out.printf(
        Locale.ROOT,
        "%s: held-out accuracy %.3f -> %.3f, loss %.4f (first 5) -> %.4f (last 5)%n",
        flags,
        before,
        after,
        mean(losses.subList(0, 5)),
        mean(losses.subList(steps - 5, steps)));
    assertThat(after).as(flags).isGreaterThan(before);
  }

  @Test
  void xpoTrainsOnReferenceSamplesTheGeneratorMarks() {
    LoopConfig config =
        LoopConfig.parse(
            "--algorithm",
            "xpo",
            "--xpo-alpha",
            "0.01",
            "--xpo-samples",
            "2",
            "--max-new-tokens",
            "4");
    try (SyncLoop loop = new SyncLoop(config, start, Device.cpu(), TASK.train())) {
      for (int i = 0; i < 3; i++) {
        PolicyTrainer.StepResult r = loop.step();
        // the exploration term is there only when the batch holds REFERENCE completions
        assertThat(r.metrics()).containsKey("xpo_logp").containsKey("pairs");
        assertThat(r.metrics().get("xpo_logp")).isNegative();
        assertThat(Double.isFinite(r.loss())).isTrue();
      }
    }
  }

  private static double mean(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
