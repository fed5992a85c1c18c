package io.rlstream.generator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * An endless stream of prompts over a fixed list: each pass is a fresh seeded shuffle, so every
 * prompt is used once per pass and two runs with the same seed see the same order.
 */
public final class PromptSource {
  private final List<Prompt> prompts;
  private final Random random;
  private final List<Prompt> order = new ArrayList<>();
  private int next;
  private long served;

  public PromptSource(List<Prompt> prompts, long seed) {
    Objects.requireNonNull(prompts, "prompts");
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("a prompt source needs at least one prompt");
    }
    this.prompts = List.copyOf(prompts);
    this.random = new Random(seed);
  }

  /** The next {@code n} prompts. */
  public synchronized List<Prompt> next(int n) {
    List<Prompt> out = new ArrayList<>(n);
    while (out.size() < n) {
      if (next == order.size()) {
        order.clear();
        order.addAll(prompts);
        Collections.shuffle(order, random);
        next = 0;
      }
      out.add(order.get(next++));
    }
    served += n;
    return out;
  }

  /** Prompts served so far. */
  public synchronized long served() {
    return served;
  }

  public int size() {
    return prompts.size();
  }
}
