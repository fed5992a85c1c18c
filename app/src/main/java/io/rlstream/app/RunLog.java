package io.rlstream.app;

import io.rlstream.learner.LearnerService;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The run directory's metrics: {@code steps.csv} (one row per learner step), {@code progress.csv}
 * (one row per progress line) and {@code summary.json}. Rows are flushed as they come, so a run
 * that is stopped keeps what it measured.
 */
final class RunLog implements AutoCloseable {
  /** Step metrics written after the fixed columns (NaN where the loss has none). */
  static final List<String> EXTRA =
      List.of(
          "reward_std",
          "kl",
          "ess",
          "tokens_per_s",
          "stale_dropped",
          "zero_variance_groups",
          "pairs",
          "margin",
          "pair_accuracy");

  private final Path dir;
  private final BufferedWriter steps;
  private final BufferedWriter progress;

  RunLog(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      steps = Files.newBufferedWriter(dir.resolve("steps.csv"), StandardCharsets.UTF_8);
      steps.write(
          "step,version,loss,reward_mean,grad_norm,tokens,staleness_mean,staleness_max,"
              + "groups_consumed,step_seconds,clip_frac,entropy,"
              + String.join(",", EXTRA)
              + ","
              + String.join(
                  ",",
                  java.util.Arrays.stream(LearnerService.STALENESS_BUCKETS)
                      .map(b -> "staleness_" + b)
                      .toList())
              + "\n");
      progress = Files.newBufferedWriter(dir.resolve("progress.csv"), StandardCharsets.UTF_8);
      progress.write(
          "seconds,version,step,train_reward,heldout_accuracy,accuracy_version,samples_per_s,"
              + "judge_lag,learner_lag,staleness_mean,throttled_s,judge_latency_ms,judge_cost_usd,"
              + "learner_tokens_per_s\n");
      steps.flush();
      progress.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the run directory " + dir, e);
    }
  }

  void step(LearnerService.StepReport r) throws IOException {
    steps.write(
        String.format(
            Locale.ROOT,
            "%d,%d,%.6f,%.4f,%.4f,%d,%.3f,%d,%d,%.4f,%.4f,%.4f",
            r.step(),
            r.version(),
            r.loss(),
            r.rewardMean(),
            r.gradNorm(),
            r.tokens(),
            r.stalenessMean(),
            r.stalenessMax(),
            r.groupsConsumed(),
            r.stepSeconds(),
            r.metrics().getOrDefault("clip_frac", Double.NaN),
            r.metrics().getOrDefault("entropy", Double.NaN)));
    for (String k : EXTRA) {
      steps.write(
          k.equals("tokens_per_s")
              ? String.format(Locale.ROOT, ",%.1f", r.tokens() / Math.max(r.stepSeconds(), 1e-9))
              : String.format(Locale.ROOT, ",%.6g", r.metrics().getOrDefault(k, Double.NaN)));
    }
    for (String b : LearnerService.STALENESS_BUCKETS) {
      steps.write(
          String.format(
              Locale.ROOT, ",%d", r.metrics().getOrDefault("staleness_" + b, 0.0).longValue()));
    }
    steps.write('\n');
    steps.flush();
  }

  void progress(Progress.Line l) {
    try {
      progress.write(
          String.format(
              Locale.ROOT,
              "%.1f,%d,%d,%.4f,%.4f,%d,%.1f,%d,%d,%.3f,%.1f,%.3f,%.6f,%.1f%n",
              l.seconds(),
              l.version(),
              l.step(),
              l.trainReward(),
              l.accuracy(),
              l.accuracyVersion(),
              l.samplesPerSecond(),
              l.judgeLag(),
              l.learnerLag(),
              l.staleness(),
              l.throttledSeconds(),
              l.judgeLatencyMs(),
              l.judgeCostUsd(),
              l.tokensPerSecond()));
      progress.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void summary(
      double before,
      double after,
      long versions,
      List<LearnerService.StepReport> stepReports,
      double rlSeconds,
      double totalMinutes,
      LoopConfig loop,
      WarmStart warm)
      throws IOException {
    long groups =
        stepReports.isEmpty() ? 0 : stepReports.get(stepReports.size() - 1).groupsConsumed();
    String json =
        String.format(
            Locale.ROOT,
            "{\n  \"acc_before\": %.4f,\n  \"acc_after\": %.4f,\n  \"versions\": %d,\n"
                + "  \"learner_steps\": %d,\n  \"groups_trained\": %d,\n  \"rl_seconds\": %.1f,\n"
                + "  \"total_minutes\": %.2f,\n  \"loop\": \"%s\",\n  \"warm_start\": \"%s\"\n}\n",
            before,
            after,
            versions,
            stepReports.size(),
            groups,
            rlSeconds,
            totalMinutes,
            loop,
            warm);
    Files.writeString(dir.resolve("summary.json"), json, StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws IOException {
    steps.close();
    progress.close();
  }
}
