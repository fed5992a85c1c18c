package io.rlstream.app;

import io.rlstream.infra.BrokerCommand;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
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
        config       the effective configuration: 'config --print [COMMAND...]' (YAML, with where
                     each value came from: flag, config file, default)

      every command reads its settings from flags, then the YAML file given by --config FILE or
      $RLSTREAM_CONFIG (sections kafka, loop and one per command; keys are the flag names), then
      its defaults; 'COMMAND --print-config' shows them instead of running.

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
    try {
      dispatch(args[0], rest, benches, usage, out);
    } catch (Args.Printed p) {
      p.args().printYaml(out, true);
    }
  }

  private static void dispatch(
      String command,
      String[] rest,
      Map<String, BenchCommand> benches,
      String usage,
      PrintStream out)
      throws Exception {
    switch (command) {
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
      case "broker", "up" -> up(command, rest, out);
      case "topics" -> TopicsCommand.run(rest, out);
      case "bench" -> bench(rest, benches, out);
      case "config" -> config(rest, out);
      default -> throw new IllegalArgumentException("unknown command '" + command + "'\n" + usage);
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

  /**
   * {@code rlstream up}: the broker's settings from flags or the config file's {@code up} section,
   * handed to {@link BrokerCommand}.
   */
  private static void up(String command, String[] rest, PrintStream out)
      throws InterruptedException {
    Args a = new Args("up", rest);
    if (a.help()) {
      out.print(
          BrokerCommand.USAGE.replace("rlstream broker", "rlstream " + command)
              + ServiceCommands.CONFIG_HELP);
      return;
    }
    int port = a.integer("port", 9092, 1, 65535);
    String dir = a.string("data-dir", null);
    boolean process = a.flag("process");
    boolean noTopics = a.flag("no-topics");
    a.rejectUnknown();
    BrokerCommand.run(dir == null ? null : Path.of(dir), port, process, !noTopics);
  }

  /** The commands whose settings {@code config --print} shows when none is named. */
  static final List<String> CONFIGURED =
      List.of("demo", "sft", "eval", "generator", "judge", "assembler", "learner", "replay");

  /** The commands {@code config --print} can show: those with a section in the config file. */
  static final List<String> PRINTABLE =
      ConfigFile.COMMANDS.stream().filter(c -> !c.equals("judges")).toList();

  /**
   * {@code rlstream config --print [COMMAND...] [--config FILE] [flags]}: each command reads its
   * settings as it would to run, and prints them instead of running.
   */
  private static void config(String[] args, PrintStream out) throws Exception {
    List<String> commands = new ArrayList<>();
    List<String> flags = new ArrayList<>();
    boolean print = false;
    boolean leading = true;
    for (String a : args) {
      if (a.equals("--print")) {
        print = true;
      } else if (leading && PRINTABLE.contains(a)) {
        commands.add(a);
      } else {
        leading = false;
        flags.add(a);
      }
    }
    if (!print || flags.contains("--help") || flags.contains("-h")) {
      out.print(
          """
          usage: rlstream config --print [COMMAND...] [--config FILE] [flags]

          Prints the effective configuration of each COMMAND (default: %s) as
          YAML that a config file can hold, each value with where it came from (flag, file key,
          default); settings not set are commented out, secrets masked. Reading them checks them:
          a wrong key or value fails as it would at start-up. Flags apply to every COMMAND named.
          Commands: %s.
          """
              .formatted(String.join(" ", CONFIGURED), String.join(" ", PRINTABLE)));
      return;
    }
    if (commands.isEmpty()) {
      commands.addAll(CONFIGURED);
    }
    out.println("# rlstream: effective configuration (flags, then the config file, then defaults)");
    boolean first = true;
    for (String c : commands) {
      List<String> argv = new ArrayList<>();
      if (c.equals("inspect")) {
        argv.add("GROUP_ID");
      }
      argv.addAll(flags);
      argv.add("--print-config");
      try {
        dispatch(c, argv.toArray(String[]::new), Map.of(), "", out);
        throw new IllegalStateException(c + " did not print its settings");
      } catch (Args.Printed p) {
        p.args().printYaml(out, first);
        first = false;
      }
    }
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
