package io.rlstream.judge.verifiers;

import io.rlstream.judge.PointwiseJudge;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Scores 1 when a completion's answer equals the group's reference answer as text, else 0. The
 * answer is the final answer ({@code \boxed{}}, "answer is", else the whole text; see {@link
 * MathAnswerVerifier}) or the whole completion; both sides are NFKC-normalised, trimmed and have
 * runs of white space collapsed, and compare case-insensitively unless told otherwise.
 */
public final class ExactMatchVerifier implements PointwiseJudge {
  private final String id;
  private final boolean finalAnswerOnly;
  private final boolean caseSensitive;

  public ExactMatchVerifier(String id, boolean finalAnswerOnly, boolean caseSensitive) {
    this.id = id;
    this.finalAnswerOnly = finalAnswerOnly;
    this.caseSensitive = caseSensitive;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String version() {
    return "1";
  }

  @Override
  public List<CompletionScore> score(SampleGroup group) {
    if (group.getReferenceAnswer() == null) {
      throw new IllegalArgumentException(
          "group " + group.getGroupId() + " has no reference answer: exact match needs one");
    }
    String expected = normal(group.getReferenceAnswer());
    List<CompletionScore> out = new ArrayList<>();
    for (Completion c : group.getCompletions()) {
      String answer =
          finalAnswerOnly ? MathAnswerVerifier.finalAnswer(c.getText()) : c.getText().trim();
      boolean same = normal(answer).equals(expected);
      out.add(new CompletionScore(c.getIndex(), same ? 1.0 : 0.0, answer));
    }
    return out;
  }

  private String normal(String s) {
    String n = Normalizer.normalize(s, Normalizer.Form.NFKC).trim().replaceAll("\\s+", " ");
    return caseSensitive ? n : n.toLowerCase(Locale.ROOT);
  }
}
