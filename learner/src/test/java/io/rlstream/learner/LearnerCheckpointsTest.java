package io.rlstream.learner;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.policy.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Atomic, verified learner checkpoints: round trip, damaged and torn ones skipped, newest N kept.
 */
class LearnerCheckpointsTest {
  private static LearnerCheckpoints.State state(long step) {
    return new LearnerCheckpoints.State(
        step,
        step / 2,
        3,
        step * 16,
        Map.of("rl.scored-0", step * 10, "rl.scored-2", step * 7),
        Map.of(
            "w",
            HostTensor.of(new long[] {3}, new float[] {step, -1.5f, 2.25f}),
            "b",
            HostTensor.of(new long[] {1}, new float[] {0.5f})),
        new AdamW.State(step, Map.of("w", new float[][] {{0.1f, 0.2f, 0.3f}, {1, 2, 3}})));
  }

  @Test
  void roundTripsEveryPart(@TempDir Path dir) {
    LearnerCheckpoints store = new LearnerCheckpoints(dir, 3);
    store.save(state(20));
    LearnerCheckpoints.State back = store.latest().orElseThrow();
    assertThat(back.step()).isEqualTo(20);
    assertThat(back.version()).isEqualTo(10);
    assertThat(back.epoch()).isEqualTo(3);
    assertThat(back.groupsConsumed()).isEqualTo(320);
    assertThat(back.offsets()).containsExactlyInAnyOrderEntriesOf(state(20).offsets());
    assertThat(back.weights().get("w").values()).containsExactly(20f, -1.5f, 2.25f);
    assertThat(back.optimizer().steps()).isEqualTo(20);
    assertThat(back.optimizer().moments().get("w")[1]).containsExactly(1f, 2f, 3f);
  }

  @Test
  void keepsTheNewestAndSkipsDamagedOrTornOnes(@TempDir Path dir) throws Exception {
    LearnerCheckpoints store = new LearnerCheckpoints(dir, 2);
    store.save(state(10));
    store.save(state(20));
    Path newest = store.save(state(30));
    assertThat(store.checkpoints()).hasSize(2); // 10 pruned
    // a flipped byte in the newest: the previous one is used
    byte[] w = Files.readAllBytes(newest.resolve("weights.safetensors"));
    w[w.length - 1] ^= 1;
    Files.write(newest.resolve("weights.safetensors"), w);
    assertThat(store.latest().orElseThrow().step()).isEqualTo(20);
    // a torn write (the manifest cut short) is skipped too
    Path step20 = store.checkpoints().get(1);
    String manifest = Files.readString(step20.resolve("MANIFEST"));
    Files.writeString(step20.resolve("MANIFEST"), manifest.substring(0, manifest.length() / 2));
    assertThat(store.latest()).isEmpty();
    // a crash before the rename leaves only a temporary directory, which is never read
    Files.createDirectories(dir.resolve(".tmp-40-123"));
    Files.writeString(dir.resolve(".tmp-40-123").resolve("MANIFEST"), "garbage");
    assertThat(store.latest()).isEmpty();
    store.save(state(50));
    assertThat(store.latest().orElseThrow().step()).isEqualTo(50);
    assertThat(Files.exists(dir.resolve(".tmp-40-123"))).isFalse();
  }
}
