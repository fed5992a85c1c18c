package io.rlstream.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched autoregressive sampling of G completions for each of P prompts, rows left-padded so that
 * all rows decode in lock step. Token choice runs in the engine (sort, nucleus/top-k mask,
 * inverse-CDF draw); only one id and one log-prob per row cross to Java each step. The uniform
 * draws come from a per-row Java RNG seeded by (seed, prompt, sample), so equal seeds give equal
 * outputs whatever the engine's own RNG does.
 */
final class Sampling {
  private final Transformer model;
  private final Tokenizer tokenizer;
  private final SamplingConfig cfg;
  private final int rows;
  private final int[][] prompts; // per row
  private final int[][] out; // new tokens per row
  private final float[][] outLogp;
  private final int[] produced;
  private final FinishReason[] finish;
  private final String[] text;
  private final SplittableRandom[] rng;
  private final int width; // longest prompt: the left-padded prefix width

  private Sampling(
      Transformer model,
      Tokenizer tokenizer,
      List<int[]> prompts,
      int g,
      SamplingConfig cfg,
      long seed) {
    this.model = model;
    this.tokenizer = java.util.Objects.requireNonNull(tokenizer, "tokenizer");
    this.cfg = cfg;
    this.rows = prompts.size() * g;
    this.prompts = new int[rows][];
    this.rng = new SplittableRandom[rows];
    int w = 0;
    for (int p = 0; p < prompts.size(); p++) {
      int[] prompt = prompts.get(p);
      if (prompt.length == 0) {
        throw new IllegalArgumentException("prompt " + p + " is empty: start it with a BOS token");
      }
      if (prompt.length + cfg.maxNewTokens() > model.config().maxPositions()) {
        throw new IllegalArgumentException(
            "prompt "
                + p
                + " ("
                + prompt.length
                + " tokens) + max_new_tokens ("
                + cfg.maxNewTokens()
                + ") exceeds the model's max_position_embeddings ("
                + model.config().maxPositions()
                + "): shorten the prompt or lower max_new_tokens");
      }
      w = Math.max(w, prompt.length);
      for (int s = 0; s < g; s++) {
        this.prompts[p * g + s] = prompt;
        // SplitMix-style mixing so that neighbouring (seed, p, s) give unrelated streams.
        rng[p * g + s] = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + p * 1_000_003L + s);
      }
    }
    this.width = w;
    this.out = new int[rows][cfg.maxNewTokens()];
    this.outLogp = new float[rows][cfg.maxNewTokens()];
    this.produced = new int[rows];
    this.finish = new FinishReason[rows];
    this.text = new String[rows];
  }

  /** Samples; completions grouped per prompt. Must run where grad mode is off. */
  static List<List<Completion>> run(
      Transformer model,
      Tokenizer tokenizer,
      List<int[]> prompts,
      int g,
      SamplingConfig cfg,
      long seed) {
    if (prompts.isEmpty() || g <= 0) {
      throw new IllegalArgumentException("need at least one prompt and one sample per prompt");
    }
    Sampling s = new Sampling(model, tokenizer, prompts, g, cfg, seed);
    try (NDManager manager = NDManager.newBaseManager(model.device())) {
      if (cfg.kvCache()) {
        s.decodeWithCache(manager);
      } else {
        s.decodeWithoutCache(manager);
      }
    }
    return s.results(prompts.size(), g);
  }

  private void decodeWithCache(NDManager manager) {
    try (KvCache cache = model.newCache(manager)) {
      long[][] ids = new long[rows][width];
      long[][] pos = new long[rows][width];
      float[][] mask = new float[rows][width];
      for (int r = 0; r < rows; r++) {
        int pad = width - prompts[r].length;
        for (int t = 0; t < prompts[r].length; t++) {
          ids[r][pad + t] = prompts[r][t];
          pos[r][pad + t] = t;
          mask[r][pad + t] = 1;
        }
      }
      float[][] keyMask = mask;
      for (int step = 0; ; step++) {
        long[] chosen;
        try (NDManager m = manager.newSubManager()) {
          NDArray logits = model.forward(m.create(ids), m.create(pos), m.create(keyMask), cache);
          chosen = choose(m, logits.get(new NDIndex(":, -1, :")));
        }
        if (done()) {
          return;
        }
        ids = new long[rows][1];
        pos = new long[rows][1];
        keyMask = widen(keyMask);
        for (int r = 0; r < rows; r++) {
          ids[r][0] = chosen[r];
          pos[r][0] = prompts[r].length + step;
        }
      }
    }
  }

  private void decodeWithoutCache(NDManager manager) {
    for (int step = 0; ; step++) {
      int len = width + step;
      long[][] ids = new long[rows][len];
      long[][] pos = new long[rows][len];
      float[][] mask = new float[rows][len];
      for (int r = 0; r < rows; r++) {
        int pad = width - prompts[r].length;
        for (int t = pad; t < len; t++) {
          int i = t - pad;
          ids[r][t] = i < prompts[r].length ? prompts[r][i] : out[r][i - prompts[r].length];
          pos[r][t] = i;
          mask[r][t] = 1;
        }
      }
      try (NDManager m = manager.newSubManager()) {
        NDArray logits = model.forward(m.create(ids), m.create(pos), m.create(mask), null);
        choose(m, logits.get(new NDIndex(":, -1, :")));
      }
      if (done()) {
        return;
      }
    }
  }

  /**
   * Picks one token per row from {@code logits [rows, V]} and records it for unfinished rows.
   * Returns the chosen ids (finished rows keep decoding in lock step; their tokens are dropped).
   */
  private long[] choose(NDManager m, NDArray logits) {
    NDArray tokens;
    NDArray logp;
    if (cfg.temperature() == 0) {
      logp = logits.logSoftmax(1);
      tokens = logits.argMax(1).expandDims(1);
    } else {
      logp = logits.div(cfg.temperature()).logSoftmax(1); // grad off here: Number is safe
      tokens = draw(m, logp);
    }
    long[] ids = tokens.toLongArray();
    float[] lp = logp.gather(tokens, 1).toFloatArray();
    for (int r = 0; r < rows; r++) {
      if (finish[r] == null) {
        record(r, (int) ids[r], lp[r]);
      }
    }
    return ids;
  }

  /**
   * Inverse-CDF draw: u·total located in the running sum of probabilities. With top-k or top-p the
   * vocabulary is first sorted by probability and truncated; without, the draw runs on the unsorted
   * vocabulary (same distribution, fewer native calls).
   */
  private NDArray draw(NDManager m, NDArray logp) {
    long vocab = logp.getShape().get(1);
    float[] u = new float[rows];
    for (int r = 0; r < rows; r++) {
      u[r] = (float) rng[r].nextDouble();
    }
    if (cfg.topK() == 0 && cfg.topP() >= 1) {
      return locate(m, logp.exp().cumSum(1), u);
    }
    NDArray order = logp.argSort(1, false);
    NDArray probs = logp.gather(order, 1).exp();
    NDArray keep = m.ones(probs.getShape(), DataType.BOOLEAN);
    if (cfg.topK() > 0 && cfg.topK() < vocab) {
      keep = keep.logicalAnd(m.arange(vocab).lt(cfg.topK()).reshape(1, vocab));
    }
    if (cfg.topP() < 1) { // keep a token while the mass before it is below top_p
      keep = keep.logicalAnd(probs.cumSum(1).sub(probs).lt(cfg.topP()));
    }
    NDArray cdf = probs.mul(keep.toType(DataType.FLOAT32, false)).cumSum(1);
    return order.gather(locate(m, cdf, u), 1);
  }

  /** Per row, the first index whose running sum {@code cdf [rows, V]} reaches u·total. */
  private NDArray locate(NDManager m, NDArray cdf, float[] u) {
    long vocab = cdf.getShape().get(1);
    NDArray target = m.create(u).reshape(rows, 1).mul(cdf.get(new NDIndex(":, -1:")));
    return cdf.lt(target).toType(DataType.INT64, false).sum(new int[] {1}, true).minimum(vocab - 1);
  }

  private void record(int r, int token, float logp) {
    int n = produced[r]++;
    out[r][n] = token;
    outLogp[r][n] = logp;
    if (cfg.stopTokenIds().contains(token)) {
      finish[r] = FinishReason.STOP;
    } else if (!cfg.stopStrings().isEmpty()) {
      String sofar = tokenizer.decode(Arrays.copyOf(out[r], n + 1));
      for (String stop : cfg.stopStrings()) {
        int at = sofar.indexOf(stop);
        if (at >= 0) {
          finish[r] = FinishReason.STOP;
          text[r] = sofar.substring(0, at);
          return;
        }
      }
    }
    if (finish[r] == null && produced[r] == cfg.maxNewTokens()) {
      finish[r] = FinishReason.LENGTH;
    }
  }

  private boolean done() {
    for (FinishReason f : finish) {
      if (f == null) {
        return false;
      }
    }
    return true;
  }

  private static float[][] widen(float[][] mask) {
    float[][] wider = new float[mask.length][];
    for (int r = 0; r < mask.length; r++) {
      wider[r] = Arrays.copyOf(mask[r], mask[r].length + 1);
      wider[r][mask[r].length] = 1;
    }
    return wider;
  }

  private List<List<Completion>> results(int p, int g) {
    List<List<Completion>> groups = new ArrayList<>(p);
    for (int i = 0; i < p; i++) {
      List<Completion> group = new ArrayList<>(g);
      for (int s = 0; s < g; s++) {
        int r = i * g + s;
        int[] tokens = Arrays.copyOf(out[r], produced[r]);
        String t = text[r] != null ? text[r] : tokenizer.decode(tokens);
        group.add(new Completion(tokens, Arrays.copyOf(outLogp[r], produced[r]), t, finish[r]));
      }
      groups.add(List.copyOf(group));
    }
    return groups;
  }
}
