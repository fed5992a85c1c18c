package io.rlstream.generator;

import java.util.Objects;

/**
 * One prompt of a task: what the generator samples from and, for verifiable tasks, the answer a
 * verifier checks against.
 *
 * @param taskId the task or dataset, e.g. {@code arith}
 * @param id unique within the task
 * @param text the prompt text as the policy sees it (no special tokens)
 * @param answer the reference answer, or null when the task has none
 */
public record Prompt(String taskId, String id, String text, String answer) {
  public Prompt {
    Objects.requireNonNull(taskId, "taskId");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(text, "text");
    if (text.isEmpty()) {
      throw new IllegalArgumentException("prompt " + id + " has empty text");
    }
  }
}
