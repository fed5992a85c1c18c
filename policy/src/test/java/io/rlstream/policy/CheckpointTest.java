package io.rlstream.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  @TempDir Path dir;

  /** A Qwen2-style config.json as transformers writes it (biases implied by model_type). */
  private static final String QWEN2_CONFIG =
      """
      {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
       "vocab_size": 104, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
       "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
       "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": false,
       "use_sliding_window": false, "sliding_window": 4096, "max_window_layers": 21,
       "bos_token_id": 1, "eos_token_id": [2, 3], "torch_dtype": "bfloat16",
       "rope_scaling": null, "attention_dropout": 0.0, "transformers_version": "4.45.0"}
      """;

  /** Writes an HF-layout directory: BF16 weights in three shards plus an index, as the Hub has. */
  private Path huggingFaceDirectory() throws IOException {
    Path hf = Files.createDirectories(dir.resolve("hf"));
    Files.writeString(hf.resolve("config.json"), QWEN2_CONFIG);
    Fixtures.CHAR.write(hf.resolve("tokenizer.json"));
    ModelConfig c = ModelConfig.read(hf.resolve("config.json"));
    Random rng = new Random(3);
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    Transformer.shapes(c)
        .forEach(
            (name, shape) -> {
              float[] v = new float[(int) shape.size()];
              for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((name.endsWith("norm.weight") ? 1 : 0) + rng.nextGaussian() * 0.2);
              }
              tensors.put(name, HostTensor.of(shape.getShape(), v));
            });
    tensors.put(
        "model.layers.0.self_attn.rotary_emb.inv_freq",
        HostTensor.of(
            new long[] {4}, new float[] {1, 0.1f, 0.01f, 0.001f})); // old exports carry this buffer
    new Checkpoint(c, Fixtures.CHAR, tensors).writeWeightsForTest(hf, TensorType.BF16, 20_000);
    return hf;
  }

  @Test
  void huggingFaceShardedBf16CheckpointGivesTheSameLogitsAsOurOwnSave() throws IOException {
    Path hf = huggingFaceDirectory();
    assertThat(hf.resolve("model.safetensors.index.json")).exists();
    try (var files = Files.list(hf)) {
      assertThat(files.filter(p -> p.toString().endsWith(".safetensors")).count()).isGreaterThan(2);
    }
    Checkpoint loaded = Checkpoint.load(hf);
    assertThat(loaded.config().qkvBias()).isTrue();
    assertThat(loaded.config().outputBias()).isFalse();
    assertThat(loaded.config().headDim()).isEqualTo(8);
    assertThat(loaded.config().eosTokenIds()).containsExactly(2, 3);
    assertThat(loaded.tensors()).doesNotContainKey("model.layers.0.self_attn.rotary_emb.inv_freq");

    Path ours = dir.resolve("ours");
    loaded.save(ours, Checkpoint.SaveOptions.DEFAULT);
    assertThat(ours.resolve("model.safetensors")).exists();
    try (Policy a = Policy.load(hf, Device.cpu());
        Policy b = Policy.load(ours, Device.cpu());
        NDManager m = NDManager.newBaseManager()) {
      assertThat(b.config()).isEqualTo(a.config());
      long[][] ids = {{1, 40, 41, 42, 17}};
      long[][] pos = {{0, 1, 2, 3, 4}};
      float[] la =
          a.model()
              .forward(
                  m.create(ids), m.create(pos), m.ones(new ai.djl.ndarray.types.Shape(1, 5)), null)
              .toFloatArray();
      float[] lb =
          b.model()
              .forward(
                  m.create(ids), m.create(pos), m.ones(new ai.djl.ndarray.types.Shape(1, 5)), null)
              .toFloatArray();
      assertThat(lb).containsExactly(la);
    }
  }

  /** Llama exports with tied embeddings often still carry lm_head.weight; it is the embedding. */
  @Test
  void tiedLlamaCheckpointWithARedundantHeadLoads() throws IOException {
    try (Policy p = Fixtures.policy(8)) {
      Checkpoint snap = p.snapshot();
      Map<String, HostTensor> withHead = new LinkedHashMap<>(snap.tensors());
      withHead.put("lm_head.weight", snap.tensors().get("model.embed_tokens.weight"));
      Path llama = Files.createDirectories(dir.resolve("llama"));
      snap.config().write(llama.resolve("config.json"));
      Fixtures.CHAR.write(llama.resolve("tokenizer.json"));
      new Checkpoint(snap.config(), Fixtures.CHAR, withHead)
          .writeWeightsForTest(llama, TensorType.F16, Long.MAX_VALUE);
      Checkpoint loaded = Checkpoint.load(llama);
      assertThat(loaded.tensors()).doesNotContainKey("lm_head.weight");
      assertThat(loaded.tensors().keySet()).isEqualTo(snap.tensors().keySet());
      try (Policy again = Policy.of(loaded, Device.cpu())) {
        assertThat(again.model().parameterCount()).isEqualTo(p.model().parameterCount());
      }
    }
  }

  @Test
  void savedConfigReadsBackEqual() {
    ModelConfig tiny = ModelConfig.tiny(100, 1, 2);
    Path f = dir.resolve("config.json");
    tiny.write(f);
    assertThat(ModelConfig.read(f)).isEqualTo(tiny);
  }

  @Test
  void shardedSaveRoundTrips() {
    try (Policy p = Fixtures.policy(5)) {
      Checkpoint snap = p.snapshot();
      Path out = dir.resolve("sharded");
      snap.save(out, new Checkpoint.SaveOptions(TensorType.F32, 40_000));
      assertThat(out.resolve("model.safetensors.index.json")).exists();
      assertThat(Checkpoint.load(out).tensors()).isEqualTo(snap.tensors());
      assertThatThrownBy(() -> snap.save(out, Checkpoint.SaveOptions.DEFAULT))
          .hasMessageContaining("already exists");
    }
  }

  @Test
  void missingOrMisshapenTensorsAreNamed() throws IOException {
    Path hf = huggingFaceDirectory();
    Checkpoint c = Checkpoint.load(hf);
    Map<String, HostTensor> broken = new LinkedHashMap<>(c.tensors());
    broken.remove("model.layers.1.mlp.up_proj.weight");
    broken.put("model.norm.weight", HostTensor.of(new long[] {3}, new float[3]));
    assertThatThrownBy(
            () -> Policy.of(new Checkpoint(c.config(), c.tokenizer(), broken), Device.cpu()))
        .hasMessageContaining("missing model.layers.1.mlp.up_proj.weight")
        .hasMessageContaining("model.norm.weight has shape (3)");
  }

  @Test
  void unsupportedConfigsSayWhatToChange() throws IOException {
    Path f = dir.resolve("config.json");
    Files.writeString(
        f,
        QWEN2_CONFIG.replace(
            "\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4}"));
    assertThatThrownBy(() -> ModelConfig.read(f)).hasMessageContaining("rope_scaling");
    Files.writeString(f, QWEN2_CONFIG.replace("qwen2", "gemma"));
    assertThatThrownBy(() -> ModelConfig.read(f)).hasMessageContaining("model_type 'gemma'");
    Files.writeString(
        f, QWEN2_CONFIG.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
    assertThatThrownBy(() -> ModelConfig.read(f)).hasMessageContaining("num_key_value_heads (3)");
    assertThatThrownBy(() -> Checkpoint.load(dir.resolve("nope")))
        .hasMessageContaining("does not exist");
  }

  @Test
  void charTokenizerRoundTripsAndSkipsSpecials() {
    Tokenizer t = Fixtures.CHAR;
    assertThat(t.vocabSize()).isEqualTo(100);
    int[] ids = t.encode("12 + 7 = 19\n");
    assertThat(ids).hasSize(12);
    assertThat(t.decode(ids)).isEqualTo("12 + 7 = 19\n");
    assertThat(t.decode(new int[] {1, ids[0], ids[1], 2})).isEqualTo("12");
    assertThat(t.tokenId("<eos>")).isEqualTo(2);
    assertThat(t.tokenId("nope")).isEqualTo(-1);
    assertThat(t.encode("é")).containsExactly(t.tokenId("<unk>"));
    // Regression (issue 3): DJL truncates to 512 tokens unless told not to.
    assertThat(t.encode("7".repeat(3000))).as("no silent truncation").hasSize(3000);
    Path f = dir.resolve("tokenizer.json");
    t.write(f);
    try (Tokenizer again = Tokenizer.load(f)) {
      assertThat(again.encode("3*4=12")).isEqualTo(t.encode("3*4=12"));
    }
    assertThatThrownBy(() -> Tokenizer.builtIn("nope")).hasMessageContaining("'char'");
  }
}
