package io.rlstream.judge;

import io.rlstream.schemas.Completion;
import io.rlstream.schemas.FinishReason;
import io.rlstream.schemas.Packed;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Sample groups for judge tests. */
public final class Groups {
  private Groups() {}

  /** A group with one completion per text, each one token per character. */
  public static SampleGroup group(String groupId, String reference, List<String> texts) {
    List<Completion> cs = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      int n = Math.max(1, texts.get(i).length());
      cs.add(
          Completion.newBuilder()
              .setIndex(i)
              .setTokenIds(Packed.ints(new int[n]))
              .setText(texts.get(i))
              .setLogprobs(Packed.floats(new float[n]))
              .setFinishReason(FinishReason.STOP)
              .build());
    }
    return SampleGroup.newBuilder()
        .setGroupId(groupId)
        .setRunId("r")
        .setTaskId("t")
        .setPromptId("p-" + groupId)
        .setPromptText("3+4=")
        .setPromptTokenIds(Packed.ints(new int[] {1, 2}))
        .setReferenceAnswer(reference)
        .setCompletions(cs)
        .setPolicyVersion(0)
        .setSampling(SamplingParams.newBuilder().setTemperature(1f).setMaxNewTokens(4).build())
        .setSeed(0)
        .setMetadata(Map.of())
        .setProvenance(Provenances.now("test"))
        .build();
  }

  /** A group with reference "7" and texts. */
  public static SampleGroup group(String reference, List<String> texts) {
    return group("g", reference, texts);
  }
}
