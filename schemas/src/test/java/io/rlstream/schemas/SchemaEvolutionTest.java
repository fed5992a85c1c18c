package io.rlstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The build-time schema check: each record's current schema is released (so what this build writes
 * stays readable) and reads every earlier release by Avro's resolution rules (so what earlier
 * builds wrote stays readable). A failure says which file to add.
 */
class SchemaEvolutionTest {
  private static final Path RELEASED_SOURCES =
      Path.of("src/main/resources", SchemaCatalog.RELEASED_DIR);

  static List<Class<?>> topLevelRecords() {
    return List.of(
        SampleGroup.class,
        Judgement.class,
        ScoredGroup.class,
        PolicyAnnouncement.class,
        WeightChunk.class);
  }

  @ParameterizedTest
  @MethodSource("topLevelRecords")
  void currentSchemaIsReleased(Class<?> type) {
    Schema current = SpecificData.get().getSchema(type);
    List<SchemaCatalog.Release> releases = SchemaCatalog.released().releases(current.getFullName());
    int next = releases.isEmpty() ? 1 : releases.get(releases.size() - 1).version() + 1;
    assertThat(SchemaCatalog.released().find(SchemaCatalog.fingerprint(current)))
        .as(
            "%s changed since its last release. Release it: write this line to %s%s.v%d.avsc and"
                + " add that file name to INDEX:%n%s",
            type.getSimpleName(), RELEASED_SOURCES, type.getSimpleName(), next, current)
        .isPresent();
  }

  @ParameterizedTest
  @MethodSource("topLevelRecords")
  void currentSchemaReadsEveryRelease(Class<?> type) {
    Schema current = SpecificData.get().getSchema(type);
    List<SchemaCatalog.Release> releases = SchemaCatalog.released().releases(current.getFullName());
    assertThat(releases).isNotEmpty();
    for (SchemaCatalog.Release release : releases) {
      var result = SchemaCompatibility.checkReaderWriterCompatibility(current, release.schema());
      assertThat(result.getType())
          .as(
              "%s cannot read its release v%d: %s",
              type.getSimpleName(), release.version(), result.getResult().getIncompatibilities())
          .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }
  }

  @Test
  void indexListsExactlyTheReleasedFiles() throws IOException {
    Set<String> onDisk = new HashSet<>();
    try (Stream<Path> files = Files.list(RELEASED_SOURCES)) {
      files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".avsc"))
          .forEach(onDisk::add);
    }
    Set<String> indexed = new HashSet<>();
    SchemaCatalog.released()
        .recordNames()
        .forEach(
            n ->
                SchemaCatalog.released()
                    .releases(n)
                    .forEach(
                        r -> indexed.add(r.schema().getName() + ".v" + r.version() + ".avsc")));
    assertThat(indexed).isEqualTo(onDisk);
  }

  /**
   * The bounded decoder's "count ≤ bytes left" check is exact only if no item encodes to 0 bytes.
   */
  @ParameterizedTest
  @MethodSource("topLevelRecords")
  void noArrayOrMapItemCanEncodeToZeroBytes(Class<?> type) {
    assertNoZeroWidthItems(SpecificData.get().getSchema(type), new HashSet<>());
  }

  private static void assertNoZeroWidthItems(Schema schema, Set<String> seen) {
    switch (schema.getType()) {
      case RECORD -> {
        if (seen.add(schema.getFullName())) {
          schema.getFields().forEach(f -> assertNoZeroWidthItems(f.schema(), seen));
        }
      }
      case ARRAY -> {
        assertThat(minBytes(schema.getElementType())).as("items of %s", schema).isPositive();
        assertNoZeroWidthItems(schema.getElementType(), seen);
      }
      case MAP ->
          assertNoZeroWidthItems(schema.getValueType(), seen); // a map item has a key: >= 1 byte
      case UNION -> schema.getTypes().forEach(t -> assertNoZeroWidthItems(t, seen));
      default -> {}
    }
  }

  private static int minBytes(Schema schema) {
    return switch (schema.getType()) {
      case NULL -> 0;
      case RECORD -> schema.getFields().stream().mapToInt(f -> minBytes(f.schema())).sum();
      case FIXED -> schema.getFixedSize();
      case UNION -> 1;
      default -> 1;
    };
  }
}
