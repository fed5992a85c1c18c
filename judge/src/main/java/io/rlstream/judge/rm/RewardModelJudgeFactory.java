package io.rlstream.judge.rm;

import io.rlstream.judge.Judge;
import io.rlstream.judge.JudgeFactory;
import io.rlstream.judge.JudgeSpec;
import io.rlstream.policy.Policy;
import io.rlstream.policy.RewardModel;
import java.nio.file.Path;
import java.util.Set;

/** Judge type {@code reward-model}: scores with a reward-model checkpoint ({@code dir=}). */
public final class RewardModelJudgeFactory implements JudgeFactory {
  @Override
  public String type() {
    return "reward-model";
  }

  @Override
  public String description() {
    return "reward model from 'rlstream rm-train': dir=CHECKPOINT, device=cpu|gpu";
  }

  @Override
  public Set<String> parameters() {
    return Set.of("dir", "device");
  }

  @Override
  public Judge create(JudgeSpec spec) {
    Path dir = Path.of(spec.required("dir"));
    RewardModel model = RewardModel.load(dir, Policy.device(spec.string("device", "cpu")));
    return new RewardModelJudge(spec.id(), spec.versionOr("rm-" + dir.getFileName()), model);
  }
}
