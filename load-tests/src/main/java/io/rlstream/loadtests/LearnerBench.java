package io.rlstream.loadtests;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.rlstream.app.LoopConfig;
import io.rlstream.app.WarmStart;
import io.rlstream.app.WarmStartOptions;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.learner.TrainBatch;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.ModelConfig;
import io.rlstream.policy.Policy;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.SyntheticRecords;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code rlstream bench learner}: the learner's training step alone on the demo model — logged
 * groups of the demo's shape (prompt + completion lengths, 8 completions, 16 groups per step), GRPO
 * or whatever {@code --algorithm} says — timed after a warm-up; the step's FLOP/s against a square
 * float32 matrix multiply timed with the same engine in the same run. Ends with {@code RESULT
 * learner steps_per_s=… tokens_per_s=… roofline_frac=…}.
 *
 * <p>The reference model's forward pass (KL or preference losses) is not counted as work, so those
 * losses show a lower fraction. FLOPs of a step are counted as 6·N·T for the matrix weights
 * (forward 2·N·T, backward 4·N·T; N = parameters outside the embedding when the embedding is only
 * gathered, T = tokens through the model, prompts included) plus 12·L·d·Σ(t²) for attention scores
 * and values.
 */
final class LearnerBench {
  private LearnerBench() {}

