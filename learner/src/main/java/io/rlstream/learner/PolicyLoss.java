package io.rlstream.learner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.rlstream.policy.Transformer;
import java.util.Map;

/**
 * A policy-optimisation objective over one {@link TrainBatch}: GRPO here; online DPO, XPO and the
 * GRPO variants implement the same seam. The learner opens the gradient recording, calls {@link
 * #compute}, back-propagates {@link Result#loss()} and steps the optimizer.
 */
public interface PolicyLoss {
  /** Short name for logs and records, e.g. {@code grpo}. */
  String name();

  /** True when {@link #compute} needs the frozen reference model (a KL term). */
  boolean needsReference();

  /**
   * The loss of {@code batch} for {@code policy}, recorded for autograd.
   *
   * @param reference the frozen reference, or null when {@link #needsReference()} is false
   * @param manager owns every array made for this step
   */
  Result compute(Transformer policy, Transformer reference, TrainBatch batch, NDManager manager);

  /** The scalar to minimise and what to report about it. */
  record Result(NDArray loss, Map<String, Double> metrics) {}
}
