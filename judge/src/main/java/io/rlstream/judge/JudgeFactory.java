package io.rlstream.judge;

import java.util.Set;

/**
 * Makes judges of one type; found by {@link java.util.ServiceLoader} (list the implementation in
 * {@code META-INF/services/io.rlstream.judge.JudgeFactory}), so a judge in its own jar joins by
 * being on the classpath.
 */
public interface JudgeFactory {
  /** The type name a {@link JudgeSpec} asks for, e.g. {@code math}. */
  String type();

  /** One line for {@code --help}: what the judge does and its parameters. */
  String description();

  /** The parameters {@link #create} reads; any other is refused. */
  Set<String> parameters();

  /** A judge for {@code spec}; throws {@link IllegalArgumentException} naming a bad parameter. */
  Judge create(JudgeSpec spec);
}
