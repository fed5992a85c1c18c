package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.infra.KafkaBroker;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.MetricsEndpoint;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.learner.LearnerService;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.schemas.TopicNames;
import io.rlstream.schemas.TopicSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * {@code rlstream demo}: the whole loop on an embedded broker in one command — warm start (or reuse
 * it), held-out accuracy before, generator + judge + learner through Kafka until a time budget or a
 * target accuracy, held-out accuracy after, a run directory with the metrics and the final
 * checkpoint, and a {@code RESULT demo ...} line.
 */
final class Demo {
  static final String HELP =
      """
      usage: rlstream demo [options]

      Starts an embedded Kafka broker, warm-starts the tiny policy on the arithmetic task (or reuses
      the warm start in .data/sft), runs generator, judge and learner against the broker until the
      time budget or the target held-out accuracy, and writes .data/runs/<time>/ (steps.csv,
      progress.csv, summary.json, checkpoint/).

      options:
        --minutes M             RL time budget (default 7)
        --target-accuracy A     stop early once the held-out accuracy reaches A (default 0.9)
        --eval-size N           held-out problems in the before/after evaluation (default 500)
        --progress-eval-size N  held-out problems in the periodic evaluation (default 200)
        --progress-seconds S    seconds between progress lines (default 5)
        --metrics-port N        Prometheus endpoint of all four services (default 9400; -1 none)
        --run-dir DIR           where the run writes (default .data/runs/<time>)
        --sft-dir DIR           warm-start checkpoint to reuse or create (default .data/sft/<settings>)
        --device cpu|gpu|auto   where the models run (default cpu)
      """
          + WarmStartOptions.HELP
          + LoopConfig.HELP
          + ServiceCommands.CONFIG_HELP;

  private Demo() {}

