package io.rlstream.loadtests;

import io.rlstream.app.BenchCommand;
import java.io.PrintStream;

/** The benchmarks of this module as {@code rlstream bench NAME} commands. */
public final class Benches {
  private Benches() {}

  /** What each benchmark's entry point looks like. */
  @FunctionalInterface
  interface Main {
    Object run(String[] args, PrintStream out) throws Exception;
  }

  /** A benchmark command by name, description and entry point. */
  abstract static class Named implements BenchCommand {
    private final String name;
    private final String description;
    private final Main main;

    Named(String name, String description, Main main) {
      this.name = name;
      this.description = description;
      this.main = main;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String description() {
      return description;
    }

    @Override
    public void run(String[] args, PrintStream out) throws Exception {
      main.run(args, out);
    }
  }

  /** {@code rlstream bench transport}. */
  public static final class Transport extends Named {
    public Transport() {
      super("transport", "Reactor bridge vs plain kafka-clients throughput", TransportBench::main);
    }
  }

  /** {@code rlstream bench sampler}. */
  public static final class Sampler extends Named {
    public Sampler() {
      super(
          "sampler",
          "policy sampling tokens/s with and without KV cache, memory",
          SamplerBench::main);
    }
  }

  /** {@code rlstream bench loop}. */
  public static final class Loop extends Named {
    public Loop() {
      super(
          "loop",
          "the RL loop through Kafka (async) vs generate-judge-train in lockstep (sync)",
          LoopBench::main);
    }
  }

  /** {@code rlstream bench judge}. */
  public static final class Judge extends Named {
    public Judge() {
      super(
          "judge",
          "verifier and cached LLM judge groups/s through judge service + assembler",
          JudgeBench::main);
    }
  }

  /** {@code rlstream bench learner}. */
  public static final class Learner extends Named {
    public Learner() {
      super(
          "learner",
          "learner steps/s, tokens/s and FLOP/s against a matrix multiply on the demo model",
          LearnerBench::main);
    }
  }
}