  static String main(String[] argv, PrintStream out) throws Exception {
    int steps = 30;
    int warmup = 5;
    int matmul = 512;
    List<String> loopFlags = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--steps" -> steps = Integer.parseInt(argv[++i]);
        case "--warmup-steps" -> warmup = Integer.parseInt(argv[++i]);
        case "--matmul" -> matmul = Integer.parseInt(argv[++i]);
        case "--help", "-h" -> {
          out.print(
              "usage: rlstream bench learner [--steps N] [--warmup-steps N] [--matmul N] [loop"
                  + " options]\n\nTimes the learner's step on the demo model and compares its FLOP/s"
                  + " with an N x N matrix multiply's.\n");
          return null;
        }
        default -> loopFlags.add(argv[i]);
      }
    }
    if (steps < 1 || warmup < 0 || matmul < 16) {
      throw new IllegalArgumentException("need --steps >= 1, --warmup-steps >= 0, --matmul >= 16");
    }
    LoopConfig config = LoopConfig.parse(loopFlags.toArray(String[]::new));
    WarmStart warm = WarmStart.defaults();
    Checkpoint start =
        WarmStartOptions.loadOrTrain(
            warm, WarmStartOptions.defaultDir(warm), ArithmeticTask.twoDigit(), out);
    ModelConfig mc = start.config();
    List<TrainBatch> batches = new ArrayList<>();
    for (int b = 0; b < warmup + steps; b++) {
      batches.add(batch(config, mc, b));
    }
    double stepSeconds;
    double lossSeconds = 0;
    double optimizerSeconds = 0;
    long tokensThrough = 0;
    long completionTokens = 0;
    double attentionTerm = 0;
    long params;
    long embedding;
    try (Policy policy = Policy.of(start, Device.cpu());
        Policy reference = config.needsReference() ? Policy.of(start, Device.cpu()) : null) {
      params = policy.model().parameterCount();
      embedding = (long) mc.vocabSize() * mc.hiddenSize();
      PolicyTrainer trainer = config.trainer(policy, reference);
      for (int b = 0; b < warmup; b++) {
        trainer.step(batches.get(b));
      }
      long t0 = System.nanoTime();
      for (int b = warmup; b < warmup + steps; b++) {
        TrainBatch batch = batches.get(b);
        PolicyTrainer.StepResult r = trainer.step(batch);
        lossSeconds += r.metrics().getOrDefault("time_loss_backward_s", 0.0);
        optimizerSeconds += r.metrics().getOrDefault("time_optimizer_s", 0.0);
        for (int i = 0; i < batch.rows(); i++) {
          int t = batch.prompts().get(i).length + batch.completions().get(i).length;
          tokensThrough += t;
          attentionTerm += (double) t * t;
        }
        completionTokens += batch.tokens();
      }
      stepSeconds = (System.nanoTime() - t0) / 1e9;
    }
    // tied embeddings: the output projection is a d x V matmul per token; the input side a gather
    long matrixParams = mc.tieWordEmbeddings() ? params : params - embedding;
    double flops =
        6.0 * matrixParams * tokensThrough
            + 12.0 * mc.numLayers() * mc.numHeads() * mc.headDim() * attentionTerm;
    double stepFlops = flops / stepSeconds;
    double peak = matmulFlops(matmul, matmul, matmul);
    double stepsPerS = steps / stepSeconds;
    double tokensPerS = completionTokens / stepSeconds;
    out.printf(
        Locale.ROOT,
        "learner (%s): %d steps in %.2f s = %.2f steps/s, %.0f completion tokens/s (%d tokens"
            + " through the model per step); %d parameters%n",
        config.algorithm(),
        steps,
        stepSeconds,
        stepsPerS,
        tokensPerS,
        tokensThrough / steps,
        params);
    out.printf(
        Locale.ROOT,
        "training step: %.2f GFLOP/s; %dx%d float32 matmul: %.2f GFLOP/s; fraction %.3f%n",
        stepFlops / 1e9,
        matmul,
        matmul,
        peak / 1e9,
        stepFlops / peak);
    // what bounds it: where the step's time goes, and how fast the engine multiplies matrices of
    // the model's own shapes (tokens of a step x hidden by hidden x intermediate)
    int rows = (int) (tokensThrough / steps);
    double shaped = matmulFlops(rows, mc.hiddenSize(), mc.intermediateSize());
    double other = stepSeconds - lossSeconds - optimizerSeconds;
    out.printf(
        Locale.ROOT,
        "step time: %.0f%% scoring, loss and backward (%.2f GFLOP/s there, fraction %.3f), %.0f%%"
            + " AdamW, %.0f%% batch preparation and metrics%n",
        100 * lossSeconds / stepSeconds,
        flops / lossSeconds / 1e9,
        flops / lossSeconds / peak,
        100 * optimizerSeconds / stepSeconds,
        100 * other / stepSeconds);
    out.printf(
        Locale.ROOT,
        "%dx%d by %dx%d float32 matmul (the model's MLP shape): %.2f GFLOP/s = %.3f of the"
            + " %dx%d one%n",
        rows,
        mc.hiddenSize(),
        mc.hiddenSize(),
        mc.intermediateSize(),
        shaped / 1e9,
        shaped / peak,
        matmul,
        matmul);
    String result =
        String.format(
            Locale.ROOT,
            "RESULT learner steps_per_s=%.3f tokens_per_s=%.0f roofline_frac=%.3f",
            stepsPerS,
            tokensPerS,
            stepFlops / peak);
    out.println(result);
    return result;
  }

  /** Logged groups of the demo's shape with random tokens and rewards (the step does not care). */
  private static TrainBatch batch(LoopConfig config, ModelConfig mc, int seed) {
    Random rnd = new Random(seed);
    SyntheticRecords synthetic = new SyntheticRecords(seed);
    List<ScoredGroup> groups = new ArrayList<>();
    for (int g = 0; g < config.groupsPerStep(); g++) {
      ScoredGroup s =
          synthetic.scoredGroup(synthetic.sampleGroup("b" + seed + "-" + g, config.groupSize(), 1));
      int[] prompt = new int[6];
      prompt[0] = mc.bosTokenId();
      for (int i = 1; i < prompt.length; i++) {
        prompt[i] = 1 + rnd.nextInt(mc.vocabSize() - 1);
      }
      s.getGroup().setPromptTokenIds(Packed.ints(prompt));
      List<Double> rewards = new ArrayList<>();
      for (Completion c : s.getGroup().getCompletions()) {
        int n = 1 + rnd.nextInt(config.maxNewTokens());
        int[] tokens = new int[n];
        float[] logp = new float[n];
        for (int i = 0; i < n; i++) {
          tokens[i] = 1 + rnd.nextInt(mc.vocabSize() - 1);
          logp[i] = (float) -Math.log(mc.vocabSize());
        }
        c.setTokenIds(Packed.ints(tokens));
        c.setLogprobs(Packed.floats(logp));
        rewards.add(rnd.nextBoolean() ? 1.0 : 0.0);
      }
      s.setRewards(rewards);
      s.getGroup().getSampling().setTemperature((float) config.temperature());
      groups.add(s);
    }
    return TrainBatch.of(groups);
  }

  /** FLOP/s of an (n x k) by (k x p) float32 matrix multiply, best of a few timings. */
  private static double matmulFlops(int n, int k, int p) {
    JniUtils.setGradMode(false);
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray a = m.randomUniform(-1, 1, new Shape(n, k));
      NDArray b = m.randomUniform(-1, 1, new Shape(k, p));
      double best = 0;
      for (int rep = 0; rep < 5; rep++) {
        int iters = 10;
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
          try (NDArray c = a.matMul(b)) {
            c.getFloat(0, 0); // forces the result
          }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        best = Math.max(best, 2.0 * n * k * p * iters / s);
      }
      return best;
    } finally {
      JniUtils.setGradMode(true);
    }
  }
}
