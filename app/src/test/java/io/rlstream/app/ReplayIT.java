package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.policy.Checkpoint;
import io.rlstream.schemas.TopicNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rlstream replay} over a logged {@code rl.scored} of several partitions, with an algorithm
 * the log was not made for: the same range twice gives the same steps and the same weights; a later
 * start gives fewer groups; the end offsets land in the replay's own consumer group.
 */
class ReplayIT {
  @Test
  void replayingARangeTwiceGivesTheSameWeights(@TempDir Path tmp) throws Exception {
    ArithmeticTask task = new ArithmeticTask(9, 0);
    Checkpoint start = ScoredLog.warmStart(task);
    TopicNames topics = TestTopics.pipeline(SharedKafka.uniqueName("replay"));
    List<ProducerRecord<byte[], byte[]>> log =
        ScoredLog.of(start, task, topics.scored(), 96, id -> id);
    TestTopics.produce(log);
    LoopConfig dpo =
        LoopConfig.parse("--algorithm", "dpo", "--pairs", "all", "--groups-per-step", "8");

    List<String> lines = new ArrayList<>();
    Replay.Result a = replay(topics, "earliest", dpo, start, tmp.resolve("a"), lines);
    Replay.Result b = replay(topics, "earliest", dpo, start, tmp.resolve("b"), lines);
    Replay.Result c = replay(topics, "offset:4", dpo, start, tmp.resolve("c"), lines);

    System.out.printf(
        "replay a: %d groups, %d steps, loss %.6f -> %.6f, sha %s%nreplay b: %d groups, %d steps,"
            + " loss %.6f -> %.6f, sha %s%nreplay from offset 4: %d groups, sha %s%n",
        a.groups(),
        a.steps(),
        a.firstLoss(),
        a.lastLoss(),
        a.weightsSha256(),
        b.groups(),
        b.steps(),
        b.firstLoss(),
        b.lastLoss(),
        b.weightsSha256(),
        c.groups(),
        c.weightsSha256());
    assertThat(a.groups()).isEqualTo(96);
    assertThat(a.steps()).isEqualTo(12);
    assertThat(b.weightsSha256()).isEqualTo(a.weightsSha256());
    assertThat(losses(tmp.resolve("b/steps.csv"))).isEqualTo(losses(tmp.resolve("a/steps.csv")));
    int partitions = a.range().size();
    assertThat(c.groups()).isEqualTo(96 - 4L * partitions);
    assertThat(c.weightsSha256()).isNotEqualTo(a.weightsSha256());
    assertThat(tmp.resolve("a/checkpoint/config.json")).exists();
    assertThat(Files.readString(tmp.resolve("a/summary.json"))).contains(a.weightsSha256());

    try (Admin admin = Admin.create(SharedKafka.config().admin())) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets("rl-replay-a").partitionsToOffsetAndMetadata().get();
      a.range().forEach((tp, r) -> assertThat(committed.get(tp).offset()).isEqualTo(r[1]));
    }
  }

  /** The loss column of a steps.csv (the timing columns differ from run to run). */
  private static List<String> losses(Path stepsCsv) throws java.io.IOException {
    return Files.readAllLines(stepsCsv).stream().skip(1).map(l -> l.split(",")[2]).toList();
  }

  private static Replay.Result replay(
      TopicNames topics, String from, LoopConfig loop, Checkpoint start, Path dir, List<String> out)
      throws Exception {
    return Replay.replay(
        SharedKafka.config(),
        topics,
        from,
        "latest",
        loop,
        start,
        Device.cpu(),
        dir,
        "rl-replay-" + dir.getFileName(),
        out::add);
  }
}
