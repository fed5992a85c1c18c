package io.rlstream.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Hot swap under a sampling thread: versions change only between calls, never inside one. */
class PolicySamplerTest {
  private static final List<int[]> PROMPTS =
      List.of(Fixtures.prompt("7+8="), Fixtures.prompt("40+2="));
  private static final SamplingConfig GREEDY = SamplingConfig.greedy(12, Set.of());

  @Test
  void everyCallIsServedByExactlyOneVersionAndSaysWhich() throws Exception {
    int versions = 6;
    List<WeightUpdate> updates = new ArrayList<>();
    Map<Long, List<List<String>>> expected = new HashMap<>();
    for (long v = 0; v < versions; v++) {
      try (Policy p = Fixtures.peaked(100 + v);
          PolicySampler alone = new PolicySampler("expect-" + v, p, v)) {
        updates.add(new WeightUpdate(v, p.snapshot().tensors()));
        expected.put(v, SamplingTest.tokens(alone.generate(PROMPTS, 3, GREEDY, 1).completions()));
      }
    }
    assertThat(expected.values()).doesNotHaveDuplicates();

    try (PolicySampler sampler = new PolicySampler("swap", Fixtures.peaked(100), 0)) {
      // The caller keeps calls queued on the model thread while another thread offers versions.
      List<CompletableFuture<Generation>> calls = new ArrayList<>();
      CompletableFuture<Void> offers =
          CompletableFuture.runAsync(
              () -> {
                for (int v = 1; v < versions; v++) {
                  sampler.offer(updates.get(v)).exceptionally(e -> -1L).join();
                }
              });
      while (!offers.isDone() || calls.size() < 20) {
        calls.add(sampler.submit(PROMPTS, 3, GREEDY, 1));
        if (calls.size() > 8) {
          calls.get(calls.size() - 8).join(); // bounded queue
        }
      }
      offers.join();
      long last = -1;
      for (CompletableFuture<Generation> call : calls) {
        Generation g = call.join();
        assertThat(SamplingTest.tokens(g.completions()))
            .as("outputs of a call reporting version %d", g.policyVersion())
            .isEqualTo(expected.get(g.policyVersion()));
        assertThat(g.policyVersion()).isGreaterThanOrEqualTo(last);
        last = g.policyVersion();
      }
      assertThat(last).isEqualTo(versions - 1);
      assertThat(calls.stream().map(c -> c.join().policyVersion()).distinct().count())
          .as("versions seen by calls")
          .isGreaterThan(1);
    }
  }

  @Test
  void badUpdatesAreRefusedAndTheOldVersionKeepsServing() {
    try (PolicySampler sampler = new PolicySampler("refuse", Fixtures.peaked(1), 3);
        Policy other = Fixtures.peaked(2)) {
      List<List<String>> before =
          SamplingTest.tokens(sampler.generate(PROMPTS, 1, GREEDY, 1).completions());
      Map<String, HostTensor> good = other.snapshot().tensors();

      Map<String, HostTensor> missing = new LinkedHashMap<>(good);
      missing.remove("model.norm.weight");
      assertRefused(sampler.offer(new WeightUpdate(4, missing)), "missing model.norm.weight");

      Map<String, HostTensor> misshapen = new LinkedHashMap<>(good);
      misshapen.put("model.norm.weight", HostTensor.of(new long[] {2}, new float[2]));
      assertRefused(sampler.offer(new WeightUpdate(4, misshapen)), "model.norm.weight has shape");

      assertRefused(sampler.offer(new WeightUpdate(3, good)), "not newer");
      assertThat(sampler.version()).isEqualTo(3);
      assertThat(sampler.refusedUpdates()).isEqualTo(3);
      Generation g = sampler.generate(PROMPTS, 1, GREEDY, 1);
      assertThat(g.policyVersion()).isEqualTo(3);
      assertThat(SamplingTest.tokens(g.completions())).isEqualTo(before);

      assertThat(sampler.offer(new WeightUpdate(9, good)).join()).isEqualTo(9);
      assertThat(sampler.generate(PROMPTS, 1, GREEDY, 1).policyVersion()).isEqualTo(9);

      // a learner resumed from a checkpoint: epoch 1 replaces epoch 0 even at a lower version,
      // and nothing of the old epoch is taken afterwards
      assertThat(sampler.offer(new WeightUpdate(5, 1, good)).join()).isEqualTo(5);
      assertThat(sampler.epoch()).isEqualTo(1);
      assertRefused(sampler.offer(new WeightUpdate(10, 0, good)), "of epoch 0");
      assertThat(sampler.version()).isEqualTo(5);
    }
  }

  private static void assertRefused(CompletableFuture<Long> applied, String reason) {
    assertThatThrownBy(applied::join)
        .isInstanceOf(CompletionException.class)
        .hasMessageContaining(reason);
  }
}
