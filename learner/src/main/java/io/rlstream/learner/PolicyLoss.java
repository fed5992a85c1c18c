package io.rlstream.learner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.rlstream.policy.Scorer;
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
   * True when the batch must carry the learner's own log-probs from before the batch's first update
   * ({@link TrainBatch#proximalLogProbs()}), to weigh a stale behaviour policy.
   */
  default boolean needsProximal() {
    return false;
  }

  /** Optimizer steps taken on each batch. */
  default int iterations() {
    return 1;
  }

  /** Steps between copies of the policy into the reference; 0 keeps the reference frozen. */
  default int referenceSyncEvery() {
    return 0;
  }

  /**
   * The loss of {@code batch} for {@code policy}, recorded for autograd.
   *
   * @param reference the frozen reference, or null when {@link #needsReference()} is false
   * @param manager owns every array made for this step
   */
  Result compute(Transformer policy, Transformer reference, TrainBatch batch, NDManager manager);

  /** {@code model}'s log-probs of the batch's completions without gradient (a reference's). */
  static NDArray frozenLogProbs(Transformer model, TrainBatch batch, NDManager manager) {
    boolean mode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      return Scorer.score(model, manager, batch.prompts(), batch.completions(), batch.temperature())
          .logProbs();
    } finally {
      JniUtils.setGradMode(mode);
    }
  }

  /** The scalar to minimise (null: nothing in the batch to learn from) and what to report. */
  record Result(NDArray loss, Map<String, Double> metrics) {
    /** No loss: every row was filtered out; the step is skipped. */
    public static Result skipped(Map<String, Double> metrics) {
      return new Result(null, metrics);
    }
  }
}
