package io.rlstream.judge;

import io.rlstream.schemas.Aggregation;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.PairwisePreference;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Turns several judges' judgements of one group into one reward per completion.
 *
 * <p>A pointwise judgement gives its scores; a pairwise one gives each completion's mean
 * probability of being preferred over the completions it was compared with (a Borda-style win rate;
 * a completion in no pair gets 0.5). With s_j(i) judge j's score of completion i and w_j its
 * weight:
 *
 * <ul>
 *   <li>{@code WEIGHTED_SUM}: Σ_j w_j s_j(i);
 *   <li>{@code MIN}: min_j w_j s_j(i), the worst case over judges;
 *   <li>{@code MEAN_MINUS_STD}: μ(i) − k σ(i) with the w-weighted mean and standard deviation of
 *       s_j(i) over judges — the uncertainty-weighted ensemble of Coste et al., "Reward Model
 *       Ensembles Help Mitigate Overoptimization" (2024);
 *   <li>{@code NORMALIZED_SUM}: Σ_j w_j z_j(i), z_j the judge's scores standardised within the
 *       group (a judge that gives every completion the same score contributes 0), so judges on
 *       different scales weigh as their weights say.
 * </ul>
 */
public final class Aggregator {
  private final Aggregation aggregation;
  private final Map<String, Double> weights;
  private final double k;
  private final String description;

  /**
   * @param weights judge id → weight, in a stable order
   * @param k the k of {@code MEAN_MINUS_STD}
   */
  public Aggregator(Aggregation aggregation, Map<String, Double> weights, double k) {
    this.aggregation = Objects.requireNonNull(aggregation, "aggregation");
    if (weights.isEmpty()) {
      throw new IllegalArgumentException("an aggregation needs at least one judge");
    }
    weights.forEach(
        (id, w) -> {
          if (!Double.isFinite(w)) {
            throw new IllegalArgumentException("weight of judge " + id + " is " + w);
          }
        });
    if (!Double.isFinite(k) || k < 0) {
      throw new IllegalArgumentException("k must be finite and >= 0, got " + k);
    }
    this.weights = new LinkedHashMap<>(weights);
    this.k = k;
    String judges =
        this.weights.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(","));
    this.description =
        aggregation.name().toLowerCase(Locale.ROOT)
            + "("
            + (aggregation == Aggregation.MEAN_MINUS_STD ? "k=" + k + ";" : "")
            + judges
            + ")";
  }

  /** The judges, by id, with their weights. */
  public Map<String, Double> weights() {
    return weights;
  }

  /** E.g. {@code weighted_sum(math=1.0,len=0.5)}: written into every scored group. */
  public String description() {
    return description;
  }

  /**
   * Rewards of the {@code n} completions from the judgements present (a partial group aggregates
   * only the judges it has). Judgements of judges outside this set are ignored.
   */
  public double[] rewards(int n, Map<String, Judgement> byJudge) {
    List<double[]> scores = new ArrayList<>();
    List<Double> w = new ArrayList<>();
    weights.forEach(
        (id, weight) -> {
          Judgement j = byJudge.get(id);
          if (j != null) {
            scores.add(perCompletion(n, j));
            w.add(weight);
          }
        });
    if (scores.isEmpty()) {
      throw new IllegalArgumentException("no judgement of any judge in " + weights.keySet());
    }
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] =
          switch (aggregation) {
            case WEIGHTED_SUM -> {
              double s = 0;
              for (int j = 0; j < scores.size(); j++) {
                s += w.get(j) * scores.get(j)[i];
              }
              yield s;
            }
            case MIN -> {
              double m = Double.POSITIVE_INFINITY;
              for (int j = 0; j < scores.size(); j++) {
                m = Math.min(m, w.get(j) * scores.get(j)[i]);
              }
              yield m;
            }
            case MEAN_MINUS_STD -> meanMinusStd(scores, w, i);
            case NORMALIZED_SUM -> 0; // below, needs whole columns
          };
    }
    if (aggregation == Aggregation.NORMALIZED_SUM) {
      for (int j = 0; j < scores.size(); j++) {
        double[] z = standardised(scores.get(j));
        for (int i = 0; i < n; i++) {
          out[i] += w.get(j) * z[i];
        }
      }
    }
    return out;
  }

  private double meanMinusStd(List<double[]> scores, List<Double> w, int i) {
    double sw = 0;
    double mean = 0;
    for (int j = 0; j < scores.size(); j++) {
      sw += w.get(j);
      mean += w.get(j) * scores.get(j)[i];
    }
    if (sw <= 0) {
      throw new IllegalArgumentException("mean_minus_std needs positive weights");
    }
    mean /= sw;
    double var = 0;
    for (int j = 0; j < scores.size(); j++) {
      double d = scores.get(j)[i] - mean;
      var += w.get(j) * d * d;
    }
    return mean - k * Math.sqrt(var / sw);
  }

  private static double[] standardised(double[] s) {
    double mean = 0;
    for (double v : s) {
      mean += v;
    }
    mean /= s.length;
    double var = 0;
    for (double v : s) {
      var += (v - mean) * (v - mean);
    }
    double sd = Math.sqrt(var / s.length);
    double[] z = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      z[i] = sd < 1e-12 ? 0 : (s[i] - mean) / sd;
    }
    return z;
  }

  /** A judgement as one number per completion (see the class comment for pairwise). */
  static double[] perCompletion(int n, Judgement j) {
    double[] s = new double[n];
    if (j.getKind() == JudgementKind.POINTWISE) {
      for (CompletionScore c : j.getScores()) {
        check(n, c.getCompletionIndex(), j);
        s[c.getCompletionIndex()] = c.getScore();
      }
      return s;
    }
    int[] count = new int[n];
    for (PairwisePreference p : j.getPreferences()) {
      check(n, p.getIndexA(), j);
      check(n, p.getIndexB(), j);
      s[p.getIndexA()] += p.getProbabilityA();
      s[p.getIndexB()] += 1 - p.getProbabilityA();
      count[p.getIndexA()]++;
      count[p.getIndexB()]++;
    }
    for (int i = 0; i < n; i++) {
      s[i] = count[i] == 0 ? 0.5 : s[i] / count[i];
    }
    return s;
  }

  private static void check(int n, int index, Judgement j) {
    if (index < 0 || index >= n) {
      throw new IllegalArgumentException(
          "judgement "
              + j.getJudgementId()
              + " of judge "
              + j.getJudgeId()
              + " refers to completion "
              + index
              + " of a group of "
              + n);
    }
  }
}
