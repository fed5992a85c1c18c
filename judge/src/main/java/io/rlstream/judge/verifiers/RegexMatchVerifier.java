package io.rlstream.judge.verifiers;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Scores 1 when a completion matches a regular expression (anywhere, or as a whole), else 0. The
 * pattern may use {@code {reference}}, replaced by the group's reference answer quoted literally.
 * Completions are written by the policy, so a pattern with catastrophic backtracking could be made
 * to run for ever: matching is bounded by a step budget and a completion that exhausts it is an
 * error (dead-lettered), not a silent 0.
 */
public final class RegexMatchVerifier extends Verifier {
  private final String pattern;
  private final boolean whole;
  private final long budget;
  private final Pattern fixed; // null when the pattern uses {reference}

  /**
   * @param whole the whole completion must match, not just a part
   * @param budget characters the matcher may read per completion before giving up
   */
  public RegexMatchVerifier(String id, String pattern, boolean whole, long budget) {
    super(id);
    this.pattern = pattern;
    this.whole = whole;
    this.budget = budget;
    try {
      this.fixed = pattern.contains("{reference}") ? null : Pattern.compile(pattern);
      if (fixed == null) {
        Pattern.compile(pattern.replace("{reference}", "x"));
      }
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "judge " + id + ": pattern is not a regular expression: " + e.getMessage(), e);
    }
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    Pattern p =
        fixed != null
            ? fixed
            : Pattern.compile(
                pattern.replace(
                    "{reference}", Pattern.quote(reference(group, "a pattern with {reference}"))));
    return c -> {
      var m = p.matcher(new Budgeted(c.getText(), budget));
      return pass(c, whole ? m.matches() : m.find(), null);
    };
  }

  /** A string that fails once read more than a budget of characters. */
  static final class Budgeted implements CharSequence {
    private final String s;
    private final long[] left;

    Budgeted(String s, long budget) {
      this(s, new long[] {budget});
    }

    private Budgeted(String s, long[] left) {
      this.s = s;
      this.left = left;
    }

    @Override
    public char charAt(int index) {
      if (--left[0] < 0) {
        throw new IllegalStateException(
            "regular expression gave up: more than its step budget on a "
                + s.length()
                + "-character completion (catastrophic backtracking?)");
      }
      return s.charAt(index);
    }

    @Override
    public int length() {
      return s.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return new Budgeted(s.substring(start, end), left);
    }

    @Override
    public String toString() {
      return s;
    }
  }
}
