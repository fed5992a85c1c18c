package io.rlstream.app;

import java.io.PrintStream;

/**
 * A benchmark run as {@code rlstream bench NAME}; providers register in {@code
 * META-INF/services/io.rlstream.app.BenchCommand}. Each ends its output with one {@code RESULT NAME
 * key=value ...} line.
 */
public interface BenchCommand {
  String name();

  /** One line for the bench list. */
  String description();

  void run(String[] args, PrintStream out) throws Exception;
}
