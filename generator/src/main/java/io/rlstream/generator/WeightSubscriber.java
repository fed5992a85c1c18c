package io.rlstream.generator;

import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.KafkaReceiver;
import io.rlstream.infra.ReceiverOptions;
import io.rlstream.infra.ReceiverRecord;
import io.rlstream.policy.PolicySampler;
import io.rlstream.policy.Safetensors;
import io.rlstream.policy.WeightUpdate;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.PolicyAnnouncement;
import io.rlstream.schemas.RecordDecodeException;
import io.rlstream.schemas.WeightChunk;
import io.rlstream.schemas.WeightChunks;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;

/**
 * Follows {@code rl.policy} and swaps verified versions into a {@link PolicySampler}. Chunks of a
 * version are collected until its announcement; then the payload is checked whole (every chunk's
 * SHA-256, offsets, the announced size and SHA-256) and decoded, and only then offered to the
 * sampler. A torn or corrupt version is refused — logged, counted, and the old version keeps
 * serving. Announcements from an epoch older than the newest seen are ignored.
 *
 * <p>Each subscriber reads the whole topic as a consumer group of its own (every generator needs
 * every version), from the earliest retained record, so a generator that starts late catches up to
 * the newest version.
 */
public final class WeightSubscriber implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WeightSubscriber.class);
  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);
  private static final AvroCodec<PolicyAnnouncement> ANNOUNCEMENTS =
      AvroCodec.of(PolicyAnnouncement.class);

  private final KafkaReceiver<String, byte[]> receiver;
  private final PolicySampler sampler;
  private final Consumer<PolicyAnnouncement> onAnnouncement;
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong unreadable = new AtomicLong();
  private WeightChunks.Assembly assembly;
  private long epoch = Long.MIN_VALUE;
  private Disposable subscription;

  /**
   * @param onAnnouncement told of every announcement of the current epoch, verified or not (the
   *     learner's progress, for throttling)
   */
  public WeightSubscriber(
      KafkaClientConfig kafka,
      String policyTopic,
      PolicySampler sampler,
      Consumer<PolicyAnnouncement> onAnnouncement) {
    this.receiver =
        KafkaReceiver.create(
            kafka,
            ReceiverOptions.of("rl-weights-" + UUID.randomUUID(), policyTopic),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    this.sampler = sampler;
    this.onAnnouncement = onAnnouncement;
  }

  public synchronized WeightSubscriber start() {
    if (subscription == null) {
      subscription =
          receiver
              .receive()
              .subscribe(
                  this::handle, e -> log.error("weight subscriber stopped: {}", e.toString(), e));
    }
    return this;
  }

  /** Versions refused here: torn, corrupt or undecodable (the sampler counts its own refusals). */
  public long refused() {
    return refused.get();
  }

  /** Records on the topic that were neither a chunk nor an announcement. */
  public long unreadable() {
    return unreadable.get();
  }

  private void handle(ReceiverRecord<String, byte[]> record) {
    try {
      byte[] bytes = record.value();
      if (bytes == null) {
        return;
      }
      try {
        if (CHUNKS.writtenAs(bytes)) {
          chunk(CHUNKS.decode(bytes));
        } else {
          announcement(ANNOUNCEMENTS.decode(bytes));
        }
      } catch (RecordDecodeException e) {
        unreadable.incrementAndGet();
        log.warn(
            "unreadable record at {}-{}@{}: {}",
            record.topic(),
            record.partition(),
            record.offset(),
            e.getMessage());
      }
    } finally {
      record.acknowledge();
    }
  }

  private void chunk(WeightChunk c) {
    if (assembly == null
        || assembly.version() != c.getVersion()
        || assembly.epoch() != c.getEpoch()) {
      assembly = new WeightChunks.Assembly(c.getVersion(), c.getEpoch());
    }
    assembly.add(c);
  }

  private void announcement(PolicyAnnouncement a) {
    if (a.getEpoch() < epoch) {
      log.info("ignoring version {} of old epoch {}", a.getVersion(), a.getEpoch());
      return;
    }
    epoch = a.getEpoch();
    onAnnouncement.accept(a);
    if (!WeightChunks.carriesWeights(a)) {
      return; // the learner's progress only: the throttle has it
    }
    if (a.getEpoch() == sampler.epoch() && a.getVersion() <= sampler.version()) {
      return; // already serving it or newer (a replay of the topic at start-up)
    }
    try {
      if (assembly == null || assembly.version() != a.getVersion()) {
        throw new WeightChunks.RefusedUpdateException(
            "version " + a.getVersion() + ": no chunks seen before its announcement (torn update)");
      }
      byte[] payload = assembly.payload(a);
      WeightUpdate update =
          new WeightUpdate(a.getVersion(), a.getEpoch(), Safetensors.decode(payload));
      sampler.offer(update); // the sampler checks names and shapes, and counts what it refuses
    } catch (RuntimeException e) {
      refused.incrementAndGet();
      log.warn(
          "refused policy version {}: {}; still serving {}",
          a.getVersion(),
          e.getMessage(),
          sampler.version());
    } finally {
      assembly = null;
    }
  }

  @Override
  public synchronized void close() {
    if (subscription != null) {
      subscription.dispose();
      receiver.close().block();
      subscription = null;
    }
  }
}
