package io.rlstream.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model checkpoint directory in the Hugging Face layout: {@code config.json}, {@code
 * tokenizer.json} and {@code model.safetensors}, or shards {@code model-0000i-of-0000n.safetensors}
 * listed in {@code model.safetensors.index.json}. Tensor names are Hugging Face Llama/Qwen2 names,
 * so a directory saved here loads in transformers and a Llama- or Qwen2-family directory from the
 * Hub loads here.
 *
 * @param config the model shape
 * @param tokenizer its tokenizer
 * @param tensors every weight by name, float32 in Java memory
 */
public record Checkpoint(ModelConfig config, Tokenizer tokenizer, Map<String, HostTensor> tensors) {
  private static final Logger log = LoggerFactory.getLogger(Checkpoint.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String INDEX = "model.safetensors.index.json";
  static final String SINGLE = "model.safetensors";

  /** How to write: element type and largest shard (a larger single tensor gets its own shard). */
  public record SaveOptions(TensorType type, long maxShardBytes) {
    public static final SaveOptions DEFAULT = new SaveOptions(TensorType.F32, 5L << 30);

    public SaveOptions {
      if (maxShardBytes <= 0) {
        throw new IllegalArgumentException("maxShardBytes must be positive, was " + maxShardBytes);
      }
    }
  }

  /**
   * Loads a checkpoint directory. Ignores rotary {@code inv_freq} buffers that old exports carry
   * and a redundant {@code lm_head.weight} under tied embeddings; fails on missing, unexpected or
   * misshapen tensors, naming them.
   */
  public static Checkpoint load(Path dir) {
    require(Files.isDirectory(dir), "checkpoint directory " + dir + " does not exist");
    Path configFile = dir.resolve("config.json");
    Path tokenizerFile = dir.resolve("tokenizer.json");
    require(Files.isRegularFile(configFile), dir + " has no config.json");
    require(Files.isRegularFile(tokenizerFile), dir + " has no tokenizer.json");
    ModelConfig config = ModelConfig.read(configFile);
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    for (Path file : weightFiles(dir)) {
      Safetensors.read(file)
          .forEach(
              (name, t) -> {
                if (name.endsWith("rotary_emb.inv_freq")) {
                  return; // recomputed from rope_theta
                }
                if (tensors.put(name, t) != null) {
                  throw new IllegalArgumentException(
                      dir + ": tensor " + name + " appears in two files");
                }
              });
    }
    if (config.tieWordEmbeddings() && tensors.remove("lm_head.weight") != null) {
      log.debug("{}: ignoring lm_head.weight, tied to model.embed_tokens.weight", dir);
    }
    Tokenizer tokenizer = Tokenizer.load(tokenizerFile);
    require(
        tokenizer.vocabSize() <= config.vocabSize(),
        dir
            + ": tokenizer has "
            + tokenizer.vocabSize()
            + " tokens but vocab_size is "
            + config.vocabSize());
    return new Checkpoint(config, tokenizer, tensors);
  }

  private static List<Path> weightFiles(Path dir) {
    Path index = dir.resolve(INDEX);
    if (Files.isRegularFile(index)) {
      try {
        JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
        require(map.isObject() && map.size() > 0, index + " has no weight_map");
        TreeSet<String> files = new TreeSet<>();
        map.elements().forEachRemaining(f -> files.add(f.asText()));
        return files.stream().map(dir::resolve).toList();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + index, e);
      }
    }
    Path single = dir.resolve(SINGLE);
    require(Files.isRegularFile(single), dir + " has neither " + SINGLE + " nor " + INDEX);
    return List.of(single);
  }

  /**
   * Writes this checkpoint to {@code dir}, which must not exist yet: into a temporary sibling
   * first, renamed into place when complete, so a crash leaves no half-written checkpoint.
   */
  public void save(Path dir, SaveOptions options) {
    require(!Files.exists(dir), "checkpoint directory " + dir + " already exists");
    Path parent = dir.toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
      Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".tmp-");
      if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        // createTempDirectory makes it owner-only; a checkpoint is shared like any model dir
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      config.write(tmp.resolve("config.json"));
      tokenizer.write(tmp.resolve("tokenizer.json"));
      writeWeights(tmp, options);
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save checkpoint to " + dir, e);
    }
  }

  private void writeWeights(Path dir, SaveOptions options) throws IOException {
    List<Map<String, HostTensor>> shards = new ArrayList<>();
    Map<String, HostTensor> current = new LinkedHashMap<>();
    long currentBytes = 0;
    long total = 0;
    for (var e : tensors.entrySet()) {
      long bytes = e.getValue().size() * options.type().bytes();
      total += bytes;
      if (!current.isEmpty() && currentBytes + bytes > options.maxShardBytes()) {
        shards.add(current);
        current = new LinkedHashMap<>();
        currentBytes = 0;
      }
      current.put(e.getKey(), e.getValue());
      currentBytes += bytes;
    }
    shards.add(current);
    if (shards.size() == 1) {
      Safetensors.write(dir.resolve(SINGLE), current, options.type());
      return;
    }
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", total);
    ObjectNode map = index.putObject("weight_map");
    for (int i = 0; i < shards.size(); i++) {
      String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      Safetensors.write(dir.resolve(file), shards.get(i), options.type());
      shards.get(i).keySet().forEach(name -> map.put(name, file));
    }
    Files.writeString(
        dir.resolve(INDEX), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
  }

  /** Writes only the weight files into an existing directory (tests build HF layouts so). */
  void writeWeightsForTest(Path dir, TensorType type, long maxShardBytes) throws IOException {
    writeWeights(dir, new SaveOptions(type, maxShardBytes));
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
