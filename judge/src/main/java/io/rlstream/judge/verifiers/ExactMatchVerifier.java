package io.rlstream.judge.verifiers;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.text.Normalizer;
import java.util.Locale;
import java.util.function.Function;

/**
 * Scores 1 when a completion's answer equals the group's reference answer as text, else 0. The
 * answer is the final answer ({@code \boxed{}}, "answer is", else the whole text; see {@link
 * MathAnswerVerifier}) or the whole completion; both sides are NFKC-normalised, trimmed and have
 * runs of white space collapsed, and compare case-insensitively unless told otherwise.
 */
public final class ExactMatchVerifier extends Verifier {
  private final boolean finalAnswerOnly;
  private final boolean caseSensitive;

  public ExactMatchVerifier(String id, boolean finalAnswerOnly, boolean caseSensitive) {
    super(id);
    this.finalAnswerOnly = finalAnswerOnly;
    this.caseSensitive = caseSensitive;
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    String expected = normal(reference(group, "exact match"));
    return c -> {
      String answer =
          finalAnswerOnly ? MathAnswerVerifier.finalAnswer(c.getText()) : c.getText().trim();
      return pass(c, normal(answer).equals(expected), answer);
    };
  }

  private String normal(String s) {
    String n = Normalizer.normalize(s, Normalizer.Form.NFKC).trim().replaceAll("\\s+", " ");
    return caseSensitive ? n : n.toLowerCase(Locale.ROOT);
  }
}
