package io.rlstream.policy;

import ai.djl.Device;
import java.util.List;

/** Small models for tests: the built-in char tokenizer and a tiny config. */
final class Fixtures {
  static final Tokenizer CHAR = Tokenizer.builtIn("char");
  static final int BOS = CHAR.tokenId("<bos>");
  static final int EOS = CHAR.tokenId("<eos>");

  private Fixtures() {}

  /** 2 layers, width 32, GQA 4:2 — fast enough for many calls per test. */
  static ModelConfig small() {
    return new ModelConfig(
        "llama",
        CHAR.vocabSize(),
        32,
        64,
        2,
        4,
        2,
        8,
        1e-6,
        10_000,
        256,
        true,
        false,
        false,
        BOS,
        List.of(EOS));
  }

  static Policy policy(long seed) {
    return Policy.random(small(), CHAR, seed, Device.cpu());
  }

  /** Random weights spread enough (std 0.3) that the next-token distribution is far from flat. */
  static Policy peaked(long seed) {
    return Policy.of(
        new Checkpoint(
            small(),
            CHAR,
            Policy.hostWeights(TransformerReferenceTest.randomWithBiases(small(), seed))),
        Device.cpu());
  }

  static int[] prompt(String text) {
    int[] body = CHAR.encode(text);
    int[] p = new int[body.length + 1];
    p[0] = BOS;
    System.arraycopy(body, 0, p, 1, body.length);
    return p;
  }
}
