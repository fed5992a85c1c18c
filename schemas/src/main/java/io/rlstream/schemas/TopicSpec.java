package io.rlstream.schemas;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A topic as rlstream creates it: name, partition count and topic-level configs (retention,
 * clean-up policy, largest message). The replication factor is the cluster's to choose ({@code
 * default.replication.factor}), so the same spec works on a one-node demo and a three-node cluster.
 *
 * @param name topic name
 * @param partitions partition count; more partitions let more generator and judge instances share
 *     the work
 * @param configs topic-level configs, e.g. {@code retention.ms}
 * @param doc what the topic carries and how it is keyed
 */
public record TopicSpec(String name, int partitions, Map<String, String> configs, String doc) {
  public TopicSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(doc, "doc");
    if (name.isBlank()) {
      throw new IllegalArgumentException("topic name must not be blank");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException(
          "topic " + name + ": partitions must be >= 1, got " + partitions);
    }
    configs = Map.copyOf(configs);
  }

  /** The same topic with another partition count. */
  public TopicSpec withPartitions(int count) {
    return new TopicSpec(name, count, configs, doc);
  }

  /** The same topic with one config added or replaced. */
  public TopicSpec withConfig(String key, String value) {
    Map<String, String> copy = new LinkedHashMap<>(configs);
    copy.put(key, value);
    return new TopicSpec(name, partitions, copy, doc);
  }

  /** The largest record the topic accepts, bytes ({@code max.message.bytes}), or -1 if unset. */
  public int maxMessageBytes() {
    String v = configs.get("max.message.bytes");
    return v == null ? -1 : Integer.parseInt(v);
  }
}
