package io.rlstream.generator;

import io.rlstream.policy.Generation;
import io.rlstream.policy.PolicySampler;
import io.rlstream.policy.SamplingConfig;
import io.rlstream.policy.Tokenizer;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionSource;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Turns prompts into {@link SampleGroup}s: one generate call on the {@link PolicySampler} for a
 * batch of prompts, G completions each, every group stamped with the version that sampled it, the
 * sampling settings, the seed and the behaviour log-probs the learner's ratios need. Prompts are
 * tokenised as BOS followed by the text's tokens; {@code promptTokenIds} holds exactly that.
 */
public final class GroupSampler {
  private final PolicySampler sampler;
  private final SamplingConfig sampling;
  private final int groupSize;
  private final String runId;
  private final long epoch;
  private final int bos;
  private PolicySampler reference;
  private int referenceCount;

  /**
   * @param groupSize completions per prompt (G)
   * @param runId written to every group
   * @param epoch learner epoch of the versions served (0 until a learner restarts from an older
   *     checkpoint)
   */
  public GroupSampler(
      PolicySampler sampler, SamplingConfig sampling, int groupSize, String runId, long epoch) {
    this.sampler = Objects.requireNonNull(sampler, "sampler");
    this.sampling = Objects.requireNonNull(sampling, "sampling");
    if (groupSize < 1) {
      throw new IllegalArgumentException("group size must be >= 1, got " + groupSize);
    }
    this.groupSize = groupSize;
    this.runId = Objects.requireNonNull(runId, "runId");
    this.epoch = epoch;
    this.bos = sampler.config().bosTokenId();
  }

  public int groupSize() {
    return groupSize;
  }

  public SamplingConfig sampling() {
    return sampling;
  }

  /**
   * XPO's exploration samples: each group also gets {@code count} completions sampled from {@code
   * reference} (the frozen warm start), indexed after the policy's and marked {@code REFERENCE},
   * their log-probs the reference's. Call before the first {@link #sample}.
   */
  public GroupSampler exploreWith(PolicySampler reference, int count) {
    if (count < 1) {
      throw new IllegalArgumentException("reference samples per group must be >= 1, got " + count);
    }
    this.reference = Objects.requireNonNull(reference, "reference");
    this.referenceCount = count;
    return this;
  }

  /** Samples one group per prompt with {@code seed}; blocks until the model thread is done. */
  public List<SampleGroup> sample(List<Prompt> prompts, long seed) {
    List<int[]> tokens = new ArrayList<>(prompts.size());
    for (Prompt p : prompts) {
      tokens.add(promptTokens(sampler.tokenizer(), bos, p.text()));
    }
    Generation gen = sampler.generate(tokens, groupSize, sampling, seed);
    Generation explore =
        reference == null
            ? null
            : reference.generate(tokens, referenceCount, sampling, seed ^ 0x5DEECE66DL);
    List<SampleGroup> out = new ArrayList<>(prompts.size());
    SamplingParams params = params(sampling);
    for (int i = 0; i < prompts.size(); i++) {
      Prompt p = prompts.get(i);
      List<Completion> completions = new ArrayList<>(groupSize);
      List<io.rlstream.policy.Completion> sampled = new ArrayList<>(gen.completions().get(i));
      int fromPolicy = sampled.size();
      if (explore != null) {
        sampled.addAll(explore.completions().get(i));
      }
      for (int g = 0; g < sampled.size(); g++) {
        io.rlstream.policy.Completion c = sampled.get(g);
        completions.add(
            new Completion(
                g,
                Packed.ints(c.tokens()),
                c.text(),
                Packed.floats(c.logProbs()),
                c.finish() == io.rlstream.policy.FinishReason.STOP
                    ? FinishReason.STOP
                    : FinishReason.LENGTH,
                g < fromPolicy ? CompletionSource.POLICY : CompletionSource.REFERENCE));
      }
      out.add(
          SampleGroup.newBuilder()
              .setGroupId(UUID.randomUUID().toString())
              .setRunId(runId)
              .setTaskId(p.taskId())
              .setPromptId(p.id())
              .setPromptText(p.text())
              .setPromptTokenIds(Packed.ints(tokens.get(i)))
              .setReferenceAnswer(p.answer())
              .setCompletions(completions)
              .setPolicyVersion(gen.policyVersion())
              .setPolicyEpoch(epoch)
              .setSampling(params)
              .setSeed(seed)
              .setMetadata(Map.of())
              .setProvenance(Provenances.now("generator"))
              .build());
    }
    return out;
  }

  /** BOS then the tokens of {@code text}. */
  public static int[] promptTokens(Tokenizer tokenizer, int bos, String text) {
    int[] body = tokenizer.encode(text);
    int[] p = new int[body.length + 1];
    p[0] = bos;
    System.arraycopy(body, 0, p, 1, body.length);
    return p;
  }

  static SamplingParams params(SamplingConfig c) {
    return SamplingParams.newBuilder()
        .setTemperature((float) c.temperature())
        .setTopP((float) c.topP())
        .setTopK(c.topK())
        .setMaxNewTokens(c.maxNewTokens())
        .setStopTokenIds(new ArrayList<>(c.stopTokenIds()))
        .setStopStrings(List.copyOf(c.stopStrings()))
        .setLogprobDistribution("sampling")
        .build();
  }
}
