package io.rlstream.learner;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionSource;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
 * @param weights loss weight of each row: 1, or less for a group down-weighted as stale
 * @param judgedPairs (chosen row, rejected row) pairs that pairwise judges preferred, averaged over
 *     the group's PAIRWISE judgements (ties left out); policy-sampled rows only
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
    List<float[]> proximalLogProbs,
    double[] weights,
    List<int[]> judgedPairs) {

  /** Null weights mean 1 for every row; null judged pairs, none. */
  public TrainBatch {
    if (weights == null) {
      weights = new double[prompts.size()];
      Arrays.fill(weights, 1.0);
    }
    if (judgedPairs == null) {
      judgedPairs = List.of();
    }
    if (weights.length != prompts.size()) {
      throw new IllegalArgumentException(
          weights.length + " weights for " + prompts.size() + " rows");
    }
  }

  /**
   * Flattens {@code groups}; completions without tokens are left out (nothing to score).
   *
   * @throws IllegalArgumentException if groups were sampled at different temperatures, or a group's
   *     rewards or log-probs do not match its completions
   */
  public static TrainBatch of(List<ScoredGroup> groups) {
    return of(groups, null);
  }

  /**
   * Flattens {@code groups}, each row weighted by its group's {@code groupWeights} entry (null: all
   * 1).
   */
  public static TrainBatch of(List<ScoredGroup> groups, double[] groupWeights) {
    if (groupWeights != null && groupWeights.length != groups.size()) {
      throw new IllegalArgumentException(
          groupWeights.length + " group weights for " + groups.size() + " groups");
    }
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
    List<Double> weights = new ArrayList<>();
    List<int[]> judged = new ArrayList<>();
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
      Map<Integer, Integer> rowOf = new HashMap<>();
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
        weights.add(groupWeights == null ? 1.0 : groupWeights[gi]);
        if (c.getSource() != CompletionSource.REFERENCE) {
          rowOf.put(c.getIndex(), prompts.size() - 1);
        }
      }
      judged.addAll(judgedPairs(scored, rowOf));
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
        null,
        weights.stream().mapToDouble(Double::doubleValue).toArray(),
        judged);
  }

  /**
   * The group's PAIRWISE preferences as (chosen row, rejected row): each unordered pair's
   * probability of the first being preferred, averaged over the judgements that compared it; a pair
   * whose average is 0.5, or that names a completion without a row, yields nothing.
   */
  private static List<int[]> judgedPairs(ScoredGroup scored, Map<Integer, Integer> rowOf) {
    Map<Long, double[]> sums = new TreeMap<>(); // key lo*2^32+hi -> {sum of P(lo preferred), n}
    for (Judgement j : scored.getJudgements()) {
      if (j.getKind() != JudgementKind.PAIRWISE) {
        continue;
      }
      for (PairwisePreference p : j.getPreferences()) {
        int a = p.getIndexA();
        int b = p.getIndexB();
        if (a == b) {
          continue;
        }
        double pLo = a < b ? p.getProbabilityA() : 1 - p.getProbabilityA();
        double[] acc =
            sums.computeIfAbsent(
                ((long) Math.min(a, b) << 32) | Math.max(a, b), k -> new double[2]);
        acc[0] += pLo;
        acc[1] += 1;
      }
    }
    List<int[]> out = new ArrayList<>();
    sums.forEach(
        (key, acc) -> {
          Integer lo = rowOf.get((int) (key >>> 32));
          Integer hi = rowOf.get((int) (key & 0xffffffffL));
          double p = acc[0] / acc[1];
          if (lo != null && hi != null && p != 0.5) {
            out.add(p > 0.5 ? new int[] {lo, hi} : new int[] {hi, lo});
          }
        });
    return out;
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
        logProbs,
        weights,
        judgedPairs);
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
    double[] w = new double[rows.size()];
    int[] newRow = new int[rows()];
    Arrays.fill(newRow, -1);
    int[] g = new int[rows.size()];
    boolean[] t = new boolean[rows.size()];
    boolean[] f = new boolean[rows.size()];
    for (int k = 0; k < rows.size(); k++) {
      r[k] = rewards[rows.get(k)];
      w[k] = weights[rows.get(k)];
      newRow[rows.get(k)] = k;
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
        proximalLogProbs == null ? null : rows.stream().map(proximalLogProbs::get).toList(),
        w,
        judgedPairs.stream()
            .filter(p -> newRow[p[0]] >= 0 && newRow[p[1]] >= 0)
            .map(p -> new int[] {newRow[p[0]], newRow[p[1]]})
            .toList());
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
