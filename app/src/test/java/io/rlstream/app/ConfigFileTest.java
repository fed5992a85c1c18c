package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rlstream.infra.KafkaClientConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The YAML config file: settings reach the command, flags win, every mistake is named with its key,
 * what is wrong and what would be right, secrets come from the environment and stay masked, and
 * {@code config --print} writes a file that gives the same configuration back.
 */
class ConfigFileTest {
  @TempDir Path tmp;

  private Path yaml(String... lines) throws Exception {
    Path f = tmp.resolve("rlstream-" + System.nanoTime() + ".yaml");
    Files.writeString(f, String.join("\n", lines) + "\n");
    return f;
  }

  private static Args args(String command, Path file, String... flags) {
    String[] argv = new String[flags.length + 2];
    argv[0] = "--config";
    argv[1] = file.toString();
    System.arraycopy(flags, 0, argv, 2, flags.length);
    return new Args(command, argv, Map.of("KAFKA_PASSWORD", "s3cret"));
  }

  @Test
  void theFileSetsEverySectionAndFlagsOverrideIt() throws Exception {
    Path f =
        yaml(
            "kafka:",
            "  bootstrap-servers: kafka-1:9092,kafka-2:9092",
            "  topic-prefix: exp7",
            "loop:",
            "  algorithm: dapo",
            "  group-size: 4",
            "  lr: 1e-4",
            "learner:",
            "  lr: 5e-5",
            "  checkpoint: /models/sft",
            "  checkpoint-every: 20",
            "  filter-zero-variance: false");

    Args a = args("learner", f);
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    LoopConfig loop = LoopConfig.from(a);
    assertThat(a.required("checkpoint")).isEqualTo("/models/sft");
    assertThat(a.integer("checkpoint-every", 50, 1, 1000)).isEqualTo(20);
    a.rejectUnknown();
    assertThat(k.config().bootstrapServers()).isEqualTo("kafka-1:9092,kafka-2:9092");
    assertThat(k.topics().scored()).isEqualTo("exp7.rl.scored");
    assertThat(loop.algorithm()).isEqualTo("dapo");
    assertThat(loop.groupSize()).isEqualTo(4);
    assertThat(loop.lr()).as("the command's own section wins over loop").isEqualTo(5e-5);
    assertThat(loop.grpo().filterZeroVariance()).isFalse();

    Args flagged = args("learner", f, "--lr", "2e-5", "--group-size=6");
    LoopConfig overridden = LoopConfig.from(flagged);
    assertThat(overridden.lr()).isEqualTo(2e-5);
    assertThat(overridden.groupSize()).isEqualTo(6);
    assertThat(overridden.algorithm()).isEqualTo("dapo");

    // the generator reads kafka and loop, not the learner's own section
    Args g = args("generator", f);
    assertThat(LoopConfig.from(g).lr()).isEqualTo(1e-4);
    // a judge reads kafka only: loop settings are not offered to it, so not unknown either
    Args j = args("judge", f);
    ServiceCommands.Kafka.from(j);
    j.rejectUnknown();
    assertThat(j.has("lr")).isFalse();
  }

  @Test
  void theEnvironmentVariableNamesTheFile() throws Exception {
    Path f = yaml("learner:", "  checkpoint: /m");
    Args a = new Args("learner", new String[0], Map.of(ConfigFile.ENV, f.toString()));
    assertThat(a.required("checkpoint")).isEqualTo("/m");
    Args flag =
        new Args("learner", new String[] {"--checkpoint", "/x"}, Map.of(ConfigFile.ENV, ""));
    assertThat(flag.required("checkpoint")).isEqualTo("/x");
  }

