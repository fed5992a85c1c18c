package io.rlstream.judge;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.LogReader;
import io.rlstream.schemas.Aggregation;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.JudgeSet;
import io.rlstream.schemas.JudgeWeight;
import io.rlstream.schemas.MissingJudgements;
import io.rlstream.schemas.Provenances;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.LoggerFactory;

/**
 * Reading and writing {@link JudgeSet}s on the compacted {@code rl.assembler.config} topic: how an
 * assembler's judges change while it runs.
 */
public final class JudgeSets {
  private static final AvroCodec<JudgeSet> CODEC = AvroCodec.of(JudgeSet.class);

  private JudgeSets() {}

  /**
   * A judge set from command-line text: {@code judges} as {@code ID=WEIGHT[,ID=WEIGHT...]} (a bare
   * {@code ID} weighs 1), {@code aggregation} as {@code weighted_sum}, {@code min}, {@code
   * mean_minus_std} or {@code normalized_sum}, {@code missing} as {@code partial} or {@code
   * dead_letter}.
   */
  public static JudgeSet parse(
      String assembler,
      String judges,
      String aggregation,
      double k,
      String missing,
      Duration timeout) {
    Map<String, Double> weights = new LinkedHashMap<>();
    for (String part : judges.split(",")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      String id = eq < 0 ? p : p.substring(0, eq).trim();
      double w;
      try {
        w = eq < 0 ? 1.0 : Double.parseDouble(p.substring(eq + 1).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "judge weight '" + p + "' is not ID=NUMBER (e.g. math=1.0)", e);
      }
      if (weights.put(id, w) != null) {
        throw new IllegalArgumentException("judge " + id + " is listed twice in '" + judges + "'");
      }
    }
    if (weights.isEmpty()) {
      throw new IllegalArgumentException("the judge set is empty: give --judges ID=WEIGHT,...");
    }
    Aggregation agg = enumValue(Aggregation.class, aggregation, "aggregation");
    MissingJudgements miss = enumValue(MissingJudgements.class, missing, "missing");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("the judgement timeout must be positive, got " + timeout);
    }
    List<JudgeWeight> list = new ArrayList<>();
    weights.forEach((id, w) -> list.add(new JudgeWeight(id, w)));
    JudgeSet set =
        JudgeSet.newBuilder()
            .setAssembler(assembler)
            .setJudges(list)
            .setAggregation(agg)
            .setK(k)
            .setMissing(miss)
            .setTimeoutMs(timeout.toMillis())
            .setProvenance(Provenances.now("judge-set"))
            .build();
    aggregator(set); // validates weights and k
    return set;
  }

  private static <E extends Enum<E>> E enumValue(Class<E> type, String text, String what) {
    try {
      return Enum.valueOf(type, text.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      List<String> names = new ArrayList<>();
      for (E v : type.getEnumConstants()) {
        names.add(v.name().toLowerCase(Locale.ROOT));
      }
      throw new IllegalArgumentException(
          "unknown " + what + " '" + text + "'; use one of " + names, e);
    }
  }

  /** The aggregator a judge set describes. */
  public static Aggregator aggregator(JudgeSet set) {
    Map<String, Double> weights = new LinkedHashMap<>();
    for (JudgeWeight w : set.getJudges()) {
      weights.put(w.getJudgeId(), w.getWeight());
    }
    return new Aggregator(set.getAggregation(), weights, set.getK());
  }

  /** One line: {@code weighted_sum(math=1.0) missing=partial after 60000 ms}. */
  public static String describe(JudgeSet set) {
    return aggregator(set).description()
        + " missing="
        + set.getMissing().name().toLowerCase(Locale.ROOT)
        + " after "
        + set.getTimeoutMs()
        + " ms";
  }

  /** Writes {@code set} as the newest set of its assembler; returns once it is durable. */
  public static void publish(KafkaClientConfig kafka, String topic, JudgeSet set) {
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            kafka.producer(), new ByteArraySerializer(), new ByteArraySerializer())) {
      p.send(
              new ProducerRecord<>(
                  topic, set.getAssembler().getBytes(StandardCharsets.UTF_8), CODEC.encode(set)))
          .get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing the judge set", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "could not publish the judge set to " + topic + ": " + e.getCause(), e);
    }
  }

  /** The newest set of {@code assembler} on {@code topic}, read to its end. */
  public static Optional<JudgeSet> latest(KafkaClientConfig kafka, String topic, String assembler) {
    try (Watcher w = new Watcher(kafka, topic, assembler)) {
      w.catchUp(Duration.ofSeconds(30));
      return Optional.ofNullable(w.current());
    }
  }

  /** Follows one assembler's newest set; polled by its owner's thread. */
  static final class Watcher implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String assembler;
    private final TopicPartition partition;
    private JudgeSet current;
    private long changes;

    Watcher(KafkaClientConfig kafka, String topic, String assembler) {
      this.consumer = LogReader.open(kafka);
      this.assembler = assembler;
      this.partition = new TopicPartition(topic, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
    }

    /** Reads until the end of the topic as it is now. */
    void catchUp(Duration timeout) {
      LogReader.readToEnd(consumer, List.of(partition), timeout, this::accept);
    }

    /** Reads what arrived; true if the set changed. */
    boolean poll(Duration timeout) {
      long before = changes;
      consumer.poll(timeout).forEach(this::accept);
      return changes != before;
    }

    private void accept(ConsumerRecord<byte[], byte[]> r) {
      if (r.key() == null
          || r.value() == null
          || !assembler.equals(new String(r.key(), StandardCharsets.UTF_8))) {
        return;
      }
      try {
        current = CODEC.decode(r.value());
        changes++;
      } catch (RuntimeException e) {
        LoggerFactory.getLogger(JudgeSets.class)
            .warn(
                "ignoring an unreadable judge set at {}-{}@{}: {}",
                r.topic(),
                r.partition(),
                r.offset(),
                e.toString());
      }
    }

    JudgeSet current() {
      return current;
    }

    long changes() {
      return changes;
    }

    @Override
    public void close() {
      consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
    }
  }
}
