package io.rlstream.app;

import io.rlstream.judge.JudgeService;
import io.rlstream.learner.LearnerService;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * The demo's progress line: policy version, learner step, training reward over the steps since the
 * last line, held-out accuracy (greedy, measured on the generator's serving version), samples/s
 * through the judge, lag before the judge and before the learner, and staleness.
 */
final class Progress {
  private final Loop loop;
  private final Evaluator evaluator;
  private final RunLog log;
  private final PrintStream out;
  private final long start;
  private int seenSteps;
  private long lastSamples;
  private long lastNanos;
  private JudgeService.VerdictTotals lastVerdicts = new JudgeService.VerdictTotals(0, 0, 0);

  /** One progress line's values. */
  record Line(
      double seconds,
      long version,
      long step,
      double trainReward,
      double accuracy,
      long accuracyVersion,
      double samplesPerSecond,
      long judgeLag,
      long learnerLag,
      double staleness,
      double throttledSeconds,
      double judgeLatencyMs,
      double judgeCostUsd,
      double tokensPerSecond) {}

  Progress(Loop loop, Evaluator evaluator, RunLog log, PrintStream out, long start) {
    this.loop = loop;
    this.evaluator = evaluator;
    this.log = log;
    this.out = out;
    this.start = start;
    this.lastNanos = start;
  }

  Line tick(List<LearnerService.StepReport> steps) {
    double reward = 0;
    double staleness = 0;
    double tokens = 0;
    double stepSeconds = 0;
    int n = steps.size() - seenSteps;
    for (int i = seenSteps; i < steps.size(); i++) {
      reward += steps.get(i).rewardMean();
      staleness += steps.get(i).stalenessMean();
      tokens += steps.get(i).tokens();
      stepSeconds += steps.get(i).stepSeconds();
    }
    JudgeService.VerdictTotals verdicts = loop.judge.verdictTotals();
    long newVerdicts = verdicts.verdicts() - lastVerdicts.verdicts();
    double latency =
        newVerdicts == 0
            ? Double.NaN
            : (double) (verdicts.latencyMs() - lastVerdicts.latencyMs()) / newVerdicts;
    lastVerdicts = verdicts;
    seenSteps = steps.size();
    Evaluator.Result acc = evaluator.evaluate(loop.generator.sampler());
    long now = System.nanoTime();
    long samples = loop.generator.samples();
    double rate = (samples - lastSamples) / ((now - lastNanos) / 1e9);
    lastSamples = samples;
    lastNanos = now;
    Line line =
        new Line(
            (now - start) / 1e9,
            loop.learner.version(),
            steps.isEmpty() ? 0 : steps.get(steps.size() - 1).step(),
            n == 0 ? Double.NaN : reward / n,
            acc.accuracy(),
            acc.version(),
            rate,
            loop.generator.acknowledged() - loop.assembler.emitted(),
            loop.assembler.emitted() - loop.learner.groupsConsumed(),
            n == 0 ? Double.NaN : staleness / n,
            loop.generator.throttled().toMillis() / 1e3,
            latency,
            verdicts.costUsd(),
            stepSeconds == 0 ? Double.NaN : tokens / stepSeconds);
    out.printf(
        Locale.ROOT,
        "[%5.0fs] version %4d  step %4d  train reward %.3f  held-out acc %.3f (v%d)  %5.0f samples/s"
            + "  lag judge %d learner %d groups  staleness %.2f%n",
        line.seconds(),
        line.version(),
        line.step(),
        line.trainReward(),
        line.accuracy(),
        line.accuracyVersion(),
        line.samplesPerSecond(),
        line.judgeLag(),
        line.learnerLag(),
        line.staleness());
    log.progress(line);
    return line;
  }
}
