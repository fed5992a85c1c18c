package io.rlstream.infra.internal;

import io.rlstream.infra.BrokerSettings;
import io.rlstream.infra.KafkaBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KRaft broker in a child JVM ({@code kafka.Kafka server.properties}) on this process's
 * classpath. Storage is formatted here, in the parent, which saves the child ~5 s. The child is
 * stopped with SIGTERM (a clean Kafka shutdown) and, should this JVM exit first, by a shutdown
 * hook. Its output goes to {@code broker.log} in the data directory.
 */
public final class ChildProcessBroker extends LocalBroker {
  private static final Logger log = LoggerFactory.getLogger(ChildProcessBroker.class);
  private static final long READY_TIMEOUT_MS = 120_000;
  private static final long STOP_TIMEOUT_S = 30;

  private final Process process;
  private final Thread reaper;
  private boolean closed;

  private ChildProcessBroker(Process process, BrokerLayout layout, String clusterId) {
    super(layout, clusterId);
    this.process = process;
    this.reaper = new Thread(process::destroy, "rlstream-broker-reaper");
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /** Starts the child JVM and waits until the broker answers. */
  public static KafkaBroker start(BrokerSettings settings) {
    BrokerLayout layout = BrokerLayout.prepare(settings);
    String clusterId = layout.formatIfNeeded();
    Path propsFile = layout.dataDir.resolve("server.properties");
    Path logFile = layout.dataDir.resolve("broker.log");
    writeProperties(layout, propsFile);
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + settings.childHeapMb() + "m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("kafka.Kafka");
    cmd.add(propsFile.toString());
    long t0 = System.nanoTime();
    Process process;
    try {
      process =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the broker JVM", e);
    }
    ChildProcessBroker broker = new ChildProcessBroker(process, layout, clusterId);
    try {
      BrokerReadiness.await(layout.bootstrapServers(), READY_TIMEOUT_MS, process::isAlive);
    } catch (RuntimeException e) {
      broker.close();
      throw new IllegalStateException(e.getMessage() + "; see " + logFile, e);
    }
    log.info(
        "Kafka broker process {} up at {} in {} ms (log {})",
        process.pid(),
        layout.bootstrapServers(),
        (System.nanoTime() - t0) / 1_000_000,
        logFile);
    return broker;
  }

  /** The child's process id. */
  public long pid() {
    return process.pid();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    process.destroy(); // SIGTERM: Kafka's own shutdown hook stops it cleanly
    try {
      if (!process.waitFor(STOP_TIMEOUT_S, TimeUnit.SECONDS)) {
        log.warn(
            "broker process {} did not stop in {} s; killing it", process.pid(), STOP_TIMEOUT_S);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is already exiting; the hook runs anyway
    }
  }

  private static void writeProperties(BrokerLayout layout, Path file) {
    Properties p = new Properties();
    p.putAll(layout.configs());
    try (Writer w = Files.newBufferedWriter(file)) {
      p.store(w, "written by rlstream for a child-process broker");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
