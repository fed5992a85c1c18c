package io.rlstream.judge.llm;

import io.rlstream.judge.Judge;
import io.rlstream.judge.JudgeFactory;
import io.rlstream.judge.JudgeSpec;
import io.rlstream.schemas.JudgementKind;
import java.net.URI;
import java.time.Duration;
import java.util.Set;

/**
 * Judge type {@code llm}: an LLM judge over an OpenAI-compatible endpoint. The API key comes from
 * the environment variable named by {@code api-key-env} (default {@code OPENAI_API_KEY}), never
 * from a flag or a file that could be logged.
 */
public final class LlmJudgeFactory implements JudgeFactory {
  @Override
  public String type() {
    return "llm";
  }

  @Override
  public String description() {
    return "LLM judge: endpoint=URL, model, mode=pointwise|pairwise, rubric, min-score, max-score,"
        + " pairs=all|adjacent, price-in, price-out ($/M tokens), api-key-env, timeout-ms,"
        + " attempts, concurrency, cache-size";
  }

  @Override
  public Set<String> parameters() {
    return Set.of(
        "endpoint",
        "model",
        "mode",
        "rubric",
        "min-score",
        "max-score",
        "pairs",
        "price-in",
        "price-out",
        "api-key-env",
        "timeout-ms",
        "attempts",
        "concurrency",
        "cache-size");
  }

  @Override
  public Judge create(JudgeSpec spec) {
    String mode = spec.string("mode", "pointwise");
    JudgementKind kind =
        switch (mode) {
          case "pointwise" -> JudgementKind.POINTWISE;
          case "pairwise" -> JudgementKind.PAIRWISE;
          default ->
              throw new IllegalArgumentException(
                  "judge '" + spec.id() + "': mode=" + mode + " must be pointwise or pairwise");
        };
    URI endpoint;
    try {
      endpoint = URI.create(spec.required("endpoint"));
      if (endpoint.getScheme() == null || !endpoint.getScheme().startsWith("http")) {
        throw new IllegalArgumentException("not http(s)");
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "judge '"
              + spec.id()
              + "': endpoint="
              + spec.string("endpoint", "")
              + " is not an"
              + " http(s) URL",
          e);
    }
    String model = spec.string("model", "judge");
    String keyVar = spec.string("api-key-env", "OPENAI_API_KEY");
    ChatClient client =
        new ChatClient(
            new ChatClient.Settings(
                endpoint,
                model,
                System.getenv(keyVar),
                Duration.ofMillis(spec.integer("timeout-ms", 30_000)),
                spec.integer("attempts", 5),
                Duration.ofMillis(200),
                spec.integer("concurrency", 16),
                5,
                Duration.ofSeconds(10)));
    LlmJudge.Config config =
        new LlmJudge.Config(
            spec.id(),
            kind,
            spec.string("rubric", "Is the completion a correct and complete answer to the prompt?"),
            spec.integer("min-score", 1),
            spec.integer("max-score", 10),
            spec.string("pairs", "all"),
            spec.number("price-in", 0),
            spec.number("price-out", 0),
            spec.integer("cache-size", 100_000));
    return new LlmJudge(config, client, model);
  }
}