  static void run(String[] argv, PrintStream out) throws Exception {
    Args args = new Args("demo", argv);
    if (args.help()) {
      out.print(HELP);
      return;
    }
    double minutes = args.number("minutes", 7, 0.1, 24 * 60);
    double target = args.number("target-accuracy", 0.9, 0, 1);
    int evalSize = args.integer("eval-size", 500, 10, 1000);
    int progressEval = args.integer("progress-eval-size", 200, 10, 1000);
    int progressSeconds = args.integer("progress-seconds", 5, 1, 3600);
    int metricsPort = args.integer("metrics-port", 9400, -1, 65535);
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path runDir =
        Path.of(args.string("run-dir", Rlstream.home().resolve(".data/runs/" + stamp).toString()));
    WarmStart warm = WarmStartOptions.from(args);
    String sftDir = args.string("sft-dir", null);
    Device device = args.value("device", "cpu", Policy::device);
    LoopConfig loop = LoopConfig.from(args);
    args.rejectUnknown();

    long started = System.nanoTime();
    Files.createDirectories(runDir);
    ArithmeticTask task = ArithmeticTask.twoDigit();
    Path sft = sftDir != null ? Path.of(sftDir) : WarmStartOptions.defaultDir(warm);
    Checkpoint warmStart = WarmStartOptions.loadOrTrain(warm, sft, task, out);
    Evaluator finalEval =
        new Evaluator(task.heldOut(evalSize), new MathAnswerVerifier(), loop.maxNewTokens());
    Evaluator progressEvaluator =
        new Evaluator(task.heldOut(progressEval), new MathAnswerVerifier(), loop.maxNewTokens());
    double before = accuracy(warmStart, finalEval, device);
    out.printf(
        Locale.ROOT, "held-out accuracy before RL: %.3f (%d problems, greedy)%n", before, evalSize);

    List<LearnerService.StepReport> steps = new ArrayList<>();
    ConcurrentLinkedQueue<LearnerService.StepReport> fresh = new ConcurrentLinkedQueue<>();
    RunLog log = new RunLog(runDir);
    Checkpoint finalWeights;
    long versions;
    double rlSeconds;
    // old policy versions are deleted by size (demoSpecs), checked every 20 s
    try (KafkaBroker broker =
        KafkaBroker.temporary(
            "rlstream-demo-broker", Map.of("log.retention.check.interval.ms", "20000"))) {
      KafkaClientConfig kafka = KafkaClientConfig.of(broker.bootstrapServers());
      TopicNames topics = TopicNames.defaults();
      try (TopicAdmin admin = new TopicAdmin(kafka)) {
        admin.createIfAbsent(demoSpecs(topics));
      }
      out.printf("broker up at %s; topics %s%n", broker.bootstrapServers(), topics);
      long rlStart = System.nanoTime();
      try (Loop pipeline =
              Loop.create(
                  kafka,
                  topics,
                  loop,
                  warmStart,
                  device,
                  task.train(),
                  "demo-" + stamp,
                  fresh::add);
          MetricsEndpoint metrics = MetricsEndpoint.start("demo", metricsPort)) {
        ServiceMetrics.loop(metrics, pipeline);
        pipeline.start();
        Progress progress = new Progress(pipeline, progressEvaluator, log, out, rlStart);
        long deadline = rlStart + (long) (minutes * 60e9);
        while (System.nanoTime() < deadline) {
          Thread.sleep(progressSeconds * 1000L);
          drain(fresh, steps, log);
          Progress.Line line = progress.tick(steps);
          RunReport.write(runDir); // the report follows the run
          if (line.accuracy() >= target) {
            out.printf(Locale.ROOT, "target accuracy %.2f reached%n", target);
            break;
          }
          if (!pipeline.judge.running() || !pipeline.assembler.running()) {
            throw new IllegalStateException(
                "the judge or the assembler stopped; see the log above");
          }
        }
        finalWeights = pipeline.learnerSnapshot();
        versions = pipeline.learner.version();
        rlSeconds = (System.nanoTime() - rlStart) / 1e9;
      }
      drain(fresh, steps, log);
    }
    finalWeights.save(runDir.resolve("checkpoint"), Checkpoint.SaveOptions.DEFAULT);
    double after = accuracy(finalWeights, finalEval, device);
    double totalMinutes = (System.nanoTime() - started) / 60e9;
    log.summary(before, after, versions, steps, rlSeconds, totalMinutes, loop, warm);
    log.close();
    Path report = RunReport.write(runDir);
    out.printf(
        Locale.ROOT,
        "%nheld-out accuracy: %.3f before -> %.3f after (%d problems, greedy)%n"
            + "policy versions: %d, learner steps: %d, RL %.1f s, total %.2f min%n"
            + "run directory: %s%nrun report: %s%n",
        before,
        after,
        evalSize,
        versions,
        steps.size(),
        rlSeconds,
        totalMinutes,
        runDir.toAbsolutePath(),
        report.toAbsolutePath());
    out.printf(
        Locale.ROOT,
        "RESULT demo acc_before=%.3f acc_after=%.3f versions=%d minutes=%.2f%n",
        before,
        after,
        versions,
        totalMinutes);
  }

  private static void drain(
      ConcurrentLinkedQueue<LearnerService.StepReport> fresh,
      List<LearnerService.StepReport> steps,
      RunLog log)
      throws IOException {
    LearnerService.StepReport r;
    while ((r = fresh.poll()) != null) {
      steps.add(r);
      log.step(r);
    }
  }

  /** The pipeline topics, with the policy topic trimmed by size: the demo publishes often. */
  static List<TopicSpec> demoSpecs(TopicNames topics) {
    List<TopicSpec> specs = new ArrayList<>();
    for (TopicSpec s : topics.specs()) {
      if (s.name().equals(topics.policy())) {
        Map<String, String> c = new HashMap<>(s.configs());
        c.put("retention.bytes", Integer.toString(64 << 20));
        c.put("segment.bytes", Integer.toString(16 << 20));
        s = new TopicSpec(s.name(), s.partitions(), c, s.doc());
      }
      specs.add(s);
    }
    return specs;
  }

  static double accuracy(Checkpoint weights, Evaluator evaluator, Device device) {
    try (PolicySampler sampler = new PolicySampler("eval", Policy.of(weights, device), 0)) {
      return evaluator.evaluate(sampler).accuracy();
    }
  }
}
