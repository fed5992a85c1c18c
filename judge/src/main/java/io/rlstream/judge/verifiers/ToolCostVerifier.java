package io.rlstream.judge.verifiers;

import io.rlstream.judge.PointwiseJudge;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Correctness with a tool-cost term, after OTC (Wang et al. 2025, "Acting Less is Reasoning More"):
 * a correct answer scores cos(m·π / (2m + c)) for m tool calls — 1 with no call, then falling
 * towards 0 as calls grow — and a wrong one scores 0, so of two correct answers the one with fewer
 * tool calls scores higher. Correctness comes from a wrapped verifier; tool calls are counted as
 * matches of a pattern (default {@code <tool_call>}).
 */
public final class ToolCostVerifier extends Verifier {
  private final PointwiseJudge correctness;
  private final Pattern call;
  private final double c;

  public ToolCostVerifier(String id, PointwiseJudge correctness, String callPattern, double c) {
    super(id);
    if (!(c > 0)) {
      throw new IllegalArgumentException("judge " + id + ": c must be > 0, got " + c);
    }
    this.correctness = correctness;
    this.call = Pattern.compile(callPattern);
    this.c = c;
  }

  @Override
  public String version() {
    return "1+" + correctness.id() + "-" + correctness.version();
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    List<CompletionScore> right = correctness.score(group);
    return comp -> {
      int m = calls(comp.getText());
      double correct = right.get(comp.getIndex()).getScore();
      return new CompletionScore(comp.getIndex(), correct > 0 ? weight(m) : 0.0, m + " tool calls");
    };
  }

  int calls(String text) {
    Matcher m = call.matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  double weight(int m) {
    return Math.cos(m * Math.PI / (2.0 * m + c));
  }
}
