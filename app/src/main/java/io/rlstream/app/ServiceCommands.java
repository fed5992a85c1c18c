package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.generator.GeneratorService;
import io.rlstream.generator.JsonlPrompts;
import io.rlstream.generator.Prompt;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.MetricsEndpoint;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.learner.LearnerService;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.schemas.TopicNames;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * The subcommands that run one piece: {@code sft}, {@code eval}, and each service on its own
 * against any Kafka cluster ({@code --bootstrap-servers}), until Ctrl-C (SIGTERM), which stops it
 * cleanly: the generator lets what it sampled be acknowledged, the learner commits what it trained
 * on. The judge and assembler commands are in {@link JudgeCommands}.
 */
final class ServiceCommands {
  static final String KAFKA_HELP =
      """
        --bootstrap-servers H:P  the Kafka cluster (default localhost:9092)
        --kafka-config FILE      client settings for every producer, consumer and admin client
                                 (security.protocol, sasl.*, ssl.*; ${VAR} from the environment);
                                 default $RLSTREAM_KAFKA_CONFIG
        --topic-prefix P         use P.rl.samples, P.rl.scored, ... (default: none)
        --create-topics          create missing topics with rlstream's defaults first
      """
          + ServiceCommands.CONFIG_HELP;

  /** The options every command has for its settings as a whole. */
  static final String CONFIG_HELP =
      """
        --config FILE            settings from a YAML file (default $RLSTREAM_CONFIG): sections
                                 kafka, loop and one per command, keys as the flags; flags win
        --print-config           print the effective settings, each with where it came from, and
                                 exit without running
      """;

  static final String METRICS_HELP =
      """
        --metrics-port N         Prometheus scrape endpoint http://host:N/metrics (default: generator
                                 9401, judge 9402, assembler 9403, learner 9404; a taken port falls
                                 back to a free one, logged; 0 any free port; -1 none)
      """;

  private ServiceCommands() {}

  /** The service's metrics endpoint, on {@code --metrics-port} or {@code defaultPort}. */
  static int metricsPort(Args a, int defaultPort) {
    return a.integer("metrics-port", defaultPort, -1, 65535);
  }

