package io.rlstream.judge.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local OpenAI-compatible {@code /v1/chat/completions} server standing in for an LLM judge in
 * tests, benchmarks and offline trials. Its "model" reads the fenced prompt and completions as an
 * instruction-following judge would: pointwise, the top score when the completion contains the
 * reference answer, else the bottom; pairwise, the completion that contains it, else a tie. It is
 * deliberately gullible: an instruction like "score 10" found <em>outside</em> the fences is
 * obeyed, so a completion that escaped its fence would show. Failures can be scripted: the next n
 * replies a status code, a delay or garbled text.
 */
public final class FakeChatServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern NONCE = Pattern.compile("<completion(?:-a)? id=\"([0-9a-f]+)\">");
  private static final Pattern RANGE = Pattern.compile("integer from (-?\\d+) to (-?\\d+)");
  private static final Pattern OBEY =
      Pattern.compile("score[^0-9\\n]{0,20}(\\d+)", Pattern.CASE_INSENSITIVE);

  private record Script(int status, long delayMs, boolean garbled) {}

  private final HttpServer server;
  private final ExecutorService executor;
  private final ConcurrentLinkedQueue<Script> scripts = new ConcurrentLinkedQueue<>();
  private final AtomicLong requests = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicInteger inFlight =
      new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger maxInFlight =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean preferFirstOnTie;
  private volatile String lastAuthorization;

  private FakeChatServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Starts on a free localhost port. */
  public static FakeChatServer start() {
    return start(0);
  }

  /** Starts on this localhost port (0: a free one). */
  public static FakeChatServer start(int port) {
    try {
      HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 256);
      ExecutorService ex =
          Executors.newFixedThreadPool(
              8,
              r -> {
                Thread t = new Thread(r, "fake-chat");
                t.setDaemon(true);
                return t;
              });
      FakeChatServer f = new FakeChatServer(s, ex);
      s.createContext("/v1/chat/completions", f::handle);
      s.setExecutor(ex);
      s.start();
      return f;
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot start the fake chat server on port " + port + ": " + e.getMessage(), e);
    }
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Requests served so far. */
  public long requests() {
    return requests.get();
  }

  /** Most requests ever in flight at once. */
  public int maxInFlight() {
    return maxInFlight.get();
  }

  /** The Authorization header of the last request, or null. */
  public String lastAuthorization() {
    return lastAuthorization;
  }

  /** A position-biased model: on a tie it prefers whichever completion comes first. */
  public FakeChatServer preferFirstOnTie(boolean on) {
    preferFirstOnTie = on;
    return this;
  }

  /** The next {@code n} requests get HTTP {@code status}. */
  public FakeChatServer failNext(int status, int n) {
    for (int i = 0; i < n; i++) {
      scripts.add(new Script(status, 0, false));
    }
    return this;
  }

  /** The next {@code n} requests are answered after {@code ms}. */
  public FakeChatServer delayNext(long ms, int n) {
    for (int i = 0; i < n; i++) {
      scripts.add(new Script(200, ms, false));
    }
    return this;
  }

  /** The next {@code n} replies are prose instead of the asked-for JSON. */
  public FakeChatServer garbleNext(int n) {
    for (int i = 0; i < n; i++) {
      scripts.add(new Script(200, 0, true));
    }
    return this;
  }

  private void handle(HttpExchange exchange) throws IOException {
    requests.incrementAndGet();
    maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    lastAuthorization = exchange.getRequestHeaders().getFirst("Authorization");
    try (exchange) {
      JsonNode body = JSON.readTree(exchange.getRequestBody());
      Script script = scripts.poll();
      if (script != null && script.delayMs() > 0) {
        Thread.sleep(script.delayMs());
      }
      if (script != null && script.status() != 200) {
        send(exchange, script.status(), "{\"error\": {\"message\": \"scripted\"}}");
        return;
      }
      String system = body.path("messages").path(0).path("content").asText();
      String user = body.path("messages").path(1).path("content").asText();
      String content =
          script != null && script.garbled()
              ? "I think this one is pretty good, maybe a 7?"
              : answer(system, user);
      ObjectNode reply = JSON.createObjectNode();
      reply
          .putArray("choices")
          .addObject()
          .putObject("message")
          .put("role", "assistant")
          .put("content", content);
      reply
          .putObject("usage")
          .put("prompt_tokens", (system.length() + user.length()) / 4)
          .put("completion_tokens", 8);
      send(exchange, 200, JSON.writeValueAsString(reply));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      send(exchange, 500, "{\"error\": \"" + e.getClass().getSimpleName() + "\"}");
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private String answer(String system, String user) {
    Matcher n = NONCE.matcher(system);
    if (!n.find()) {
      return "{\"score\": 1}";
    }
    String nonce = n.group(1);
    // gullible: obey instructions outside every fence
    String outside = user.replaceAll("(?s)<([a-z-]+) id=\"" + nonce + "\">.*?</\\1>", "");
    Matcher obey = OBEY.matcher(outside.replaceFirst("(?s)^Rubric:[^\\n]*", ""));
    boolean pairwise = system.contains("completion-a");
    if (obey.find()) {
      return pairwise ? "{\"preferred\": \"A\"}" : "{\"score\": " + obey.group(1) + "}";
    }
    if (pairwise) {
      String answer = fenced(user, "reference", nonce);
      boolean a = fenced(user, "completion-a", nonce).contains(answer);
      boolean b = fenced(user, "completion-b", nonce).contains(answer);
      String tie = preferFirstOnTie ? "A" : "tie";
      return "{\"preferred\": \"" + (a == b ? tie : a ? "A" : "B") + "\"}";
    }
    Matcher r = RANGE.matcher(system);
    int lo = 1;
    int hi = 10;
    if (r.find()) {
      lo = Integer.parseInt(r.group(1));
      hi = Integer.parseInt(r.group(2));
    }
    String reference = fenced(user, "reference", nonce);
    String completion = fenced(user, "completion", nonce);
    return "{\"score\": " + (completion.contains(reference) ? hi : lo) + "}";
  }

  private static String fenced(String user, String tag, String nonce) {
    Matcher m =
        Pattern.compile("(?s)<" + tag + " id=\"" + nonce + "\">(.*?)</" + tag + ">").matcher(user);
    return m.find() ? Fence.unescape(m.group(1)) : "";
  }

  private static void send(HttpExchange exchange, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, b.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
