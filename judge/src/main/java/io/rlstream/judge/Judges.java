package io.rlstream.judge;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The judge types on the classpath, found by {@link ServiceLoader}. */
public final class Judges {
  private Judges() {}

  /** Every {@link JudgeFactory} on the classpath, by type. */
  public static Map<String, JudgeFactory> factories() {
    Map<String, JudgeFactory> out = new TreeMap<>();
    for (JudgeFactory f : ServiceLoader.load(JudgeFactory.class)) {
      JudgeFactory clash = out.putIfAbsent(f.type(), f);
      if (clash != null) {
        throw new IllegalStateException(
            "two judge factories claim type '"
                + f.type()
                + "': "
                + clash.getClass().getName()
                + " and "
                + f.getClass().getName());
      }
    }
    return out;
  }

  /** The judge {@code spec} describes; an unknown type or parameter fails naming what exists. */
  public static Judge create(JudgeSpec spec) {
    Map<String, JudgeFactory> all = factories();
    JudgeFactory f = all.get(spec.type());
    if (f == null) {
      throw new IllegalArgumentException(
          "no judge type '" + spec.type() + "' on the classpath; known types: " + all.keySet());
    }
    spec.checkKnown(f.parameters());
    return f.create(spec);
  }

  /** {@code --help} text listing every judge type. */
  public static String help() {
    StringBuilder b = new StringBuilder();
    factories().forEach((t, f) -> b.append(String.format("  %-14s %s%n", t, f.description())));
    return b.toString();
  }
}
