package io.rlstream.judge.verifiers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rlstream.judge.Groups;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MathAnswerVerifierTest {

  @ParameterizedTest(name = "[{0}] vs {1} -> {2}")
  @CsvSource(
      delimiter = '|',
      value = {
        "85|85|1",
        "' 85 '|85|1",
        "86|85|0",
        "085|85|1",
        "85.0|85|1",
        "85.50|85.5|1",
        "1/2|0.5|1",
        "2/4|.5|1",
        "-3|-3|1",
        "3|-3|0",
        "85 86|85|0",
        "85 or 86|85|0",
        "8 5|85|0",
        "the answer is 85.|85|1",
        "The answer is: 85|85|1",
        "answer is 84, no, the answer is 85|85|1",
        "\\boxed{85}|85|1",
        "\\boxed{84} then \\boxed{85}|85|1",
        "\\boxed{85} but answer is 84|85|1",
        "1,000|1000|1",
        "1/0|0|0",
        "''|85|0",
        "eighty-five|85|0",
        "85abc|85|0",
        "850|85|0",
        "0x55|85|0",
        "8.5e1|85|0",
      })
  void scoresTheFinalAnswerByValue(String completion, String reference, int expected) {
    assertThat(score(reference, completion)).isEqualTo(expected);
  }

  @Test
  void groupWithoutReferenceIsAnErrorNotAZero() {
    assertThatThrownBy(() -> new MathAnswerVerifier().score(group(null, List.of("85"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no reference answer");
  }

  @Test
  void nonNumericReferenceIsAnError() {
    assertThatThrownBy(() -> new MathAnswerVerifier().score(group("abc", List.of("85"))))
        .hasMessageContaining("not a number");
  }

  @Test
  void oneScorePerCompletionInOrderWithTheExtractedAnswerAsRationale() {
    List<CompletionScore> s =
        new MathAnswerVerifier().score(group("7", List.of("7", "answer is 8", "\\boxed{7}")));
    assertThat(s).extracting(CompletionScore::getScore).containsExactly(1.0, 0.0, 1.0);
    assertThat(s).extracting(CompletionScore::getCompletionIndex).containsExactly(0, 1, 2);
    assertThat(s).extracting(CompletionScore::getRationale).containsExactly("7", "8", "7");
  }

  private static double score(String reference, String completion) {
    return new MathAnswerVerifier().score(group(reference, List.of(completion))).get(0).getScore();
  }

  static SampleGroup group(String reference, List<String> texts) {
    return Groups.group(reference, texts);
  }
}
