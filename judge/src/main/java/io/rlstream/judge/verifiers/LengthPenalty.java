package io.rlstream.judge.verifiers;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.SampleGroup;
import java.util.function.Function;

/**
 * A length penalty with a soft overlong zone, as DAPO's overlong reward shaping (Yu et al. 2025,
 * eq. 13): with L the completion's length in tokens, L_max the limit and B the buffer,
 *
 * <pre>
 *   0                    if L ≤ L_max − B
 *   (L_max − B − L) / B  if L_max − B &lt; L ≤ L_max
 *   −1                   if L &gt; L_max
 * </pre>
 *
 * Optionally a completion cut off at the sampler's token limit (finish reason LENGTH) gets −1
 * whatever its length, since its answer is unfinished. Add it to a correctness judge with a weight.
 */
public final class LengthPenalty extends Verifier {
  private final int max;
  private final int buffer;
  private final boolean truncatedIsOverlong;

  public LengthPenalty(String id, int max, int buffer, boolean truncatedIsOverlong) {
    super(id);
    if (max < 1 || buffer < 0 || buffer > max) {
      throw new IllegalArgumentException(
          "judge " + id + ": need max >= 1 and 0 <= buffer <= max, got " + max + ", " + buffer);
    }
    this.max = max;
    this.buffer = buffer;
    this.truncatedIsOverlong = truncatedIsOverlong;
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    return c -> {
      int len = Packed.length(c.getTokenIds());
      boolean cut = truncatedIsOverlong && c.getFinishReason() == FinishReason.LENGTH;
      return new CompletionScore(c.getIndex(), cut ? -1.0 : penalty(len), len + " tokens");
    };
  }

  double penalty(int len) {
    if (len > max) {
      return -1;
    }
    int soft = max - buffer;
    return len <= soft ? 0 : (double) (soft - len) / buffer;
  }
}