  @Test
  void mistakesNameTheKeyWhatIsWrongAndWhatWouldBeRight() throws Exception {
    assertThatThrownBy(() -> args("learner", yaml("lerner:", "  lr: 1")))
        .hasMessageContaining("unknown section 'lerner'")
        .hasMessageContaining("did you mean learner?");
    assertThatThrownBy(() -> args("learner", yaml("loop:", "  grup-size: 4")))
        .hasMessageContaining("loop.grup-size is not a loop setting")
        .hasMessageContaining("did you mean group-size?");
    assertThatThrownBy(() -> args("learner", yaml("kafka:", "  bootstrap: x:1")))
        .hasMessageContaining("kafka.bootstrap is not a kafka setting")
        .hasMessageContaining("bootstrap-servers");
    assertThatThrownBy(() -> args("learner", yaml("learner:", "  lr: [1, 2]")))
        .hasMessageContaining("learner.lr must be a single value")
        .hasMessageContaining("got a list");
    assertThatThrownBy(() -> args("learner", yaml("learner: 3")))
        .hasMessageContaining("learner must be a map of settings");
    assertThatThrownBy(() -> args("learner", yaml("learner:", "  lr: 1e-4", "   seed: 3")))
        .hasMessageContaining("is not valid YAML")
        .hasMessageContaining("line 3");
    assertThatThrownBy(() -> args("learner", yaml("learner:", "  lr:")))
        .hasMessageContaining("learner.lr has no value");
    assertThatThrownBy(
            () ->
                new Args(
                    "learner",
                    new String[] {"--config", yaml("learner:", "  ledger: ${NOPE}").toString()},
                    Map.of()))
        .hasMessageContaining("learner.ledger uses ${NOPE}")
        .hasMessageContaining("environment variable NOPE is not set");
    assertThatThrownBy(() -> args("learner", tmp.resolve("missing.yaml")))
        .hasMessageContaining("missing.yaml does not exist");

    Path f = yaml("learner:", "  lr: fast", "  checkpoint-evry: 10");
    assertThatThrownBy(() -> LoopConfig.from(args("learner", f)))
        .hasMessageContaining(f + " learner.lr must be a number in [1.0E-8, 1.0], got 'fast'");
    Args typo = args("learner", yaml("learner:", "  checkpoint-evry: 10"));
    typo.integer("checkpoint-every", 50, 1, 1000);
    assertThatThrownBy(typo::rejectUnknown)
        .hasMessageContaining("learner.checkpoint-evry is not a setting of learner")
        .hasMessageContaining("did you mean checkpoint-every?");
    assertThatThrownBy(() -> LoopConfig.from(args("learner", yaml("loop:", "  algorithm: ppo"))))
        .hasMessageContaining("loop.algorithm must be one of grpo")
        .hasMessageContaining("got 'ppo'");
    assertThatThrownBy(() -> LoopConfig.from(args("learner", yaml("loop:", "  pairs: none"))))
        .hasMessageContaining("loop.pairs must be one of best-worst, all, judged");
    Args flagTypo = new Args("learner", new String[] {"--checkpoint-evry", "3"}, Map.of());
    flagTypo.integer("checkpoint-every", 50, 1, 1000);
    assertThatThrownBy(flagTypo::rejectUnknown)
        .hasMessageContaining("unknown option --checkpoint-evry (did you mean checkpoint-every?)");
    assertThatThrownBy(() -> new Args("learner", new String[0], Map.of()).required("checkpoint"))
        .hasMessageContaining("--checkpoint is required")
        .hasMessageContaining("'checkpoint:' under 'learner:'");
    assertThatThrownBy(
            () ->
                args("judge", yaml("judge:", "  judge: nosuchjudge"))
                    .value(
                        "judge",
                        "math",
                        s -> {
                          throw new IllegalArgumentException("unknown judge type 'nosuchjudge'");
                        }))
        .hasMessageContaining("judge.judge: unknown judge type 'nosuchjudge'");
  }

