package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.generator.WeightSubscriber;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.infra.testing.Wait;
import io.rlstream.learner.LearnerService;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * A learner that consumes groups without training on them (online DPO over groups whose rewards are
 * all equal: no pairs) publishes no version, yet tells the generators how far it has read — without
 * it a generator's throttle waits for ever (seen in the demo with --algorithm dpo/xpo once the
 * rewards collapsed). The generator's weight subscriber takes those progress reports without
 * refusing anything and keeps serving its version.
 */
class LearnerProgressIT {
  private static final int GROUPS = 48;

  @Test
  void groupsConsumedWithoutAStepStillReachTheGenerators() throws Exception {
    ArithmeticTask task = new ArithmeticTask(9, 0);
    Checkpoint start = ScoredLog.warmStart(task);
    TopicNames topics = TestTopics.pipeline(SharedKafka.uniqueName("progress"));
    AvroCodec<ScoredGroup> codec = AvroCodec.of(ScoredGroup.class);
    List<ProducerRecord<byte[], byte[]>> equalRewards = new ArrayList<>();
    for (ProducerRecord<byte[], byte[]> r :
        ScoredLog.of(start, task, topics.scored(), GROUPS, id -> id)) {
      ScoredGroup g = codec.decode(r.value());
      ScoredGroup flat =
          ScoredGroup.newBuilder(g)
              .setRewards(new ArrayList<>(Collections.nCopies(g.getRewards().size(), 0.0)))
              .build();
      equalRewards.add(new ProducerRecord<>(r.topic(), r.key(), codec.encode(flat)));
    }
    TestTopics.produce(equalRewards);

    LoopConfig dpo = LoopConfig.parse("--algorithm", "dpo", "--groups-per-step", "16");
    AtomicLong heardConsumed = new AtomicLong();
    try (Policy policy = Policy.of(start, Device.cpu());
        Policy reference = Policy.of(start, Device.cpu());
        PolicySampler generator = new PolicySampler("gen", Policy.of(start, Device.cpu()), 0);
        WeightSubscriber weights =
            new WeightSubscriber(
                    SharedKafka.config(),
                    topics.policy(),
                    generator,
                    a -> {
                      Double c = a.getMetrics().get("groups_consumed");
                      if (c != null) {
                        heardConsumed.accumulateAndGet(c.longValue(), Math::max);
                      }
                    })
                .start();
        LearnerService learner =
            new LearnerService(
                SharedKafka.config(),
                topics,
                dpo.learner().withConsumerGroup("rl-learner-progress"),
                dpo.trainer(policy, reference),
                0,
                r -> {})) {
      learner.start();
      Wait.until(
          () -> heardConsumed.get() == GROUPS,
          Duration.ofSeconds(90),
          "the generator hears that the learner read all " + GROUPS + " groups");
      System.out.printf(
          "learner: %d steps, version %d, %d groups consumed; generator heard %d, serves version"
              + " %d, refused %d%n",
          learner.steps(),
          learner.version(),
          learner.groupsConsumed(),
          heardConsumed.get(),
          generator.version(),
          weights.refused());
      assertThat(learner.steps()).isZero();
      assertThat(learner.version()).isZero();
      assertThat(generator.version()).isZero();
      assertThat(weights.refused()).isZero();
    }
  }
}
