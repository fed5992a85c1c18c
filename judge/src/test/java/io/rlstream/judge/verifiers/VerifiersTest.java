package io.rlstream.judge.verifiers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rlstream.judge.Groups;
import io.rlstream.judge.JudgeSpec;
import io.rlstream.judge.Judges;
import io.rlstream.judge.PointwiseJudge;
import io.rlstream.schemas.CompletionScore;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Table-driven checks of each rule verifier, adversarial cases included. */
class VerifiersTest {

  private static double score(PointwiseJudge j, String reference, String text) {
    List<CompletionScore> s = j.score(Groups.group(reference, List.of(text)));
    return s.get(0).getScore();
  }

  @ParameterizedTest(name = "exact [{0}] vs [{1}] -> {2}")
  @CsvSource(
      delimiter = '|',
      value = {
        "Paris|Paris|1",
        "'  paris  '|Paris|1",
        "The answer is Paris.|Paris|1",
        "\\boxed{Paris}|Paris|1",
        "New   York|new york|1",
        "Paris, France|Paris|0",
        "Pariss|Paris|0",
        "''|Paris|0",
        "\\boxed{London} answer is Paris|Paris|0",
        "Ｐａｒｉｓ|Paris|1", // full-width letters: NFKC-equal
      })
  void exactMatch(String text, String reference, int expected) {
    assertThat(score(new ExactMatchVerifier("exact", true, false), reference, text))
        .isEqualTo(expected);
  }

  @Test
  void exactMatchCaseSensitiveAndWhole() {
    assertThat(score(new ExactMatchVerifier("e", false, true), "Paris", "paris")).isZero();
    assertThat(score(new ExactMatchVerifier("e", false, true), "Paris", "the answer is Paris"))
        .isZero();
  }

  @ParameterizedTest(name = "regex [{0}] on [{1}] whole={2} -> {3}")
  @CsvSource(
      delimiter = '|',
      value = {
        "\\d{3}-\\d{4}|call 555-1234 now|false|1",
        "\\d{3}-\\d{4}|call 555-1234 now|true|0",
        "\\d{3}-\\d{4}|555-1234|true|1",
        "answer: {reference}$|answer: 7|false|1",
        "answer: {reference}$|answer: 77|false|0",
        "^{reference}$|7|false|1",
      })
  void regexMatch(String pattern, String text, boolean whole, int expected) {
    assertThat(score(new RegexMatchVerifier("re", pattern, whole, 1_000_000), "7", text))
        .isEqualTo(expected);
  }

  @Test
  void regexReferenceIsQuotedNotInterpreted() {
    RegexMatchVerifier v = new RegexMatchVerifier("re", "^{reference}$", false, 1_000_000);
    assertThat(score(v, "a.c", "abc")).isZero(); // '.' of the reference is literal
    assertThat(score(v, "a.c", "a.c")).isEqualTo(1);
  }

  @Test
  void catastrophicBacktrackingIsAnErrorNotAHang() {
    // a backreference defeats the JDK's loop memoisation: 2 s at 22 characters, doubling per char
    RegexMatchVerifier v = new RegexMatchVerifier("re", "^((a+)\\2?)+$", false, 100_000);
    assertThatThrownBy(() -> score(v, "7", "a".repeat(40) + "!"))
        .hasMessageContaining("step budget");
  }

