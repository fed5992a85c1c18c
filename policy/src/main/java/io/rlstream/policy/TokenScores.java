package io.rlstream.policy;

import ai.djl.ndarray.NDArray;

/**
 * Teacher-forced scores of a batch of completions, each {@code [B, C]} float32 with C the longest
 * completion, attached to the caller's manager and part of the autograd graph when recorded.
 *
 * @param logProbs log π(token | prefix) of each completion token (0 where masked)
 * @param entropy entropy of the next-token distribution at each completion token (0 where masked)
 * @param mask 1 for a real completion token, 0 for padding
 */
public record TokenScores(NDArray logProbs, NDArray entropy, NDArray mask) {}
