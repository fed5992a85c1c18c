package io.rlstream.learner;

import io.rlstream.policy.HostTensor;
import io.rlstream.policy.Safetensors;
import io.rlstream.policy.TensorType;
import io.rlstream.schemas.WeightChunks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner's checkpoints in one directory: {@code step-000000000050/} holding the weights and
 * the optimizer's moments as safetensors, the step, policy version, epoch, groups consumed and the
 * next offset of every partition of {@code rl.scored} the learner had trained up to. A checkpoint
 * is written to a temporary directory, every file and the directory fsynced, then renamed into
 * place atomically; a {@code MANIFEST} lists each file's size and SHA-256 and ends with its own
 * checksum. Only complete, verified checkpoints are ever read back; the newest {@code keep} are
 * kept.
 *
 * <p>The learner's step draws no random numbers (batches are formed in offset order, the losses are
 * deterministic), so there is no generator state to save: weights, optimizer and offsets determine
 * what happens next.
 */
public final class LearnerCheckpoints {
  private static final Logger log = LoggerFactory.getLogger(LearnerCheckpoints.class);
  private static final String PREFIX = "step-";
  private static final String MANIFEST = "MANIFEST";
  private static final String EXP_AVG = ".exp_avg";
  private static final String EXP_AVG_SQ = ".exp_avg_sq";

  /** What a checkpoint holds. */
  public record State(
      long step,
      long version,
      long epoch,
      long groupsConsumed,
      Map<String, Long> offsets,
      Map<String, HostTensor> weights,
      AdamW.State optimizer) {}

  private final Path dir;
  private final int keep;

