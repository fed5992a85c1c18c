package io.rlstream.learner;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionSource;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.List;

/**
 * Scored groups flattened into rows, one per completion with at least one token: what every loss
 * reads. Rows of one group are contiguous and share {@code group[i]}.
 *
 * @param prompts prompt token ids per row (as sampled, BOS included)
 * @param completions completion token ids per row
 * @param behaviourLogProbs the sampler's log-prob of each completion token
 * @param rewards aggregated reward per row
 * @param group index of the row's group among the input groups
 * @param truncated whether the row's completion was cut off at the length limit
 * @param fromReference whether the row was sampled from the frozen reference (XPO's exploration
 *     samples) rather than the policy
 * @param temperature sampling temperature of the batch (log-probs are taken at it)
 * @param proximalLogProbs the learner's own log-probs of each token before this batch's first
 *     update (no gradient), when the loss corrects for a stale behaviour policy; else null
 */
public record TrainBatch(
    List<int[]> prompts,
    List<int[]> completions,
    List<float[]> behaviourLogProbs,
    double[] rewards,
    int[] group,
    boolean[] truncated,
    boolean[] fromReference,
    double temperature,
    List<float[]> proximalLogProbs) {

  /**
   * Flattens {@code groups}; completions without tokens are left out (nothing to score).
   *
   * @throws IllegalArgumentException if groups were sampled at different temperatures, or a group's
   *     rewards or log-probs do not match its completions
   */
  public static TrainBatch of(List<ScoredGroup> groups) {
    if (groups.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one group");
    }
    List<int[]> prompts = new ArrayList<>();
    List<int[]> completions = new ArrayList<>();
    List<float[]> logps = new ArrayList<>();
    List<Double> rewards = new ArrayList<>();
    List<Integer> groupIndex = new ArrayList<>();
    List<Boolean> cut = new ArrayList<>();
    List<Boolean> ref = new ArrayList<>();
    double temperature = groups.get(0).getGroup().getSampling().getTemperature();
    for (int gi = 0; gi < groups.size(); gi++) {
      ScoredGroup scored = groups.get(gi);
      SampleGroup g = scored.getGroup();
      if (g.getSampling().getTemperature() != temperature) {
        throw new IllegalArgumentException(
            "groups sampled at temperatures "
                + temperature
                + " and "
                + g.getSampling().getTemperature()
                + " in one batch");
      }
      if (scored.getRewards().size() != g.getCompletions().size()) {
        throw new IllegalArgumentException(
            "group "
                + g.getGroupId()
                + " has "
                + g.getCompletions().size()
                + " completions but "
                + scored.getRewards().size()
                + " rewards");
      }
      int[] prompt = Packed.toInts(g.getPromptTokenIds());
      for (Completion c : g.getCompletions()) {
        int[] tokens = Packed.toInts(c.getTokenIds());
        float[] lp = Packed.toFloats(c.getLogprobs());
        if (lp.length != tokens.length) {
          throw new IllegalArgumentException(
              "group "
                  + g.getGroupId()
                  + " completion "
                  + c.getIndex()
                  + ": "
                  + tokens.length
                  + " tokens but "
                  + lp.length
                  + " log-probs");
        }
        if (tokens.length == 0) {
          continue;
        }
        prompts.add(prompt);
        completions.add(tokens);
        logps.add(lp);
        rewards.add(scored.getRewards().get(c.getIndex()));
        groupIndex.add(gi);
        cut.add(c.getFinishReason() == FinishReason.LENGTH);
        ref.add(c.getSource() == CompletionSource.REFERENCE);
      }
    }
    return new TrainBatch(
        prompts,
        completions,
        logps,
        rewards.stream().mapToDouble(Double::doubleValue).toArray(),
        groupIndex.stream().mapToInt(Integer::intValue).toArray(),
        toArray(cut),
        toArray(ref),
        temperature,
        null);
  }

  private static boolean[] toArray(List<Boolean> values) {
    boolean[] out = new boolean[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  /** The same rows with the learner's pre-update log-probs attached. */
  public TrainBatch withProximal(List<float[]> logProbs) {
    if (logProbs.size() != rows()) {
      throw new IllegalArgumentException(
          logProbs.size() + " proximal log-prob rows for " + rows() + " rows");
    }
    return new TrainBatch(
        prompts,
        completions,
        behaviourLogProbs,
        rewards,
        group,
        truncated,
        fromReference,
        temperature,
        logProbs);
  }

  /** The rows whose {@code keep} is true, in order (group indices kept as they were). */
  public TrainBatch select(boolean[] keep) {
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < rows(); i++) {
      if (keep[i]) {
        rows.add(i);
      }
    }
    double[] r = new double[rows.size()];
    int[] g = new int[rows.size()];
    boolean[] t = new boolean[rows.size()];
    boolean[] f = new boolean[rows.size()];
    for (int k = 0; k < rows.size(); k++) {
      r[k] = rewards[rows.get(k)];
      g[k] = group[rows.get(k)];
      t[k] = truncated[rows.get(k)];
      f[k] = fromReference[rows.get(k)];
    }
    return new TrainBatch(
        rows.stream().map(prompts::get).toList(),
        rows.stream().map(completions::get).toList(),
        rows.stream().map(behaviourLogProbs::get).toList(),
        r,
        g,
        t,
        f,
        temperature,
        proximalLogProbs == null ? null : rows.stream().map(proximalLogProbs::get).toList());
  }

  /** The rows of each group, {@code [start, end)}, in order (a group's rows are contiguous). */
  public List<int[]> spans() {
    List<int[]> out = new ArrayList<>();
    int start = 0;
    while (start < rows()) {
      int end = start + 1;
      while (end < rows() && group[end] == group[start]) {
        end++;
      }
      out.add(new int[] {start, end});
      start = end;
    }
    return out;
  }

  /**
   * The batch without the groups whose rows all have the same reward (no signal for GRPO's
   * advantages).
   */
  public TrainBatch withoutZeroVarianceGroups() {
    boolean[] keep = new boolean[rows()];
    for (int[] span : spans()) {
      boolean varies = false;
      for (int i = span[0]; i < span[1]; i++) {
        varies |= rewards[i] != rewards[span[0]];
      }
      for (int i = span[0]; i < span[1]; i++) {
        keep[i] = varies;
      }
    }
    return select(keep);
  }

  public int rows() {
    return prompts.size();
  }

  /** Completion tokens in the batch. */
  public long tokens() {
    long n = 0;
    for (int[] c : completions) {
      n += c.length;
    }
    return n;
  }

  /** Behaviour log-probs right-padded with zeros to the longest completion: [rows][maxLen]. */
  public float[][] paddedBehaviourLogProbs() {
    return padded(behaviourLogProbs);
  }

  /** Per-row values right-padded with zeros to the longest completion: [rows][maxLen]. */
  public float[][] padded(List<float[]> perRow) {
    int c = 1;
    for (int[] y : completions) {
      c = Math.max(c, y.length);
    }
    float[][] out = new float[rows()][c];
    for (int i = 0; i < rows(); i++) {
      System.arraycopy(perRow.get(i), 0, out[i], 0, perRow.get(i).length);
    }
    return out;
  }
}
