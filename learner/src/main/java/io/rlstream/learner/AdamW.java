package io.rlstream.learner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.HashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter 2019, Algorithm 2: Adam with decoupled weight decay) with
 * global-norm gradient clipping first (Pascanu et al. 2013): when the L2 norm of all gradients
 * together exceeds {@code maxGradNorm}, every gradient is scaled by {@code maxGradNorm / norm}.
 * Weight decay applies to matrices only (weights with two or more dimensions), not to norms' gains
 * or biases, as the usual Transformer recipes do.
 *
 * <p>Moments live in Java memory (float32), so they are plain state to checkpoint. Weights are
 * updated in place with autograd off and gradients are zeroed after, ready for the next step. Not
 * thread-safe: one learner thread owns it.
 */
public final class AdamW {

  /**
   * @param lr learning rate
   * @param beta1 first-moment decay
   * @param beta2 second-moment decay
   * @param eps denominator guard
   * @param weightDecay decoupled decay rate (multiplied by lr)
   * @param maxGradNorm clip threshold for the global gradient norm; 0 or less turns clipping off
   */
  public record Config(
      double lr, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) {
    public Config {
      require(lr > 0 && Double.isFinite(lr), "lr must be positive, was " + lr);
      require(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), was " + beta1);
      require(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), was " + beta2);
      require(eps > 0, "eps must be positive, was " + eps);
      require(weightDecay >= 0, "weight decay must be >= 0, was " + weightDecay);
    }

    /** lr as given, betas (0.9, 0.999), eps 1e-8, weight decay 0.01, clipping at norm 1. */
    public static Config of(double lr) {
      return new Config(lr, 0.9, 0.999, 1e-8, 0.01, 1.0);
    }

    public Config withMaxGradNorm(double n) {
      return new Config(lr, beta1, beta2, eps, weightDecay, n);
    }
  }

  private final Config config;
  private final Map<String, float[][]> moments = new HashMap<>();
  private long steps;

  public AdamW(Config config) {
    this.config = config;
  }

  /** Optimizer steps taken. */
  public long steps() {
    return steps;
  }

  /** The optimizer's state: steps taken and each weight's first and second moments. */
  public record State(long steps, Map<String, float[][]> moments) {}

  /** A deep copy of the state, for a checkpoint. */
  public State state() {
    Map<String, float[][]> copy = new HashMap<>();
    moments.forEach((k, mv) -> copy.put(k, new float[][] {mv[0].clone(), mv[1].clone()}));
    return new State(steps, copy);
  }

  /** Continues from {@code state} as if it had taken those steps itself. */
  public void restore(State state) {
    moments.clear();
    state
        .moments()
        .forEach((k, mv) -> moments.put(k, new float[][] {mv[0].clone(), mv[1].clone()}));
    steps = state.steps();
  }

  /**
   * Applies one update from the gradients held by {@code params} and zeroes them.
   *
   * @return the global gradient norm before clipping
   */
  public double step(Map<String, NDArray> params) {
    Map<String, float[]> grads = new HashMap<>();
    double sumSq = 0;
    for (Map.Entry<String, NDArray> e : params.entrySet()) {
      float[] g = e.getValue().getGradient().toFloatArray();
      for (float x : g) {
        sumSq += (double) x * x;
      }
      grads.put(e.getKey(), g);
    }
    double norm = Math.sqrt(sumSq);
    if (!Double.isFinite(norm)) {
      throw new IllegalStateException(
          "gradient norm is " + norm + ": the loss or the model produced NaN or infinity");
    }
    double scale =
        config.maxGradNorm() > 0 && norm > config.maxGradNorm() ? config.maxGradNorm() / norm : 1;
    steps++;
    double bias1 = 1 - Math.pow(config.beta1(), steps);
    double bias2 = 1 - Math.pow(config.beta2(), steps);
    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try (NDManager tmp = NDManager.newBaseManager(params.values().iterator().next().getDevice())) {
      for (Map.Entry<String, NDArray> e : params.entrySet()) {
        NDArray w = e.getValue();
        if (w.getShape().dimension() >= 2 && config.weightDecay() > 0) {
          w.muli(1 - config.lr() * config.weightDecay()); // decoupled decay: θ ← θ(1 − ηλ)
        }
        float[] delta = adamStep(e.getKey(), grads.get(e.getKey()), scale, bias1, bias2);
        w.subi(tmp.create(delta, w.getShape()));
        JniUtils.zeroGrad((PtNDArray) w);
      }
    } finally {
      JniUtils.setGradMode(gradMode);
    }
    return norm;
  }

  /** The Adam step η·m̂/(√v̂ + ε) for one weight, its moments updated on the way. */
  private float[] adamStep(String name, float[] g, double scale, double bias1, double bias2) {
    float[][] mv =
        moments.computeIfAbsent(
            name, k -> new float[][] {new float[g.length], new float[g.length]});
    float[] m = mv[0];
    float[] v = mv[1];
    float b1 = (float) config.beta1();
    float b2 = (float) config.beta2();
    float[] delta = new float[g.length];
    for (int i = 0; i < g.length; i++) {
      float gi = (float) (g[i] * scale);
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      delta[i] = (float) (config.lr() * (m[i] / bias1) / (Math.sqrt(v[i] / bias2) + config.eps()));
    }
    return delta;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
