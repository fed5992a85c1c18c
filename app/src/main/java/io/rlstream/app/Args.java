package io.rlstream.app;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The settings of one command: its flags ({@code --name value}, {@code --name=value}, bare {@code
 * --flag} for booleans) over its part of the YAML config file ({@code --config FILE} or {@code
 * $RLSTREAM_CONFIG}, see {@link ConfigFile}) over the defaults. Every setting read is checked: an
 * unknown one or a malformed value fails with a message that names the flag or the file's key, what
 * is wrong and what would be right.
 *
 * <p>Every read is recorded with the value it gave and where it came from, so {@code
 * --print-config} (and {@code rlstream config --print}) can show the effective configuration: the
 * command reads its settings as usual and {@link #rejectUnknown()} then stops it with {@link
 * Printed} before it does anything.
 */
final class Args {
  private static final Set<String> OWN_FLAGS = Set.of("help", "h", "config", "print-config");
  private static final Pattern SECRET =
      Pattern.compile(
          "(?i)(.*[-._])?(password|secret|token|api-key|apikey|jaas|credentials?)([-._].*)?");

  /**
   * One setting as read: its value (null: not set), where it came from ({@code flag --lr}, the
   * file's key, {@code default}), whether it is required, whether to mask it when printed.
   */
  record Entry(String value, String origin, boolean required, boolean secret) {
    /** A setting from the config file; masked when secret by name or taken from the environment. */
    static Entry of(String name, ConfigFile.Setting s, boolean required) {
      boolean env = ConfigFile.usesEnvironment(s.raw());
      return new Entry(
          s.value(),
          env ? s.origin() + ", " + s.raw() : s.origin(),
          required,
          env || isSecret(name));
    }
  }

  /** Thrown by {@link #rejectUnknown()} under {@code --print-config}: the command's settings. */
  static final class Printed extends RuntimeException {
    private final transient Args args;

    Printed(Args args) {
      super("printed the effective configuration of " + args.command, null, false, false);
      this.args = args;
    }

    Args args() {
      return args;
    }
  }

  private final String command;
  private final String section;
  private final Map<String, String> flags = new LinkedHashMap<>();
  private final ConfigFile file;
  private final Map<String, ConfigFile.Setting> fileValues;
  private final Map<String, Entry> read = new LinkedHashMap<>();
  private final Map<String, Entry> notes = new LinkedHashMap<>();
  private final boolean print;
  private final Map<String, String> env;

  /** A command's settings: flags in {@code argv}, the config file, the process environment. */
  Args(String command, String[] argv) {
    this(command, argv, System.getenv());
  }

  Args(String command, String[] argv, Map<String, String> env) {
    this(command, argv, env, true);
  }

