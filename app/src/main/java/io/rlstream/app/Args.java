package io.rlstream.app;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Command-line flags of one subcommand: {@code --name value} or {@code --name=value}, and bare
 * {@code --flag} for booleans. Every flag read is checked: an unknown flag or a malformed value
 * fails with a message that names the flag and what would be right.
 */
final class Args {
  private final String command;
  private final Map<String, String> values = new LinkedHashMap<>();
  private final Set<String> used = new LinkedHashSet<>();

  Args(String command, String[] args) {
    this.command = command;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException(command + ": unexpected argument '" + a + "'");
      }
      String name = a.substring(2);
      int eq = name.indexOf('=');
      if (eq >= 0) {
        values.put(name.substring(0, eq), name.substring(eq + 1));
      } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
        values.put(name, args[++i]);
      } else {
        values.put(name, "true");
      }
    }
  }

  boolean help() {
    return values.containsKey("help") || values.containsKey("h");
  }

  String string(String name, String fallback) {
    used.add(name);
    return values.getOrDefault(name, fallback);
  }

  /** Whether the flag was given (and so is not unknown). */
  boolean has(String name) {
    used.add(name);
    return values.containsKey(name);
  }

  boolean flag(String name) {
    used.add(name);
    String v = values.get(name);
    if (v == null) {
      return false;
    }
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException(
          command + ": --" + name + " takes no value or true/false, got '" + v + "'");
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
    used.add(name);
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      N x = parse.apply(v);
      if (x.doubleValue() >= min.doubleValue() && x.doubleValue() <= max.doubleValue()) {
        return x;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        String.format(
            "%s: --%s must be %s in [%s, %s], got '%s'", command, name, kind, min, max, v));
  }

  /** Fails on any flag that was given but never read. Call after reading every flag. */
  void rejectUnknown() {
    for (String name : values.keySet()) {
      if (!used.contains(name) && !name.equals("help") && !name.equals("h")) {
        throw new IllegalArgumentException(
            command + ": unknown option --" + name + "; see 'rlstream " + command + " --help'");
      }
    }
  }
}
