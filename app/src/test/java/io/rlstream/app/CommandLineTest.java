package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every subcommand answers {@code --help} with its usage, without running; every option its help
 * names is a setting it reads (and so one the config file and {@code config --print} know).
 */
class CommandLineTest {
  private static String run(String... argv) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Rlstream.run(argv, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "demo",
        "up",
        "broker",
        "sft",
        "eval",
        "generator",
        "judge",
        "assembler",
        "judges",
        "learner",
        "replay",
        "inspect",
        "report",
        "rm-train",
        "fake-llm",
        "topics",
        "bench",
        "config"
      })
  void everyCommandHasHelp(String command) throws Exception {
    assertThat(run()).contains("\n  " + command + " ");
    String help = run(command, "--help");
    assertThat(help).startsWith("usage: rlstream " + command);
    assertThat(help.lines().count()).as(help).isGreaterThan(2);
  }

  static List<String> printable() {
    return Rlstream.PRINTABLE;
  }

  @ParameterizedTest
  @MethodSource("printable")
  void everyOptionInTheHelpIsASettingTheCommandReads(String command) throws Exception {
    String help = run(command, "--help");
    Set<String> options = new TreeSet<>();
    Matcher m = Pattern.compile("(?m)^\\s+--([a-z][a-z0-9-]*)").matcher(help);
    while (m.find()) {
      options.add(m.group(1));
    }
    assertThat(options).as(help).contains("config", "print-config");
    options.removeAll(Set.of("config", "print-config"));
    assertThat(options).as(help).isNotEmpty();
    List<String> argv = new ArrayList<>(List.of("config", "--print", command));
    String printed = run(argv.toArray(String[]::new));
    Set<String> settings = new TreeSet<>();
    Matcher s = Pattern.compile("(?m)^  (?:# )?([a-z][a-z0-9-]*):").matcher(printed);
    while (s.find()) {
      settings.add(s.group(1));
    }
    assertThat(settings).as(printed).containsAll(options);
  }
}
