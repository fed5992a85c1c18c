package io.rlstream.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TasksTest {
  @TempDir Path dir;

  @Test
  void arithmeticSplitsAreDisjointCompleteAndSeeded() {
    ArithmeticTask t = ArithmeticTask.twoDigit();
    assertThat(t.train()).hasSize(9000);
    List<Prompt> held = t.heldOut(1000);
    Set<String> train = new HashSet<>();
    t.train().forEach(p -> train.add(p.text()));
    assertThat(held).noneMatch(p -> train.contains(p.text()));
    assertThat(train).hasSize(9000);
    assertThat(ArithmeticTask.twoDigit().heldOut(5)).isEqualTo(t.heldOut(5));
    assertThat(new ArithmeticTask(99, 1).heldOut(5)).isNotEqualTo(t.heldOut(5));
    Prompt p = ArithmeticTask.problem(37, 48);
    assertThat(p.text()).isEqualTo("37+48=");
    assertThat(p.answer()).isEqualTo("85");
    assertThatThrownBy(() -> t.heldOut(1001)).hasMessageContaining("[1, 1000]");
  }

  @Test
  void promptSourceUsesEveryPromptOncePerPass() {
    List<Prompt> all = new ArithmeticTask(9, 0).train();
    PromptSource s = new PromptSource(all, 3);
    Set<Prompt> pass = new HashSet<>(s.next(all.size()));
    assertThat(pass).hasSize(all.size());
    assertThat(new PromptSource(all, 3).next(10)).isEqualTo(new PromptSource(all, 3).next(10));
    assertThat(s.served()).isEqualTo(all.size());
  }

  @Test
  void jsonlReadsPromptsAnswersAndIds() throws Exception {
    Path f = dir.resolve("p.jsonl");
    Files.writeString(
        f,
        "{\"prompt\": \"2+2=\", \"answer\": \"4\"}\n\n{\"id\": \"x\", \"prompt\": \"hi\", \"answer\": 7}\n{\"prompt\": \"open\"}\n");
    List<Prompt> ps = JsonlPrompts.read(f, "mine");
    assertThat(ps)
        .containsExactly(
            new Prompt("mine", "1", "2+2=", "4"),
            new Prompt("mine", "x", "hi", "7"),
            new Prompt("mine", "4", "open", null));
  }

  @Test
  void jsonlErrorsNameTheLine() throws Exception {
    Path f = dir.resolve("bad.jsonl");
    Files.writeString(f, "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n");
    assertThatThrownBy(() -> JsonlPrompts.read(f, "t"))
        .hasMessageContaining("line 2")
        .hasMessageContaining("\"prompt\"");
    Files.writeString(f, "{\"prompt\": \"ok\"}\nnot json\n");
    assertThatThrownBy(() -> JsonlPrompts.read(f, "t"))
        .hasMessageContaining("line 2: not valid JSON");
    Files.writeString(f, "\n\n");
    assertThatThrownBy(() -> JsonlPrompts.read(f, "t")).hasMessageContaining("holds no prompts");
  }
}
