package io.rlstream.judge.verifiers;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scores 1 when a completion's final answer equals the group's reference answer as a number, else
 * 0. The final answer is the content of the last {@code \boxed{...}}, else what follows the last
 * "answer is", else the whole trimmed completion; it must then be one number — an integer, a
 * decimal or a fraction {@code p/q} — so "85 or 86" scores 0 rather than being read generously.
 * Numbers compare by value ({@code 0.5 = 1/2 = .50}). A group without a reference answer is an
 * error, not a zero.
 */
public final class MathAnswerVerifier extends Verifier {
  private static final Pattern BOXED = Pattern.compile("\\\\boxed\\{([^{}]*)\\}");
  private static final Pattern ANSWER_IS =
      Pattern.compile("answer is[:\\s]*([^\\s]+)", Pattern.CASE_INSENSITIVE);
  private static final Pattern NUMBER =
      Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)(\\s*/\\s*[+-]?\\d+)?");

  public MathAnswerVerifier() {
    this("math");
  }

  public MathAnswerVerifier(String id) {
    super(id);
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    Optional<BigFraction> expected = parse(reference(group, "the math verifier"));
    if (expected.isEmpty()) {
      throw new IllegalArgumentException(
          "group "
              + group.getGroupId()
              + ": reference answer '"
              + group.getReferenceAnswer()
              + "' is not a number");
    }
    return c -> {
      String answer = finalAnswer(c.getText());
      return pass(c, parse(answer).map(expected.get()::equals).orElse(false), answer);
    };
  }

  /** The text that stands as the final answer of {@code completion}. */
  public static String finalAnswer(String completion) {
    String last = null;
    Matcher boxed = BOXED.matcher(completion);
    while (boxed.find()) {
      last = boxed.group(1);
    }
    if (last == null) {
      Matcher is = ANSWER_IS.matcher(completion);
      while (is.find()) {
        last = is.group(1).replaceAll("[.,;]+$", "");
      }
    }
    return (last == null ? completion : last).trim();
  }

  /** {@code text} as an exact number, or empty when it is not exactly one number. */
  static Optional<BigFraction> parse(String text) {
    String t = text.trim().replace(",", "");
    if (!NUMBER.matcher(t).matches()) {
      return Optional.empty();
    }
    int slash = t.indexOf('/');
    try {
      if (slash < 0) {
        return Optional.of(BigFraction.of(new BigDecimal(t)));
      }
      BigInteger q = new BigInteger(t.substring(slash + 1).trim());
      if (q.signum() == 0) {
        return Optional.empty();
      }
      return Optional.of(BigFraction.of(new BigDecimal(t.substring(0, slash).trim())).divide(q));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** An exact rational number in lowest terms with a positive denominator. */
  record BigFraction(BigInteger p, BigInteger q) {
    static BigFraction of(BigDecimal d) {
      BigDecimal s = d.stripTrailingZeros();
      return s.scale() <= 0
          ? reduce(s.toBigIntegerExact(), BigInteger.ONE)
          : reduce(s.unscaledValue(), BigInteger.TEN.pow(s.scale()));
    }

    BigFraction divide(BigInteger by) {
      return reduce(p, q.multiply(by));
    }

    static BigFraction reduce(BigInteger p, BigInteger q) {
      if (q.signum() < 0) {
        p = p.negate();
        q = q.negate();
      }
      BigInteger g = p.gcd(q);
      return g.signum() == 0 ? new BigFraction(p, q) : new BigFraction(p.divide(g), q.divide(g));
    }
  }
}
