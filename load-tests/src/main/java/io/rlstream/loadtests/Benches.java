package io.rlstream.loadtests;

import io.rlstream.app.BenchCommand;
import java.io.PrintStream;

/** The benchmarks of this module as {@code rlstream bench NAME} commands. */
public final class Benches {
  private Benches() {}

  /** {@code rlstream bench transport}. */
  public static final class Transport implements BenchCommand {
    @Override
    public String name() {
      return "transport";
    }

    @Override
    public String description() {
      return "Reactor bridge vs plain kafka-clients throughput";
    }

    @Override
    public void run(String[] args, PrintStream out) throws Exception {
      TransportBench.main(args, out);
    }
  }

  /** {@code rlstream bench sampler}. */
  public static final class Sampler implements BenchCommand {
    @Override
    public String name() {
      return "sampler";
    }

    @Override
    public String description() {
      return "policy sampling tokens/s with and without KV cache, memory";
    }

    @Override
    public void run(String[] args, PrintStream out) throws Exception {
      SamplerBench.main(args, out);
    }
  }

  /** {@code rlstream bench loop}. */
  public static final class Loop implements BenchCommand {
    @Override
    public String name() {
      return "loop";
    }

    @Override
    public String description() {
      return "the RL loop through Kafka (async) vs generate-judge-train in lockstep (sync)";
    }

    @Override
    public void run(String[] args, PrintStream out) throws Exception {
      LoopBench.main(args, out);
    }
  }
}