  @Test
  void badPatternFailsAtConfiguration() {
    assertThatThrownBy(() -> Judges.create(JudgeSpec.parse("regex,pattern=(unclosed")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a regular expression");
  }

  @ParameterizedTest(name = "format [{0}] -> {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "<think>a</think><answer>7</answer>|1",
        "'  <think>a</think>\n<answer>7</answer>\n'|1",
        "<answer>7</answer><think>a</think>|0",
        "<think>a</think>|0",
        "<think>a<answer>7</answer></think>|0",
        "<think>a</think><answer>7</answer><answer>8</answer>|0",
        "<think></think><answer>7</answer>|0",
        "<think>a</think>x<answer>7</answer>|0",
        "<think>a</think><answer>7|0",
        "<think>a</think><answer>7</answer> trailing|0",
        "<THINK>a</THINK><answer>7</answer>|0",
        "<think>a</think><answer>7</answer|0",
        "<think>a <b>bold</b></think><answer>7</answer>|1",
      })
  void requiredFormat(String text, int expected) {
    assertThat(score(new FormatVerifier("fmt", List.of("think", "answer")), "7", text))
        .isEqualTo(expected);
  }

  @Test
  void formatRationaleNamesTheProblem() {
    FormatVerifier v = new FormatVerifier("fmt", List.of("think", "answer"));
    assertThat(v.problem("<think>a</think>")).isEqualTo("missing <answer>");
    assertThat(v.problem("<think>a")).isEqualTo("<think> is not closed");
  }

  @ParameterizedTest(name = "length {0} tokens -> {1}")
  @CsvSource({"1,0", "6,0", "7,-0.25", "8,-0.5", "10,-1", "11,-1", "1000,-1"})
  void overlongPenalty(int tokens, double expected) {
    assertThat(new LengthPenalty("len", 10, 4, false).penalty(tokens))
        .isCloseTo(expected, within(1e-12));
  }

  @Test
  void truncatedCompletionIsOverlongWhateverItsLength() {
    var group = Groups.group("7", List.of("ab"));
    group.getCompletions().get(0).setFinishReason(io.rlstream.schemas.FinishReason.LENGTH);
    assertThat(new LengthPenalty("len", 10, 4, true).score(group).get(0).getScore()).isEqualTo(-1);
    assertThat(new LengthPenalty("len", 10, 4, false).score(group).get(0).getScore()).isZero();
  }

  private static final String SCHEMA =
      """
      {"type": "object",
       "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
       "required": ["name", "age"], "additionalProperties": false}
      """;

  @ParameterizedTest(name = "json [{0}] -> {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"name\": \"a\", \"age\": 3}|1",
        "'```json\n{\"name\": \"a\", \"age\": 3}\n```'|1",
        "{\"name\": \"a\"}|0",
        "{\"name\": \"a\", \"age\": -1}|0",
        "{\"name\": \"a\", \"age\": 3.5}|0",
        "{\"name\": \"a\", \"age\": 3, \"x\": 1}|0",
        "{\"name\": \"a\", \"age\": 3} {}|0",
        "{\"name\": \"a\", \"name\": \"b\", \"age\": 3}|0",
        "{'name': 'a', 'age': 3}|0",
        "{\"name\": \"a\", \"age\": 3|0",
        "''|0",
        "[1, 2]|0",
      })
  void jsonAgainstSchema(String text, int expected) {
    assertThat(score(new JsonSchemaVerifier("json", SCHEMA), "7", text)).isEqualTo(expected);
  }

  @Test
  void toolCostPrefersFewerCallsAmongCorrectAnswers() {
    ToolCostVerifier v = new ToolCostVerifier("otc", new MathAnswerVerifier(), "<tool_call>", 1.0);
    double none = score(v, "7", "answer is 7");
    double one = score(v, "7", "<tool_call>calc</tool_call> answer is 7");
    double three = score(v, "7", "<tool_call>a<tool_call>b<tool_call>c answer is 7");
    double wrongNoCalls = score(v, "7", "answer is 8");
    assertThat(none).isEqualTo(1.0);
    assertThat(one).isCloseTo(0.5, within(1e-12)); // cos(pi/3)
    assertThat(three).isLessThan(one).isGreaterThan(0);
    assertThat(wrongNoCalls).isZero(); // fewer calls never rescue a wrong answer
  }

  @Test
  void everyVerifierTypeIsFoundByServiceLoaderAndRefusesUnknownParameters() {
    assertThat(Judges.factories().keySet())
        .contains("math", "exact", "regex", "format", "length", "json-schema", "tool-cost");
    assertThatThrownBy(() -> Judges.create(JudgeSpec.parse("length,maxx=3")))
        .hasMessageContaining("maxx")
        .hasMessageContaining("max");
    assertThatThrownBy(() -> Judges.create(JudgeSpec.parse("nope")))
        .hasMessageContaining("known types");
    assertThat(Judges.create(JudgeSpec.parse("length,id=short,version=2,max=8")).version())
        .isEqualTo("2");
  }
}
