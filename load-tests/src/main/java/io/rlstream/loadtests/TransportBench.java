package io.rlstream.loadtests;

import io.rlstream.infra.KafkaBroker;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.KafkaReceiver;
import io.rlstream.infra.KafkaSender;
import io.rlstream.infra.ReceiverOptions;
import io.rlstream.infra.SenderOptions;
import io.rlstream.infra.SenderRecord;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SyntheticRecords;
import io.rlstream.schemas.TopicSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import reactor.core.publisher.Flux;

/**
 * {@code rlstream bench transport}: produce and consume throughput of the Reactor bridge against
 * plain kafka-clients, same broker, same client settings, same data, in one run. Two record sizes:
 * 1 KiB of random bytes, and an Avro {@link SampleGroup} of 8 completions × 256 tokens (the size of
 * a real one). Each measurement is repeated, alternating which side goes first; the figure is the
 * median. Produce throughput is from the first send to the last acknowledgement; consume throughput
 * from the first record received to the last, over both topics a repeat produced.
 *
 * <p>Ends with {@code RESULT transport produce_ratio=… consume_ratio=… broker_start_s=…}, where a
 * ratio is the median over repeats of bridge ÷ raw, the lower of the two record sizes.
 */
public final class TransportBench {
  static final String USAGE =
      """
      usage: rlstream bench transport [--records-1k N] [--records-group N] [--repeats R]

      Measures produce and consume throughput of rlstream's Reactor bridge against plain
      kafka-clients on an embedded broker (one partition, acks=all, idempotent, lz4).
        --records-1k N     1 KiB records per measurement (default 200000)
        --records-group N  SampleGroup records (8 x 256 tokens) per measurement (default 12000)
        --repeats R        measurements per side, median reported (default 7)
        --prefetch-batches N  poll batches the bridge's receiver buffers ahead (default: the receiver's)
      """;

  /** Settings of one run. */
  public record Options(int records1k, int recordsGroup, int repeats, int prefetchBatches) {
    public Options {
      if (records1k < 1 || recordsGroup < 1 || repeats < 1 || prefetchBatches < 1) {
        throw new IllegalArgumentException("record counts, repeats and prefetch must be >= 1");
      }
    }
  }

  /**
   * Figures of one record size: medians in records/s, and ratios as the median of each repeat's
   * bridge ÷ raw (a repeat's two measurements run back to back, so drift of the machine cancels).
   */
  record SizeResult(
      String name,
      int bytes,
      double rawProduce,
      double bridgeProduce,
      double rawConsume,
      double bridgeConsume,
      double produceRatio,
      double consumeRatio) {}

  /** What the RESULT line reports. */
  public record Result(double produceRatio, double consumeRatio, double brokerStartSeconds) {
    public String line() {
      return String.format(
          java.util.Locale.ROOT,
          "RESULT transport produce_ratio=%.3f consume_ratio=%.3f broker_start_s=%.2f",
          produceRatio,
          consumeRatio,
          brokerStartSeconds);
    }
  }

  private final KafkaClientConfig config;
  private final int prefetchBatches;
  private final PrintStream out;

  private TransportBench(KafkaClientConfig config, int prefetchBatches, PrintStream out) {
    this.config = config;
    this.prefetchBatches = prefetchBatches;
    this.out = out;
  }

