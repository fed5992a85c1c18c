package io.rlstream.judge;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * How one judge is configured: its type (which {@link JudgeFactory} makes it), its id (what its
 * judgements are called), an optional version override and its parameters. Written on the command
 * line as {@code TYPE[,id=ID][,version=V][,KEY=VALUE...]}, e.g. {@code length,id=short,max=8}.
 */
public record JudgeSpec(String type, String id, String version, Map<String, String> params) {
  public JudgeSpec {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(id, "id");
    params = Map.copyOf(params);
    if (!id.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException(
          "judge id '" + id + "' must be letters, digits, '.', '_' or '-' (it names a group)");
    }
  }

  /** A spec with the type as id, no version override and no parameters. */
  public static JudgeSpec of(String type) {
    return new JudgeSpec(type, type, null, Map.of());
  }

  /** Reads {@code TYPE[,id=ID][,version=V][,KEY=VALUE...]}. */
  public static JudgeSpec parse(String text) {
    String[] parts = text.split(",");
    String type = parts[0].trim();
    if (type.isEmpty()) {
      throw new IllegalArgumentException("judge spec '" + text + "' has no type");
    }
    String id = type;
    String version = null;
    Map<String, String> params = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(
            "judge spec '" + text + "': '" + parts[i] + "' is not KEY=VALUE");
      }
      String k = parts[i].substring(0, eq).trim();
      String v = parts[i].substring(eq + 1).trim();
      switch (k) {
        case "id" -> id = v;
        case "version" -> version = v;
        default -> params.put(k, v);
      }
    }
    return new JudgeSpec(type, id, version, params);
  }

  /** This spec with one more parameter. */
  public JudgeSpec with(String key, String value) {
    Map<String, String> p = new LinkedHashMap<>(params);
    p.put(key, value);
    return new JudgeSpec(type, id, version, p);
  }

  /** The version to write: the override if given, else the implementation's. */
  public String versionOr(String implementation) {
    return version == null ? implementation : version;
  }

  /** Fails naming the parameters that {@code known} does not list. */
  public void checkKnown(Set<String> known) {
    Set<String> unknown = new TreeSet<>(params.keySet());
    unknown.removeAll(known);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          "judge '"
              + id
              + "' (type "
              + type
              + ") does not know parameter(s) "
              + unknown
              + "; it takes "
              + new TreeSet<>(known));
    }
  }

  public String string(String key, String fallback) {
    return params.getOrDefault(key, fallback);
  }

  public String required(String key) {
    String v = params.get(key);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException(
          "judge '" + id + "' (type " + type + ") needs parameter " + key + "=...");
    }
    return v;
  }

  public double number(String key, double fallback) {
    String v = params.get(key);
    if (v == null) {
      return fallback;
    }
    try {
      double d = Double.parseDouble(v);
      if (!Double.isFinite(d)) {
        throw new NumberFormatException("not finite");
      }
      return d;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "judge '" + id + "': parameter " + key + "=" + v + " is not a number", e);
    }
  }

  public int integer(String key, int fallback) {
    String v = params.get(key);
    if (v == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "judge '" + id + "': parameter " + key + "=" + v + " is not an integer", e);
    }
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(type);
    if (!id.equals(type)) {
      b.append(",id=").append(id);
    }
    if (version != null) {
      b.append(",version=").append(version);
    }
    params.forEach((k, v) -> b.append(',').append(k).append('=').append(v));
    return b.toString();
  }
}