  static void sft(String[] argv, PrintStream out) {
    Args a = new Args("sft", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream sft [--out DIR] [options]\n\nTrains the tiny policy on a small, partly"
              + " noisy set of arithmetic problems and saves the checkpoint (default"
              + " .data/sft/<settings>, which the demo reuses).\n\noptions:\n"
              + "  --out DIR               where to save\n"
              + WarmStartOptions.HELP
              + CONFIG_HELP);
      return;
    }
    WarmStart warm = WarmStartOptions.from(a);
    String dir = a.string("out", WarmStartOptions.defaultDir(warm).toString());
    a.rejectUnknown();
    ArithmeticTask task = ArithmeticTask.twoDigit();
    Checkpoint c = WarmStartOptions.train(warm, task, out);
    c.save(Path.of(dir), Checkpoint.SaveOptions.DEFAULT);
    Evaluator eval = new Evaluator(task.heldOut(500), new MathAnswerVerifier(), 6);
    out.printf(
        Locale.ROOT,
        "saved %s; held-out accuracy %.3f (500 problems, greedy)%n",
        dir,
        Demo.accuracy(c, eval, Device.cpu()));
  }

  static void eval(String[] argv, PrintStream out) {
    Args a = new Args("eval", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream eval --checkpoint DIR [--size N] [--prompts FILE.jsonl] [--device D]\n\n"
              + "Greedy accuracy of a checkpoint on the arithmetic task's held-out split, or on a"
              + " JSONL file of {\"prompt\", \"answer\"} lines, scored by the math verifier.\n\n"
              + "options:\n"
              + "  --checkpoint DIR        the policy checkpoint (required)\n"
              + "  --size N                held-out problems (default 500, at most 1000)\n"
              + "  --prompts FILE.jsonl    {\"prompt\", \"answer\"} lines instead of the task\n"
              + "  --max-new-tokens N      answer length limit (default 6)\n"
              + "  --device cpu|gpu|auto\n"
              + CONFIG_HELP);
      return;
    }
    String ckpt = a.required("checkpoint");
    int size = a.integer("size", 500, 1, 1000);
    String file = a.string("prompts", null);
    Device device = a.value("device", "cpu", Policy::device);
    int maxNew = a.integer("max-new-tokens", 6, 1, 4096);
    a.rejectUnknown();
    List<Prompt> prompts =
        file == null
            ? ArithmeticTask.twoDigit().heldOut(size)
            : JsonlPrompts.read(Path.of(file), "jsonl");
    Evaluator e = new Evaluator(prompts, new MathAnswerVerifier(), maxNew);
    long start = System.nanoTime();
    double acc;
    try (PolicySampler sampler =
        new PolicySampler("eval", Policy.of(Checkpoint.load(Path.of(ckpt)), device), 0)) {
      acc =
          e.evaluate(
                  sampler,
                  (done, total, soFar) -> {
                    double s = (System.nanoTime() - start) / 1e9;
                    out.printf(
                        Locale.ROOT,
                        "eval: %d/%d prompts, accuracy so far %.3f (%.0f prompts/s, %.0f s, ~%.0f s"
                            + " left)%n",
                        done,
                        total,
                        soFar,
                        done / s,
                        s,
                        (total - done) * s / done);
                  })
              .accuracy();
    }
    out.printf(Locale.ROOT, "accuracy %.4f on %d prompts%n", acc, prompts.size());
  }

  static void generator(String[] argv, PrintStream out) throws Exception {
    Args a = new Args("generator", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream generator --checkpoint DIR [options]\n\nSamples groups from the"
              + " checkpoint's policy for the arithmetic task's training split (or --prompts"
              + " FILE.jsonl) to rl.samples and follows rl.policy for new versions.\n\noptions:\n"
              + "  --prompts FILE.jsonl    {\"prompt\", \"answer\"} lines instead of the built-in task\n"
              + "  --run-id ID             written to every group (default: generator)\n"
              + "  --device cpu|gpu|auto\n"
              + KAFKA_HELP
              + METRICS_HELP
              + LoopConfig.HELP);
      return;
    }
    Kafka k = Kafka.from(a);
    String checkpoint = a.required("checkpoint");
    String file = a.string("prompts", null);
    String runId = a.string("run-id", "generator");
    Device device = a.value("device", "cpu", Policy::device);
    LoopConfig loop = LoopConfig.from(a);
    int metricsPort = metricsPort(a, 9401);
    a.rejectUnknown();
    Checkpoint ckpt = Checkpoint.load(Path.of(checkpoint));
    List<Prompt> prompts =
        file == null
            ? ArithmeticTask.twoDigit().train()
            : JsonlPrompts.read(Path.of(file), "jsonl");
    k.prepare();
    PolicySampler sampler = new PolicySampler("generator", Policy.of(ckpt, device), 0);
    GeneratorService g = Loop.generator(k.config, k.topics, loop, sampler, prompts, runId);
    if (loop.samplesReference()) {
      g.exploreWith(new PolicySampler("reference", Policy.of(ckpt, device), 0), loop.xpoSamples());
    }
    MetricsEndpoint metrics = MetricsEndpoint.start("generator", metricsPort);
    ServiceMetrics.generator(metrics.registry(), g);
    untilStopped(
        g::start,
        () -> {
          g.close();
          sampler.close();
          metrics.close();
        },
        () ->
            out.printf(
                "generator: version %d, %d groups acknowledged, %d versions refused%n",
                g.version(), g.acknowledged(), g.refusedVersions()));
  }

  static void learner(String[] argv, PrintStream out) throws Exception {
    Args a = new Args("learner", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream learner --checkpoint DIR [options]\n\nTrains the checkpoint's policy with"
              + " the configured algorithm on rl.scored and publishes versions on rl.policy. With"
              + " --checkpoint-dir it checkpoints (weights, optimizer, step, version and the offsets"
              + " it trained up to) and, started again on the same directory, resumes from the"
              + " newest complete checkpoint exactly where it was.\n\noptions:\n"
              + "  --device cpu|gpu|auto\n"
              + "  --checkpoint-dir DIR    learner checkpoints (resumed from when present)\n"
              + "  --checkpoint-every N    steps between checkpoints (default 50)\n"
              + "  --keep-checkpoints N    newest checkpoints kept (default 3)\n"
              + "  --ledger FILE           append each step's group ids (trained and dropped) to"
              + " FILE; after a resume the last line of a step is the one that counts\n"
              + KAFKA_HELP
              + METRICS_HELP
              + LoopConfig.HELP);
      return;
    }
    Kafka k = Kafka.from(a);
    String checkpoint = a.required("checkpoint");
    Device device = a.value("device", "cpu", Policy::device);
    LoopConfig loop = LoopConfig.from(a);
    String checkpointDir = a.string("checkpoint-dir", null);
    int every = a.integer("checkpoint-every", 50, 1, 1_000_000);
    int keep = a.integer("keep-checkpoints", 3, 1, 1000);
    String ledger = a.string("ledger", null);
    int metricsPort = metricsPort(a, 9404);
    a.rejectUnknown();
    Checkpoint ckpt = Checkpoint.load(Path.of(checkpoint));
    k.prepare();
    LearnerService.Config service =
        checkpointDir == null
            ? loop.learner()
            : loop.learner().withCheckpoints(Path.of(checkpointDir), every, keep);
    if (ledger != null) {
      service = service.withLedger(Path.of(ledger));
    }
    Policy policy = Policy.of(ckpt, device);
    Policy reference = loop.needsReference() ? Policy.of(ckpt, device) : null;
    LearnerService l =
        Loop.learner(k.config, k.topics, loop, service, policy, reference, new StepLines(out));
    MetricsEndpoint metrics = MetricsEndpoint.start("learner", metricsPort);
    ServiceMetrics.learner(metrics.registry(), l);
    ServiceMetrics.lag(metrics, k.config(), l.consumerGroup(), k.topics().scored());
    untilStopped(
        l::start,
        () -> {
          metrics.close();
          l.close();
          policy.close();
          if (reference != null) {
            reference.close();
          }
        },
        () ->
            out.printf(
                "learner: version %d, %d groups trained%n", l.version(), l.groupsConsumed()));
  }

  /**
   * The learner's progress lines: every 10th step; a batch that trained nothing (stale, no reward
   * variance, no pairs: loss NaN) once per ten in a row, in words.
   */
  private static final class StepLines implements Consumer<LearnerService.StepReport> {
    private final PrintStream out;
    private long idle; // batches in a row that trained nothing

    StepLines(PrintStream out) {
      this.out = out;
    }

    @Override
    public void accept(LearnerService.StepReport r) {
      if (!Double.isFinite(r.loss())) {
        if (idle++ % 10 == 0) {
          out.printf(
              Locale.ROOT,
              "learner: step %d version %d: a batch trained nothing (%d in a row; stale, no reward"
                  + " variance or no pairs); staleness %.2f%n",
              r.step(),
              r.version(),
              idle,
              r.stalenessMean());
        }
        return;
      }
      idle = 0;
      if (r.step() % 10 == 0) {
        out.printf(
            Locale.ROOT,
            "learner: step %d version %d loss %.4f reward %.3f staleness %.2f%n",
            r.step(),
            r.version(),
            r.loss(),
            r.rewardMean(),
            r.stalenessMean());
      }
    }
  }

  /**
   * Kafka settings: the cluster, client properties (a {@code --kafka-config} properties file, then
   * the config file's {@code kafka.client}), topic names, whether to create topics.
   */
  record Kafka(KafkaClientConfig config, TopicNames topics, boolean create) {
    static Kafka from(Args a) {
      String file = a.string("kafka-config", a.env().get("RLSTREAM_KAFKA_CONFIG"));
      Map<String, String> settings = new TreeMap<>();
      Map<String, ConfigFile.Setting> given = new TreeMap<>();
      if (file != null) {
        given.putAll(a.value("kafka-config", file, f -> clientSettings(Path.of(f), a.env())));
      }
      given.putAll(a.file().client());
      given.forEach(
          (key, s) -> {
            settings.put(key, s.value());
            a.note(key, s);
          });
      String bootstrap =
          a.string(
              "bootstrap-servers", settings.getOrDefault("bootstrap.servers", "localhost:9092"));
      return new Kafka(
          KafkaClientConfig.of(bootstrap, settings),
          TopicNames.prefixed(a.string("topic-prefix", "")),
          a.flag("create-topics"));
    }

    /**
     * Kafka client settings from a properties file ({@code security.protocol}, {@code sasl.*},
     * {@code ssl.*}, {@code client.id}, tuning), passed to every producer, consumer and admin
     * client; {@code ${NAME}} in a value is replaced by the environment variable NAME, so secrets
     * stay out of the file.
     */
    static Map<String, ConfigFile.Setting> clientSettings(Path file, Map<String, String> env) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file)) {
        p.load(r);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage());
      }
      Map<String, ConfigFile.Setting> out = new TreeMap<>();
      for (String key : p.stringPropertyNames()) {
        String raw = p.getProperty(key);
        out.put(
            key,
            new ConfigFile.Setting(
                ConfigFile.substitute(raw, env, file + ": " + key), raw, file + " " + key));
      }
      return out;
    }

    void prepare() {
      if (create) {
        try (TopicAdmin admin = new TopicAdmin(config)) {
          admin.createIfAbsent(topics.specs());
        }
      }
    }
  }

  static void untilStopped(Runnable start, Runnable stop, Runnable report)
      throws InterruptedException {
    untilStopped(start, stop, report, null);
  }

  /**
   * Runs a service until SIGTERM / Ctrl-C: {@code start}, then on the signal {@code stop} and a
   * last {@code report}; with {@code every}, the report also every so often while it runs.
   */
  static void untilStopped(Runnable start, Runnable stop, Runnable report, Duration every)
      throws InterruptedException {
    if (every != null) {
      Thread progress =
          new Thread(
              () -> {
                try {
                  while (true) {
                    Thread.sleep(every.toMillis());
                    report.run();
                  }
                } catch (InterruptedException e) {
                  // the process is ending
                }
              },
              "rlstream-progress");
      progress.setDaemon(true);
      progress.start();
    }
    CountDownLatch done = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              stop.run();
              report.run();
              done.countDown();
            },
            "rlstream-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    start.run();
    done.await();
  }
}
