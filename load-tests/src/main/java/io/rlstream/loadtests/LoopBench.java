package io.rlstream.loadtests;

import ai.djl.Device;
import io.rlstream.app.Loop;
import io.rlstream.app.LoopConfig;
import io.rlstream.app.SyncLoop;
import io.rlstream.app.WarmStart;
import io.rlstream.app.WarmStartOptions;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.infra.KafkaBroker;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.learner.LearnerService;
import io.rlstream.policy.Checkpoint;
import io.rlstream.schemas.TopicNames;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code rlstream bench loop}: the demo's loop for the same number of learner steps (so the same
 * number of samples) two ways — asynchronously through Kafka (generator, judge and learner overlap)
 * and synchronously in lockstep in one process — after the same warm-up, from the same warm start.
 * Rates count samples trained on per second of wall time between the end of the warm-up and the
 * last step.
 */
final class LoopBench {
  private LoopBench() {}

  record Result(
      double asyncSamplesPerS, double syncSamplesPerS, double ratio, double learnerIdleFrac) {}

  static Result main(String[] argv, PrintStream out) throws Exception {
    int steps = 100;
    int warmup = 10;
    List<String> loopFlags = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--steps" -> steps = Integer.parseInt(argv[++i]);
        case "--warmup-steps" -> warmup = Integer.parseInt(argv[++i]);
        case "--help", "-h" -> {
          out.print(
              "usage: rlstream bench loop [--steps N] [--warmup-steps N] [loop options]\n\n"
                  + "Runs N learner steps after a warm-up asynchronously (through Kafka) and"
                  + " synchronously (lockstep, one process) and compares samples/s.\n");
          return null;
        }
        default -> loopFlags.add(argv[i]);
      }
    }
    if (steps < 1 || warmup < 1) {
      throw new IllegalArgumentException("--steps and --warmup-steps must be >= 1");
    }
    LoopConfig config = LoopConfig.parse(loopFlags.toArray(String[]::new));
    ArithmeticTask task = ArithmeticTask.twoDigit();
    WarmStart warm = WarmStart.defaults();
    Checkpoint start =
        WarmStartOptions.loadOrTrain(warm, WarmStartOptions.defaultDir(warm), task, out);
    int samplesPerStep = config.groupsPerStep() * config.groupSize();
    out.printf(
        "loop: %d steps after %d warm-up steps, %d groups x %d completions per step%n",
        steps, warmup, config.groupsPerStep(), config.groupSize());

    double sync;
    try (SyncLoop loop = new SyncLoop(config, start, Device.cpu(), task.train())) {
      for (int i = 0; i < warmup; i++) {
        loop.step();
      }
      double s0 = loop.sampleSeconds();
      double t0 = loop.trainSeconds();
      long begin = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        loop.step();
      }
      double seconds = (System.nanoTime() - begin) / 1e9;
      sync = (double) steps * samplesPerStep / seconds;
      double sampling = loop.sampleSeconds() - s0;
      double training = loop.trainSeconds() - t0;
      out.printf(
          Locale.ROOT,
          "sync:  %.1f s, %.0f samples/s; sampling+judging %.1f s (%.0f%%), training+weights %.1f s"
              + " (%.0f%%); overlap bound (sample+train)/max = %.2f%n",
          seconds,
          sync,
          sampling,
          100 * sampling / seconds,
          training,
          100 * training / seconds,
          (sampling + training) / Math.max(sampling, training));
    }

    double async;
    double idle;
    try (KafkaBroker broker = KafkaBroker.temporary("rlstream-bench-loop", Map.of())) {
      KafkaClientConfig kafka = KafkaClientConfig.of(broker.bootstrapServers());
      TopicNames topics = TopicNames.prefixed("bench");
      try (TopicAdmin admin = new TopicAdmin(kafka)) {
        admin.createIfAbsent(topics.specs());
      }
      try (Loop loop =
          Loop.create(kafka, topics, config, start, Device.cpu(), task.train(), "bench", r -> {})) {
        loop.start();
        LearnerService learner = loop.learner;
        waitForStep(learner, warmup);
        long g0 = learner.groupsConsumed();
        double busy0 = learner.busySeconds();
        double idle0 = learner.idleSeconds();
        long begin = System.nanoTime();
        waitForStep(learner, warmup + steps);
        double seconds = (System.nanoTime() - begin) / 1e9;
        long groups = learner.groupsConsumed() - g0;
        double busy = learner.busySeconds() - busy0;
        double waited = learner.idleSeconds() - idle0;
        async = (double) groups * config.groupSize() / seconds;
        idle = waited / Math.max(1e-9, busy + waited);
        out.printf(
            Locale.ROOT,
            "async: %.1f s, %.0f samples/s; learner busy %.1f s, idle %.1f s (%.1f%%);"
                + " generator throttled %.1f s in all%n",
            seconds,
            async,
            busy,
            waited,
            100 * idle,
            loop.generator.throttled().toMillis() / 1e3);
      }
    }
    Result r = new Result(async, sync, async / sync, idle);
    out.printf(
        Locale.ROOT,
        "RESULT loop async_samples_per_s=%.0f sync_samples_per_s=%.0f ratio=%.2f learner_idle_frac=%.3f%n",
        r.asyncSamplesPerS(),
        r.syncSamplesPerS(),
        r.ratio(),
        r.learnerIdleFrac());
    return r;
  }

  private static void waitForStep(LearnerService learner, long step) throws InterruptedException {
    long deadline = System.nanoTime() + 600_000_000_000L;
    while (learner.last() == null || learner.last().step() < step) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("learner did not reach step " + step + " in 10 minutes");
      }
      Thread.sleep(5);
    }
  }
}
