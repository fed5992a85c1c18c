package io.rlstream.learner;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rlstream.policy.Transformer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The learner's step: scores a {@link TrainBatch} under autograd with a {@link PolicyLoss},
 * back-propagates and applies {@link AdamW}. One step at a time, always on the same thread (DJL's
 * grad mode is per thread and one gradient collector may be open per JVM); every array of a step
 * lives in a sub-manager closed when the step ends.
 */
public final class PolicyTrainer {
  private final Transformer policy;
  private final Transformer reference;
  private final PolicyLoss loss;
  private final AdamW optimizer;

  /**
   * @param reference frozen reference model, required when {@code loss.needsReference()}, else
   *     ignored (may be null)
   */
  public PolicyTrainer(
      Transformer policy, Transformer reference, PolicyLoss loss, AdamW optimizer) {
    this.policy = Objects.requireNonNull(policy, "policy");
    this.loss = Objects.requireNonNull(loss, "loss");
    this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    if (loss.needsReference() && reference == null) {
      throw new IllegalArgumentException(
          loss.name() + " with a KL term needs a reference model; set beta to 0 to train without");
    }
    this.reference = loss.needsReference() ? reference : null;
    policy.parameters().values().forEach(p -> p.setRequiresGradient(true));
  }

  /** What one step did. */
  public record StepResult(
      long step, double loss, double gradNorm, long tokens, Map<String, Double> metrics) {}

  /** One optimizer step on {@code batch}. */
  public StepResult step(TrainBatch batch) {
    JniUtils.setGradMode(true);
    double lossValue;
    Map<String, Double> metrics;
    try (NDManager manager = NDManager.newBaseManager(policy.device());
        GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      PolicyLoss.Result result = loss.compute(policy, reference, batch, manager);
      NDArray l = result.loss();
      lossValue = l.getFloat();
      if (!Double.isFinite(lossValue)) {
        throw new IllegalStateException(
            "loss is " + lossValue + " at step " + (optimizer.steps() + 1));
      }
      collector.backward(l);
      metrics = new LinkedHashMap<>(result.metrics());
    }
    double norm = optimizer.step(policy.parameters());
    return new StepResult(optimizer.steps(), lossValue, norm, batch.tokens(), metrics);
  }

  public Transformer policy() {
    return policy;
  }
}
