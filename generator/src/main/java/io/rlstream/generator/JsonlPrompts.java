package io.rlstream.generator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads prompts from a JSON Lines file, one object per line: {@code {"prompt": "...", "answer":
 * "..."}} with an optional {@code "id"} (default: the line number). Blank lines are skipped; any
 * other malformed line fails the whole read with its line number, so a bad dataset is found at
 * start-up rather than mid-run.
 */
public final class JsonlPrompts {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonlPrompts() {}

  /** The prompts of {@code file}, tagged with {@code taskId}. */
  public static List<Prompt> read(Path file, String taskId) {
    List<Prompt> out = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int number = 0;
      while ((line = in.readLine()) != null) {
        number++;
        if (!line.isBlank()) {
          out.add(parse(line, number, file, taskId));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read prompts from " + file + ": " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(file + " holds no prompts");
    }
    return out;
  }

  private static Prompt parse(String line, int number, Path file, String taskId) {
    String where = file + " line " + number + ": ";
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(where + "not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(where + "expected a JSON object");
    }
    JsonNode prompt = node.get("prompt");
    if (prompt == null || !prompt.isTextual() || prompt.asText().isEmpty()) {
      throw new IllegalArgumentException(where + "needs a non-empty string field \"prompt\"");
    }
    JsonNode answer = node.get("answer");
    if (answer != null && !answer.isNull() && !answer.isValueNode()) {
      throw new IllegalArgumentException(where + "\"answer\" must be a string or a number");
    }
    JsonNode id = node.get("id");
    return new Prompt(
        taskId,
        id == null || id.isNull() ? Integer.toString(number) : id.asText(),
        prompt.asText(),
        answer == null || answer.isNull() ? null : answer.asText());
  }
}