  /**
   * @param dir the checkpoint directory (created if absent)
   * @param keep how many of the newest checkpoints to keep, at least 1
   */
  public LearnerCheckpoints(Path dir, int keep) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep at least one checkpoint, got " + keep);
    }
    this.dir = dir;
    this.keep = keep;
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create checkpoint directory " + dir, e);
    }
  }

  public Path dir() {
    return dir;
  }

  /**
   * Claims an epoch for a starting learner: at least {@code atLeast}, and above every epoch claimed
   * in this directory before (recorded in {@code EPOCH}, written atomically before the learner
   * publishes anything). A process lost before its first checkpoint has published in its epoch, so
   * the next one must not reuse it even though it resumes from the same checkpoint.
   */
  public long claimEpoch(long atLeast) {
    Path file = dir.resolve("EPOCH");
    try {
      long epoch = atLeast;
      if (Files.exists(file)) {
        String text = Files.readString(file, StandardCharsets.UTF_8).trim();
        try {
          epoch = Math.max(epoch, Long.parseLong(text) + 1);
        } catch (NumberFormatException e) {
          throw new IllegalStateException(
              file + " holds '" + text + "', not an epoch; delete it only if no learner runs", e);
        }
      }
      Path tmp = dir.resolve(".tmp-EPOCH-" + System.nanoTime());
      write(tmp, (epoch + "\n").getBytes(StandardCharsets.UTF_8));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      fsyncDirectory(dir);
      return epoch;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot record the learner epoch in " + file, e);
    }
  }

  /** Writes {@code state} atomically and prunes old checkpoints; returns its directory. */
  public Path save(State state) {
    Path target = dir.resolve(String.format("%s%012d", PREFIX, state.step()));
    Path tmp = dir.resolve(".tmp-" + state.step() + "-" + System.nanoTime());
    try {
      Files.createDirectories(tmp);
      Map<String, byte[]> files = new LinkedHashMap<>();
      files.put("weights.safetensors", Safetensors.encode(state.weights(), TensorType.F32));
      files.put("optimizer.safetensors", moments(state.optimizer()));
      files.put("state.properties", properties(state).getBytes(StandardCharsets.UTF_8));
      StringBuilder manifest = new StringBuilder();
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        write(tmp.resolve(f.getKey()), f.getValue());
        manifest
            .append(f.getKey())
            .append(' ')
            .append(f.getValue().length)
            .append(' ')
            .append(WeightChunks.sha256(f.getValue()))
            .append('\n');
      }
      String body = manifest.toString();
      write(
          tmp.resolve(MANIFEST),
          (body + "manifest " + WeightChunks.sha256(body.getBytes(StandardCharsets.UTF_8)) + "\n")
              .getBytes(StandardCharsets.UTF_8));
      fsyncDirectory(tmp);
      if (Files.exists(target)) {
        deleteRecursively(target); // a re-run of the same step replaces it
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      fsyncDirectory(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + target, e);
    }
    prune();
    return target;
  }

  /** The newest complete checkpoint whose manifest verifies; damaged ones are skipped, logged. */
  public Optional<State> latest() {
    for (Path p : checkpoints()) {
      try {
        return Optional.of(read(p));
      } catch (IOException | RuntimeException e) {
        log.warn("skipping checkpoint {}: {}", p, e.getMessage());
      }
    }
    return Optional.empty();
  }

  /** Complete checkpoint directories, newest first. */
  public List<Path> checkpoints() {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(PREFIX))
          .sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed())
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }

  /** Reads and verifies one checkpoint directory. */
  public static State read(Path p) throws IOException {
    List<String> lines = Files.readAllLines(p.resolve(MANIFEST), StandardCharsets.UTF_8);
    if (lines.isEmpty() || !lines.get(lines.size() - 1).startsWith("manifest ")) {
      throw new IOException("manifest is incomplete");
    }
    String body = String.join("\n", lines.subList(0, lines.size() - 1)) + "\n";
    String self = lines.get(lines.size() - 1).substring("manifest ".length());
    if (!WeightChunks.sha256(body.getBytes(StandardCharsets.UTF_8)).equals(self)) {
      throw new IOException("manifest checksum does not match");
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (String line : lines.subList(0, lines.size() - 1)) {
      String[] f = line.split(" ");
      byte[] bytes = Files.readAllBytes(p.resolve(f[0]));
      if (bytes.length != Long.parseLong(f[1]) || !WeightChunks.sha256(bytes).equals(f[2])) {
        throw new IOException(f[0] + " does not match its manifest entry");
      }
      files.put(f[0], bytes);
    }
    Map<String, String> props = new TreeMap<>();
    for (String line :
        new String(files.get("state.properties"), StandardCharsets.UTF_8).split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        props.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    Map<String, Long> offsets = new TreeMap<>();
    props.forEach(
        (k, v) -> {
          if (k.startsWith("offset.")) {
            offsets.put(k.substring("offset.".length()), Long.parseLong(v));
          }
        });
    return new State(
        Long.parseLong(props.get("step")),
        Long.parseLong(props.get("version")),
        Long.parseLong(props.get("epoch")),
        Long.parseLong(props.get("groups")),
        offsets,
        Safetensors.decode(files.get("weights.safetensors")),
        optimizer(
            Long.parseLong(props.get("optimizer.steps")), files.get("optimizer.safetensors")));
  }

  private void prune() {
    List<Path> all = checkpoints();
    for (Path old : all.subList(Math.min(keep, all.size()), all.size())) {
      try {
        deleteRecursively(old);
      } catch (IOException e) {
        log.warn("cannot delete old checkpoint {}: {}", old, e.getMessage());
      }
    }
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.filter(x -> x.getFileName().toString().startsWith(".tmp-")).toList()) {
        deleteRecursively(p); // left by a crash mid-write
      }
    } catch (IOException e) {
      log.warn("cannot clean {}: {}", dir, e.getMessage());
    }
  }

  private static String properties(State s) {
    StringBuilder b = new StringBuilder();
    b.append("step=").append(s.step()).append('\n');
    b.append("version=").append(s.version()).append('\n');
    b.append("epoch=").append(s.epoch()).append('\n');
    b.append("groups=").append(s.groupsConsumed()).append('\n');
    b.append("optimizer.steps=").append(s.optimizer().steps()).append('\n');
    new TreeMap<>(s.offsets())
        .forEach((k, v) -> b.append("offset.").append(k).append('=').append(v).append('\n'));
    return b.toString();
  }

  /**
   * AdamW's moments as safetensors, PyTorch's names: {@code <param>.exp_avg}, {@code .exp_avg_sq}.
   */
  private static byte[] moments(AdamW.State s) {
    Map<String, HostTensor> t = new TreeMap<>();
    s.moments()
        .forEach(
            (name, mv) -> {
              t.put(name + EXP_AVG, HostTensor.of(new long[] {mv[0].length}, mv[0]));
              t.put(name + EXP_AVG_SQ, HostTensor.of(new long[] {mv[1].length}, mv[1]));
            });
    return Safetensors.encode(t, TensorType.F32);
  }

  private static AdamW.State optimizer(long steps, byte[] bytes) {
    Map<String, float[][]> moments = new TreeMap<>();
    Safetensors.decode(bytes)
        .forEach(
            (key, t) -> {
              boolean first = key.endsWith(EXP_AVG);
              String name =
                  key.substring(0, key.length() - (first ? EXP_AVG : EXP_AVG_SQ).length());
              moments.computeIfAbsent(name, k -> new float[2][])[first ? 0 : 1] = t.values();
            });
    return new AdamW.State(steps, moments);
  }

  private static void write(Path file, byte[] bytes) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
  }

  private static void fsyncDirectory(Path d) {
    try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // some file systems cannot open a directory for reading; the rename is still atomic
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.forEach(paths::add);
    }
    for (int i = paths.size() - 1; i >= 0; i--) {
      Files.deleteIfExists(paths.get(i));
    }
  }
}
