package io.rlstream.judge;

import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.util.List;

/**
 * A pointwise judge: scores every completion of a {@link SampleGroup}. Implementations are
 * stateless or thread-safe; the judge service calls them from its workers and treats a thrown
 * exception as this group's failure (retried when transient, otherwise dead-lettered with the
 * reason), never as a default score.
 */
public interface Judge {
  /** The configured id, written to every judgement (e.g. {@code math}). */
  String id();

  /** Version of the judge's logic; caches and replays key on it. */
  String version();

  /** One score per completion, in completion order. */
  List<CompletionScore> score(SampleGroup group);
}
