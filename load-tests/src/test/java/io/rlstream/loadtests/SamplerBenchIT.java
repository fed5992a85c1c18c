package io.rlstream.loadtests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The benchmark runs end to end on a small volume and ends with its machine-readable line. */
class SamplerBenchIT {
  @Test
  void endsWithTheResultLine() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    SamplerBench.Result result =
        SamplerBench.main(
            new String[] {
              "--new-tokens", "8", "--batches", "8", "--repeats", "1", "--rss-calls", "10"
            },
            out);
    String[] lines = bytes.toString(StandardCharsets.UTF_8).strip().split("\n");
    assertThat(lines[lines.length - 1])
        .matches(
            "RESULT sampler kv_speedup_b8=\\d+\\.\\d{2} kv_tokens_per_s_b8=\\d+ rss_growth_mb=-?\\d+\\.\\d");
    assertThat(result.kvSpeedupB8()).isPositive();
    assertThat(result.kvTokensPerSecondB8()).isPositive();
  }
}
