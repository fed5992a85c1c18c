package io.rlstream.judge.verifiers;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Scores 1 when a completion has the required format, else 0: the given tags, each exactly once, in
 * the given order, each closed, not nested in one another, non-empty, with only white space between
 * and around them — e.g. tags {@code think,answer} accept {@code <think>…</think>
 * <answer>…</answer>} (the DeepSeek-R1 format reward). The rationale names the first problem.
 */
public final class FormatVerifier extends Verifier {
  private final List<String> tags;
  private final Pattern anyTag;

  public FormatVerifier(String id, List<String> tags) {
    super(id);
    if (tags.isEmpty()) {
      throw new IllegalArgumentException("judge " + id + ": give at least one tag");
    }
    for (String t : tags) {
      if (!t.matches("[A-Za-z][A-Za-z0-9_-]*")) {
        throw new IllegalArgumentException("judge " + id + ": '" + t + "' is not a tag name");
      }
    }
    this.tags = List.copyOf(tags);
    this.anyTag = Pattern.compile("</?(" + String.join("|", tags) + ")>");
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    return c -> {
      String problem = problem(c.getText());
      return pass(c, problem == null, problem);
    };
  }

  /** The first thing wrong with {@code text}, or null if its format is right. */
  String problem(String text) {
    var m = anyTag.matcher(text);
    int at = 0;
    int expected = 0;
    while (m.find()) {
      String tag = m.group(1);
      boolean closing = m.group().startsWith("</");
      String between = text.substring(at, m.start());
      if (expected % 2 == 0) { // outside any tag: only white space, then the next opening tag
        if (!between.isBlank()) {
          return "text outside the tags before " + m.group();
        }
        if (expected / 2 >= tags.size()) {
          return "unexpected " + m.group() + " after the last tag";
        }
        String want = tags.get(expected / 2);
        if (closing || !tag.equals(want)) {
          return "expected <" + want + "> but found " + m.group();
        }
      } else { // inside tag expected/2: content, then its closing tag and nothing else
        String want = tags.get(expected / 2);
        if (!closing || !tag.equals(want)) {
          return "expected </" + want + "> but found " + m.group();
        }
        if (between.isBlank()) {
          return "<" + want + "> is empty";
        }
      }
      expected++;
      at = m.end();
    }
    if (expected < 2 * tags.size()) {
      return expected % 2 == 1
          ? "<" + tags.get(expected / 2) + "> is not closed"
          : "missing <" + tags.get(expected / 2) + ">";
    }
    return text.substring(at).isBlank() ? null : "text after the last tag";
  }
}
