package io.rlstream.infra;

import io.rlstream.schemas.TopicSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates rlstream's topics if they are absent and describes them. An existing topic is never
 * changed: a partition count or config that differs from the spec is reported, not "fixed", since
 * changing a live topic's partitions reshuffles keys.
 */
public final class TopicAdmin implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TopicAdmin.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** What {@link #describe} reports of a topic: partitions, replication and non-default configs. */
  public record TopicInfo(
      String name, int partitions, int replicationFactor, Map<String, String> configs) {}

  private final Admin admin;

  public TopicAdmin(KafkaClientConfig config) {
    this.admin = Admin.create(config.admin());
  }

  /**
   * Creates each topic that does not exist yet, with the spec's partitions and configs and the
   * cluster's default replication factor; returns the names it created.
   */
  public List<String> createIfAbsent(Collection<TopicSpec> specs) {
    return createIfAbsent(specs, Optional.empty());
  }

  /**
   * As {@link #createIfAbsent(Collection)}, with an explicit replication factor. One create request
   * for all topics, and one describe for those that already existed.
   */
  public List<String> createIfAbsent(
      Collection<TopicSpec> specs, Optional<Short> replicationFactor) {
    List<NewTopic> topics =
        specs.stream()
            .map(
                spec ->
                    new NewTopic(spec.name(), Optional.of(spec.partitions()), replicationFactor)
                        .configs(spec.configs()))
            .toList();
    Map<String, KafkaFuture<Void>> results = admin.createTopics(topics).values();
    List<String> created = new ArrayList<>();
    List<TopicSpec> existing = new ArrayList<>();
    for (TopicSpec spec : specs) {
      try {
        results.get(spec.name()).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        created.add(spec.name());
        log.info(
            "created topic {} ({} partitions, {})", spec.name(), spec.partitions(), spec.configs());
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException(
              "cannot create topic " + spec.name() + ": " + e.getCause().getMessage(),
              e.getCause());
        }
        existing.add(spec);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while creating " + spec.name(), e);
      } catch (TimeoutException e) {
        throw new IllegalStateException(
            "creating topic "
                + spec.name()
                + " timed out after "
                + TIMEOUT
                + "; is the cluster reachable?",
            e);
      }
    }
    warnIfDifferent(existing);
    awaitLeaders(specs.stream().filter(s -> created.contains(s.name())).toList());
    return created;
  }

  /**
   * Waits until every partition of the just-created topics answers a list-offsets request from its
   * leader. Metadata names a leader slightly before that broker acts as one; a producer whose first
   * batch lands in that gap gets NOT_LEADER_OR_FOLLOWER, and an idempotent producer whose later
   * batch was accepted meanwhile can no longer deliver the first (out-of-order sequence).
   */
  private void awaitLeaders(List<TopicSpec> specs) {
    if (specs.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
    for (TopicSpec spec : specs) {
      for (int p = 0; p < spec.partitions(); p++) {
        partitions.put(new TopicPartition(spec.name(), p), OffsetSpec.latest());
      }
    }
    List<String> names = specs.stream().map(TopicSpec::name).toList();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    String why = "no leader yet";
    try {
      while (System.nanoTime() < deadline) {
        try {
          // metadata first (quiet while the topic is still unknown), then the leaders themselves
          boolean led =
              admin
                  .describeTopics(names)
                  .allTopicNames()
                  .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                  .values()
                  .stream()
                  .allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null));
          if (led) {
            admin.listOffsets(partitions).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          why = e.getMessage();
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the leaders of " + names, e);
    }
    throw new IllegalStateException(
        "created topics " + names + " have no working leader after " + TIMEOUT + ": " + why);
  }

  /** Partitions, replication factor and explicitly set configs of each named topic that exists. */
  public Map<String, TopicInfo> describe(Collection<String> names) {
    try {
      Map<String, TopicDescription> descriptions = new HashMap<>();
      for (var e : admin.describeTopics(names).topicNameValues().entrySet()) {
        try {
          descriptions.put(e.getKey(), e.getValue().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException missing) {
          // absent topics are left out
        }
      }
      List<ConfigResource> resources =
          descriptions.keySet().stream()
              .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n))
              .toList();
      Map<ConfigResource, Config> configs =
          admin.describeConfigs(resources).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      Map<String, TopicInfo> out = new HashMap<>();
      descriptions.forEach(
          (name, d) -> {
            Map<String, String> set = new HashMap<>();
            for (ConfigEntry entry :
                configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name)).entries()) {
              if (entry.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                set.put(entry.name(), entry.value());
              }
            }
            int rf = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
            out.put(name, new TopicInfo(name, d.partitions().size(), rf, Map.copyOf(set)));
          });
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while describing topics", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot describe topics " + names + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(10));
  }

  /** Reports, without changing them, existing topics whose partitions or configs differ. */
  private void warnIfDifferent(List<TopicSpec> specs) {
    if (specs.isEmpty()) {
      return;
    }
    Map<String, TopicInfo> infos = describe(specs.stream().map(TopicSpec::name).toList());
    for (TopicSpec spec : specs) {
      TopicInfo info = infos.get(spec.name());
      if (info == null) {
        continue;
      }
      if (info.partitions() != spec.partitions()) {
        log.warn(
            "topic {} exists with {} partitions; the spec says {} (left unchanged)",
            spec.name(),
            info.partitions(),
            spec.partitions());
      }
      spec.configs()
          .forEach(
              (k, v) -> {
                String actual = info.configs().get(k);
                if (actual != null && !actual.equals(v)) {
                  log.warn(
                      "topic {} has {}={}; the spec says {} (left unchanged)",
                      spec.name(),
                      k,
                      actual,
                      v);
                }
              });
    }
  }
}
