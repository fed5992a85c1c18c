package io.rlstream.loadtests;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.sun.jna.NativeLibrary;
import io.rlstream.policy.Generation;
import io.rlstream.policy.ModelConfig;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.policy.SamplingConfig;
import io.rlstream.policy.Scorer;
import io.rlstream.policy.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * {@code rlstream bench sampler}: new tokens/s of the tiny preset with and without the KV cache at
 * two batch sizes, teacher-forced scoring tokens/s, and resident memory before and after many
 * generate calls. Random weights and no stop tokens, so every completion runs to its length.
 *
 * <p>Ends with {@code RESULT sampler kv_speedup_b8=… kv_tokens_per_s_b8=… rss_growth_mb=…}.
 */
public final class SamplerBench {
  static final String USAGE =
      """
      usage: rlstream bench sampler [--new-tokens N] [--repeats R] [--rss-calls N] [--device D]

      Tiny preset (char tokenizer), random weights, prompts like '123+456=', temperature 1.
        --new-tokens N   tokens sampled per completion (default 64)
        --batches A,B    batch sizes (rows) to measure (default 8,64)
        --repeats R      timed calls per measurement, median reported (default 3)
        --rss-calls N    generate calls (batch 8, 8 new tokens) between the memory readings,
                         after 300 warm-up calls (default 1000)
        --device D       cpu, gpu or auto (default cpu)
      """;

  /** Settings of one run. */
  public record Options(int newTokens, int[] batches, int repeats, int rssCalls, String device) {
    public Options {
      if (newTokens < 1 || repeats < 1 || rssCalls < 0 || batches.length == 0) {
        throw new IllegalArgumentException("new tokens, repeats and batches must be >= 1");
      }
    }
  }

  /** The headline figures. */
  public record Result(double kvSpeedupB8, double kvTokensPerSecondB8, double rssGrowthMb) {}

  private SamplerBench() {}

