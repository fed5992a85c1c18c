package io.rlstream.app;

import io.rlstream.infra.DeadLetters;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.LogReader;
import io.rlstream.learner.LearnerService;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.Judgement;
import io.rlstream.schemas.PairwisePreference;
import io.rlstream.schemas.PolicyAnnouncement;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import io.rlstream.schemas.WeightChunk;
import io.rlstream.schemas.WeightChunks;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * {@code rlstream inspect GROUP_ID}: one group's history across the log — the samples and who
 * sampled them with which policy version, every judge's verdict, the aggregated rewards, the policy
 * versions whose training consumed it (from the learner's announcements, which carry the {@code
 * rl.scored} offsets each version had consumed), and any dead letter with its reason.
 */
final class Inspect {
  static final String HELP =
      """
      usage: rlstream inspect GROUP_ID [options]

      Prints a group's history: samples, judgements, scores, the policy versions that trained on
      it, dead letters. Reads the topics from the beginning (no consumer group).

      options:
      """;

  private Inspect() {}

  /** What the log holds about one group. */
  record History(
      String groupId,
      List<SampleGroup> samples,
      List<Judgement> judgements,
      List<ConsumerRecord<byte[], byte[]>> scoredRecords,
      List<ScoredGroup> scored,
      List<PolicyAnnouncement> trainedInto,
      List<PolicyAnnouncement> carriedInto,
      List<ConsumerRecord<byte[], byte[]>> deadLetters) {}

  static void run(String[] argv, PrintStream out) {
    if (argv.length == 0 || argv[0].startsWith("--")) {
      if (argv.length > 0 && (argv[0].equals("--help") || argv[0].equals("-h"))) {
        out.print(HELP + ServiceCommands.KAFKA_HELP);
        return;
      }
      throw new IllegalArgumentException("inspect: which group? usage: rlstream inspect GROUP_ID");
    }
    Args a = new Args("inspect", java.util.Arrays.copyOfRange(argv, 1, argv.length));
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    a.rejectUnknown();
    History h = history(k.config(), k.topics(), argv[0]);
    print(h, out);
    if (h.samples().isEmpty() && h.scored().isEmpty() && h.judgements().isEmpty()) {
      throw new IllegalArgumentException(
          "inspect: no record of group '"
              + argv[0]
              + "' in "
              + k.topics().samples()
              + ", "
              + k.topics().judgements()
              + " or "
              + k.topics().scored());
    }
  }

  static History history(KafkaClientConfig kafka, TopicNames topics, String groupId) {
    byte[] key = groupId.getBytes(StandardCharsets.UTF_8);
    AvroCodec<SampleGroup> samples = AvroCodec.of(SampleGroup.class);
    AvroCodec<Judgement> judgements = AvroCodec.of(Judgement.class);
    AvroCodec<ScoredGroup> scored = AvroCodec.of(ScoredGroup.class);
    AvroCodec<PolicyAnnouncement> announcements = AvroCodec.of(PolicyAnnouncement.class);
    AvroCodec<WeightChunk> chunks = AvroCodec.of(WeightChunk.class);
    List<SampleGroup> s = new ArrayList<>();
    List<Judgement> j = new ArrayList<>();
    List<ConsumerRecord<byte[], byte[]>> scoredRecords = new ArrayList<>();
    List<ScoredGroup> sc = new ArrayList<>();
    List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
    read(
        kafka,
        topics.samples(),
        r -> {
          if (java.util.Arrays.equals(r.key(), key)) {
            s.add(samples.decode(r.value()));
          }
        });
    read(
        kafka,
        topics.judgements(),
        r -> {
          if (java.util.Arrays.equals(r.key(), key)) {
            j.add(judgements.decode(r.value()));
          }
        });
    read(
        kafka,
        topics.scored(),
        r -> {
          if (java.util.Arrays.equals(r.key(), key)) {
            scoredRecords.add(r);
            sc.add(scored.decode(r.value()));
          }
        });
    read(
        kafka,
        topics.dlq(),
        r -> {
          if (java.util.Arrays.equals(r.key(), key)) {
            dead.add(r);
          }
        });
    // the first version of each epoch whose consumed offsets pass the scored record: trained
    // there, or carried over by that epoch's resume from a checkpoint that had read past it
    List<PolicyAnnouncement> trained = new ArrayList<>();
    List<PolicyAnnouncement> carried = new ArrayList<>();
    if (!scoredRecords.isEmpty()) {
      ConsumerRecord<byte[], byte[]> at = scoredRecords.get(0);
      String tp = at.topic() + "-" + at.partition();
      Map<Long, PolicyAnnouncement> firstPerEpoch = new TreeMap<>();
      read(
          kafka,
          topics.policy(),
          r -> {
            if (r.value() == null || chunks.writtenAs(r.value())) {
              return;
            }
            PolicyAnnouncement p = announcements.decode(r.value());
            if (!WeightChunks.carriesWeights(p)) {
              return; // a progress report: the group was read; a later version trains on it
            }
            Long consumed = p.getConsumedOffsets().get(tp);
            if (consumed != null && consumed > at.offset()) {
              firstPerEpoch.merge(
                  p.getEpoch(), p, (old, now) -> old.getVersion() <= now.getVersion() ? old : now);
            }
          });
      for (PolicyAnnouncement p : firstPerEpoch.values()) {
        (carriedOver(p, tp, at.offset()) ? carried : trained).add(p);
      }
    }
    return new History(groupId, s, j, scoredRecords, sc, trained, carried, dead);
  }

