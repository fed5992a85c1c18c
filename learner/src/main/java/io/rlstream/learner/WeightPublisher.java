package io.rlstream.learner;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.KafkaSender;
import io.rlstream.infra.SenderOptions;
import io.rlstream.infra.SenderRecord;
import io.rlstream.policy.HostTensor;
import io.rlstream.policy.Safetensors;
import io.rlstream.policy.TensorType;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.PolicyAnnouncement;
import io.rlstream.schemas.Provenances;
import io.rlstream.schemas.WeightChunk;
import io.rlstream.schemas.WeightChunks;
import io.rlstream.schemas.WeightTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import reactor.core.publisher.Flux;

/**
 * Publishes policy versions on {@code rl.policy}: the weights as one safetensors payload (float32)
 * cut into {@link WeightChunk}s, then a {@link PolicyAnnouncement} with the payload's size and
 * SHA-256, all keyed {@code "policy"} on the single partition so generators see chunks before their
 * announcement. Returns once the broker has acknowledged every record (idempotent producer,
 * acks=all).
 */
public final class WeightPublisher implements AutoCloseable {
  static final String KEY = "policy";
  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);
  private static final AvroCodec<PolicyAnnouncement> ANNOUNCEMENTS =
      AvroCodec.of(PolicyAnnouncement.class);

  private final String topic;
  private final int chunkBytes;
  private final KafkaSender<String, byte[]> sender;

  public WeightPublisher(KafkaClientConfig kafka, String topic, int chunkBytes) {
    this.topic = topic;
    this.chunkBytes = chunkBytes;
    this.sender =
        KafkaSender.create(
            kafka, new StringSerializer(), new ByteArraySerializer(), SenderOptions.defaults());
  }

  /** Publishes {@code weights} as {@code version}; returns the announcement sent. */
  public PolicyAnnouncement publish(
      long version,
      long epoch,
      long learnerStep,
      Map<String, HostTensor> weights,
      Map<String, Long> consumedOffsets,
      Map<String, Double> metrics) {
    byte[] payload = Safetensors.encode(weights, TensorType.F32);
    List<WeightChunk> chunks = WeightChunks.split(version, epoch, payload, chunkBytes);
    PolicyAnnouncement announcement =
        PolicyAnnouncement.newBuilder()
            .setVersion(version)
            .setEpoch(epoch)
            .setLearnerStep(learnerStep)
            .setSizeBytes(payload.length)
            .setSha256(WeightChunks.sha256(payload))
            .setTransport(WeightTransport.INLINE_CHUNKS)
            .setChunkCount(chunks.size())
            .setConsumedOffsets(consumedOffsets)
            .setMetrics(metrics)
            .setProvenance(Provenances.now("learner"))
            .build();
    List<byte[]> records = new ArrayList<>(chunks.size() + 1);
    chunks.forEach(c -> records.add(CHUNKS.encode(c)));
    records.add(ANNOUNCEMENTS.encode(announcement));
    send(records);
    return announcement;
  }

  /**
   * Announces the learner's progress without weights (chunk count 0, see {@link
   * WeightChunks#carriesWeights}): {@code version} is the newest published one; the metrics carry
   * the groups consumed, which generators throttle on.
   */
  public PolicyAnnouncement progress(
      long version,
      long epoch,
      long learnerStep,
      Map<String, Long> consumedOffsets,
      Map<String, Double> metrics) {
    PolicyAnnouncement announcement =
        PolicyAnnouncement.newBuilder()
            .setVersion(version)
            .setEpoch(epoch)
            .setLearnerStep(learnerStep)
            .setSizeBytes(0)
            .setSha256("")
            .setTransport(WeightTransport.INLINE_CHUNKS)
            .setChunkCount(0)
            .setConsumedOffsets(consumedOffsets)
            .setMetrics(metrics)
            .setProvenance(Provenances.now("learner"))
            .build();
    send(List.of(ANNOUNCEMENTS.encode(announcement)));
    return announcement;
  }

  /** Sends raw records to the policy topic in order and waits for all (also for fault tests). */
  public void send(List<byte[]> values) {
    sender
        .send(
            Flux.fromIterable(values)
                .map(v -> SenderRecord.of(new ProducerRecord<>(topic, 0, KEY, v), 0)))
        .doOnNext(
            r -> {
              if (!r.ok()) {
                throw new IllegalStateException(
                    "publishing to " + topic + " failed: " + r.exception(), r.exception());
              }
            })
        .blockLast();
  }

  @Override
  public void close() {
    sender.close();
  }
}
