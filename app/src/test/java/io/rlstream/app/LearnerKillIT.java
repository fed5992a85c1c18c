package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.generator.WeightSubscriber;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.infra.testing.Wait;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.PolicySampler;
import io.rlstream.schemas.TopicNames;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rlstream learner} as a real process, killed with SIGKILL at random moments (mid-step,
 * mid-checkpoint, mid-publication: wherever the clock falls) and restarted on the same checkpoint
 * directory, over a logged {@code rl.scored} of 3 partitions. The learner's ledger (the last line
 * of each step is what the surviving model trained on) covers every group exactly once; a
 * generator's sampler following {@code rl.policy} ends on the final process's epoch and version,
 * never on one the lost processes published.
 */
class LearnerKillIT {
  private static final int GROUPS_PER_STEP = 4;
  private static final int STEPS = 120;
  private static final int PUBLISH_EVERY = 5;
  private static final int KILLS = 3;

  @Test
  void killedAtRandomMomentsItTrainsOnEveryGroupExactlyOnce(@TempDir Path tmp) throws Exception {
    long seed = Long.getLong("rlstream.kill.seed", System.nanoTime());
    Random random = new Random(seed);
    ArithmeticTask task = new ArithmeticTask(9, 0);
    Checkpoint start = ScoredLog.warmStart(task);
    Path policyDir = tmp.resolve("policy");
    start.save(policyDir, Checkpoint.SaveOptions.DEFAULT);
    String prefix = SharedKafka.uniqueName("kill");
    TopicNames topics = TestTopics.pipeline(prefix);
    List<ProducerRecord<byte[], byte[]>> log =
        ScoredLog.of(start, task, topics.scored(), STEPS * GROUPS_PER_STEP, id -> id);
    TestTopics.produce(log);
    List<String> all =
        log.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)).sorted().toList();

    Path ledger = tmp.resolve("ledger.tsv");
    List<String> kills = new ArrayList<>();
    try (PolicySampler generator = new PolicySampler("gen", Policy.of(start, Device.cpu()), 0);
        WeightSubscriber weights =
            new WeightSubscriber(SharedKafka.config(), topics.policy(), generator, a -> {})
                .start()) {
      for (int run = 0; run <= KILLS; run++) {
        int linesBefore = lines(ledger).size();
        Process learner = learner(prefix, policyDir, tmp, ledger, run);
        try {
          if (run < KILLS) {
            // once it has trained a step, let it run a random while and kill it
            Wait.until(
                () -> lines(ledger).size() > linesBefore,
                Duration.ofSeconds(90),
                "run " + run + " trains");
            long delay = random.nextInt(3000);
            Thread.sleep(delay);
            learner.destroyForcibly(); // SIGKILL: no shutdown hook, no final commit
            learner.waitFor(30, TimeUnit.SECONDS);
            kills.add(
                String.format(
                    "run %d killed %d ms after its first step, at ledger line %d (step %s)",
                    run, delay, lines(ledger).size(), lastStep(ledger)));
          } else {
            Wait.until(
                () -> surviving(ledger).size() == STEPS,
                Duration.ofSeconds(120),
                "the last run reaches the end");
            Wait.until(
                () -> generator.version() == STEPS / PUBLISH_EVERY,
                Duration.ofSeconds(30),
                "the generator takes the final version");
          }
        } finally {
          if (learner.isAlive()) {
            learner.destroy();
            learner.waitFor(30, TimeUnit.SECONDS);
          }
        }
      }
      TreeMap<Long, String[]> history = surviving(ledger);
      List<String> trained = new ArrayList<>();
      history.values().forEach(line -> trained.addAll(Arrays.asList(line[3].split(","))));
      long finalEpoch = Long.parseLong(history.lastEntry().getValue()[1]);

      kills.forEach(System.out::println);
      System.out.printf(
          "seed %d: %d ledger lines, %d surviving steps, %d groups trained in them (%d distinct);"
              + " generator on epoch %d version %d, %d updates refused%n",
          seed,
          lines(ledger).size(),
          history.size(),
          trained.size(),
          trained.stream().distinct().count(),
          generator.epoch(),
          generator.version(),
          generator.refusedUpdates());

      assertThat(history.keySet()).containsExactlyElementsOf(range(1, STEPS));
      assertThat(trained).as("seed %d", seed).doesNotHaveDuplicates();
      assertThat(trained.stream().sorted().toList()).as("seed %d", seed).isEqualTo(all);
      assertThat(finalEpoch).as("each restart resumes in a new epoch").isEqualTo(KILLS);
      assertThat(generator.epoch()).isEqualTo(finalEpoch);
      assertThat(generator.version()).isEqualTo(STEPS / PUBLISH_EVERY);
    }
  }

  private static Process learner(String prefix, Path policy, Path tmp, Path ledger, int run)
      throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp",
                System.getProperty("java.class.path"),
                Rlstream.class.getName(),
                "learner",
                "--checkpoint",
                policy.toString(),
                "--bootstrap-servers",
                SharedKafka.config().bootstrapServers(),
                "--topic-prefix",
                prefix,
                "--groups-per-step",
                String.valueOf(GROUPS_PER_STEP),
                "--publish-every",
                String.valueOf(PUBLISH_EVERY),
                "--max-new-tokens",
                "4",
                "--lr",
                "1e-3",
                "--checkpoint-dir",
                tmp.resolve("checkpoints").toString(),
                "--checkpoint-every",
                "5",
                "--ledger",
                ledger.toString()));
    File out = tmp.resolve("learner-" + run + ".log").toFile();
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out).start();
  }

  /** The last ledger line of each step. */
  private static TreeMap<Long, String[]> surviving(Path ledger) {
    TreeMap<Long, String[]> out = new TreeMap<>();
    for (String line : lines(ledger)) {
      String[] f = line.split("\t", -1);
      out.put(Long.parseLong(f[0]), f);
    }
    return out;
  }

  private static String lastStep(Path ledger) {
    List<String> l = lines(ledger);
    return l.isEmpty() ? "none" : l.get(l.size() - 1).split("\t")[0];
  }

  /** Complete lines (a killed writer may leave half of one). */
  private static List<String> lines(Path ledger) {
    try {
      if (!Files.exists(ledger)) {
        return List.of();
      }
      String text = Files.readString(ledger, StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n');
      return end < 0 ? List.of() : List.of(text.substring(0, end).split("\n"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static List<Long> range(long from, long to) {
    List<Long> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(i);
    }
    return out;
  }
}