  private Args(String command, String[] argv, Map<String, String> env, boolean readFile) {
    this.command = command;
    this.env = env;
    this.section = command.split(" ")[0];
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException(command + ": unexpected argument '" + a + "'");
      }
      String name = a.substring(2);
      int eq = name.indexOf('=');
      if (eq >= 0) {
        flags.put(name.substring(0, eq), name.substring(eq + 1));
      } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
        flags.put(name, argv[++i]);
      } else {
        flags.put(name, "true");
      }
    }
    this.print = flags.containsKey("print-config");
    String path = flags.containsKey("config") ? flags.get("config") : env.get(ConfigFile.ENV);
    if (flags.containsKey("config") && flags.get("config").equals("true")) {
      throw new IllegalArgumentException(command + ": --config needs a file: --config FILE.yaml");
    }
    this.file =
        readFile && path != null && !path.isBlank()
            ? ConfigFile.load(Path.of(path), env)
            : ConfigFile.empty();
    this.fileValues = file.settingsFor(section);
  }

  /** Flags only, no config file: settings built from a list of flags inside the program. */
  static Args flagsOnly(String command, String... argv) {
    return new Args(command, argv, Map.of(), false);
  }

  boolean help() {
    return !print && (flags.containsKey("help") || flags.containsKey("h"));
  }

  /** The environment that {@code ${NAME}} and {@code $RLSTREAM_...} defaults come from. */
  Map<String, String> env() {
    return env;
  }

  /** The config file in use, if any. */
  ConfigFile file() {
    return file;
  }

  String string(String name, String fallback) {
    return record(name, fallback, false);
  }

  /** A setting that must be given; null only under {@code --print-config}, which reports it. */
  String required(String name) {
    String v = record(name, null, true);
    if (v == null && !print) {
      throw new IllegalArgumentException(
          command
              + ": --"
              + name
              + " is required (or '"
              + name
              + ":' under '"
              + section
              + ":' in the config file); see 'rlstream "
              + command
              + " --help'");
    }
    return v;
  }

  /**
   * A setting turned into a value by {@code parse}; an {@link IllegalArgumentException} from it is
   * reported with where the value came from.
   */
  <T> T value(String name, String fallback, Function<String, T> parse) {
    String v = string(name, fallback);
    try {
      return v == null ? null : parse.apply(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where(name) + ": " + e.getMessage(), e);
    }
  }

  /** Whether the setting was given, by flag or in the file (and so is not unknown). */
  boolean has(String name) {
    return record(name, null, false) != null;
  }

  boolean flag(String name) {
    String v = record(name, "false", false);
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException(
          where(name) + " takes no value or true/false, got '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  int integer(String name, int fallback, int min, int max) {
    return bounded(name, fallback, min, max, "an integer", Integer::valueOf);
  }

  double number(String name, double fallback, double min, double max) {
    return bounded(name, fallback, min, max, "a number", Double::valueOf);
  }

  private <N extends Number> N bounded(
      String name, N fallback, N min, N max, String kind, Function<String, N> parse) {
    String v = record(name, String.valueOf(fallback), false);
    try {
      N x = parse.apply(v.trim());
      if (x.doubleValue() >= min.doubleValue() && x.doubleValue() <= max.doubleValue()) {
        return x;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        String.format("%s must be %s in [%s, %s], got '%s'", where(name), kind, min, max, v));
  }

  /**
   * How to name a setting in a message: {@code learner: --lr} for a flag or a default, {@code
   * rlstream.yaml learner.lr} for the file.
   */
  String where(String name) {
    if (!flags.containsKey(name) && fileValues.containsKey(name)) {
      return fileValues.get(name).origin();
    }
    return command + ": --" + name;
  }

  /** Records a setting that does not go through a flag (Kafka client properties) for printing. */
  void note(String name, ConfigFile.Setting s) {
    notes.put(name, Entry.of(name, s, false));
  }

  /**
   * Fails on any flag, or key of this command's own section of the config file, that was never
   * read. Call after reading every setting and before doing anything: under {@code --print-config}
   * it throws {@link Printed}.
   */
  void rejectUnknown() {
    for (String name : flags.keySet()) {
      if (!read.containsKey(name) && !OWN_FLAGS.contains(name)) {
        throw new IllegalArgumentException(
            command
                + ": unknown option --"
                + name
                + didYouMean(name, read.keySet())
                + "; see 'rlstream "
                + command
                + " --help'");
      }
    }
    for (String name : fileValues.keySet()) {
      if (!read.containsKey(name) && file.ownSection(section, name)) {
        throw new IllegalArgumentException(
            fileValues.get(name).origin()
                + " is not a setting of "
                + section
                + didYouMean(name, read.keySet())
                + "; 'rlstream "
                + command
                + " --help' lists them");
      }
    }
    if (print) {
      throw new Printed(this);
    }
  }

  private String record(String name, String fallback, boolean required) {
    Entry e;
    if (flags.containsKey(name)) {
      e = new Entry(flags.get(name), "flag --" + name, required, isSecret(name));
    } else if (fileValues.containsKey(name)) {
      e = Entry.of(name, fileValues.get(name), required);
    } else {
      e = new Entry(fallback, "default", required, isSecret(name));
    }
    // a first read may only ask whether it is set (has); a later one knows the default
    read.merge(name, e, (old, now) -> old.value() == null ? now : old);
    return e.value();
  }

  private static boolean isSecret(String name) {
    return SECRET.matcher(name).matches();
  }

  /** " (did you mean X?)" for the known name nearest to {@code name}, or "" when none is near. */
  static String didYouMean(String name, Collection<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = distance(name, k);
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    return best != null && bestDistance <= Math.max(2, name.length() / 3)
        ? " (did you mean " + best + "?)"
        : "";
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** The names of the settings read so far. */
  Set<String> read() {
    return read.keySet();
  }

  /**
   * The effective configuration as YAML a config file can hold: one section named after the
   * command, each setting with where its value came from; settings that are not set are commented
   * out, secrets and values from the environment masked. With {@code withClient}, first the Kafka
   * client properties under {@code kafka.client}.
   */
  void printYaml(PrintStream out, boolean withClient) {
    if (withClient && !notes.isEmpty()) {
      out.println(ConfigFile.KAFKA + ":");
      out.println("  " + ConfigFile.CLIENT + ":");
      notes.forEach((k, e) -> out.print(line("    ", k, e)));
    }
    out.println(section + ":");
    read.forEach((k, e) -> out.print(line("  ", k, e)));
  }

  private static String line(String indent, String key, Entry e) {
    if (e.value() == null) {
      return String.format(
          Locale.ROOT,
          "%s# %s:%s # %s%n",
          indent,
          key,
          " ".repeat(Math.max(1, 30 - indent.length() - key.length())),
          e.required() ? "REQUIRED, not set" : "not set");
    }
    String value = e.secret() ? "****" : e.value();
    String text = indent + key + ": " + yamlScalar(value);
    return String.format(
        Locale.ROOT, "%-46s # %s%n", text, e.secret() ? e.origin() + " (masked)" : e.origin());
  }

  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./@+-][A-Za-z0-9_./:@+=,-]*");

  private static String yamlScalar(String v) {
    if (PLAIN.matcher(v).matches() && !v.endsWith(":")) {
      return v;
    }
    return "'" + v.replace("'", "''") + "'";
  }
}