  /**
   * Whether the record at {@code offset} of {@code topicPartition} came into {@code a}'s epoch with
   * the checkpoint it resumed from (which had read past it) rather than being trained in it.
   */
  static boolean carriedOver(PolicyAnnouncement a, String topicPartition, long offset) {
    Double resumedAt = a.getMetrics().get(LearnerService.RESUMED_OFFSET + topicPartition);
    return resumedAt != null && resumedAt > offset;
  }

  private static void read(
      KafkaClientConfig kafka,
      String topic,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    LogReader.readTopic(kafka, topic, Duration.ofMinutes(5), each);
  }

  static void print(History h, PrintStream out) {
    out.println("group " + h.groupId());
    for (SampleGroup g : h.samples()) {
      out.printf(
          Locale.ROOT,
          "  sampled %s by %s (%s) with policy version %d (epoch %d), task %s, prompt %s: %s%n",
          Instant.ofEpochMilli(g.getProvenance().getCreatedAtMs()),
          g.getProvenance().getProducer(),
          g.getProvenance().getInstanceId(),
          g.getPolicyVersion(),
          g.getPolicyEpoch(),
          g.getTaskId(),
          g.getPromptId(),
          quote(g.getPromptText()));
      if (g.getReferenceAnswer() != null) {
        out.println("    reference answer " + quote(g.getReferenceAnswer()));
      }
      for (Completion c : g.getCompletions()) {
        out.printf(
            Locale.ROOT,
            "    [%d] %-9s %-6s %s%n",
            c.getIndex(),
            c.getSource(),
            c.getFinishReason(),
            quote(c.getText()));
      }
    }
    if (h.samples().isEmpty()) {
      out.println("  no samples (rl.samples may have expired them)");
    }
    for (Judgement j : h.judgements()) {
      out.printf(
          Locale.ROOT,
          "  judged by %s v%s (%s) in %d ms, %d+%d tokens, $%.6f:%n",
          j.getJudgeId(),
          j.getJudgeVersion(),
          j.getKind(),
          j.getLatencyMs(),
          j.getInputTokens(),
          j.getOutputTokens(),
          j.getCostUsd());
      for (CompletionScore s : j.getScores()) {
        out.printf(
            Locale.ROOT,
            "    [%d] %.4f%s%n",
            s.getCompletionIndex(),
            s.getScore(),
            s.getRationale() == null ? "" : "  " + quote(s.getRationale()));
      }
      for (PairwisePreference p : j.getPreferences()) {
        out.printf(
            Locale.ROOT,
            "    [%d] vs [%d]: P(first preferred) %.3f%n",
            p.getIndexA(),
            p.getIndexB(),
            p.getProbabilityA());
      }
    }
    for (int i = 0; i < h.scored().size(); i++) {
      ScoredGroup s = h.scored().get(i);
      ConsumerRecord<byte[], byte[]> r = h.scoredRecords().get(i);
      out.printf(
          Locale.ROOT,
          "  scored at %s-%d@%d by %s: rewards %s (%s)%s%n",
          r.topic(),
          r.partition(),
          r.offset(),
          s.getProvenance().getInstanceId(),
          s.getRewards(),
          s.getAggregation(),
          s.getPartial() ? ", partial: missing " + s.getMissingJudges() : "");
    }
    if (h.scored().isEmpty()) {
      out.println("  not scored (yet)");
    }
    for (PolicyAnnouncement p : h.trainedInto()) {
      out.printf(
          Locale.ROOT,
          "  trained into policy version %d (epoch %d, learner step %d, published %s) and every"
              + " later version of that epoch%n",
          p.getVersion(),
          p.getEpoch(),
          p.getLearnerStep(),
          Instant.ofEpochMilli(p.getProvenance().getCreatedAtMs()));
    }
    for (PolicyAnnouncement p : h.carriedInto()) {
      out.printf(
          Locale.ROOT,
          "  carried into epoch %d (from version %d on) by its resume from a checkpoint that had"
              + " trained on it%n",
          p.getEpoch(),
          p.getVersion());
    }
    if (!h.scored().isEmpty() && h.trainedInto().isEmpty()) {
      out.println("  no published version has trained on it yet");
    }
    for (ConsumerRecord<byte[], byte[]> d : h.deadLetters()) {
      out.printf(
          Locale.ROOT,
          "  DEAD LETTER at %s-%d@%d from %s: %s%n",
          d.topic(),
          d.partition(),
          d.offset(),
          header(d, DeadLetters.STAGE),
          header(d, DeadLetters.EXCEPTION_MESSAGE));
    }
  }

  private static String header(ConsumerRecord<?, ?> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? "?" : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static String quote(String s) {
    return "\"" + s.replace("\n", "\\n") + "\"";
  }
}
