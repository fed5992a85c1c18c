package io.rlstream.schemas;

import java.util.List;
import java.util.Map;

/**
 * The topics of an rlstream pipeline and their defaults, in one place. Every topic that carries a
 * group is keyed by {@code groupId}, so all records of one group land in the same partition.
 */
public final class Topics {
  private Topics() {}

  private static final long DAY_MS = 24L * 60 * 60 * 1000;
  private static final int MIB = 1024 * 1024;

  /** Prompts fed to generators (JSON lines or records); key: prompt id. */
  public static final String PROMPTS = "rl.prompts";

  /** {@link SampleGroup}s from generators; key: groupId. */
  public static final String SAMPLES = "rl.samples";

  /** {@link Judgement}s from judges; key: groupId. */
  public static final String JUDGEMENTS = "rl.judgements";

  /**
   * {@link ScoredGroup}s from the assembler: the learner's input and the replay log; key: groupId.
   */
  public static final String SCORED = "rl.scored";

  /** {@link WeightChunk}s then a {@link PolicyAnnouncement} per version; key: "policy". */
  public static final String POLICY = "rl.policy";

  /**
   * The assembler's changelog: an {@link AssemblerEntry} per group still waiting for judgements;
   * compacted, partitioned like {@link #SAMPLES} and {@link #JUDGEMENTS}; key: groupId.
   */
  public static final String ASSEMBLER_STATE = "rl.assembler.state";

  /** {@link JudgeSet}s: which judges each assembler waits for; compacted; key: assembler name. */
  public static final String ASSEMBLER_CONFIG = "rl.assembler.config";

  /** Records that could not be read or processed, with the reason in headers; key: original key. */
  public static final String DLQ = "rl.dlq";

  /**
   * The largest record any rlstream topic accepts, bytes. Producers are configured to send up to
   * this size ({@code max.request.size}).
   */
  public static final int MAX_RECORD_BYTES = 16 * MIB;

  public static final TopicSpec PROMPTS_SPEC =
      new TopicSpec(
          PROMPTS, 3, retention(14 * DAY_MS, MIB), "prompts for generators; key: prompt id");

  public static final TopicSpec SAMPLES_SPEC =
      new TopicSpec(SAMPLES, 3, retention(14 * DAY_MS, 8 * MIB), "SampleGroup; key: groupId");

  public static final TopicSpec JUDGEMENTS_SPEC =
      new TopicSpec(JUDGEMENTS, 3, retention(14 * DAY_MS, 8 * MIB), "Judgement; key: groupId");

  /** Compacted: only the newest entry per group matters, and a deleted one disappears. */
  public static final TopicSpec ASSEMBLER_STATE_SPEC =
      new TopicSpec(
          ASSEMBLER_STATE,
          3,
          Map.of(
              "cleanup.policy",
              "compact",
              "min.compaction.lag.ms",
              "0",
              "delete.retention.ms",
              Long.toString(DAY_MS),
              "max.message.bytes",
              Integer.toString(MAX_RECORD_BYTES)),
          "AssemblerEntry (assembler changelog); key: groupId; null value: emitted");

  public static final TopicSpec ASSEMBLER_CONFIG_SPEC =
      new TopicSpec(
          ASSEMBLER_CONFIG,
          1,
          Map.of("cleanup.policy", "compact", "max.message.bytes", Integer.toString(MIB)),
          "JudgeSet; key: assembler name; newest wins");

  /** Kept forever by default: the log a learner replays to retrain. */
  public static final TopicSpec SCORED_SPEC =
      new TopicSpec(SCORED, 3, retention(-1, MAX_RECORD_BYTES), "ScoredGroup; key: groupId");

  /**
   * One partition, so versions are totally ordered; short segments so old weights age out. Inline
   * weight chunks must stay under {@code max.message.bytes} (8 MiB).
   */
  public static final TopicSpec POLICY_SPEC =
      new TopicSpec(
          POLICY,
          1,
          Map.of(
              "cleanup.policy", "delete",
              "retention.ms", Long.toString(3 * DAY_MS),
              "segment.ms", Long.toString(60L * 60 * 1000),
              "max.message.bytes", Integer.toString(8 * MIB)),
          "WeightChunk and PolicyAnnouncement; key: \"policy\"");

  /** Holds originals of any topic, so it accepts the largest record any topic does. */
  public static final TopicSpec DLQ_SPEC =
      new TopicSpec(
          DLQ,
          1,
          retention(30 * DAY_MS, MAX_RECORD_BYTES),
          "dead letters: original key, value and headers plus rl.dlq.* headers");

  /** Every topic of the pipeline, in data-flow order. */
  public static List<TopicSpec> all() {
    return List.of(
        PROMPTS_SPEC,
        SAMPLES_SPEC,
        JUDGEMENTS_SPEC,
        ASSEMBLER_STATE_SPEC,
        ASSEMBLER_CONFIG_SPEC,
        SCORED_SPEC,
        POLICY_SPEC,
        DLQ_SPEC);
  }

  private static Map<String, String> retention(long retentionMs, int maxMessageBytes) {
    return Map.of(
        "cleanup.policy", "delete",
        "retention.ms", Long.toString(retentionMs),
        "max.message.bytes", Integer.toString(maxMessageBytes));
  }
}
