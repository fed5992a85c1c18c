package io.rlstream.judge.rm;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.rlstream.infra.ServiceThread;
import io.rlstream.judge.Judge;
import io.rlstream.judge.Verdict;
import io.rlstream.policy.RewardModel;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.SampleGroup;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Mono;

/**
 * A pointwise judge that scores each completion with a {@link RewardModel} (trained by {@code
 * rlstream rm-train}): prompt + completion token ids in one batched forward per group, on the
 * judge's own model thread (DJL grad mode is per thread; one thread keeps it off and keeps the
 * native ops of concurrent groups from interleaving).
 */
public final class RewardModelJudge implements Judge {
  private final String id;
  private final String version;
  private final RewardModel model;
  private final ServiceThread thread;

  public RewardModelJudge(String id, String version, RewardModel model) {
    this.id = id;
    this.version = version;
    this.model = model;
    this.thread = new ServiceThread("rlstream-rm-" + id);
    Mono.fromRunnable(() -> JniUtils.setGradMode(false)).subscribeOn(thread.scheduler()).block();
  }

  @Override
  public String id() {
    return id;
  }

  /** A forward pass per group: batches of seconds, not minutes, on a CPU. */
  @Override
  public int maxBatch() {
    return 256;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public JudgementKind kind() {
    return JudgementKind.POINTWISE;
  }

  @Override
  public Mono<Verdict> judge(SampleGroup group) {
    return Mono.fromCallable(() -> score(group)).subscribeOn(thread.scheduler());
  }

  private Verdict score(SampleGroup group) {
    int[] prompt = Packed.toInts(group.getPromptTokenIds());
    List<int[]> seqs = new ArrayList<>();
    for (Completion c : group.getCompletions()) {
      int[] y = Packed.toInts(c.getTokenIds());
      int[] s = new int[prompt.length + y.length];
      System.arraycopy(prompt, 0, s, 0, prompt.length);
      System.arraycopy(y, 0, s, prompt.length, y.length);
      seqs.add(s);
    }
    float[] r;
    try (NDManager m = NDManager.newBaseManager(model.device())) {
      r = model.rewards(m, seqs).toFloatArray();
    }
    List<CompletionScore> scores = new ArrayList<>();
    for (int i = 0; i < r.length; i++) {
      scores.add(
          new CompletionScore(group.getCompletions().get(i).getIndex(), (double) r[i], null));
    }
    return Verdict.pointwise(scores);
  }

  @Override
  public void close() {
    thread.close();
    model.close();
  }
}
