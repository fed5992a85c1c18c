package io.rlstream.learner;

import io.rlstream.schemas.Completion;
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
 * @param temperature sampling temperature of the batch (log-probs are taken at it)
 */
public record TrainBatch(
    List<int[]> prompts,
    List<int[]> completions,
    List<float[]> behaviourLogProbs,
    double[] rewards,
    int[] group,
    double temperature) {

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
      }
    }
    return new TrainBatch(
        prompts,
        completions,
        logps,
        rewards.stream().mapToDouble(Double::doubleValue).toArray(),
        groupIndex.stream().mapToInt(Integer::intValue).toArray(),
        temperature);
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
    int c = 1;
    for (int[] y : completions) {
      c = Math.max(c, y.length);
    }
    float[][] out = new float[rows()][c];
    for (int i = 0; i < rows(); i++) {
      System.arraycopy(behaviourLogProbs.get(i), 0, out[i], 0, behaviourLogProbs.get(i).length);
    }
    return out;
  }
}
