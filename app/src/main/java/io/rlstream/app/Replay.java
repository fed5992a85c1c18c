package io.rlstream.app;

import ai.djl.Device;
import io.rlstream.generator.ArithmeticTask;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.LogReader;
import io.rlstream.infra.StartPosition;
import io.rlstream.judge.verifiers.MathAnswerVerifier;
import io.rlstream.learner.LearnerService;
import io.rlstream.learner.PolicyTrainer;
import io.rlstream.learner.TrainBatch;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.Safetensors;
import io.rlstream.policy.TensorType;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.ScoredGroup;
import io.rlstream.schemas.TopicNames;
import io.rlstream.schemas.WeightChunks;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code rlstream replay}: trains a fresh learner on a range of the logged {@code rl.scored} — no
 * generator, no judges — with any algorithm and hyperparameters. The range is read without a
 * consumer group and merged across partitions in a fixed order (record timestamp, then partition,
 * then offset), so the same range gives the same batches, and on CPU the same weights, every time;
 * where it got to is committed to the replay's own consumer group at the end, which no live service
 * shares.
 */
final class Replay {
  static final String HELP =
      """
      usage: rlstream replay --checkpoint DIR [--from POS] [--to POS] [options]

      Trains the checkpoint's policy on the scored groups logged in rl.scored between --from and
      --to, with the loop options below (another algorithm, other hyperparameters), and writes a
      run directory: steps.csv, summary.json (with the final weights' sha256), report.html (charts),
      checkpoint/.

      options:
        --from POS              earliest | offset:N | timestamp:EPOCH_MS | time:ISO-8601 (default
                                earliest): where the range starts in every partition
        --to POS                latest | offset:N | timestamp:EPOCH_MS | time:ISO-8601 (default
                                latest, as of the start): where it ends, exclusive
        --out DIR               the run directory (default .data/replays/<time>)
        --group NAME            consumer group the replay's end offsets are committed to (default
                                rl-replay-<run directory name>)
        --eval-size N           greedy held-out accuracy on N arithmetic problems before and after
                                (default 0: none)
        --device cpu|gpu|auto
      """;

  /** What a replay did. */
  record Result(
      long groups,
      long steps,
      long unreadable,
      double firstLoss,
      double lastLoss,
      String weightsSha256,
      Map<TopicPartition, long[]> range) {}

  private Replay() {}

  /** A range end as given, once checked. */
  private static String position(String p) {
    StartPosition.parse(p);
    return p;
  }

