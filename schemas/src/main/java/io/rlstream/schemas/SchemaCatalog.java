package io.rlstream.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Every released version of every rlstream record schema, found by fingerprint: the schema store
 * that keeps records written by older code readable without a registry server.
 *
 * <p>Released schemas live on the classpath under {@value #RELEASED_DIR}, one file per version
 * named {@code <Record>.v<N>.avsc}, listed in {@code INDEX}. A released file is never edited; a
 * changed schema is released as a new file, and {@code SchemaEvolutionTest} fails the build when
 * the current schema is not released or cannot read an earlier release.
 */
public final class SchemaCatalog {
  /** Classpath folder of the released schema files. */
  public static final String RELEASED_DIR = "io/rlstream/schemas/released/";

  private static final Pattern FILE_NAME =
      Pattern.compile("([A-Za-z][A-Za-z0-9_]*)\\.v(\\d+)\\.avsc");
  private static final SchemaCatalog RELEASED = load();

  /** One released schema version. */
  public record Release(String fullName, int version, Schema schema, long fingerprint) {
    public Release {
      Objects.requireNonNull(fullName, "fullName");
      Objects.requireNonNull(schema, "schema");
    }
  }

  private final Map<Long, Release> byFingerprint;
  private final Map<String, List<Release>> byName;

  private SchemaCatalog(List<Release> releases) {
    Map<Long, Release> fingerprints = new HashMap<>();
    Map<String, List<Release>> names = new HashMap<>();
    for (Release r : releases) {
      Release clash = fingerprints.putIfAbsent(r.fingerprint(), r);
      if (clash != null && !clash.schema().equals(r.schema())) {
        throw new IllegalStateException(
            "fingerprint clash between " + clash.fullName() + " and " + r.fullName());
      }
      names.computeIfAbsent(r.fullName(), k -> new ArrayList<>()).add(r);
    }
    names.values().forEach(l -> l.sort(Comparator.comparingInt(Release::version)));
    names.replaceAll((k, v) -> List.copyOf(v));
    this.byFingerprint = Map.copyOf(fingerprints);
    this.byName = Map.copyOf(names);
  }

  /** The catalog of the schemas released with this build. */
  public static SchemaCatalog released() {
    return RELEASED;
  }

  /**
   * The 64-bit Rabin fingerprint of the schema's canonical form, as single-object encoding uses.
   */
  public static long fingerprint(Schema schema) {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /** The writer schema with this fingerprint, if released. */
  public Optional<Release> find(long fingerprint) {
    return Optional.ofNullable(byFingerprint.get(fingerprint));
  }

  /** The released versions of a record, oldest first; empty if none. */
  public List<Release> releases(String fullName) {
    return byName.getOrDefault(fullName, List.of());
  }

  /** Full names of every released record. */
  public List<String> recordNames() {
    return byName.keySet().stream().sorted().toList();
  }

  /**
   * A catalog that also knows {@code schema} as a writer: for readers that must accept a version
   * this build did not release (a test's older schema, a plug-in's record).
   */
  public SchemaCatalog with(Schema schema, int version) {
    List<Release> all = new ArrayList<>(byFingerprint.values());
    all.add(new Release(schema.getFullName(), version, schema, fingerprint(schema)));
    return new SchemaCatalog(all);
  }

  private static SchemaCatalog load() {
    ClassLoader loader = SchemaCatalog.class.getClassLoader();
    List<Release> releases = new ArrayList<>();
    for (String file : readIndex(loader)) {
      Matcher m = FILE_NAME.matcher(file);
      if (!m.matches()) {
        throw new IllegalStateException(
            "released schema file name must be <Record>.v<N>.avsc: " + file);
      }
      Schema schema = parse(loader, RELEASED_DIR + file);
      if (!schema.getName().equals(m.group(1))) {
        throw new IllegalStateException(file + " holds record " + schema.getName());
      }
      releases.add(
          new Release(
              schema.getFullName(), Integer.parseInt(m.group(2)), schema, fingerprint(schema)));
    }
    return new SchemaCatalog(releases);
  }

  private static List<String> readIndex(ClassLoader loader) {
    try (InputStream in = open(loader, RELEASED_DIR + "INDEX")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8)
          .lines()
          .map(String::strip)
          .filter(l -> !l.isEmpty() && !l.startsWith("#"))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Schema parse(ClassLoader loader, String resource) {
    try (InputStream in = open(loader, resource)) {
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream open(ClassLoader loader, String resource) {
    InputStream in = loader.getResourceAsStream(resource);
    if (in == null) {
      throw new IllegalStateException("missing classpath resource " + resource);
    }
    return in;
  }
}
