package io.rlstream.infra;

import io.rlstream.schemas.Topics;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Kafka client settings for every rlstream service: the user's settings (bootstrap servers,
 * SASL/SSL, tuning) pass through unchanged, and the settings rlstream's guarantees rest on are
 * fixed in code:
 *
 * <ul>
 *   <li>producers: {@code acks=all}, {@code enable.idempotence=true} (no loss, no duplicates on
 *       retry, order kept per partition);
 *   <li>consumers: {@code isolation.level=read_committed} (aborted transactions stay invisible),
 *       {@code enable.auto.commit=false} (offsets are committed only after the output is durable).
 * </ul>
 *
 * A user setting that contradicts a fixed one is refused when the config is built, with a message
 * that says why; it is never silently overridden. Each client gets only the keys it knows, so
 * clients do not warn about each other's settings.
 */
public final class KafkaClientConfig {
  /** Settings users may not change, with the reason given when they try. */
  private static final Map<String, Fixed> PRODUCER_FIXED =
      Map.of(
          ProducerConfig.ACKS_CONFIG,
          new Fixed("all", "a record is acknowledged only once all in-sync replicas have it"),
          ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
          new Fixed("true", "retries must not duplicate or reorder records"));

  private static final Map<String, Fixed> CONSUMER_FIXED =
      Map.of(
          ConsumerConfig.ISOLATION_LEVEL_CONFIG,
          new Fixed("read_committed", "records of aborted transactions must never be processed"),
          ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
          new Fixed("false", "offsets are committed only after the output is durable"));

  private record Fixed(String value, String why) {}

  private final Map<String, Object> user;

  private KafkaClientConfig(Map<String, Object> user) {
    this.user = Map.copyOf(user);
    checkFixed(PRODUCER_FIXED);
    checkFixed(CONSUMER_FIXED);
  }

  /** Settings for a cluster at {@code bootstrapServers}. */
  public static KafkaClientConfig of(String bootstrapServers) {
    return of(bootstrapServers, Map.of());
  }

  /**
   * Settings for a cluster at {@code bootstrapServers} with {@code settings} passed to every client
   * that knows them (SASL, SSL, client.id, tuning).
   *
   * @throws IllegalArgumentException if a setting contradicts a fixed safety setting
   */
  public static KafkaClientConfig of(String bootstrapServers, Map<String, ?> settings) {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    if (bootstrapServers.isBlank()) {
      throw new IllegalArgumentException(
          "bootstrap.servers is empty: set it to the broker list, e.g. localhost:9092");
    }
    Map<String, Object> all = new LinkedHashMap<>(settings);
    all.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return new KafkaClientConfig(all);
  }

  /** The bootstrap servers. */
  public String bootstrapServers() {
    return (String) user.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
  }

  /** Idempotent producer settings; records up to {@link Topics#MAX_RECORD_BYTES}. */
  public Map<String, Object> producer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_RECORD_BYTES);
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    p.putAll(known(ProducerConfig.configNames()));
    fix(p, PRODUCER_FIXED);
    return p;
  }

  /**
   * Transactional producer settings for exactly-once stages. The id must be stable across restarts
   * of the same instance and unique among live instances: a restarted instance fences its
   * predecessor's unfinished transaction.
   */
  public Map<String, Object> transactionalProducer(String transactionalId) {
    Objects.requireNonNull(transactionalId, "transactionalId");
    Map<String, Object> p = producer();
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    return p;
  }

  /**
   * Consumer settings for {@code groupId}: read_committed, manual commits, from the earliest
   * offset.
   */
  public Map<String, Object> consumer(String groupId) {
    Objects.requireNonNull(groupId, "groupId");
    Map<String, Object> c = reader();
    c.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    return c;
  }

  /**
   * Settings for a consumer without a group, which assigns partitions itself and commits nothing (a
   * changelog restore, a replay that must not move anyone's offsets): as {@link #consumer}
   * otherwise.
   */
  public Map<String, Object> reader() {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
    c.putAll(known(ConsumerConfig.configNames()));
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    fix(c, CONSUMER_FIXED);
    return c;
  }

  /** Admin client settings. */
  public Map<String, Object> admin() {
    return new HashMap<>(known(AdminClientConfig.configNames()));
  }

  /** A copy with more user settings; checked like the original. */
  public KafkaClientConfig with(Map<String, ?> more) {
    Map<String, Object> all = new LinkedHashMap<>(user);
    all.putAll(more);
    return new KafkaClientConfig(all);
  }

  private Map<String, Object> known(Set<String> names) {
    Map<String, Object> m = new HashMap<>();
    user.forEach(
        (k, v) -> {
          if (names.contains(k) || k.startsWith("sasl.") || k.startsWith("ssl.")) {
            m.put(k, v);
          }
        });
    return m;
  }

  private void checkFixed(Map<String, Fixed> fixed) {
    fixed.forEach(
        (key, f) -> {
          Object given = user.get(key);
          if (given != null && !normalise(key, given).equals(f.value())) {
            throw new IllegalArgumentException(
                key
                    + "="
                    + given
                    + " is not allowed: rlstream requires "
                    + key
                    + "="
                    + f.value()
                    + " because "
                    + f.why()
                    + ". Remove the setting.");
          }
        });
  }

  private static String normalise(String key, Object value) {
    String v = String.valueOf(value).trim().toLowerCase(java.util.Locale.ROOT);
    return key.equals(ProducerConfig.ACKS_CONFIG) && v.equals("-1") ? "all" : v;
  }

  private static void fix(Map<String, Object> props, Map<String, Fixed> fixed) {
    fixed.forEach((k, f) -> props.put(k, f.value()));
  }
}
