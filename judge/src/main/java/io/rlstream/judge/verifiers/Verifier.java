package io.rlstream.judge.verifiers;

import io.rlstream.judge.PointwiseJudge;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.util.List;
import java.util.function.Function;

/**
 * A rule verifier: prepares a rule once per group (the parsed reference answer, a compiled pattern)
 * and applies it to each completion, one score per completion in order.
 */
public abstract class Verifier implements PointwiseJudge {
  private final String id;

  protected Verifier(String id) {
    this.id = id;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String version() {
    return "1";
  }

  /** The rule for {@code group}; throws when the group cannot be judged (no reference answer). */
  protected abstract Function<Completion, CompletionScore> rule(SampleGroup group);

  @Override
  public final List<CompletionScore> score(SampleGroup group) {
    return group.getCompletions().stream().map(rule(group)).toList();
  }

  /** The group's reference answer; its absence is an error naming what needed it. */
  protected static String reference(SampleGroup group, String neededBy) {
    if (group.getReferenceAnswer() == null) {
      throw new IllegalArgumentException(
          "group " + group.getGroupId() + " has no reference answer: " + neededBy + " needs one");
    }
    return group.getReferenceAnswer();
  }

  /** 1 if {@code ok}, else 0. */
  protected static CompletionScore pass(Completion c, boolean ok, String rationale) {
    return new CompletionScore(c.getIndex(), ok ? 1.0 : 0.0, rationale);
  }
}