  static void run(String[] argv, PrintStream out) throws Exception {
    Args a = new Args("replay", argv);
    if (a.help()) {
      out.print(HELP + ServiceCommands.KAFKA_HELP + LoopConfig.HELP);
      return;
    }
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    String checkpoint = a.required("checkpoint");
    String from = a.value("from", "earliest", Replay::position);
    String to = a.value("to", "latest", Replay::position);
    Path dir =
        Path.of(
            a.string(
                "out",
                Rlstream.home()
                    .resolve(".data/replays")
                    .resolve(
                        LocalDateTime.now()
                            .format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)))
                    .toString()));
    String group = a.string("group", "rl-replay-" + dir.getFileName());
    int evalSize = a.integer("eval-size", 0, 0, 1000);
    Device device = a.value("device", "cpu", Policy::device);
    LoopConfig loop = LoopConfig.from(a);
    a.rejectUnknown();
    Checkpoint start = Checkpoint.load(Path.of(checkpoint));
    Evaluator eval =
        evalSize == 0
            ? null
            : new Evaluator(
                ArithmeticTask.twoDigit().heldOut(evalSize),
                new MathAnswerVerifier(),
                loop.maxNewTokens());
    double before = eval == null ? Double.NaN : Demo.accuracy(start, eval, device);
    Result r =
        replay(k.config(), k.topics(), from, to, loop, start, device, dir, group, out::println);
    if (eval != null) {
      double after = Demo.accuracy(Checkpoint.load(dir.resolve("checkpoint")), eval, device);
      out.printf(
          Locale.ROOT,
          "held-out accuracy: %.3f before -> %.3f after (%d problems, greedy)%n",
          before,
          after,
          evalSize);
    }
    out.printf(
        Locale.ROOT,
        "replay: %d groups, %d steps, %d unreadable; loss %.4f (first step) -> %.4f (last);"
            + " weights sha256 %s; run directory %s%n",
        r.groups(),
        r.steps(),
        r.unreadable(),
        r.firstLoss(),
        r.lastLoss(),
        r.weightsSha256(),
        dir);
  }

  /**
   * Replays {@code [from, to)} of {@code topics.scored()} into a learner started from {@code
   * start}; writes {@code dir}; commits the end offsets to {@code group}.
   *
   * @param progress told a progress line at most every 5 s, and of each unreadable record
   */
  static Result replay(
      KafkaClientConfig kafka,
      TopicNames topics,
      String from,
      String to,
      LoopConfig loop,
      Checkpoint start,
      Device device,
      Path dir,
      String group,
      Consumer<String> progress)
      throws Exception {
    Map<TopicPartition, long[]> range = range(kafka, topics.scored(), from, to);
    Files.createDirectories(dir);
    try (Policy policy = Policy.of(start, device);
        Policy reference = loop.needsReference() ? Policy.of(start, device) : null;
        RunLog log = new RunLog(dir)) {
      Session session =
          new Session(loop.trainer(policy, reference), log, loop.groupsPerStep(), range, progress);
      merged(kafka, range, session::accept);
      session.finish();
      policy.save(dir.resolve("checkpoint"), Checkpoint.SaveOptions.DEFAULT);
      String sha =
          WeightChunks.sha256(
              Safetensors.encode(Policy.hostWeights(policy.model()), TensorType.F32));
      Result result =
          new Result(
              session.groups,
              session.steps,
              session.unreadable,
              session.firstLoss,
              session.lastLoss,
              sha,
              range);
      writeSummary(dir, result, loop, from, to, group, (System.nanoTime() - session.t0) / 1e9);
      log.close();
      RunReport.write(dir);
      commit(kafka, group, range);
      return result;
    }
  }

  /** One replay's training: batches the merged records, steps, logs, reports progress. */
  private static final class Session {
    private static final AvroCodec<ScoredGroup> CODEC = AvroCodec.of(ScoredGroup.class);

    final PolicyTrainer trainer;
    final RunLog log;
    final int perStep;
    final Map<TopicPartition, long[]> range;
    final long total; // offsets in the range (transaction markers included)
    final Map<TopicPartition, Long> read = new HashMap<>();
    final Consumer<String> progress;
    final long t0 = System.nanoTime();
    final List<ScoredGroup> batch = new ArrayList<>();
    long groups;
    long steps;
    long unreadable;
    double firstLoss = Double.NaN;
    double lastLoss = Double.NaN;
    long lastProgress = t0;

    Session(
        PolicyTrainer trainer,
        RunLog log,
        int perStep,
        Map<TopicPartition, long[]> range,
        Consumer<String> progress) {
      this.trainer = trainer;
      this.log = log;
      this.perStep = perStep;
      this.range = range;
      this.total = range.values().stream().mapToLong(r -> r[1] - r[0]).sum();
      this.progress = progress;
    }

    void accept(ConsumerRecord<byte[], byte[]> rec) {
      read.put(new TopicPartition(rec.topic(), rec.partition()), rec.offset() + 1);
      try {
        batch.add(CODEC.decode(rec.value()));
      } catch (RuntimeException e) {
        unreadable++;
        progress.accept(
            String.format(
                "skipping unreadable record %s-%d@%d: %s",
                rec.topic(), rec.partition(), rec.offset(), e.getMessage()));
        return;
      }
      groups++;
      if (batch.size() == perStep) {
        train();
      }
    }

    /** Offsets of the range read so far, over all partitions. */
    private long readOffsets() {
      long n = 0;
      for (Map.Entry<TopicPartition, Long> e : read.entrySet()) {
        n += e.getValue() - range.get(e.getKey())[0];
      }
      return n;
    }

    /** Trains on the range's last, smaller batch. */
    void finish() {
      if (!batch.isEmpty()) {
        train();
      }
    }

    private void train() {
      long s0 = System.nanoTime();
      TrainBatch b = TrainBatch.of(batch);
      PolicyTrainer.StepResult r = trainer.step(b);
      steps = r.step();
      double reward = Arrays.stream(b.rewards()).average().orElse(Double.NaN);
      if (r.trained()) {
        firstLoss = Double.isNaN(firstLoss) ? r.loss() : firstLoss;
        lastLoss = r.loss();
      }
      try {
        log.step(
            new LearnerService.StepReport(
                r.step(),
                0,
                r.loss(),
                reward,
                r.gradNorm(),
                r.tokens(),
                Double.NaN,
                0,
                groups,
                (System.nanoTime() - s0) / 1e9,
                r.metrics(),
                batch.stream().map(g -> g.getGroup().getGroupId()).toList()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      batch.clear();
      long now = System.nanoTime();
      if (now - lastProgress > 5_000_000_000L) {
        lastProgress = now;
        progress.accept(
            String.format(
                Locale.ROOT,
                "[%5.0fs] step %d  groups %d  range %.0f%% read  loss %.4f  reward %.3f  %.1f"
                    + " groups/s",
                (now - t0) / 1e9,
                r.step(),
                groups,
                100.0 * readOffsets() / Math.max(1, total),
                r.loss(),
                reward,
                groups / ((now - t0) / 1e9)));
      }
    }
  }

  /**
   * Every record of the range, merged across partitions by (timestamp, partition, offset): a
   * partition's next record is handed over only once every unfinished partition has one buffered.
   */
  static void merged(
      KafkaClientConfig kafka,
      Map<TopicPartition, long[]> range,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    Map<TopicPartition, ArrayDeque<ConsumerRecord<byte[], byte[]>>> queues = new HashMap<>();
    List<TopicPartition> open = new ArrayList<>();
    range.forEach(
        (tp, r) -> {
          if (r[0] < r[1]) {
            queues.put(tp, new ArrayDeque<>());
            open.add(tp);
          }
        });
    if (open.isEmpty()) {
      return;
    }
    Map<TopicPartition, Long> next = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer = LogReader.open(kafka)) {
      consumer.assign(open);
      for (TopicPartition tp : open) {
        consumer.seek(tp, range.get(tp)[0]);
        next.put(tp, range.get(tp)[0]);
      }
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (!open.isEmpty()) {
        // read until every unfinished partition has a record waiting (or is exhausted)
        boolean starving = false;
        for (TopicPartition tp : open) {
          if (queues.get(tp).isEmpty() && next.get(tp) < range.get(tp)[1]) {
            starving = true;
          }
        }
        if (starving) {
          int got = 0;
          for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
            TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
            long end = range.get(tp)[1];
            if (rec.offset() < end) {
              queues.get(tp).add(rec);
              got++;
            }
            next.put(tp, Math.max(next.get(tp), rec.offset() + 1));
          }
          for (TopicPartition tp : open) {
            // a transaction marker or aborted records at the end leave the position past them
            next.put(tp, Math.max(next.get(tp), consumer.position(tp)));
          }
          if (got > 0) {
            deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
          } else if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "no records for 2 minutes while replaying; positions " + next);
          }
          continue;
        }
        TopicPartition best = null;
        for (TopicPartition tp : open) {
          ConsumerRecord<byte[], byte[]> head = queues.get(tp).peek();
          if (head != null && (best == null || before(head, queues.get(best).peek()))) {
            best = tp;
          }
        }
        if (best != null) {
          each.accept(queues.get(best).poll());
        }
        open.removeIf(tp -> queues.get(tp).isEmpty() && next.get(tp) >= range.get(tp)[1]);
      }
    }
  }

  private static boolean before(ConsumerRecord<?, ?> a, ConsumerRecord<?, ?> b) {
    if (a.timestamp() != b.timestamp()) {
      return a.timestamp() < b.timestamp();
    }
    if (a.partition() != b.partition()) {
      return a.partition() < b.partition();
    }
    return a.offset() < b.offset();
  }

  /** [start, end) offsets of every partition of {@code topic} for the two positions. */
  static Map<TopicPartition, long[]> range(
      KafkaClientConfig kafka, String topic, String from, String to)
      throws InterruptedException, ExecutionException {
    StartPosition lo = position(from, "--from");
    StartPosition hi = position(to, "--to");
    try (Admin admin = Admin.create(kafka.admin())) {
      Map<TopicPartition, Long> start = lo.resolve(admin, topic);
      Map<TopicPartition, Long> end = hi.resolve(admin, topic);
      Map<TopicPartition, long[]> out =
          new TreeMap<>(
              Comparator.comparing(TopicPartition::topic)
                  .thenComparingInt(TopicPartition::partition));
      start.forEach((tp, o) -> out.put(tp, new long[] {o, Math.max(o, end.get(tp))}));
      return out;
    }
  }

  private static StartPosition position(String text, String flag) {
    try {
      return StartPosition.parse(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(flag + ": " + e.getMessage());
    }
  }

  private static void commit(
      KafkaClientConfig kafka, String group, Map<TopicPartition, long[]> range)
      throws InterruptedException, ExecutionException {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    range.forEach((tp, r) -> offsets.put(tp, new OffsetAndMetadata(r[1])));
    try (Admin admin = Admin.create(kafka.admin())) {
      admin.alterConsumerGroupOffsets(group, offsets).all().get();
    }
  }

  private static void writeSummary(
      Path dir, Result r, LoopConfig loop, String from, String to, String group, double seconds)
      throws IOException {
    StringBuilder ranges = new StringBuilder();
    r.range()
        .forEach(
            (tp, o) ->
                ranges
                    .append(ranges.length() == 0 ? "" : ", ")
                    .append(
                        String.format(
                            Locale.ROOT,
                            "\"%s-%d\": [%d, %d]",
                            tp.topic(),
                            tp.partition(),
                            o[0],
                            o[1])));
    String json =
        String.format(
            Locale.ROOT,
            "{\n  \"kind\": \"replay\",\n  \"from\": \"%s\",\n  \"to\": \"%s\",\n"
                + "  \"range\": {%s},\n  \"group\": \"%s\",\n  \"groups\": %d,\n"
                + "  \"steps\": %d,\n  \"unreadable\": %d,\n  \"first_loss\": %s,\n"
                + "  \"last_loss\": %s,\n  \"weights_sha256\": \"%s\",\n  \"seconds\": %.1f,\n"
                + "  \"loop\": \"%s\"\n}\n",
            from,
            to,
            ranges,
            group,
            r.groups(),
            r.steps(),
            r.unreadable(),
            json(r.firstLoss()),
            json(r.lastLoss()),
            r.weightsSha256(),
            seconds,
            loop.toString().replace("\"", "'"));
    Files.writeString(dir.resolve("summary.json"), json, StandardCharsets.UTF_8);
  }

  private static String json(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6f", v) : "null";
  }
}
