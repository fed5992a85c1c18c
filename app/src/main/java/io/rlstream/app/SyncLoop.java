package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.GroupSampler;
import io.rlstream.generator.Prompt;
import io.rlstream.generator.PromptSource;
import io.rlstream.judge.GroupScorer;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.learner.TrainBatch;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.policy.WeightUpdate;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The same loop as {@link Loop} in lockstep and in one process, without Kafka: sample a batch,
 * judge it, train on it, hand the new weights to the sampler, repeat — the synchronous baseline
 * that colocated trainers use, for the loop benchmark.
 */
public final class SyncLoop implements AutoCloseable {
  private final LoopConfig config;
  private final Policy learnerPolicy;
  private final Policy reference;
  private final PolicySampler explorer;
  private final PolicySampler sampler;
  private final GroupSampler groups;
  private final GroupScorer scorer = GroupScorer.of(new MathAnswerVerifier());
  private final PolicyTrainer trainer;
  private final PromptSource prompts;
  private long version;
  private long batches;
  private long sampleNanos;
  private long trainNanos;

  public SyncLoop(LoopConfig config, Checkpoint warmStart, Device device, List<Prompt> train) {
    this.config = config;
    this.learnerPolicy = Policy.of(warmStart, device);
    this.reference = config.needsReference() ? Policy.of(warmStart, device) : null;
    this.sampler = new PolicySampler("sync", Policy.of(warmStart, device), 0);
    this.groups =
        new GroupSampler(
            sampler,
            config.sampling(Set.copyOf(warmStart.config().eosTokenIds())),
            config.groupSize(),
            "sync",
            0);
    this.trainer = config.trainer(learnerPolicy, reference);
    this.prompts = new PromptSource(train, config.seed());
    if (config.samplesReference()) {
      this.explorer = new PolicySampler("reference", Policy.of(warmStart, device), 0);
      groups.exploreWith(explorer, config.xpoSamples());
    } else {
      this.explorer = null;
    }
  }

  /** One learner step's worth: sample, judge, train, and publish every {@code publishEvery}. */
  public PolicyTrainer.StepResult step() {
    long start = System.nanoTime();
    List<ScoredGroup> scored = new ArrayList<>(config.groupsPerStep());
    while (scored.size() < config.groupsPerStep()) {
      int n = Math.min(config.promptsPerBatch(), config.groupsPerStep() - scored.size());
      for (SampleGroup g : groups.sample(prompts.next(n), config.seed() + batches++)) {
        scored.add(scorer.score(g));
      }
    }
    long sampled = System.nanoTime();
    PolicyTrainer.StepResult r = trainer.step(TrainBatch.of(scored));
    if (r.step() % config.publishEvery() == 0) {
      version++;
      sampler.offer(new WeightUpdate(version, Policy.hostWeights(learnerPolicy.model()))).join();
    }
    sampleNanos += sampled - start;
    trainNanos += System.nanoTime() - sampled;
    return r;
  }

  /** Seconds spent sampling and judging so far. */
  public double sampleSeconds() {
    return sampleNanos / 1e9;
  }

  /** Seconds spent training and handing weights to the sampler so far. */
  public double trainSeconds() {
    return trainNanos / 1e9;
  }

  /** Held-out accuracy of the learner's current weights (hands them to the sampler first). */
  public double accuracy(Evaluator evaluator) {
    version++;
    sampler.offer(new WeightUpdate(version, Policy.hostWeights(learnerPolicy.model()))).join();
    return evaluator.evaluate(sampler).accuracy();
  }

  @Override
  public void close() {
    sampler.close();
    learnerPolicy.close();
    if (reference != null) {
      reference.close();
    }
    if (explorer != null) {
      explorer.close();
    }
  }
}
