package io.rlstream.judge;

import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.JudgementKind;
import io.rlstream.schemas.SampleGroup;
import java.util.List;
import reactor.core.publisher.Mono;

/**
 * A pointwise judge that scores synchronously and cheaply (a rule verifier): implement {@link
 * #score} and the judge service calls it on its worker.
 */
public interface PointwiseJudge extends Judge {
  /** One score per completion, by completion index; throws when the group cannot be scored. */
  List<CompletionScore> score(SampleGroup group);

  @Override
  default JudgementKind kind() {
    return JudgementKind.POINTWISE;
  }

  @Override
  default Mono<Verdict> judge(SampleGroup group) {
    return Mono.fromCallable(() -> Verdict.pointwise(score(group)));
  }
}
