package io.rlstream.app;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.rlstream.generator.GeneratorService;
import io.rlstream.infra.ConsumerLag;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.MetricsEndpoint;
import io.rlstream.judge.Assembler;
import io.rlstream.judge.JudgeService;
import io.rlstream.learner.LearnerService;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The services' meters (Prometheus names in brackets): throughput, lag, staleness, reward, loss,
 * judge latency and cost, dead letters — read from the services' own counters at scrape time.
 */
final class ServiceMetrics {
  private ServiceMetrics() {}

  /** All four services of an in-process loop (the demo) in one registry, with their lag. */
  static void loop(MetricsEndpoint m, Loop loop) {
    MeterRegistry r = m.registry();
    generator(r, loop.generator);
    judge(r, loop.judge);
    assembler(r, loop.assembler);
    learner(r, loop.learner);
    lag(m, loop.kafka, JudgeService.consumerGroup(loop.judge.judge().id()), loop.topics.samples());
    lag(
        m,
        loop.kafka,
        Assembler.consumerGroup(Loop.ASSEMBLER),
        loop.topics.samples(),
        loop.topics.judgements());
    lag(m, loop.kafka, loop.learner.consumerGroup(), loop.topics.scored());
  }

  static void generator(MeterRegistry r, GeneratorService g) {
    counter(r, "rlstream.generator.samples", "completions sampled", g, x -> x.samples());
    counter(
        r,
        "rlstream.generator.groups.acknowledged",
        "groups acknowledged by Kafka",
        g,
        x -> x.acknowledged());
    counter(
        r,
        "rlstream.generator.throttled.seconds",
        "time waiting for the learner",
        g,
        x -> x.throttled().toMillis() / 1e3);
    counter(
        r,
        "rlstream.generator.refused.versions",
        "policy versions refused",
        g,
        x -> x.refusedVersions());
    gauge(r, "rlstream.generator.policy.version", "policy version serving", g, x -> x.version());
  }

  static void judge(MeterRegistry r, JudgeService j) {
    String id = j.judge().id();
    FunctionCounter.builder("rlstream.judge.groups.judged", j, x -> x.judged())
        .tag("judge", id)
        .description("groups judged and committed")
        .register(r);
    FunctionCounter.builder("rlstream.judge.dead.letters", j, x -> x.deadLettered())
        .tag("judge", id)
        .description("groups dead-lettered after the retries")
        .register(r);
    FunctionCounter.builder("rlstream.judge.verdicts", j, x -> x.verdictTotals().verdicts())
        .tag("judge", id)
        .description("verdicts reached, including batches retried")
        .register(r);
    FunctionCounter.builder(
            "rlstream.judge.latency.seconds", j, x -> x.verdictTotals().latencyMs() / 1e3)
        .tag("judge", id)
        .description("summed wall time of the verdicts (divide by verdicts for the mean)")
        .register(r);
    FunctionCounter.builder("rlstream.judge.cost.usd", j, x -> x.verdictTotals().costUsd())
        .tag("judge", id)
        .description("money spent on verdicts")
        .register(r);
  }

  static void assembler(MeterRegistry r, Assembler a) {
    counter(
        r,
        "rlstream.assembler.groups.emitted",
        "scored groups emitted",
        a,
        x -> x.counts().emitted());
    counter(
        r,
        "rlstream.assembler.groups.partial",
        "groups emitted partial",
        a,
        x -> x.counts().partial());
    counter(
        r,
        "rlstream.assembler.dead.letters",
        "groups dead-lettered",
        a,
        x -> x.counts().deadLettered());
    gauge(
        r,
        "rlstream.assembler.groups.waiting",
        "groups waiting for judgements",
        a,
        x -> x.counts().pending());
  }

  static void learner(MeterRegistry r, LearnerService l) {
    counter(r, "rlstream.learner.steps", "optimizer steps", l, x -> x.steps());
    counter(
        r,
        "rlstream.learner.groups.consumed",
        "scored groups consumed",
        l,
        x -> x.groupsConsumed());
    counter(
        r, "rlstream.learner.stale.dropped", "groups dropped as stale", l, x -> x.staleDropped());
    gauge(r, "rlstream.learner.policy.version", "newest published version", l, x -> x.version());
    gauge(r, "rlstream.learner.epoch", "learner epoch", l, x -> x.epoch());
    gauge(
        r,
        "rlstream.learner.loss",
        "last step's loss",
        l,
        x -> last(x, LearnerService.StepReport::loss));
    gauge(
        r,
        "rlstream.learner.reward.mean",
        "last step's mean reward",
        l,
        x -> last(x, LearnerService.StepReport::rewardMean));
    gauge(
        r,
        "rlstream.learner.staleness.mean",
        "last step's mean staleness (versions)",
        l,
        x -> last(x, LearnerService.StepReport::stalenessMean));
    gauge(
        r,
        "rlstream.learner.staleness.max",
        "last step's largest staleness (versions)",
        l,
        x -> last(x, s -> s.stalenessMax()));
    gauge(
        r,
        "rlstream.learner.tokens.per.second",
        "last step's completion tokens per second",
        l,
        x -> last(x, s -> s.tokens() / Math.max(1e-9, s.stepSeconds())));
    counter(r, "rlstream.learner.busy.seconds", "time in steps", l, x -> x.busySeconds());
    counter(r, "rlstream.learner.idle.seconds", "time waiting for groups", l, x -> x.idleSeconds());
  }

  /**
   * {@code rlstream_consumer_lag{group, topic}}: records on {@code topics} that {@code group} has
   * not committed yet, asked from the broker at most every 5 s.
   */
  static void lag(MetricsEndpoint m, KafkaClientConfig kafka, String group, String... topics) {
    ConsumerLag lag = m.closing(new ConsumerLag(kafka, group, List.of(topics), 5_000));
    for (String topic : topics) {
      Gauge.builder("rlstream.consumer.lag", lag, l -> l.lag(topic))
          .tags("group", group, "topic", topic)
          .description("records not yet consumed and committed by the group")
          .strongReference(true)
          .register(m.registry());
    }
  }

  private static double last(LearnerService l, ToDoubleFunction<LearnerService.StepReport> f) {
    LearnerService.StepReport s = l.last();
    return s == null ? Double.NaN : f.applyAsDouble(s);
  }

  private static <T> void counter(
      MeterRegistry r, String name, String help, T obj, ToDoubleFunction<T> f) {
    FunctionCounter.builder(name, obj, f).description(help).register(r);
  }

  private static <T> void gauge(
      MeterRegistry r, String name, String help, T obj, ToDoubleFunction<T> f) {
    Gauge.builder(name, obj, f).description(help).strongReference(true).register(r);
  }
}
