package io.rlstream.schemas;

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
}