  /** Parses {@code args}, runs, prints figures and the RESULT line. */
  public static Result main(String[] args, PrintStream out) throws IOException {
    int records1k = 200_000;
    int recordsGroup = 12_000;
    int repeats = 7;
    int prefetch = ReceiverOptions.of("g", "t").prefetchBatches();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--records-1k" -> records1k = Integer.parseInt(args[++i]);
        case "--records-group" -> recordsGroup = Integer.parseInt(args[++i]);
        case "--repeats" -> repeats = Integer.parseInt(args[++i]);
        case "--prefetch-batches" -> prefetch = Integer.parseInt(args[++i]);
        case "-h", "--help" -> {
          out.print(USAGE);
          return null;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
      }
    }
    return run(new Options(records1k, recordsGroup, repeats, prefetch), out);
  }

  /** Starts a broker in a temporary directory, measures, stops and deletes it. */
  public static Result run(Options options, PrintStream out) throws IOException {
    long t0 = System.nanoTime();
    double startSeconds;
    List<SizeResult> sizes = new ArrayList<>();
    try (KafkaBroker broker = KafkaBroker.temporary("rlstream-bench-transport", Map.of())) {
      startSeconds = (System.nanoTime() - t0) / 1e9;
      out.printf("broker started in %.2f s at %s%n", startSeconds, broker.bootstrapServers());
      TransportBench bench =
          new TransportBench(
              KafkaClientConfig.of(broker.bootstrapServers()), options.prefetchBatches(), out);
      sizes.add(bench.measure("1KiB", payloads1k(), options.records1k(), options.repeats()));
      sizes.add(
          bench.measure("SampleGroup", payloadsGroup(), options.recordsGroup(), options.repeats()));
    }
    out.println();
    out.printf(
        "%-12s %7s %14s %14s %7s %14s %14s %7s%n",
        "records",
        "bytes",
        "raw prod/s",
        "bridge prod/s",
        "ratio",
        "raw cons/s",
        "bridge cons/s",
        "ratio");
    for (SizeResult s : sizes) {
      out.printf(
          "%-12s %7d %14.0f %14.0f %7.3f %14.0f %14.0f %7.3f%n",
          s.name(),
          s.bytes(),
          s.rawProduce(),
          s.bridgeProduce(),
          s.produceRatio(),
          s.rawConsume(),
          s.bridgeConsume(),
          s.consumeRatio());
    }
    Result result =
        new Result(
            sizes.stream().mapToDouble(SizeResult::produceRatio).min().orElseThrow(),
            sizes.stream().mapToDouble(SizeResult::consumeRatio).min().orElseThrow(),
            startSeconds);
    out.println(result.line());
    return result;
  }

  private SizeResult measure(String name, List<byte[]> payloads, int n, int repeats) {
    int bytes = payloads.get(0).length;
    out.printf(
        "%n%s records (%d bytes), %d per measurement, %d repeats%n", name, bytes, n, repeats);
    String warm = topic("warm-" + name);
    produceRaw(warm, payloads, Math.max(1, n / 5));
    consumeRaw(List.of(warm), Math.max(1, n / 5) + 1);
    List<Double> rawP = new ArrayList<>();
    List<Double> bridgeP = new ArrayList<>();
    List<Double> rawC = new ArrayList<>();
    List<Double> bridgeC = new ArrayList<>();
    for (int r = 0; r < repeats; r++) {
      String a = topic(name + "-a" + r);
      String b = topic(name + "-b" + r);
      boolean rawFirst = r % 2 == 0;
      if (rawFirst) {
        rawP.add(produceRaw(a, payloads, n));
        bridgeP.add(produceBridge(b, payloads, n));
        rawC.add(consumeRaw(List.of(a, b), 2 * (n + 1)));
        bridgeC.add(consumeBridge(List.of(a, b), 2 * (n + 1)));
      } else {
        bridgeP.add(produceBridge(b, payloads, n));
        rawP.add(produceRaw(a, payloads, n));
        bridgeC.add(consumeBridge(List.of(a, b), 2 * (n + 1)));
        rawC.add(consumeRaw(List.of(a, b), 2 * (n + 1)));
      }
      out.printf(
          "  repeat %d: produce raw %.0f/s bridge %.0f/s | consume raw %.0f/s bridge %.0f/s%n",
          r + 1, rawP.get(r), bridgeP.get(r), rawC.get(r), bridgeC.get(r));
    }
    return new SizeResult(
        name,
        bytes,
        median(rawP),
        median(bridgeP),
        median(rawC),
        median(bridgeC),
        median(ratios(bridgeP, rawP)),
        median(ratios(bridgeC, rawC)));
  }

  private String topic(String name) {
    String topic = "bench-" + name + "-" + UUID.randomUUID().toString().substring(0, 6);
    try (TopicAdmin admin = new TopicAdmin(config)) {
      admin.createIfAbsent(
          List.of(
              new TopicSpec(
                  topic, 1, Map.of("max.message.bytes", Integer.toString(1 << 20)), "benchmark")));
    }
    return topic;
  }

  /** Records/s of a plain idempotent producer, first send to last acknowledgement. */
  private double produceRaw(String topic, List<byte[]> payloads, int n) {
    AtomicReference<Exception> error = new AtomicReference<>();
    AtomicLong acked = new AtomicLong();
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            config.producer(), new ByteArraySerializer(), new ByteArraySerializer())) {
      try {
        p.send(new ProducerRecord<>(topic, payloads.get(0)))
            .get(); // metadata and connection, as for the bridge
      } catch (Exception e) {
        throw new IllegalStateException("warm-up send failed", e);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        p.send(
            new ProducerRecord<>(topic, payloads.get(i % payloads.size())),
            (m, e) -> {
              if (e != null) {
                error.compareAndSet(null, e);
              } else {
                acked.incrementAndGet();
              }
            });
      }
      p.flush();
      long t = System.nanoTime() - t0;
      check(error.get(), acked.get(), n, "raw produce");
      return n / (t / 1e9);
    }
  }

  /** Records/s of the bridge's sender, first send to last result. */
  private double produceBridge(String topic, List<byte[]> payloads, int n) {
    try (KafkaSender<byte[], byte[]> sender =
        KafkaSender.create(
            config,
            new ByteArraySerializer(),
            new ByteArraySerializer(),
            SenderOptions.defaults())) {
      sender
          .send(new ProducerRecord<>(topic, payloads.get(0)))
          .block(Duration.ofSeconds(60)); // metadata, like partitionsFor
      long t0 = System.nanoTime();
      Long count =
          sender
              .send(
                  Flux.range(0, n)
                      .map(
                          i ->
                              SenderRecord.of(
                                  new ProducerRecord<byte[], byte[]>(
                                      topic, payloads.get(i % payloads.size())),
                                  (Void) null)))
              .count()
              .block(Duration.ofMinutes(10));
      long t = System.nanoTime() - t0;
      check(null, count == null ? 0 : count, n, "bridge produce");
      return n / (t / 1e9);
    }
  }

  /** Records/s of a plain consumer in a fresh group, first record to last. */
  private double consumeRaw(List<String> topics, int n) {
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(
            config.consumer("bench-raw-" + UUID.randomUUID()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      c.subscribe(topics);
      long count = 0;
      long sink = 0;
      long t0 = -1;
      long lastCommit = System.nanoTime();
      long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
      while (count < n && System.nanoTime() < deadline) {
        var records = c.poll(Duration.ofMillis(100));
        if (!records.isEmpty() && t0 < 0) {
          t0 = System.nanoTime();
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
          sink += r.value().length;
          count++;
        }
        if (System.nanoTime() - lastCommit > 1_000_000_000L) {
          c.commitAsync(); // the bridge commits every second too
          lastCommit = System.nanoTime();
        }
      }
      long t = System.nanoTime() - t0;
      check(null, count, n, "raw consume (" + sink + " bytes)");
      c.commitSync();
      return n / (t / 1e9);
    }
  }

  /**
   * Records/s of the bridge's receiver in a fresh group, acknowledging each, first record to last.
   */
  private double consumeBridge(List<String> topics, int n) {
    KafkaReceiver<byte[], byte[]> receiver =
        KafkaReceiver.create(
            config,
            ReceiverOptions.of("bench-bridge-" + UUID.randomUUID(), topics.toArray(String[]::new)),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    // onNext is serial: plain fields, the same per-record work as the raw loop
    long[] state = new long[4]; // t0, t1, seen, bytes
    state[0] = -1;
    Long count =
        receiver
            .receive()
            .doOnNext(
                r -> {
                  if (state[0] < 0) {
                    state[0] = System.nanoTime();
                  }
                  state[3] += r.value().length;
                  r.acknowledge();
                  if (++state[2] == n) {
                    state[1] = System.nanoTime(); // before the final commit and close, as for raw
                  }
                })
            .take(n)
            .count()
            .block(Duration.ofMinutes(10));
    long t = state[1] - state[0];
    check(null, count == null ? 0 : count, n, "bridge consume");
    return n / (t / 1e9);
  }

  private static void check(Exception error, long got, int expected, String what) {
    if (error != null) {
      throw new IllegalStateException(what + " failed", error);
    }
    if (got != expected) {
      throw new IllegalStateException(what + ": " + got + " records, expected " + expected);
    }
  }

  private static List<byte[]> payloads1k() {
    SplittableRandom random = new SplittableRandom(42);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      byte[] b = new byte[1024];
      for (int j = 0; j < b.length; j++) {
        b[j] = (byte) random.nextInt(256);
      }
      out.add(b);
    }
    return out;
  }

  /** Encoded SampleGroups of 8 completions × 256 tokens: the size a real group has. */
  static List<byte[]> payloadsGroup() {
    SyntheticRecords synthetic = new SyntheticRecords(42);
    AvroCodec<SampleGroup> codec = AvroCodec.of(SampleGroup.class);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      out.add(codec.encode(synthetic.sampleGroup("bench-" + i, 8, 256)));
    }
    return out;
  }

  private static List<Double> ratios(List<Double> bridge, List<Double> raw) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      out.add(bridge.get(i) / raw.get(i));
    }
    return out;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
