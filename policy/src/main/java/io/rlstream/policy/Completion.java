package io.rlstream.policy;

/**
 * One sampled completion.
 *
 * @param tokens the new token ids, a stop token included when one ended the completion
 * @param logProbs per token, log π(token | prefix) under the sampling distribution: the softmax of
 *     logits / temperature over the whole vocabulary, before top-k/top-p truncation (logits
 *     unscaled when temperature is 0). {@link Scorer#score} with the same temperature gives the
 *     same numbers, which the learner's importance ratios rely on.
 * @param text decoded tokens without special tokens, cut before a stop string
 * @param finish why it ended
 */
public record Completion(int[] tokens, float[] logProbs, String text, FinishReason finish) {}
