package io.rlstream.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The shape of a Llama-family decoder-only transformer, as read from a Hugging Face {@code
 * config.json} ({@code model_type} {@code llama} or {@code qwen2}).
 *
 * @param modelType {@code llama} or {@code qwen2}; decides the defaults below and the name written
 *     back to {@code config.json}
 * @param vocabSize rows of the embedding and of the output head
 * @param hiddenSize model width d
 * @param intermediateSize SwiGLU hidden width
 * @param numLayers decoder blocks
 * @param numHeads query heads
 * @param numKvHeads key/value heads (grouped-query attention when fewer than {@code numHeads})
 * @param headDim width of one head (Hugging Face default: hiddenSize / numHeads)
 * @param rmsNormEps epsilon inside RMSNorm
 * @param ropeTheta base of the rotary frequencies
 * @param maxPositions longest sequence the model is meant for (prompt plus completion)
 * @param tieWordEmbeddings the output head reuses the embedding matrix
 * @param qkvBias the q, k and v projections have biases (always for Qwen2)
 * @param outputBias the attention output projection has a bias (Llama {@code attention_bias})
 * @param bosTokenId beginning-of-sequence id, or -1
 * @param eosTokenIds end-of-sequence ids (Llama 3 lists several)
 */
public record ModelConfig(
    String modelType,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    int maxPositions,
    boolean tieWordEmbeddings,
    boolean qkvBias,
    boolean outputBias,
    int bosTokenId,
    List<Integer> eosTokenIds) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public ModelConfig {
    Objects.requireNonNull(modelType, "modelType");
    require(
        modelType.equals("llama") || modelType.equals("qwen2"),
        "model_type '" + modelType + "' is not supported: use a llama or qwen2 checkpoint");
    require(vocabSize > 0, "vocab_size must be positive, was " + vocabSize);
    require(hiddenSize > 0, "hidden_size must be positive, was " + hiddenSize);
    require(intermediateSize > 0, "intermediate_size must be positive, was " + intermediateSize);
    require(numLayers > 0, "num_hidden_layers must be positive, was " + numLayers);
    require(numHeads > 0, "num_attention_heads must be positive, was " + numHeads);
    require(
        numKvHeads > 0 && numHeads % numKvHeads == 0,
        "num_key_value_heads ("
            + numKvHeads
            + ") must divide num_attention_heads ("
            + numHeads
            + ")");
    require(
        headDim > 0 && headDim % 2 == 0,
        "head_dim must be positive and even (rotary embeddings rotate pairs), was " + headDim);
    require(rmsNormEps > 0, "rms_norm_eps must be positive, was " + rmsNormEps);
    require(ropeTheta > 0, "rope_theta must be positive, was " + ropeTheta);
    require(maxPositions > 0, "max_position_embeddings must be positive, was " + maxPositions);
    eosTokenIds = List.copyOf(eosTokenIds);
  }

  /**
   * The built-in tiny preset (about 0.8 M parameters with a 100-token vocabulary): width 128, 4
   * layers, 4 query heads sharing 2 key/value heads, tied embeddings. Small enough to train in
   * minutes on two CPU cores, large enough to learn multi-digit arithmetic.
   */
  public static ModelConfig tiny(int vocabSize, int bosTokenId, int eosTokenId) {
    return new ModelConfig(
        "llama",
        vocabSize,
        128,
        384,
        4,
        4,
        2,
        32,
        1e-6,
        10_000,
        256,
        true,
        false,
        false,
        bosTokenId,
        List.of(eosTokenId));
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return numHeads / numKvHeads;
  }

  /** Reads a Hugging Face {@code config.json}; fails with the key to fix when unsupported. */
  public static ModelConfig read(Path configJson) {
    try {
      return fromJson(JSON.readTree(Files.readString(configJson)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + configJson, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
    }
  }

  static ModelConfig fromJson(JsonNode n) {
    String type = text(n, "model_type", "");
    require(
        text(n, "hidden_act", "silu").equals("silu"),
        "hidden_act '" + text(n, "hidden_act", "") + "' is not supported: only silu (SwiGLU)");
    JsonNode scaling = n.get("rope_scaling");
    require(
        scaling == null || scaling.isNull(),
        "rope_scaling " + scaling + " is not supported: use a checkpoint without rope_scaling");
    require(!n.path("mlp_bias").asBoolean(false), "mlp_bias=true is not supported");
    require(
        !n.path("use_sliding_window").asBoolean(false),
        "use_sliding_window=true is not supported: set it to false (full attention)");
    int hidden = integer(n, "hidden_size");
    int heads = integer(n, "num_attention_heads");
    boolean qwen = type.equals("qwen2");
    boolean attentionBias = n.path("attention_bias").asBoolean(false);
    return new ModelConfig(
        type,
        integer(n, "vocab_size"),
        hidden,
        integer(n, "intermediate_size"),
        integer(n, "num_hidden_layers"),
        heads,
        n.path("num_key_value_heads").asInt(heads),
        n.hasNonNull("head_dim") ? n.get("head_dim").asInt() : hidden / heads,
        n.path("rms_norm_eps").asDouble(1e-6),
        n.path("rope_theta").asDouble(10_000),
        n.path("max_position_embeddings").asInt(2048),
        n.path("tie_word_embeddings").asBoolean(false),
        qwen || attentionBias,
        !qwen && attentionBias,
        n.path("bos_token_id").asInt(-1),
        eosIds(n.get("eos_token_id")));
  }

  /** Writes a {@code config.json} that Hugging Face transformers loads as the same model. */
  public void write(Path configJson) {
    ObjectNode n = JSON.createObjectNode();
    n.putArray("architectures")
        .add(modelType.equals("qwen2") ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
    n.put("model_type", modelType);
    n.put("vocab_size", vocabSize);
    n.put("hidden_size", hiddenSize);
    n.put("intermediate_size", intermediateSize);
    n.put("num_hidden_layers", numLayers);
    n.put("num_attention_heads", numHeads);
    n.put("num_key_value_heads", numKvHeads);
    n.put("head_dim", headDim);
    n.put("hidden_act", "silu");
    n.put("rms_norm_eps", rmsNormEps);
    n.put("rope_theta", ropeTheta);
    n.put("max_position_embeddings", maxPositions);
    n.put("tie_word_embeddings", tieWordEmbeddings);
    if (modelType.equals("llama")) {
      require(qkvBias == outputBias, "a llama config has one attention_bias for q, k, v and o");
      n.put("attention_bias", qkvBias);
      n.put("mlp_bias", false);
    } else {
      require(qkvBias && !outputBias, "a qwen2 config has q, k, v biases and no o bias");
      n.put("use_sliding_window", false);
    }
    if (bosTokenId >= 0) {
      n.put("bos_token_id", bosTokenId);
    }
    if (eosTokenIds.size() == 1) {
      n.put("eos_token_id", eosTokenIds.get(0));
    } else {
      eosTokenIds.forEach(n.putArray("eos_token_id")::add);
    }
    n.put("torch_dtype", "float32");
    try {
      Files.writeString(configJson, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + configJson, e);
    }
  }

  private static List<Integer> eosIds(JsonNode node) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (node.isArray()) {
      return java.util.stream.StreamSupport.stream(node.spliterator(), false)
          .map(JsonNode::asInt)
          .toList();
    }
    return List.of(node.asInt());
  }

  private static int integer(JsonNode n, String key) {
    JsonNode v = n.get(key);
    require(v != null && v.canConvertToInt(), "config.json lacks the integer '" + key + "'");
    return v.asInt();
  }

  private static String text(JsonNode n, String key, String otherwise) {
    return n.hasNonNull(key) ? n.get(key).asText() : otherwise;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
