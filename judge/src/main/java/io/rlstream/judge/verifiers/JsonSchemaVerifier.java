package io.rlstream.judge.verifiers;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.io.IOException;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scores 1 when a completion is one JSON value that validates against a JSON Schema (draft
 * 2020-12), else 0 with the first problem as rationale. The JSON is the whole completion, or the
 * content of its last {@code ```json} fence. Strict: duplicate keys, trailing content, comments and
 * single quotes are refused.
 */
public final class JsonSchemaVerifier extends Verifier {
  private static final Pattern FENCE =
      Pattern.compile("```(?:json)?\\s*\\n(.*?)```", Pattern.DOTALL);
  private static final ObjectMapper STRICT =
      JsonMapper.builder()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  private final JsonSchema schema;

  public JsonSchemaVerifier(String id, String schemaJson) {
    super(id);
    try {
      JsonNode node = STRICT.readTree(schemaJson);
      this.schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(node);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "judge " + id + ": the schema is not valid JSON Schema: " + e.getMessage(), e);
    }
  }

  @Override
  protected Function<Completion, CompletionScore> rule(SampleGroup group) {
    return c -> {
      String problem = problem(c.getText());
      return pass(c, problem == null, problem);
    };
  }

  /** Why {@code text} is not a valid document, or null. */
  String problem(String text) {
    String json = text;
    Matcher m = FENCE.matcher(text);
    while (m.find()) {
      json = m.group(1);
    }
    JsonNode node;
    try (JsonParser p = STRICT.createParser(json)) {
      node = STRICT.readTree(p);
      if (node == null || node.isMissingNode()) {
        return "no JSON";
      }
      if (p.nextToken() != null) {
        return "content after the JSON value";
      }
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      return "not JSON: " + e.getOriginalMessage();
    } catch (IOException e) {
      return "not JSON: " + e.getMessage();
    }
    Set<ValidationMessage> errors = schema.validate(node);
    return errors.isEmpty() ? null : errors.iterator().next().getMessage();
  }
}
