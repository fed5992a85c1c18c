package io.rlstream.loadtests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The benchmark runs end to end on a small volume and ends with its machine-readable line. */
class TransportBenchIT {
  @Test
  void endsWithTheResultLine() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    TransportBench.Result result =
        TransportBench.main(
            new String[] {"--records-1k", "2000", "--records-group", "200", "--repeats", "1"}, out);
    String[] lines = bytes.toString(StandardCharsets.UTF_8).strip().split("\n");
    assertThat(lines[lines.length - 1])
        .matches(
            "RESULT transport produce_ratio=\\d+\\.\\d{3} consume_ratio=\\d+\\.\\d{3} broker_start_s=\\d+\\.\\d{2}");
    assertThat(result.produceRatio()).isPositive();
    assertThat(result.consumeRatio()).isPositive();
    assertThat(result.brokerStartSeconds()).isBetween(0.0, 120.0);
  }
}
