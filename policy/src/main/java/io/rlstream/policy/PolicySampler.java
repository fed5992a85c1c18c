package io.rlstream.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one policy from one dedicated thread: generate calls run there one at a time, with
 * autograd off (grad mode is per thread in DJL), and new weight versions are swapped in there
 * between calls — so no call ever mixes two versions, and each {@link Generation} names the version
 * that produced it.
 *
 * <p>A {@link #offer(WeightUpdate) offered} update waits in a one-slot mailbox (a newer offer
 * replaces an older one that was not applied yet) and is checked whole before anything changes: an
 * update with a missing, extra or misshapen tensor, or a version not above the current one, is
 * refused and the old weights keep serving.
 */
public final class PolicySampler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicySampler.class);

  private final Policy policy;
  private final ExecutorService thread;
  private final AtomicReference<Pending> mailbox = new AtomicReference<>();
  private final AtomicLong version;
  private volatile long epoch;
  private final AtomicLong refused = new AtomicLong();

  private record Pending(WeightUpdate update, CompletableFuture<Long> applied) {}

  /** Takes ownership of {@code policy} (closed with this sampler) serving {@code version}. */
  public PolicySampler(String name, Policy policy, long version) {
    this.policy = policy;
    this.version = new AtomicLong(version);
    this.thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "rlstream-sampler-" + name);
              t.setDaemon(true);
              return t;
            });
    thread.submit(() -> JniUtils.setGradMode(false));
  }

  /**
   * Samples {@code samplesPerPrompt} completions for every prompt on the model thread, after
   * applying a pending weight update.
   */
  public CompletableFuture<Generation> submit(
      List<int[]> prompts, int samplesPerPrompt, SamplingConfig config, long seed) {
    List<int[]> copy = new ArrayList<>(prompts);
    return CompletableFuture.supplyAsync(
        () -> {
          applyPending();
          long start = System.nanoTime();
          List<List<Completion>> out =
              Sampling.run(
                  policy.model(), policy.tokenizer(), copy, samplesPerPrompt, config, seed);
          long newTokens =
              out.stream().flatMap(List::stream).mapToLong(c -> c.tokens().length).sum();
          return new Generation(version.get(), out, newTokens, System.nanoTime() - start);
        },
        thread);
  }

  /** {@link #submit} and wait; errors are rethrown unwrapped. */
  public Generation generate(
      List<int[]> prompts, int samplesPerPrompt, SamplingConfig config, long seed) {
    return join(submit(prompts, samplesPerPrompt, config, seed));
  }

  /**
   * Queues new weights for the next call. The future completes with the version once the weights
   * serve, or exceptionally when they are refused or replaced by a newer offer first.
   */
  public CompletableFuture<Long> offer(WeightUpdate update) {
    CompletableFuture<Long> applied = new CompletableFuture<>();
    Pending old = mailbox.getAndSet(new Pending(update, applied));
    if (old != null) {
      old.applied()
          .completeExceptionally(
              new IllegalStateException(
                  "version " + old.update().version() + " superseded by " + update.version()));
    }
    try {
      thread.execute(this::applyPending); // apply promptly even when nobody is generating
    } catch (RejectedExecutionException e) {
      applied.completeExceptionally(new IllegalStateException("sampler closed"));
    }
    return applied;
  }

  /**
   * Runs other work that needs this model (scoring, evaluation) on the model thread, between
   * generate calls, and waits for it; grad mode is off there.
   */
  public <T> T submitTask(Supplier<T> task) {
    return join(CompletableFuture.supplyAsync(task, thread));
  }

  private static <T> T join(CompletableFuture<T> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  /** The version serving now. */
  public long version() {
    return version.get();
  }

  /** The learner epoch of the weights served (0 until a learner resumes from a checkpoint). */
  public long epoch() {
    return epoch;
  }

  /** Updates refused so far (bad shape, stale version). */
  public long refusedUpdates() {
    return refused.get();
  }

  public Tokenizer tokenizer() {
    return policy.tokenizer();
  }

  public ModelConfig config() {
    return policy.config();
  }

  private void applyPending() {
    Pending p = mailbox.getAndSet(null);
    if (p == null) {
      return;
    }
    try {
      swap(p.update());
      p.applied().complete(p.update().version());
    } catch (RuntimeException e) {
      refused.incrementAndGet();
      log.warn("refused weight update to version {}: {}", p.update().version(), e.getMessage());
      p.applied().completeExceptionally(e);
    }
  }

  /** Checks the whole update, copies it to the device, then replaces every array in place. */
  private void swap(WeightUpdate update) {
    if (update.epoch() < epoch) {
      throw new IllegalArgumentException(
          "version " + update.version() + " is of epoch " + update.epoch() + ", serving " + epoch);
    }
    if (update.epoch() == epoch && update.version() <= version.get()) {
      throw new IllegalArgumentException(
          "version "
              + update.version()
              + " is not newer than the serving version "
              + version.get());
    }
    Map<String, Shape> given = new HashMap<>();
    update.tensors().forEach((name, t) -> given.put(name, new Shape(t.shape())));
    List<String> problems = Transformer.misfits(policy.config(), given);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    Map<String, NDArray> params = policy.model().parameters();
    try (NDManager staging = NDManager.newBaseManager(policy.model().device())) {
      Map<String, NDArray> fresh = new HashMap<>();
      // duplicate(): an array made from a Java buffer borrows that buffer's memory, which
      // intern() would leave unowned; a clone owns its storage.
      params
          .keySet()
          .forEach(n -> fresh.put(n, update.tensors().get(n).toNDArray(staging).duplicate()));
      params.forEach((name, a) -> a.intern(fresh.get(name)));
    }
    version.set(update.version());
    epoch = update.epoch();
  }

  @Override
  public void close() {
    thread.shutdown();
    try {
      if (!thread.awaitTermination(60, TimeUnit.SECONDS)) {
        thread.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Pending p = mailbox.getAndSet(null);
    if (p != null) {
      p.applied().completeExceptionally(new IllegalStateException("sampler closed"));
    }
    policy.close();
  }
}
