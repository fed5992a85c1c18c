package io.rlstream.infra;

import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * One committed transaction of a {@link TransactionalStage}.
 *
 * @param inputs records consumed
 * @param outputs records produced, dead letters included
 * @param deadLettered inputs sent to the dead-letter topic instead
 * @param offsets next offset to consume per partition, committed with the outputs
 * @param attempts attempts the batch took (1 if nothing failed)
 */
public record CommittedBatch(
    int inputs, int outputs, int deadLettered, Map<TopicPartition, Long> offsets, int attempts) {}
