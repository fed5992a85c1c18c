package io.rlstream.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * Teacher-forced scoring: one forward over right-padded prompt + completion sequences gives the
 * log-prob and entropy of every completion token. Runs under whatever grad mode the calling thread
 * has, so the learner differentiates through it.
 */
public final class Scorer {
  private Scorer() {}

  /**
   * Scores {@code completions.get(i)} as the continuation of {@code prompts.get(i)}.
   *
   * @param temperature logits are divided by it, as in sampling; 0 means 1 (greedy samples carry
   *     untempered log-probs, see {@link Completion#logProbs()})
   */
  public static TokenScores score(
      Transformer model,
      NDManager manager,
      List<int[]> prompts,
      List<int[]> completions,
      double temperature) {
    int b = prompts.size();
    if (b == 0 || completions.size() != b) {
      throw new IllegalArgumentException(
          "need one completion per prompt, got " + b + " prompts and " + completions.size());
    }
    int t = 0;
    int c = 1;
    for (int i = 0; i < b; i++) {
      if (prompts.get(i).length == 0) {
        throw new IllegalArgumentException("prompt " + i + " is empty: start it with a BOS token");
      }
      t = Math.max(t, prompts.get(i).length + completions.get(i).length);
      c = Math.max(c, completions.get(i).length);
    }
    long[][] ids = new long[b][t];
    long[][] positions = new long[b][t];
    float[][] keyMask = new float[b][t];
    long[][] next = new long[b][t]; // next[i][s] = token at s+1: what position s predicts
    long[][] window = new long[b][c]; // sequence index predicting completion token j
    float[][] mask = new float[b][c];
    for (int i = 0; i < b; i++) {
      int[] p = prompts.get(i);
      int[] y = completions.get(i);
      int len = p.length + y.length;
      for (int s = 0; s < t; s++) {
        ids[i][s] = s < p.length ? p[s] : s < len ? y[s - p.length] : 0;
        positions[i][s] = s;
        keyMask[i][s] = s < len ? 1 : 0;
      }
      for (int s = 0; s + 1 < len; s++) {
        next[i][s] = s + 1 < p.length ? p[s + 1] : y[s + 1 - p.length];
      }
      for (int j = 0; j < c; j++) {
        window[i][j] = j < y.length ? p.length - 1 + j : 0;
        mask[i][j] = j < y.length ? 1 : 0;
      }
    }
    NDArray logits =
        model.forward(
            manager.create(ids), manager.create(positions), manager.create(keyMask), null);
    double temp = temperature == 0 ? 1 : temperature;
    if (temp != 1) {
      logits = logits.mul(manager.create((float) (1 / temp))); // engine scalar: autograd-safe
    }
    NDArray logp = logits.logSoftmax(2); // [B, T, V]
    NDArray tokenLogp = logp.gather(manager.create(next).expandDims(2), 2).squeeze(2);
    NDArray entropy = logp.exp().mul(logp).sum(new int[] {2}).neg();
    NDArray windowIdx = manager.create(window);
    NDArray m = manager.create(mask);
    return new TokenScores(
        tokenLogp.gather(windowIdx, 1).mul(m), entropy.gather(windowIdx, 1).mul(m), m);
  }
}
