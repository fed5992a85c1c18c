package io.rlstream.policy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Text ↔ token ids for any Hugging Face {@code tokenizer.json}, through DJL's tokenizers library
 * (Rust {@code tokenizers}), offline. One code path for every tokenizer: the built-in tasks ship
 * their own small {@code tokenizer.json} ({@link #builtIn(String)}).
 *
 * <p>{@link #encode} adds no special tokens (callers add BOS explicitly); {@link #decode} drops
 * them. Thread-safe.
 */
public final class Tokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HuggingFaceTokenizer tokenizer;
  private final String json;
  private final Map<String, Integer> ids;
  private final int vocabSize;

  private Tokenizer(String json) {
    this.json = json;
    Map<String, String> options =
        Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false");
    try (InputStream in = new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8))) {
      this.tokenizer = HuggingFaceTokenizer.newInstance(in, options);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a usable tokenizer.json: " + e.getMessage(), e);
    }
    this.ids = vocabulary(json);
    this.vocabSize = ids.values().stream().mapToInt(i -> i + 1).max().orElse(0);
  }

  /** Loads a {@code tokenizer.json} file. */
  public static Tokenizer load(Path tokenizerJson) {
    try {
      return new Tokenizer(Files.readString(tokenizerJson));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + tokenizerJson, e);
    }
  }

  /**
   * A tokenizer shipped with rlstream: {@code char} maps every printable ASCII character and
   * newline to one token, after {@code <pad>}=0, {@code <bos>}=1, {@code <eos>}=2, {@code <unk>}=3
   * (100 tokens).
   */
  public static Tokenizer builtIn(String name) {
    String resource = "tokenizers/" + name + ".json";
    try (InputStream in = Tokenizer.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no built-in tokenizer '" + name + "'; try 'char'");
      }
      return new Tokenizer(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int[] encode(String text) {
    long[] raw = tokenizer.encode(text, false, false).getIds();
    int[] out = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      out[i] = Math.toIntExact(raw[i]);
    }
    return out;
  }

  /** Text of the ids, special tokens left out. */
  public String decode(int[] tokens) {
    long[] raw = new long[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      raw[i] = tokens[i];
    }
    return tokenizer.decode(raw, true);
  }

  /** Id of a token (such as {@code <eos>}), or -1 when the vocabulary lacks it. */
  public int tokenId(String token) {
    return ids.getOrDefault(token, -1);
  }

  /** One more than the largest id, added tokens included: the smallest usable vocab_size. */
  public int vocabSize() {
    return vocabSize;
  }

  /** Writes the {@code tokenizer.json} this tokenizer was made from. */
  public void write(Path tokenizerJson) {
    try {
      Files.writeString(tokenizerJson, json);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + tokenizerJson, e);
    }
  }

  private static Map<String, Integer> vocabulary(String json) {
    try {
      JsonNode root = JSON.readTree(json);
      Map<String, Integer> ids = new HashMap<>();
      JsonNode vocab = root.path("model").path("vocab");
      if (vocab.isObject()) { // WordLevel, BPE, WordPiece: {"token": id}
        vocab.fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
      } else if (vocab.isArray()) { // Unigram: [["token", score], ...]
        for (int i = 0; i < vocab.size(); i++) {
          ids.put(vocab.get(i).get(0).asText(), i);
        }
      }
      root.path("added_tokens")
          .forEach(t -> ids.put(t.get("content").asText(), t.get("id").asInt()));
      return ids;
    } catch (IOException e) {
      throw new IllegalArgumentException("tokenizer.json is not JSON: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
