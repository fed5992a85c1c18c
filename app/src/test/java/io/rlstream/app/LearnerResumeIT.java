package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.learner.AdamW;
import io.rlstream.learner.LearnerCheckpoints;
import io.rlstream.learner.LearnerService;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.PolicyAnnouncement;
import io.rlstream.schemas.TopicNames;
import io.rlstream.schemas.WeightChunk;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact resume over a logged {@code rl.scored}: 100 steps straight, against a learner that took 55
 * steps and was thrown away (process state lost; its last checkpoint is step 50, its consumer group
 * committed further) and a new learner on the same checkpoint directory that goes on to 100. Both
 * see the same groups in the same steps, each group trained on exactly once in the surviving
 * history, and the same losses.
 */
class LearnerResumeIT {
  private static final int STEPS = 100;
  private static final int GROUPS_PER_STEP = 2;
  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);
  private static final AvroCodec<PolicyAnnouncement> ANNOUNCEMENTS =
      AvroCodec.of(PolicyAnnouncement.class);

  @Test
  void fiftyStepsKilledAndResumedEqualAHundredStraight(@TempDir Path tmp) throws Exception {
    ArithmeticTask task = new ArithmeticTask(9, 0);
    Checkpoint start = ScoredLog.warmStart(task);
    TopicNames topics = TestTopics.pipeline(SharedKafka.uniqueName("resume"));
    List<ProducerRecord<byte[], byte[]>> log = scoredGroups(start, task, topics);
    int first = 55 * GROUPS_PER_STEP;

    // 55 steps, and the learner is gone: its last checkpoint is step 50, while its consumer group
    // has committed 55 steps' worth; what steps 51-55 did to the weights is lost with it
    TestTopics.produce(log.subList(0, first));
    Path dir = tmp.resolve("b");
    List<LearnerService.StepReport> resumed =
        new ArrayList<>(
            run(start, topics, "halves", dir, 55).stream().filter(r -> r.step() <= 50).toList());
    assertThat(new LearnerCheckpoints(dir, 3).latest().orElseThrow().step()).isEqualTo(50);

    // the rest of the log; a new learner on the same directory, and one straight from the start
    TestTopics.produce(log.subList(first, log.size()));
    resumed.addAll(run(start, topics, "halves", dir, STEPS));
    List<LearnerService.StepReport> straight =
        run(start, topics, "straight", tmp.resolve("a"), STEPS);

    assertThat(straight).hasSize(STEPS);
    assertThat(resumed).hasSize(STEPS);
    List<String> ledger = new ArrayList<>();
    for (int i = 0; i < STEPS; i++) {
      LearnerService.StepReport a = straight.get(i);
      LearnerService.StepReport b = resumed.get(i);
      assertThat(b.step()).isEqualTo(a.step()).isEqualTo(i + 1);
      assertThat(b.groupIds()).as("groups of step %d", i + 1).isEqualTo(a.groupIds());
      assertThat(b.loss()).as("loss of step %d", i + 1).isCloseTo(a.loss(), within(1e-4));
      ledger.addAll(b.groupIds());
    }
    assertThat(ledger).hasSize(STEPS * GROUPS_PER_STEP).doesNotHaveDuplicates();

    // the resumed epoch's announcements say where its checkpoint had read to (step 50: 100
    // groups on the one partition used, nothing on the others), which `inspect` reads to tell a
    // group carried over by the resume from one trained again
    List<PolicyAnnouncement> epoch1 = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : TestTopics.readAll(topics.policy(), "read_committed")) {
      if (!CHUNKS.writtenAs(r.value())) {
        PolicyAnnouncement a = ANNOUNCEMENTS.decode(r.value());
        if (a.getEpoch() == 1) {
          epoch1.add(a);
        }
      }
    }
    assertThat(epoch1).isNotEmpty();
    for (PolicyAnnouncement a : epoch1) {
      Map<String, Double> resumedAt = new TreeMap<>();
      a.getMetrics()
          .forEach(
              (k, v) -> {
                if (k.startsWith(LearnerService.RESUMED_OFFSET)) {
                  resumedAt.put(k.substring(LearnerService.RESUMED_OFFSET.length()), v);
                }
              });
      assertThat(resumedAt.values()).containsExactlyInAnyOrder(0.0, 0.0, 100.0);
      String used =
          resumedAt.entrySet().stream()
              .filter(e -> e.getValue() == 100.0)
              .findFirst()
              .orElseThrow()
              .getKey();
      assertThat(Inspect.carriedOver(a, used, 99)).as("group of step 50").isTrue();
      assertThat(Inspect.carriedOver(a, used, 100)).as("group of step 51").isFalse();
    }
    System.out.printf(
        "resume: step 51 loss %.6f vs %.6f straight; step 100 loss %.6f vs %.6f%n",
        resumed.get(50).loss(),
        straight.get(50).loss(),
        resumed.get(99).loss(),
        straight.get(99).loss());
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }

  /**
   * Runs a learner (resuming from {@code dir} if it holds a checkpoint) until {@code untilStep}.
   */
  private static List<LearnerService.StepReport> run(
      Checkpoint start, TopicNames topics, String group, Path dir, int untilStep) throws Exception {
    int target = untilStep;
    List<LearnerService.StepReport> steps = new CopyOnWriteArrayList<>();
    LoopConfig config = LoopConfig.parse("--lr", "1e-3");
    try (Policy policy = Policy.of(start, Device.cpu())) {
      PolicyTrainer trainer =
          new PolicyTrainer(
              policy.model(), null, config.policyLoss(), new AdamW(config.optimizer()));
      LearnerService.Config lc =
          LearnerService.Config.of(GROUPS_PER_STEP, 5)
              .withConsumerGroup("rl-learner-" + group)
              .withCheckpoints(dir, 10, 3);
      try (LearnerService learner =
          new LearnerService(SharedKafka.config(), topics, lc, trainer, 0, steps::add)) {
        // a resumed learner publishes in a new epoch, so generators drop the lost versions
        assertThat(learner.epoch()).isEqualTo(learner.resumedStep() < 0 ? 0 : 1);
        learner.start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (learner.steps() < target) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("learner reached step " + learner.steps() + " of " + target);
          }
          Thread.sleep(20);
        }
      }
    }
    assertThat(steps.get(steps.size() - 1).step()).isEqualTo(target); // no data beyond it
    return steps;
  }

  /** 200 scored groups for one partition (one key), so the order is the log's order. */
  private static List<ProducerRecord<byte[], byte[]>> scoredGroups(
      Checkpoint start, ArithmeticTask task, TopicNames topics) {
    return ScoredLog.of(
        start, task, topics.scored(), STEPS * GROUPS_PER_STEP, id -> "one-partition");
  }
}
