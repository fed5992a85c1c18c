package io.rlstream.app;

import io.rlstream.infra.LogReader;
import io.rlstream.learner.AdamW;
import io.rlstream.learner.RewardModelTrainer;
import io.rlstream.policy.Checkpoint;
import io.rlstream.policy.Policy;
import io.rlstream.policy.RewardModel;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.ScoredGroup;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code rlstream rm-train}: replays the logged {@code rl.scored} topic, takes every pairwise
 * judgement's strict preferences as (chosen, rejected) pairs, trains a reward model from a policy
 * checkpoint with the Bradley–Terry loss and saves it where the {@code reward-model} judge loads
 * it. Reads with {@code read_committed}, no consumer group: the log is not consumed, only read.
 */
final class RmTrain {
  private RmTrain() {}

  static void run(String[] argv, PrintStream out) {
    Args a = new Args("rm-train", argv);
    if (a.help()) {
      out.print(
          "usage: rlstream rm-train --checkpoint POLICY_DIR --out DIR [options]\n\nTrains a reward"
              + " model (the policy transformer with a scalar head, Bradley-Terry loss) on the"
              + " pairwise judgements logged in rl.scored and saves it for '--judge"
              + " reward-model,dir=DIR'.\n\noptions:\n"
              + "  --judge ID              only this judge's preferences (default: every pairwise"
              + " judge)\n"
              + "  --steps N               optimizer steps (default 200)\n"
              + "  --batch N               pairs per step (default 32)\n"
              + "  --lr X                  AdamW learning rate (default 1e-3)\n"
              + "  --device cpu|gpu|auto\n"
              + ServiceCommands.KAFKA_HELP);
      return;
    }
    ServiceCommands.Kafka k = ServiceCommands.Kafka.from(a);
    String policy = a.required("checkpoint");
    String outDirName = a.required("out");
    String judge = a.string("judge", null);
    int steps = a.integer("steps", 200, 1, 1_000_000);
    int batch = a.integer("batch", 32, 1, 4096);
    double lr = a.number("lr", 1e-3, 1e-8, 1);
    String device = a.string("device", "cpu");
    a.rejectUnknown();
    Path policyDir = Path.of(policy);
    Path outDir = Path.of(outDirName);
    List<ScoredGroup> groups = readAll(k, out);
    List<RewardModelTrainer.Pair> pairs = new ArrayList<>(RewardModelTrainer.pairs(groups, judge));
    if (pairs.size() < 2) {
      throw new IllegalArgumentException(
          k.topics().scored()
              + " holds "
              + pairs.size()
              + " strict pairwise preferences"
              + (judge == null ? "" : " of judge " + judge)
              + ": run a pairwise judge (e.g. --judge llm,mode=pairwise,...) in the assembler's"
              + " set first");
    }
    Collections.shuffle(pairs, new Random(0));
    int held = Math.max(1, pairs.size() / 10);
    List<RewardModelTrainer.Pair> test = pairs.subList(0, held);
    List<RewardModelTrainer.Pair> train = pairs.subList(held, pairs.size());
    out.printf(
        "%d scored groups, %d preference pairs (%d to train, %d held out)%n",
        groups.size(), pairs.size(), train.size(), test.size());
    try (RewardModel rm =
        RewardModel.fromPolicy(Checkpoint.load(policyDir), Policy.device(device), 0)) {
      double before = RewardModelTrainer.accuracy(rm, test);
      RewardModelTrainer.train(
          rm,
          train,
          new AdamW(AdamW.Config.of(lr)),
          steps,
          batch,
          0,
          s -> {
            if (s.step() % 20 == 0 || s.step() == steps) {
              out.printf(
                  Locale.ROOT,
                  "step %d/%d  loss %.4f  batch accuracy %.3f%n",
                  s.step(),
                  steps,
                  s.loss(),
                  s.accuracy());
            }
          });
      double after = RewardModelTrainer.accuracy(rm, test);
      rm.save(outDir);
      out.printf(
          Locale.ROOT,
          "held-out pair accuracy %.3f -> %.3f; saved %s (use --judge reward-model,dir=%s)%n",
          before,
          after,
          outDir,
          outDir);
    }
  }

  private static List<ScoredGroup> readAll(ServiceCommands.Kafka k, PrintStream out) {
    AvroCodec<ScoredGroup> codec = AvroCodec.of(ScoredGroup.class);
    List<ScoredGroup> groups = new ArrayList<>();
    int[] unreadable = {0};
    LogReader.readTopic(
        k.config(),
        k.topics().scored(),
        null,
        r -> {
          try {
            groups.add(codec.decode(r.value()));
          } catch (RuntimeException e) {
            unreadable[0]++;
          }
        });
    if (unreadable[0] > 0) {
      out.printf("skipped %d unreadable records of %s%n", unreadable[0], k.topics().scored());
    }
    return groups;
  }
}
