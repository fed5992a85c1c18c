package io.rlstream.app;

import io.rlstream.infra.MetricsEndpoint;
import io.rlstream.infra.StartPosition;
import io.rlstream.judge.Assembler;
import io.rlstream.judge.Judge;
import io.rlstream.judge.JudgeService;
import io.rlstream.judge.JudgeSets;
import io.rlstream.judge.JudgeSpec;
import io.rlstream.judge.Judges;
import io.rlstream.judge.llm.FakeChatServer;
import io.rlstream.schemas.JudgeSet;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * The judging commands: {@code judge} (one judge as a service), {@code assembler} (joins judgements
 * into scored groups) and {@code judges} (show or change an assembler's judge set while it runs,
 * list judge types).
 */
final class JudgeCommands {
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(30);

  private static final String SET_HELP =
      """
        --name NAME              the assembler (default main)
        --judges ID=W,...        judges to wait for, with weights (e.g. math=1.0,len=0.5)
        --aggregation A          weighted_sum | min | mean_minus_std | normalized_sum (default weighted_sum)
        --k K                    the k of mean_minus_std (default 1.0)
        --missing M              partial | dead_letter: a group still missing judgements after the timeout (default partial)
        --timeout-ms MS          how long a group waits for its judgements (default 60000)
      """;

  private JudgeCommands() {}

