package io.rlstream.judge.verifiers;

import io.rlstream.judge.Judge;
import io.rlstream.judge.JudgeFactory;
import io.rlstream.judge.JudgeSpec;
import io.rlstream.judge.PointwiseJudge;
import io.rlstream.schemas.CompletionScore;
import io.rlstream.schemas.SampleGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** The {@link JudgeFactory}s of the rule verifiers, registered with {@code ServiceLoader}. */
public final class VerifierFactories {
  private VerifierFactories() {}

  /** A verifier with its spec's id and version override. */
  private record Configured(PointwiseJudge inner, String version) implements PointwiseJudge {
    @Override
    public String id() {
      return inner.id();
    }

    @Override
    public List<CompletionScore> score(SampleGroup group) {
      return inner.score(group);
    }
  }

  private static Judge configured(JudgeSpec spec, PointwiseJudge j) {
    return spec.version() == null ? j : new Configured(j, spec.version());
  }

  static boolean bool(JudgeSpec spec, String key, boolean fallback) {
    String v = spec.string(key, Boolean.toString(fallback));
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException(
          "judge '" + spec.id() + "': " + key + "=" + v + " must be true or false");
    }
    return Boolean.parseBoolean(v);
  }

  public static final class Math implements JudgeFactory {
    @Override
    public String type() {
      return "math";
    }

    @Override
    public String description() {
      return "final answer (\\boxed{}, 'answer is') equals the reference as a number: 1 or 0";
    }

    @Override
    public Set<String> parameters() {
      return Set.of();
    }

    @Override
    public Judge create(JudgeSpec spec) {
      return configured(spec, new MathAnswerVerifier(spec.id()));
    }
  }

  public static final class Exact implements JudgeFactory {
    @Override
    public String type() {
      return "exact";
    }

    @Override
    public String description() {
      return "answer equals the reference as text: final-answer=true|false, case-sensitive=false";
    }

    @Override
    public Set<String> parameters() {
      return Set.of("final-answer", "case-sensitive");
    }

    @Override
    public Judge create(JudgeSpec spec) {
      return configured(
          spec,
          new ExactMatchVerifier(
              spec.id(), bool(spec, "final-answer", true), bool(spec, "case-sensitive", false)));
    }
  }

  public static final class Regex implements JudgeFactory {
    @Override
    public String type() {
      return "regex";
    }

    @Override
    public String description() {
      return "completion matches pattern=REGEX ({reference} allowed), whole=false, budget=1000000";
    }

    @Override
    public Set<String> parameters() {
      return Set.of("pattern", "whole", "budget");
    }

    @Override
    public Judge create(JudgeSpec spec) {
      return configured(
          spec,
          new RegexMatchVerifier(
              spec.id(),
              spec.required("pattern"),
              bool(spec, "whole", false),
              spec.integer("budget", 1_000_000)));
    }
  }

  public static final class Format implements JudgeFactory {
    @Override
    public String type() {
      return "format";
    }

    @Override
    public String description() {
      return "completion is exactly the tags=a;b in order, each once, closed, non-empty";
    }

    @Override
    public Set<String> parameters() {
      return Set.of("tags");
    }

    @Override
    public Judge create(JudgeSpec spec) {
      return configured(
          spec,
          new FormatVerifier(
              spec.id(), Arrays.asList(spec.string("tags", "think;answer").split(";"))));
    }
  }

  public static final class Length implements JudgeFactory {
    @Override
    public String type() {
      return "length";
    }

    @Override
    public String description() {
      return "DAPO overlong penalty in [-1, 0]: max=TOKENS, buffer=TOKENS, truncated=true";
    }

    @Override
    public Set<String> parameters() {
      return Set.of("max", "buffer", "truncated");
    }

    @Override
    public Judge create(JudgeSpec spec) {
      int max = spec.integer("max", 512);
      return configured(
          spec,
          new LengthPenalty(
              spec.id(), max, spec.integer("buffer", max / 4), bool(spec, "truncated", true)));
    }
  }

  public static final class JsonSchema implements JudgeFactory {
    @Override
    public String type() {
      return "json-schema";
    }

    @Override
    public String description() {
      return "completion is JSON valid against schema-file=PATH (draft 2020-12): 1 or 0";
    }

    @Override
    public Set<String> parameters() {
      return Set.of("schema-file");
    }

    @Override
    public Judge create(JudgeSpec spec) {
      Path file = Path.of(spec.required("schema-file"));
      try {
        return configured(spec, new JsonSchemaVerifier(spec.id(), Files.readString(file)));
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "judge '" + spec.id() + "': cannot read schema-file " + file + ": " + e, e);
      }
    }
  }

  public static final class ToolCost implements JudgeFactory {
    @Override
    public String type() {
      return "tool-cost";
    }

    @Override
    public String description() {
      return "OTC: correct (check=math|exact) x cos(m*pi/(2m+c)) for m calls of call-pattern";
    }

    @Override
    public Set<String> parameters() {
      return Set.of("check", "call-pattern", "c");
    }

    @Override
    public Judge create(JudgeSpec spec) {
      String check = spec.string("check", "math");
      PointwiseJudge correctness =
          switch (check) {
            case "math" -> new MathAnswerVerifier(spec.id() + "-check");
            case "exact" -> new ExactMatchVerifier(spec.id() + "-check", true, false);
            default ->
                throw new IllegalArgumentException(
                    "judge '" + spec.id() + "': check=" + check + " must be math or exact");
          };
      return configured(
          spec,
          new ToolCostVerifier(
              spec.id(),
              correctness,
              spec.string("call-pattern", "<tool_call>"),
              spec.number("c", 1)));
    }
  }
}
