package io.rlstream.policy;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** A language-model policy: its shape, its tokenizer and its transformer on one device. */
public final class Policy implements AutoCloseable {
  private final ModelConfig config;
  private final Tokenizer tokenizer;
  private final Transformer model;

  private Policy(ModelConfig config, Tokenizer tokenizer, Transformer model) {
    this.config = config;
    this.tokenizer = tokenizer;
    this.model = model;
  }

  /** Loads a checkpoint directory (ours or a Hugging Face Llama/Qwen2 one) onto {@code device}. */
  public static Policy load(Path dir, Device device) {
    return of(Checkpoint.load(dir), device);
  }

  public static Policy of(Checkpoint checkpoint, Device device) {
    return new Policy(
        checkpoint.config(),
        checkpoint.tokenizer(),
        transformer(checkpoint.config(), checkpoint.tensors(), device));
  }

  /** Fresh random weights (see {@link Transformer#random}). */
  public static Policy random(ModelConfig config, Tokenizer tokenizer, long seed, Device device) {
    if (tokenizer.vocabSize() > config.vocabSize()) {
      throw new IllegalArgumentException(
          "tokenizer has "
              + tokenizer.vocabSize()
              + " tokens but vocab_size is "
              + config.vocabSize());
    }
    return new Policy(config, tokenizer, Transformer.random(config, seed, device));
  }

  /** A transformer over Java-memory weights. */
  public static Transformer transformer(
      ModelConfig config, Map<String, HostTensor> tensors, Device device) {
    try (NDManager tmp = NDManager.newBaseManager(device)) {
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      tensors.forEach((name, t) -> arrays.put(name, t.toNDArray(tmp)));
      return Transformer.of(config, arrays, device);
    }
  }

  /**
   * The device named by {@code name}: {@code cpu}, {@code gpu} (fails when DJL finds none) or
   * {@code auto} (the first GPU if DJL finds one, else the CPU).
   */
  public static Device device(String name) {
    int gpus = Engine.getInstance().getGpuCount();
    return switch (name) {
      case "cpu" -> Device.cpu();
      case "auto" -> gpus > 0 ? Device.gpu() : Device.cpu();
      case "gpu" -> {
        if (gpus == 0) {
          throw new IllegalArgumentException(
              "--device gpu, but DJL finds no GPU: point it at a CUDA"
                  + " libtorch 2.7.1 (PYTORCH_LIBRARY_PATH, PYTORCH_FLAVOR=cu128) or use --device cpu");
        }
        yield Device.gpu();
      }
      default ->
          throw new IllegalArgumentException("unknown device '" + name + "': use cpu, gpu or auto");
    };
  }

  public ModelConfig config() {
    return config;
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  public Transformer model() {
    return model;
  }

  /** The current weights copied to Java memory, as a checkpoint. */
  public Checkpoint snapshot() {
    return new Checkpoint(config, tokenizer, hostWeights(model));
  }

  public static Map<String, HostTensor> hostWeights(Transformer model) {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    model.parameters().forEach((name, a) -> out.put(name, HostTensor.of(a)));
    return out;
  }

  /** Saves the current weights as a checkpoint directory. */
  public void save(Path dir, Checkpoint.SaveOptions options) {
    snapshot().save(dir, options);
  }

  @Override
  public void close() {
    model.close();
  }
}