  public static Result main(String[] args, PrintStream out) throws IOException {
    int newTokens = 64;
    int[] batches = {8, 64};
    int repeats = 3;
    int rssCalls = 1000;
    String device = "cpu";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--new-tokens" -> newTokens = Integer.parseInt(args[++i]);
        case "--batches" ->
            batches = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--repeats" -> repeats = Integer.parseInt(args[++i]);
        case "--rss-calls" -> rssCalls = Integer.parseInt(args[++i]);
        case "--device" -> device = args[++i];
        case "-h", "--help" -> {
          out.print(USAGE);
          return null;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
      }
    }
    return run(new Options(newTokens, batches, repeats, rssCalls, device), out);
  }

  public static Result run(Options o, PrintStream out) throws IOException {
    Device device = Policy.device(o.device());
    Tokenizer tok = Tokenizer.builtIn("char");
    ModelConfig tiny =
        ModelConfig.tiny(tok.vocabSize(), tok.tokenId("<bos>"), tok.tokenId("<eos>"));
    Policy policy = Policy.random(tiny, tok, 1, device);
    long params = policy.model().parameterCount();
    out.printf(
        Locale.ROOT,
        "tiny preset: %,d parameters, device %s, %d new tokens per completion%n",
        params,
        device,
        o.newTokens());
    SamplingConfig cfg = SamplingConfig.sample(o.newTokens(), Set.of());
    double speedupB8 = Double.NaN;
    double kvB8 = Double.NaN;
    try (PolicySampler sampler = new PolicySampler("bench", policy, 0)) {
      // Memory first, so that the large batches below do not set the baseline.
      double growth = rssGrowth(sampler, tok, o.rssCalls(), out);
      out.printf("%-8s %16s %16s %9s%n", "batch", "kv tokens/s", "no-kv tokens/s", "speedup");
      for (int b : o.batches()) {
        List<int[]> prompts = prompts(tok, b, 7);
        double kv = tokensPerSecond(sampler, prompts, cfg, o.repeats());
        double plain = tokensPerSecond(sampler, prompts, cfg.withKvCache(false), o.repeats());
        out.printf(Locale.ROOT, "%-8d %16.0f %16.0f %9.2f%n", b, kv, plain, kv / plain);
        if (b == 8) {
          speedupB8 = kv / plain;
          kvB8 = kv;
        }
      }
      double scoring = scoringTokensPerSecond(sampler, policy, tok, o);
      out.printf(
          Locale.ROOT,
          "teacher-forced scoring, batch 64 x (prompt + %d): %.0f tokens/s%n",
          o.newTokens(),
          scoring);
      out.printf(
          Locale.ROOT,
          "RESULT sampler kv_speedup_b8=%.2f kv_tokens_per_s_b8=%.0f rss_growth_mb=%.1f%n",
          speedupB8,
          kvB8,
          growth);
      return new Result(speedupB8, kvB8, growth);
    }
  }

  private static double tokensPerSecond(
      PolicySampler sampler, List<int[]> prompts, SamplingConfig cfg, int repeats) {
    sampler.generate(prompts, 1, cfg, 0); // warm-up
    double[] rates = new double[repeats];
    for (int r = 0; r < repeats; r++) {
      Generation g = sampler.generate(prompts, 1, cfg, r + 1);
      rates[r] = g.newTokens() / (g.nanos() / 1e9);
    }
    Arrays.sort(rates);
    return rates[repeats / 2];
  }

  /** Scores batch-64 sequences (prompt + sampled completion) with grad off; all tokens counted. */
  private static double scoringTokensPerSecond(
      PolicySampler sampler, Policy policy, Tokenizer tok, Options o) {
    List<int[]> prompts = prompts(tok, 64, 11);
    Generation g = sampler.generate(prompts, 1, SamplingConfig.sample(o.newTokens(), Set.of()), 3);
    List<int[]> completions = g.completions().stream().map(c -> c.get(0).tokens()).toList();
    long tokens = 0;
    for (int i = 0; i < prompts.size(); i++) {
      tokens += prompts.get(i).length + completions.get(i).length;
    }
    long total = tokens;
    return sampler.submitTask(
        () -> { // the model thread: grad mode is off there
          double[] rates = new double[o.repeats()];
          for (int r = -1; r < o.repeats(); r++) {
            long start = System.nanoTime();
            try (NDManager m = NDManager.newBaseManager(policy.model().device())) {
              Scorer.score(policy.model(), m, prompts, completions, 1.0).logProbs().toFloatArray();
            }
            if (r >= 0) {
              rates[r] = total / ((System.nanoTime() - start) / 1e9);
            }
          }
          Arrays.sort(rates);
          return rates[o.repeats() / 2];
        });
  }

  private static double rssGrowth(PolicySampler sampler, Tokenizer tok, int calls, PrintStream out)
      throws IOException {
    List<int[]> prompts = prompts(tok, 8, 5);
    SamplingConfig small = SamplingConfig.sample(8, Set.of());
    // Warm-up: the JIT (its compiled code and compiler arenas are resident memory too), the Java
    // heap and the native allocator's arenas settle over the first few hundred calls.
    for (int i = 0; i < 300; i++) {
      sampler.generate(prompts, 1, small, i);
    }
    double before = rssMb();
    out.printf(
        Locale.ROOT,
        "resident memory before %d generate calls: %.1f MB (Java heap committed %.1f MB)%n",
        calls,
        before,
        Runtime.getRuntime().totalMemory() / 1048576.0);
    for (int i = 1; i <= calls; i++) {
      sampler.generate(prompts, 1, small, i);
      if (i % 250 == 0 || i == calls) {
        out.printf(
            Locale.ROOT,
            "  after %4d calls: %.1f MB (Java heap committed %.1f MB)%n",
            i,
            rssMb(),
            Runtime.getRuntime().totalMemory() / 1048576.0);
      }
    }
    double after = rssMb();
    out.printf(
        Locale.ROOT, "resident memory after: %.1f MB (growth %.1f MB)%n", after, after - before);
    return after - before;
  }

  /**
   * Resident set size of this process (Linux) after a GC and glibc's {@code malloc_trim(0)}, so
   * that freed Java objects and free native heap held by the allocator do not count: what remains
   * is live memory. (Read straight after a GC, RSS swings by ~150 MB between readings: the Java
   * heap's pages are uncommitted concurrently, after the GC returns.)
   */
  static double rssMb() throws IOException {
    System.gc();
    try {
      Thread.sleep(500); // G1 returns heap regions to the OS concurrently, after the GC
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      NativeLibrary.getInstance("c").getFunction("malloc_trim").invokeInt(new Object[] {0});
    } catch (UnsatisfiedLinkError e) {
      // not glibc: read RSS untrimmed
    }
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
      }
    }
    throw new IOException("no VmRSS in /proc/self/status");
  }

  static List<int[]> prompts(Tokenizer tok, int n, long seed) {
    Random rng = new Random(seed);
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int[] body = tok.encode(rng.nextInt(1000) + "+" + rng.nextInt(1000) + "=");
      int[] p = new int[body.length + 1];
      p[0] = tok.tokenId("<bos>");
      System.arraycopy(body, 0, p, 1, body.length);
      out.add(p);
    }
    return out;
  }
}