  @Test
  void kafkaClientSettingsReachEveryClientWithSecretsFromTheEnvironment() throws Exception {
    Path f =
        yaml(
            "kafka:",
            "  bootstrap-servers: broker-1:9093",
            "  client:",
            "    security.protocol: SASL_SSL",
            "    sasl.mechanism: SCRAM-SHA-512",
            "    sasl.jaas.config: >-",
            "      org.apache.kafka.common.security.scram.ScramLoginModule required",
            "      username=\"rl\" password=\"${KAFKA_PASSWORD}\";");
    KafkaClientConfig config = ServiceCommands.Kafka.from(args("assembler", f)).config();
    for (Map<String, Object> client :
        java.util.List.of(config.producer(), config.consumer("g"), config.admin())) {
      assertThat(client)
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("bootstrap.servers", "broker-1:9093");
      assertThat((String) client.get("sasl.jaas.config")).endsWith("password=\"s3cret\";");
    }
    assertThatThrownBy(
            () -> new Args("assembler", new String[] {"--config", f.toString()}, Map.of()))
        .hasMessageContaining("kafka.client.sasl.jaas.config uses ${KAFKA_PASSWORD}");
  }

  @Test
  void printedConfigurationIsAFileThatGivesTheSameSettingsBack() throws Exception {
    Path f =
        yaml(
            "kafka:",
            "  bootstrap-servers: kafka-1:9092",
            "  client:",
            "    sasl.jaas.config: 'x password=\"${KAFKA_PASSWORD}\";'",
            "loop:",
            "  algorithm: dpo",
            "  pairs: all",
            "learner:",
            "  checkpoint: /models/sft",
            "  ledger: '/tmp/ledger #1'");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Args printed = args("learner", f, "--lr", "2e-5");
    try {
      ServiceCommands.Kafka.from(printed);
      LoopConfig.from(printed);
      printed.required("checkpoint");
      printed.string("ledger", null);
      printed.string("checkpoint-dir", null);
      printed.rejectUnknown();
    } catch (Args.Printed p) {
      throw new AssertionError("printed without --print-config");
    }
    printed.printYaml(out, true);
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertThat(text)
        .contains("learner:")
        .contains("lr: 2e-5")
        .contains("# flag --lr")
        .contains("algorithm: dpo")
        .contains(f + " loop.algorithm")
        .contains("group-size: 8")
        .contains("# default")
        .contains("# checkpoint-dir:")
        .contains("sasl.jaas.config: '****'")
        .doesNotContain("s3cret");

    // the printed file read back (the secret's line removed): the same loop settings
    Path back = tmp.resolve("back.yaml");
    Files.writeString(back, text.replaceAll("(?m)^kafka:\\n  client:\\n.*\\n", ""));
    Args again = new Args("learner", new String[] {"--config", back.toString()}, Map.of());
    LoopConfig a = LoopConfig.from(again);
    LoopConfig b = LoopConfig.from(args("learner", f, "--lr", "2e-5"));
    assertThat(a).isEqualTo(b);
    assertThat(again.string("ledger", null)).isEqualTo("/tmp/ledger #1");
    assertThat(ServiceCommands.Kafka.from(again).config().bootstrapServers())
        .isEqualTo("kafka-1:9092");
  }

  @Test
  void everyCommandPrintsItsSettingsWithoutRunning() throws Exception {
    Path f = yaml("loop:", "  group-size: 4", "judge:", "  judge: length,id=len");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Rlstream.run(
        new String[] {"config", "--print", "--config", f.toString()},
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String text = bytes.toString(StandardCharsets.UTF_8);
    for (String c : Rlstream.CONFIGURED) {
      assertThat(text).contains("\n" + c + ":\n");
    }
    assertThat(text)
        .contains("judge: length,id=len")
        .contains("group-size: 4")
        .contains("# checkpoint:")
        .contains("REQUIRED, not set");

    bytes.reset();
    Rlstream.run(
        new String[] {"learner", "--print-config", "--checkpoint", "/m", "--algorithm", "xpo"},
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .contains("checkpoint: /m")
        .contains("xpo-alpha: 0.001");
    assertThatThrownBy(
            () ->
                Rlstream.run(
                    new String[] {"config", "--print", "learner", "--lr", "2"},
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))
        .hasMessageContaining("learner: --lr must be a number in [1.0E-8, 1.0], got '2'");
  }
}
