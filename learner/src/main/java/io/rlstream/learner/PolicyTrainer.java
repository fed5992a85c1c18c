package io.rlstream.learner;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rlstream.policy.HostTensor;
import io.rlstream.policy.Transformer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
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
          loss.name()
              + " needs a reference model (a KL term or a preference loss); none was given");
    }
    this.reference = loss.needsReference() ? reference : null;
    policy.parameters().values().forEach(p -> p.setRequiresGradient(true));
  }

  /**
   * What one step did; {@code trained} is false when the loss filtered the whole batch out and no
   * optimizer step was taken ({@code skipped} = 1 in the metrics then).
   */
  public record StepResult(
      long step,
      double loss,
      double gradNorm,
      long tokens,
      Map<String, Double> metrics,
      boolean trained) {

    /** No step taken at optimizer step {@code step}. */
    public static StepResult skipped(long step, Map<String, Double> metrics) {
      Map<String, Double> m = new LinkedHashMap<>(metrics);
      m.put("skipped", 1.0);
      return new StepResult(step, Double.NaN, 0, 0, m, false);
    }
  }

  /**
   * The loss's {@link PolicyLoss#iterations()} optimizer steps on {@code batch} (one for most
   * losses). When the loss weighs a stale behaviour policy, the policy's own log-probs are taken
   * first, without gradient, and held for every iteration. The result reports the first iteration's
   * loss and metrics (the loss on the batch as sampled) and the last step's gradient norm; a batch
   * the loss filters out entirely takes no step ({@code skipped} = 1 in the metrics).
   */
  public StepResult step(TrainBatch input) {
    TrainBatch batch = loss.needsProximal() ? input.withProximal(proximal(input)) : input;
    double firstLoss = Double.NaN;
    Map<String, Double> firstMetrics = null;
    double norm = 0;
    long lossNanos = 0;
    long optimizerNanos = 0;
    for (int it = 0; it < loss.iterations(); it++) {
      long t0 = System.nanoTime();
      JniUtils.setGradMode(true);
      try (NDManager manager = NDManager.newBaseManager(policy.device());
          GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        PolicyLoss.Result result = loss.compute(policy, reference, batch, manager);
        if (result.loss() == null) {
          return StepResult.skipped(optimizer.steps(), result.metrics());
        }
        NDArray l = result.loss();
        double value = l.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        if (!Double.isFinite(value)) {
          throw new IllegalStateException(
              "loss is " + value + " at step " + (optimizer.steps() + 1));
        }
        collector.backward(l);
        if (it == 0) {
          firstLoss = value;
          firstMetrics = new LinkedHashMap<>(result.metrics());
        }
      }
      long t1 = System.nanoTime();
      norm = optimizer.step(policy.parameters());
      long t2 = System.nanoTime();
      lossNanos += t1 - t0;
      optimizerNanos += t2 - t1;
      int sync = loss.referenceSyncEvery();
      if (sync > 0 && reference != null && optimizer.steps() % sync == 0) {
        syncReference();
      }
    }
    if (loss.iterations() > 1) {
      firstMetrics.put("iterations", (double) loss.iterations());
    }
    // where the step's time went: scoring, loss and back-propagation, then the optimizer
    firstMetrics.put("time_loss_backward_s", lossNanos / 1e9);
    firstMetrics.put("time_optimizer_s", optimizerNanos / 1e9);
    return new StepResult(optimizer.steps(), firstLoss, norm, batch.tokens(), firstMetrics, true);
  }

  /** The policy's log-probs of the batch's completions, no gradient: the proximal policy. */
  private List<float[]> proximal(TrainBatch batch) {
    try (NDManager manager = NDManager.newBaseManager(policy.device())) {
      float[] flat = PolicyLoss.frozenLogProbs(policy, batch, manager).toFloatArray();
      int width = flat.length / batch.rows();
      List<float[]> out = new ArrayList<>(batch.rows());
      for (int i = 0; i < batch.rows(); i++) {
        out.add(Arrays.copyOfRange(flat, i * width, i * width + batch.completions().get(i).length));
      }
      return out;
    }
  }

  /** Copies the policy's weights into the reference (online DPO's periodic reference update). */
  public void syncReference() {
    boolean mode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      Map<String, NDArray> from = policy.parameters();
      reference.parameters().forEach((name, to) -> from.get(name).copyTo(to));
    } finally {
      JniUtils.setGradMode(mode);
    }
  }

  public AdamW optimizer() {
    return optimizer;
  }

  /** Puts the policy's weights and the optimizer's state back to a checkpoint's. */
  public void restore(Map<String, HostTensor> weights, AdamW.State state) {
    if (!weights.keySet().equals(policy.parameters().keySet())) {
      throw new IllegalArgumentException(
          "checkpoint weights " + weights.keySet() + " do not match the model's parameters");
    }
    boolean mode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      policy.parameters().forEach((name, p) -> p.set(FloatBuffer.wrap(weights.get(name).values())));
    } finally {
      JniUtils.setGradMode(mode);
    }
    optimizer.restore(state);
  }

  public Transformer policy() {
    return policy;
  }
}
