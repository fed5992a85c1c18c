package io.rlstream.loadtests;

import io.rlstream.infra.BrokerCommand;
import java.util.Arrays;

/**
 * Entry point of the {@code ./rlstream} launcher: one subcommand per service or tool. The {@code
 * app} module takes this role when it arrives; until then it lives here, at the top of the module
 * graph.
 */
public final class Rlstream {
  static final String USAGE =
      """
      usage: rlstream COMMAND [options]

      commands:
        broker            run a real Kafka broker in the foreground (data in .data/broker)
        bench transport   Reactor bridge vs plain kafka-clients throughput
        bench sampler     policy sampling tokens/s with and without KV cache, memory

      'rlstream COMMAND --help' describes a command.
      """;

  private Rlstream() {}

  public static void main(String[] args) {
    try {
      run(args);
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

  private static void run(String[] args) throws Exception {
    if (args.length == 0
        || args[0].equals("-h")
        || args[0].equals("--help")
        || args[0].equals("help")) {
      System.out.print(USAGE);
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (args[0]) {
      case "broker" -> BrokerCommand.run(rest);
      case "bench" -> bench(rest);
      default -> throw new IllegalArgumentException("unknown command '" + args[0] + "'\n" + USAGE);
    }
  }

  private static void bench(String[] args) throws Exception {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      System.out.print(
          "usage: rlstream bench NAME [options]\n\nbenchmarks:\n  transport   Reactor bridge vs plain kafka-clients throughput\n  sampler     policy sampling tokens/s with and without KV cache, memory\n");
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (args[0]) {
      case "transport" -> TransportBench.main(rest, System.out);
      case "sampler" -> SamplerBench.main(rest, System.out);
      default ->
          throw new IllegalArgumentException(
              "unknown benchmark '" + args[0] + "'; known: transport, sampler");
    }
  }
}
