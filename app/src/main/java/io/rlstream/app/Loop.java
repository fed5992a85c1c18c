package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.GeneratorService;
import io.rlstream.generator.Prompt;
import io.rlstream.generator.PromptSource;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.judge.Assembler;
import io.rlstream.judge.JudgeService;
import io.rlstream.judge.JudgeSets;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.learner.LearnerService;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.schemas.JudgeSet;
import io.rlstream.schemas.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The services of one RL loop — generator, the math-verifier judge, the assembler, learner — wired
 * from one {@link LoopConfig}, each with its own Kafka clients exactly as when run as separate
 * processes; here in one JVM for the demo, the tests and the benchmark. Closing stops the generator
 * first (nothing new enters), then the judge and the assembler, then the learner.
 */
public final class Loop implements AutoCloseable {
  /** The assembler the loop runs ({@code rl-assembler-main}). */
  public static final String ASSEMBLER = "main";

  public final GeneratorService generator;
  public final JudgeService judge;
  public final Assembler assembler;
  public final LearnerService learner;
  final KafkaClientConfig kafka;
  final TopicNames topics;
  private final Policy learnerPolicy;
  private final Policy reference;

  private Loop(
      KafkaClientConfig kafka,
      TopicNames topics,
      GeneratorService generator,
      JudgeService judge,
      Assembler assembler,
      LearnerService learner,
      Policy learnerPolicy,
      Policy reference) {
    this.kafka = kafka;
    this.topics = topics;
    this.generator = generator;
    this.judge = judge;
    this.assembler = assembler;
    this.learner = learner;
    this.learnerPolicy = learnerPolicy;
    this.reference = reference;
  }

  /**
   * Builds (does not start) the loop from a warm-start checkpoint: the learner and the generator
   * each load their own copy; the reference loads only when the KL term needs it.
   */
  public static Loop create(
      KafkaClientConfig kafka,
      TopicNames topics,
      LoopConfig config,
      Checkpoint warmStart,
      Device device,
      List<Prompt> trainPrompts,
      String runId,
      Consumer<LearnerService.StepReport> onStep) {
    List<AutoCloseable> made = new ArrayList<>();
    try {
      Policy learnerPolicy = track(made, Policy.of(warmStart, device));
      Policy reference = config.needsReference() ? track(made, Policy.of(warmStart, device)) : null;
      LearnerService learner =
          track(made, learner(kafka, topics, config, learnerPolicy, reference, onStep));
      JudgeService judge =
          track(
              made,
              new JudgeService(
                  kafka, topics, new MathAnswerVerifier(), JudgeService.Options.of(runId)));
      Assembler assembler =
          track(made, new Assembler(kafka, topics, Assembler.Options.of(ASSEMBLER, runId)));
      PolicySampler sampler =
          track(made, new PolicySampler("generator", Policy.of(warmStart, device), 0));
      GeneratorService generator = generator(kafka, topics, config, sampler, trainPrompts, runId);
      if (config.samplesReference()) {
        generator.exploreWith(
            new PolicySampler("reference", Policy.of(warmStart, device), 0), config.xpoSamples());
      }
      return new Loop(
          kafka, topics, generator, judge, assembler, learner, learnerPolicy, reference);
    } catch (RuntimeException e) {
      for (AutoCloseable c : made) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /** The learner service over {@code policy} (and {@code reference} when the loss needs it). */
  static LearnerService learner(
      KafkaClientConfig kafka,
      TopicNames topics,
      LoopConfig config,
      Policy policy,
      Policy reference,
      Consumer<LearnerService.StepReport> onStep) {
    return learner(kafka, topics, config, config.learner(), policy, reference, onStep);
  }

  /** As above, with the learner service's own settings (checkpoints, consumer group). */
  static LearnerService learner(
      KafkaClientConfig kafka,
      TopicNames topics,
      LoopConfig config,
      LearnerService.Config service,
      Policy policy,
      Policy reference,
      Consumer<LearnerService.StepReport> onStep) {
    PolicyTrainer trainer = config.trainer(policy, reference);
    return new LearnerService(kafka, topics, service, trainer, 0, onStep);
  }

  /** The loop's judge set: the math verifier alone, weight 1. */
  static JudgeSet mathOnly() {
    return JudgeSets.parse(
        ASSEMBLER, "math=1.0", "weighted_sum", 1.0, "partial", Duration.ofSeconds(60));
  }

  /** The generator service sampling {@code prompts} with {@code sampler}. */
  static GeneratorService generator(
      KafkaClientConfig kafka,
      TopicNames topics,
      LoopConfig config,
      PolicySampler sampler,
      List<Prompt> prompts,
      String runId) {
    return new GeneratorService(
        kafka,
        topics,
        new GeneratorService.Config(
            runId,
            config.promptsPerBatch(),
            config.groupSize(),
            config.sampling(Set.copyOf(sampler.config().eosTokenIds())),
            config.maxVersionsAhead(),
            config.learner().groupsPerVersion(),
            config.seed()),
        sampler,
        new PromptSource(prompts, config.seed()));
  }

  private static <T extends AutoCloseable> T track(List<AutoCloseable> made, T resource) {
    made.add(0, resource);
    return resource;
  }

  public Loop start() {
    learner.start();
    JudgeSets.publish(kafka, topics.assemblerConfig(), mathOnly());
    assembler.start();
    judge.start();
    generator.start();
    return this;
  }

  /** The learner's current weights as a checkpoint (taken between steps). */
  public Checkpoint learnerSnapshot() {
    return learner.onTrainingThread(learnerPolicy::snapshot);
  }

  @Override
  public void close() {
    generator.close();
    generator.sampler().close();
    judge.close();
    judge.judge().close();
    assembler.close();
    learner.close();
    learnerPolicy.close();
    if (reference != null) {
      reference.close();
    }
  }
}