  static void judge(String[] argv, PrintStream out) throws Exception {
    Args a = new Args("judge", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream judge [--judge SPEC] [options]\n\nRuns one judge as its own consumer"
              + " group (rl-judge-<id>) on rl.samples and writes one Judgement per group to"
              + " rl.judgements exactly once. A judge that has never run starts at --start (a"
              + " back-fill); a restarted one resumes where it stopped.\n\noptions:\n"
              + "  --judge SPEC            TYPE[,id=ID][,version=V][,KEY=VALUE...] (default math)\n"
              + "  --start POS             earliest | latest | offset:N | timestamp:MS |"
              + " time:2026-11-22T10:00:00Z (default earliest; first run only)\n"
              + "  --instance-id ID        stable per instance, unique among live ones (default"
              + " 0)\n"
              + ServiceCommands.KAFKA_HELP
              + ServiceCommands.METRICS_HELP
              + "\njudge types:\n"
              + Judges.help());
      return;
    }
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    JudgeSpec spec = a.value("judge", "math", JudgeSpec::parse);
    StartPosition start = a.value("start", "earliest", StartPosition::parse);
    String instance = a.string("instance-id", "0");
    int metricsPort = ServiceCommands.metricsPort(a, 9402);
    a.rejectUnknown();
    Judge judge = Judges.create(spec);
    k.prepare();
    JudgeService j =
        new JudgeService(
            k.config(), k.topics(), judge, JudgeService.Options.of(instance).startingAt(start));
    out.printf("judge %s (v%s) on %s%n", judge.id(), judge.version(), k.topics().samples());
    MetricsEndpoint metrics = MetricsEndpoint.start("judge-" + judge.id(), metricsPort);
    ServiceMetrics.judge(metrics.registry(), j);
    ServiceMetrics.lag(
        metrics, k.config(), JudgeService.consumerGroup(judge.id()), k.topics().samples());
    ServiceCommands.untilStopped(
        j::start,
        () -> {
          j.close();
          judge.close();
          metrics.close();
        },
        () ->
            out.printf(
                "judge %s: %d judged, %d dead-lettered%n",
                judge.id(), j.judged(), j.deadLettered()),
        PROGRESS_EVERY);
  }

  static void assembler(String[] argv, PrintStream out) throws Exception {
    Args a = new Args("assembler", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream assembler [options]\n\nJoins rl.samples with the judgements its judge"
              + " set asks for and writes one ScoredGroup per group to rl.scored, exactly once."
              + " With --judges it first publishes that judge set; without, it uses the newest"
              + " one on rl.assembler.config ('rlstream judges set' changes it while it"
              + " runs).\n\noptions:\n"
              + "  --instance-id ID        stable per instance, unique among live ones (default"
              + " 0)\n"
              + "  --max-pending N         groups held waiting at most (default 100000)\n"
              + SET_HELP
              + ServiceCommands.KAFKA_HELP
              + ServiceCommands.METRICS_HELP);
      return;
    }
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    String name = a.string("name", "main");
    String instance = a.string("instance-id", "0");
    int maxPending = a.integer("max-pending", 100_000, 1, Integer.MAX_VALUE);
    int metricsPort = ServiceCommands.metricsPort(a, 9403);
    JudgeSet given = judgeSet(a, name);
    Optional<JudgeSet> set = a.has("judges") ? Optional.of(given) : Optional.empty();
    a.rejectUnknown();
    k.prepare();
    set.ifPresent(s -> JudgeSets.publish(k.config(), k.topics().assemblerConfig(), s));
    Assembler asm =
        new Assembler(
            k.config(),
            k.topics(),
            Assembler.Options.of(name, instance).withMaxPending(maxPending));
    MetricsEndpoint metrics = MetricsEndpoint.start("assembler-" + name, metricsPort);
    ServiceMetrics.assembler(metrics.registry(), asm);
    ServiceMetrics.lag(
        metrics,
        k.config(),
        Assembler.consumerGroup(name),
        k.topics().samples(),
        k.topics().judgements());
    ServiceCommands.untilStopped(
        asm::start,
        () -> {
          asm.close();
          metrics.close();
        },
        () -> {
          Assembler.Counts c = asm.counts();
          out.printf(
              "assembler %s: %d emitted (%d partial), %d dead-lettered, %d left waiting in %s%n",
              name,
              c.emitted(),
              c.partial(),
              c.deadLettered(),
              c.pending() + c.handedOver(),
              k.topics().assemblerState());
        },
        PROGRESS_EVERY);
  }

  /**
   * {@code rlstream fake-llm}: the tests' OpenAI-compatible stand-in, to try LLM judges offline.
   */
  static void fakeLlm(String[] argv, PrintStream out) throws Exception {
    Args a = new Args("fake-llm", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream fake-llm [--port N]\n\nServes /v1/chat/completions on 127.0.0.1 the"
              + " way the tests' fake model does: pointwise, the highest score to a completion"
              + " that contains the reference answer, else the lowest; pairwise, the completion"
              + " that contains it (tie if both or neither). For trying '--judge"
              + " llm,endpoint=...' and rm-train without a model server.\n\noptions:\n"
              + "  --port N                port (default 8089; 0 picks a free one)\n"
              + ServiceCommands.CONFIG_HELP);
      return;
    }
    int port = a.integer("port", 8089, 0, 65535);
    a.rejectUnknown();
    FakeChatServer[] server = new FakeChatServer[1];
    ServiceCommands.untilStopped(
        () -> {
          server[0] = FakeChatServer.start(port);
          out.println("fake-llm: serving " + server[0].endpoint() + "/v1/chat/completions");
        },
        () -> server[0].close(),
        () -> out.printf("fake-llm: %d requests served%n", server[0].requests()));
  }

  static void judges(String[] argv, PrintStream out) {
    String sub = argv.length == 0 ? "--help" : argv[0];
    String[] rest = Arrays.copyOfRange(argv, Math.min(1, argv.length), argv.length);
    if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
      sub = "--help";
    }
    switch (sub) {
      case "set" -> {
        Args a = new Args("judges set", rest);
        ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
        String name = a.string("name", "main");
        if (a.string("judges", null) == null) {
          throw new IllegalArgumentException("judges set: --judges ID=W,... is required");
        }
        JudgeSet s = judgeSet(a, name);
        a.rejectUnknown();
        k.prepare();
        JudgeSets.publish(k.config(), k.topics().assemblerConfig(), s);
        out.printf("assembler %s: judge set is now %s%n", name, JudgeSets.describe(s));
      }
      case "show" -> {
        Args a = new Args("judges show", rest);
        ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
        String name = a.string("name", "main");
        a.rejectUnknown();
        out.println(
            JudgeSets.latest(k.config(), k.topics().assemblerConfig(), name)
                .map(s -> "assembler " + name + ": " + JudgeSets.describe(s))
                .orElse("assembler " + name + " has no judge set yet"));
      }
      case "types" -> out.print(Judges.help());
      default ->
          out.print(
              "usage: rlstream judges set|show|types [options]\n\n"
                  + "  set     publish a new judge set; a running assembler applies it at once\n"
                  + "  show    print an assembler's current judge set\n"
                  + "  types   list the judge types on the classpath\n\noptions of set:\n"
                  + SET_HELP
                  + ServiceCommands.KAFKA_HELP);
    }
  }

  private static JudgeSet judgeSet(Args a, String name) {
    return JudgeSets.parse(
        name,
        a.string("judges", "math=1.0"),
        a.string("aggregation", "weighted_sum"),
        a.number("k", 1.0, 0, 1e6),
        a.string("missing", "partial"),
        Duration.ofMillis(a.integer("timeout-ms", 60_000, 1, Integer.MAX_VALUE)));
  }
}
