package io.rlstream.app;

import io.rlstream.infra.BrokerCommand;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Entry point of the {@code ./rlstream} launcher: one subcommand per service or tool. Benchmarks
 * come from {@link BenchCommand} providers on the classpath (the {@code load-tests} module), so the
 * module graph keeps pointing one way.
 */
public final class Rlstream {
  static final String USAGE =
      """
      usage: rlstream COMMAND [options]

      commands:
        demo         the whole loop on an embedded broker: warm start, RL, held-out accuracy before/after
        sft          warm-start the tiny policy on the arithmetic task and save the checkpoint
        eval         held-out accuracy of a checkpoint (greedy)
        generator    the generator service against a Kafka cluster
        judge        one judge (--judge SPEC) as a service: rl.samples -> rl.judgements
        assembler    joins judgements into scored groups: -> rl.scored
        judges       set or show an assembler's judge set while it runs; list judge types
        learner      the learner service (GRPO family, online DPO, XPO) against a Kafka cluster
        replay       train a fresh learner on a logged range of rl.scored (no generator, no judges)
        report DIR   (re)write a run directory's report.html: charts of everything it measured
        inspect ID   a group's history: samples, judgements, rewards, the versions that trained on it
        rm-train     train a reward model on the pairwise judgements logged in rl.scored
        fake-llm     a local stand-in for an OpenAI-compatible judge model (offline trials)
        up           a real Kafka broker as its own process (KRaft, data kept in .data/broker)
        broker       the same as up
        topics       the pipeline's topics on a cluster: list (records, consumer lag), create, specs
        bench NAME   benchmarks: %s

      'rlstream COMMAND --help' describes a command.
      """;

  private Rlstream() {}

  public static void main(String[] args) {
    try {
      run(args, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("rlstream: " + e.getMessage());
      System.exit(2);
    } catch (Exception e) {
      System.err.println("rlstream: " + e);
      e.printStackTrace();
      System.exit(1);
    }
    System.exit(0); // client and scheduler threads must not keep a finished command alive
  }

  static void run(String[] args, PrintStream out) throws Exception {
    Map<String, BenchCommand> benches = benches();
    String usage = USAGE.formatted(String.join(", ", benches.keySet()));
    if (args.length == 0
        || args[0].equals("-h")
        || args[0].equals("--help")
        || args[0].equals("help")) {
      out.print(usage);
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (args[0]) {
      case "demo" -> Demo.run(rest, out);
      case "sft" -> ServiceCommands.sft(rest, out);
      case "eval" -> ServiceCommands.eval(rest, out);
      case "generator" -> ServiceCommands.generator(rest, out);
      case "judge" -> JudgeCommands.judge(rest, out);
      case "assembler" -> JudgeCommands.assembler(rest, out);
      case "judges" -> JudgeCommands.judges(rest, out);
      case "learner" -> ServiceCommands.learner(rest, out);
      case "replay" -> Replay.run(rest, out);
      case "inspect" -> Inspect.run(rest, out);
      case "report" -> report(rest, out);
      case "rm-train" -> RmTrain.run(rest, out);
      case "fake-llm" -> JudgeCommands.fakeLlm(rest, out);
      case "broker", "up" -> BrokerCommand.run(rest);
      case "topics" -> TopicsCommand.run(rest, out);
      case "bench" -> bench(rest, benches, out);
      default -> throw new IllegalArgumentException("unknown command '" + args[0] + "'\n" + usage);
    }
  }

  /**
   * The rlstream checkout the launcher runs from ({@code RLSTREAM_HOME}), else the working
   * directory.
   */
  static Path home() {
    return Path.of(System.getenv().getOrDefault("RLSTREAM_HOME", "."));
  }

  private static void report(String[] args, PrintStream out) {
    if (args.length != 1 || args[0].startsWith("-")) {
      out.print(
          "usage: rlstream report RUN_DIR\n\nWrites RUN_DIR/report.html from its steps.csv and"
              + " progress.csv: static charts, viewable offline.\n");
      return;
    }
    Path dir = Path.of(args[0]);
    if (!java.nio.file.Files.isDirectory(dir)) {
      throw new IllegalArgumentException("report: " + dir + " is not a run directory");
    }
    out.println("wrote " + RunReport.write(dir).toAbsolutePath());
  }

  private static Map<String, BenchCommand> benches() {
    Map<String, BenchCommand> out = new LinkedHashMap<>();
    ServiceLoader.load(BenchCommand.class).forEach(b -> out.put(b.name(), b));
    return out;
  }

  private static void bench(String[] args, Map<String, BenchCommand> benches, PrintStream out)
      throws Exception {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      StringBuilder s = new StringBuilder("usage: rlstream bench NAME [options]\n\nbenchmarks:\n");
      benches
          .values()
          .forEach(b -> s.append(String.format("  %-10s %s%n", b.name(), b.description())));
      out.print(s);
      return;
    }
    BenchCommand b = benches.get(args[0]);
    if (b == null) {
      throw new IllegalArgumentException(
          "unknown benchmark '" + args[0] + "'; known: " + String.join(", ", benches.keySet()));
    }
    b.run(Arrays.copyOfRange(args, 1, args.length), out);
  }
}
