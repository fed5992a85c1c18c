package io.rlstream.infra;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's Micrometer registry and its Prometheus scrape endpoint, {@code
 * http://host:port/metrics} (text format 0.0.4). Every meter carries the tag {@code
 * service=<name>}. Port 0 takes any free port; a preferred port that is taken falls back to a free
 * one (logged), so a second service on the same machine still starts.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricsEndpoint.class);

  private final PrometheusMeterRegistry registry;
  private final HttpServer server;
  private final java.util.List<AutoCloseable> closing =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private MetricsEndpoint(PrometheusMeterRegistry registry, HttpServer server) {
    this.registry = registry;
    this.server = server;
  }

  /**
   * Starts the endpoint for {@code service} on {@code port} (0: any free port; -1: no HTTP server,
   * the registry only).
   */
  public static MetricsEndpoint start(String service, int port) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("service", service);
    if (port < 0) {
      return new MetricsEndpoint(registry, null);
    }
    HttpServer server;
    try {
      server = bind(port);
    } catch (BindException taken) {
      try {
        server = bind(0);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      log.warn(
          "metrics port {} is taken; {} serves metrics on port {} instead",
          port,
          service,
          server.getAddress().getPort());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve metrics on port " + port, e);
    }
    server.createContext(
        "/metrics",
        exchange -> {
          byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
          exchange
              .getResponseHeaders()
              .add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.setExecutor(null);
    server.start();
    log.info("{} metrics at http://localhost:{}/metrics", service, server.getAddress().getPort());
    return new MetricsEndpoint(registry, server);
  }

  private static HttpServer bind(int port) throws IOException {
    return HttpServer.create(new InetSocketAddress(port), 0);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The HTTP port, or -1 without a server. */
  public int port() {
    return server == null ? -1 : server.getAddress().getPort();
  }

  /** {@code resource} (what a meter reads from) is closed with the endpoint. */
  public <T extends AutoCloseable> T closing(T resource) {
    closing.add(resource);
    return resource;
  }

  /** What a scrape returns now. */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
    }
    registry.close();
    for (AutoCloseable c : closing) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {}: {}", c, e.toString());
      }
    }
  }
}
