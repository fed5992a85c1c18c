package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.generator.GroupSampler;
import io.rlstream.generator.PromptSource;
import io.rlstream.judge.GroupScorer;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.ScoredGroup;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.apache.kafka.clients.producer.ProducerRecord;

/** A logged {@code rl.scored}: groups sampled from a checkpoint and scored by the math verifier. */
final class ScoredLog {
  private ScoredLog() {}

  /** The tests' small warm start on {@code task} (60 steps), trained quietly. */
  static Checkpoint warmStart(ArithmeticTask task) {
    return WarmStartOptions.train(
        new WarmStart(60, 0.25, 40, 32, 2e-3, 0, 7),
        task,
        new java.io.PrintStream(new java.io.ByteArrayOutputStream()));
  }

  /**
   * {@code count} scored groups of 8 completions (at most 4 tokens) for {@code topic}, keyed by
   * {@code key} of the group id.
   */
  static List<ProducerRecord<byte[], byte[]>> of(
      Checkpoint start,
      ArithmeticTask task,
      String topic,
      int count,
      Function<String, String> key) {
    AvroCodec<ScoredGroup> codec = AvroCodec.of(ScoredGroup.class);
    GroupScorer scorer = GroupScorer.of(new MathAnswerVerifier());
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    LoopConfig config = LoopConfig.parse("--max-new-tokens", "4");
    try (PolicySampler sampler = new PolicySampler("log", Policy.of(start, Device.cpu()), 0)) {
      GroupSampler groups =
          new GroupSampler(
              sampler,
              config.sampling(Set.copyOf(start.config().eosTokenIds())),
              8,
              "scored-log",
              0);
      PromptSource prompts = new PromptSource(task.train(), 3);
      long seed = 0;
      while (records.size() < count) {
        for (SampleGroup g : groups.sample(prompts.next(16), seed++)) {
          if (records.size() < count) {
            records.add(
                new ProducerRecord<>(
                    topic,
                    key.apply(g.getGroupId()).getBytes(StandardCharsets.UTF_8),
                    codec.encode(scorer.score(g))));
          }
        }
      }
    }
    return records;
  }
}
