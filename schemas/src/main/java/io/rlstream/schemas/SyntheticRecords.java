package io.rlstream.schemas;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Records with the shapes and sizes of real ones, every field filled, from a seed: for tests,
 * benchmarks and load generators. Same seed, same records.
 */
public final class SyntheticRecords {
  private static final String ALPHABET = "0123456789+-*= abcdefghijklmnopqrstuvwxyz";

  private final SplittableRandom random;

  public SyntheticRecords(long seed) {
    this.random = new SplittableRandom(seed);
  }

  /** A group of {@code completions} completions of {@code tokens} tokens each. */
  public SampleGroup sampleGroup(String groupId, int completions, int tokens) {
    List<Completion> list = new ArrayList<>(completions);
    for (int i = 0; i < completions; i++) {
      list.add(completion(i, tokens));
    }
    int promptTokens = Math.max(4, tokens / 4);
    return SampleGroup.newBuilder()
        .setGroupId(groupId)
        .setRunId("run-synthetic")
        .setTaskId("arith")
        .setPromptId("p-" + random.nextInt(1_000_000))
        .setPromptText(text(promptTokens))
        .setPromptTokenIds(Packed.ints(tokenIds(promptTokens)))
        .setReferenceAnswer(Integer.toString(random.nextInt(200)))
        .setCompletions(list)
        .setPolicyVersion(random.nextInt(1000))
        .setPolicyEpoch(1)
        .setSampling(
            SamplingParams.newBuilder()
                .setTemperature(1.0f)
                .setTopP(0.95f)
                .setTopK(50)
                .setMaxNewTokens(tokens)
                .setStopTokenIds(List.of(2))
                .setStopStrings(List.of("\n"))
                .build())
        .setSeed(random.nextLong())
        .setMetadata(Map.of("split", "train"))
        .setProvenance(provenance("generator"))
        .build();
  }

  /** A pointwise judgement of every completion of {@code group}. */
  public Judgement judgement(SampleGroup group, String judgeId) {
    List<CompletionScore> scores = new ArrayList<>();
    for (Completion c : group.getCompletions()) {
      scores.add(
          CompletionScore.newBuilder()
              .setCompletionIndex(c.getIndex())
              .setScore(random.nextInt(2))
              .setRationale("extracted " + random.nextInt(200))
              .build());
    }
    return Judgement.newBuilder()
        .setJudgementId(group.getGroupId() + "/" + judgeId)
        .setGroupId(group.getGroupId())
        .setJudgeId(judgeId)
        .setJudgeVersion("1")
        .setKind(JudgementKind.POINTWISE)
        .setScores(scores)
        .setPreferences(
            List.of(
                PairwisePreference.newBuilder()
                    .setIndexA(0)
                    .setIndexB(Math.min(1, group.getCompletions().size() - 1))
                    .setProbabilityA(0.75)
                    .build()))
        .setPolicyVersion(group.getPolicyVersion())
        .setLatencyMs(random.nextInt(100))
        .setInputTokens(random.nextInt(1000))
        .setOutputTokens(random.nextInt(100))
        .setCostUsd(0.0001)
        .setProvenance(provenance("judge/" + judgeId))
        .build();
  }

  /** {@code group} scored by one judge, reward = its score. */
  public ScoredGroup scoredGroup(SampleGroup group) {
    Judgement j = judgement(group, "math");
    List<Double> rewards = j.getScores().stream().map(CompletionScore::getScore).toList();
    return ScoredGroup.newBuilder()
        .setGroup(group)
        .setJudgements(List.of(j))
        .setRewards(rewards)
        .setAggregation("weighted_sum(math=1.0)")
        .setPartial(false)
        .setMissingJudges(List.of())
        .setProvenance(provenance("assembler"))
        .build();
  }

  /** An announcement of a version of {@code sizeBytes} bytes in {@code chunks} inline chunks. */
  public PolicyAnnouncement announcement(long version, long sizeBytes, int chunks) {
    return PolicyAnnouncement.newBuilder()
        .setVersion(version)
        .setEpoch(1)
        .setLearnerStep(version * 4)
        .setSizeBytes(sizeBytes)
        .setSha256("0".repeat(64))
        .setTransport(WeightTransport.INLINE_CHUNKS)
        .setChunkCount(chunks)
        .setConsumedOffsets(Map.of("rl.scored-0", 42L))
        .setMetrics(Map.of("reward_mean", 0.5))
        .setProvenance(provenance("learner"))
        .build();
  }

  /** A chunk of {@code size} random bytes. */
  public WeightChunk weightChunk(long version, int index, int count, int size) {
    byte[] data = new byte[size];
    for (int i = 0; i < size; i++) {
      data[i] = (byte) random.nextInt(256);
    }
    return WeightChunk.newBuilder()
        .setVersion(version)
        .setEpoch(1)
        .setIndex(index)
        .setCount(count)
        .setOffsetBytes((long) index * size)
        .setData(ByteBuffer.wrap(data))
        .setSha256("0".repeat(64))
        .build();
  }

  private Completion completion(int index, int tokens) {
    float[] logprobs = new float[tokens];
    for (int i = 0; i < tokens; i++) {
      logprobs[i] = (float) -random.nextDouble(0, 5);
    }
    return Completion.newBuilder()
        .setIndex(index)
        .setTokenIds(Packed.ints(tokenIds(tokens)))
        .setText(text(tokens))
        .setLogprobs(Packed.floats(logprobs))
        .setFinishReason(random.nextBoolean() ? FinishReason.STOP : FinishReason.LENGTH)
        .setSource(CompletionSource.POLICY)
        .build();
  }

  private int[] tokenIds(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = random.nextInt(32_000);
    }
    return ids;
  }

  private String text(int chars) {
    StringBuilder sb = new StringBuilder(chars);
    for (int i = 0; i < chars; i++) {
      sb.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return sb.toString();
  }

  private Provenance provenance(String producer) {
    return Provenance.newBuilder()
        .setProducer(producer)
        .setProducerVersion("0.1.0")
        .setInstanceId("test-1")
        .setCreatedAtMs(1_790_000_000_000L + random.nextInt(1_000_000))
        .build();
  }
}
