package io.rlstream.generator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The built-in verifiable task: integer addition written as {@code 37+48=} with the sum as the
 * answer. Every pair of operands in {@code [0, maxOperand]} is one problem; a seeded shuffle puts a
 * tenth of them in the held-out split and the rest in the training split, so no evaluated problem
 * is ever trained on.
 */
public final class ArithmeticTask {
  public static final String TASK_ID = "arith";

  private final List<Prompt> train;
  private final List<Prompt> heldOut;

  /**
   * @param maxOperand largest operand (99 gives the 10,000 two-digit problems)
   * @param seed chooses the split
   */
  public ArithmeticTask(int maxOperand, long seed) {
    if (maxOperand < 3 || maxOperand > 9_999) {
      throw new IllegalArgumentException("maxOperand must be in [3, 9999], got " + maxOperand);
    }
    List<Prompt> all = new ArrayList<>();
    for (int a = 0; a <= maxOperand; a++) {
      for (int b = 0; b <= maxOperand; b++) {
        all.add(problem(a, b));
      }
    }
    Collections.shuffle(all, new Random(seed));
    int cut = all.size() / 10;
    this.heldOut = List.copyOf(all.subList(0, cut));
    this.train = List.copyOf(all.subList(cut, all.size()));
  }

  /** The default task: two-digit operands, split seed 0. */
  public static ArithmeticTask twoDigit() {
    return new ArithmeticTask(99, 0);
  }

  /** The problem {@code a+b=}. */
  public static Prompt problem(int a, int b) {
    return new Prompt(TASK_ID, a + "+" + b, a + "+" + b + "=", Integer.toString(a + b));
  }

  /** Problems that may be trained on, in a fixed shuffled order. */
  public List<Prompt> train() {
    return train;
  }

  /** The first {@code n} held-out problems (a tenth of all problems at most). */
  public List<Prompt> heldOut(int n) {
    if (n < 1 || n > heldOut.size()) {
      throw new IllegalArgumentException(
          "held-out size must be in [1, " + heldOut.size() + "], got " + n);
    }
    return heldOut.subList(0, n);
  }
}
