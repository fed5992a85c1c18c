package io.rlstream.judge.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rlstream.judge.JudgeFailedException;
import io.rlstream.judge.JudgeRunner;
import io.rlstream.judge.TransientJudgeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.util.retry.Retry;

/**
 * A client of an OpenAI-compatible {@code POST /v1/chat/completions} endpoint on the JDK's
 * non-blocking HTTP client: a concurrency limit (calls beyond it wait their turn without holding a
 * thread), a time-out per call, retries with jittered exponential back-off on 429, 5xx, time-outs
 * and I/O errors, and a circuit breaker that fails calls at once for a cool-down after repeated
 * failures instead of piling load on a sick server. The API key is sent as a bearer token and never
 * logged or printed.
 */
public final class ChatClient {
  /** The reply's text and token usage. */
  public record Reply(String content, long promptTokens, long completionTokens) {}

  /**
   * @param endpoint base URL, e.g. {@code http://localhost:8000} ({@code /v1/chat/completions} is
   *     appended)
   * @param apiKey bearer token, or null for a server that needs none
   * @param breakerFailures consecutive failed calls that open the breaker
   * @param breakerCooldown how long it stays open before one trial call
   */
  public record Settings(
      URI endpoint,
      String model,
      String apiKey,
      Duration timeout,
      int attempts,
      Duration minBackoff,
      int concurrency,
      int breakerFailures,
      Duration breakerCooldown) {
    public Settings {
      Objects.requireNonNull(endpoint, "endpoint");
      Objects.requireNonNull(model, "model");
      if (attempts < 1 || concurrency < 1 || breakerFailures < 1) {
        throw new IllegalArgumentException(
            "attempts, concurrency and breakerFailures must be >= 1");
      }
    }

    @Override
    public String toString() { // never print the key
      return "Settings[endpoint="
          + endpoint
          + ", model="
          + model
          + ", apiKey="
          + (apiKey == null ? "none" : "***")
          + ", timeout="
          + timeout
          + ", attempts="
          + attempts
          + ", concurrency="
          + concurrency
          + "]";
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Settings settings;
  private final HttpClient http;
  private final URI uri;
  private final Limiter limiter;
  private final Breaker breaker;
  private final AtomicLong calls = new AtomicLong();

  public ChatClient(Settings settings) {
    this.settings = settings;
    this.http = HttpClient.newBuilder().connectTimeout(settings.timeout()).build();
    String base = settings.endpoint().toString().replaceAll("/+$", "");
    this.uri = URI.create(base + "/v1/chat/completions");
    this.limiter = new Limiter(settings.concurrency());
    this.breaker = new Breaker(settings.breakerFailures(), settings.breakerCooldown());
  }

  /** HTTP requests sent so far, retries included. */
  public long calls() {
    return calls.get();
  }

  /** One chat completion of a system and a user message at temperature 0. */
  public Mono<Reply> complete(String system, String user) {
    byte[] body = body(system, user);
    return Mono.defer(() -> breaker.allow() ? once(body) : Mono.error(breaker.openError()))
        .retryWhen(
            Retry.backoff(settings.attempts() - 1, settings.minBackoff())
                .maxBackoff(settings.minBackoff().multipliedBy(32))
                .jitter(0.5)
                .filter(JudgeRunner::isTransient)
                .onRetryExhaustedThrow((spec, signal) -> signal.failure()));
  }

  private Mono<Reply> once(byte[] body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(settings.timeout())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (settings.apiKey() != null && !settings.apiKey().isEmpty()) {
      b.header("Authorization", "Bearer " + settings.apiKey());
    }
    HttpRequest request = b.build();
    return limiter
        .run(
            Mono.defer(
                () -> {
                  calls.incrementAndGet();
                  return Mono.fromFuture(
                      () -> http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
                }))
        .timeout(settings.timeout().plusMillis(100))
        .map(this::reply)
        .doOnSuccess(r -> breaker.success())
        .doOnError(e -> breaker.failure());
  }

  private Reply reply(HttpResponse<String> response) {
    int code = response.statusCode();
    if (code == 429 || code >= 500) {
      throw new TransientJudgeException("HTTP " + code + " from " + uri);
    }
    if (code != 200) {
      throw new JudgeFailedException(
          "HTTP " + code + " from " + uri + ": " + cut(response.body(), 300));
    }
    try {
      JsonNode root = JSON.readTree(response.body());
      JsonNode content = root.path("choices").path(0).path("message").path("content");
      if (!content.isTextual()) {
        throw new JudgeFailedException(
            "reply from "
                + uri
                + " has no choices[0].message.content: "
                + cut(response.body(), 300));
      }
      JsonNode usage = root.path("usage");
      return new Reply(
          content.asText(),
          usage.path("prompt_tokens").asLong(0),
          usage.path("completion_tokens").asLong(0));
    } catch (IOException e) {
      throw new JudgeFailedException(
          "reply from " + uri + " is not JSON: " + cut(response.body(), 300));
    }
  }

  private byte[] body(String system, String user) {
    ObjectNode root = JSON.createObjectNode();
    root.put("model", settings.model());
    root.put("temperature", 0);
    ArrayNode messages = root.putArray("messages");
    messages.addObject().put("role", "system").put("content", system);
    messages.addObject().put("role", "user").put("content", user);
    try {
      return JSON.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String cut(String s, int n) {
    return s == null ? "" : s.length() <= n ? s : s.substring(0, n) + "…";
  }

  /** At most n calls in flight; the others queue without a thread. */
  static final class Limiter {
    private final ArrayDeque<MonoSink<Boolean>> waiting = new ArrayDeque<>();
    private int free;

    Limiter(int n) {
      this.free = n;
    }

    <T> Mono<T> run(Mono<T> call) {
      return Mono.usingWhen(Mono.create(this::acquire), ok -> call, ok -> release());
    }

    private synchronized void acquire(MonoSink<Boolean> sink) {
      if (free > 0) {
        free--;
        sink.success(true);
      } else {
        waiting.add(sink);
        sink.onCancel(
            () -> {
              synchronized (this) {
                waiting.remove(sink);
              }
            });
      }
    }

    private Mono<Void> release() {
      return Mono.fromRunnable(
          () -> {
            MonoSink<Boolean> next;
            synchronized (this) {
              next = waiting.poll();
              if (next == null) {
                free++;
              }
            }
            if (next != null) {
              next.success(true);
            }
          });
    }
  }

  /** Closed → open after n consecutive failures → one trial call after the cool-down. */
  static final class Breaker {
    private final int threshold;
    private final long cooldownNanos;
    private int failures;
    private long openUntil;
    private boolean trial;

    Breaker(int threshold, Duration cooldown) {
      this.threshold = threshold;
      this.cooldownNanos = cooldown.toNanos();
    }

    synchronized boolean allow() {
      if (failures < threshold) {
        return true;
      }
      if (System.nanoTime() >= openUntil && !trial) {
        trial = true; // half open: let one call through
        return true;
      }
      return false;
    }

    synchronized void success() {
      failures = 0;
      trial = false;
    }

    synchronized void failure() {
      failures++;
      if (failures >= threshold) {
        openUntil = System.nanoTime() + cooldownNanos;
        trial = false;
      }
    }

    TransientJudgeException openError() {
      return new TransientJudgeException(
          "circuit breaker open after " + threshold + " consecutive failures");
    }
  }
}
