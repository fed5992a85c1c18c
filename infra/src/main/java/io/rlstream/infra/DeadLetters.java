package io.rlstream.infra;

import io.rlstream.schemas.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import reactor.core.publisher.Mono;

/**
 * Sends records that cannot be read or processed to the dead-letter topic ({@value Topics#DLQ}), so
 * that their partition keeps flowing and nothing is lost. A dead letter is the original key, value
 * and headers, plus headers that say where it came from and why it failed:
 *
 * <ul>
 *   <li>{@value #SOURCE_TOPIC}, {@value #SOURCE_PARTITION}, {@value #SOURCE_OFFSET}, {@value
 *       #SOURCE_TIMESTAMP}: the original record's coordinates;
 *   <li>{@value #EXCEPTION_CLASS}, {@value #EXCEPTION_MESSAGE}, {@value #EXCEPTION_STACKTRACE}: the
 *       error (message cut at 4 KiB, stack trace at 16 KiB);
 *   <li>{@value #STAGE}: the stage that gave up on it; {@value #FAILED_AT}: when (epoch ms).
 * </ul>
 *
 * All header values are UTF-8 text.
 */
public final class DeadLetters {
  public static final String SOURCE_TOPIC = "rl.dlq.source.topic";
  public static final String SOURCE_PARTITION = "rl.dlq.source.partition";
  public static final String SOURCE_OFFSET = "rl.dlq.source.offset";
  public static final String SOURCE_TIMESTAMP = "rl.dlq.source.timestamp";
  public static final String EXCEPTION_CLASS = "rl.dlq.exception.class";
  public static final String EXCEPTION_MESSAGE = "rl.dlq.exception.message";
  public static final String EXCEPTION_STACKTRACE = "rl.dlq.exception.stacktrace";
  public static final String STAGE = "rl.dlq.stage";
  public static final String FAILED_AT = "rl.dlq.failed.at";

  private static final int MAX_MESSAGE = 4096;
  private static final int MAX_STACK = 16384;

  private final KafkaSender<byte[], byte[]> sender;
  private final String stage;
  private final String topic;
  private final AtomicLong sent = new AtomicLong();

  /**
   * @param sender the sender dead letters go through (not closed by this class)
   * @param stage name of the stage that dead-letters, written to {@value #STAGE}
   */
  public DeadLetters(KafkaSender<byte[], byte[]> sender, String stage) {
    this(sender, stage, Topics.DLQ);
  }

  public DeadLetters(KafkaSender<byte[], byte[]> sender, String stage, String topic) {
    this.sender = Objects.requireNonNull(sender, "sender");
    this.stage = Objects.requireNonNull(stage, "stage");
    this.topic = Objects.requireNonNull(topic, "topic");
  }

  /** Sends {@code original} to the dead-letter topic; completes once it is durable. */
  public Mono<RecordMetadata> send(ConsumerRecord<byte[], byte[]> original, Throwable error) {
    return sender
        .send(deadLetter(topic, stage, original, error))
        .doOnSuccess(m -> sent.incrementAndGet());
  }

  /** Dead letters sent so far. */
  public long sent() {
    return sent.get();
  }

  /** The dead letter of {@code original}, for senders of its own (a transaction). */
  public static ProducerRecord<byte[], byte[]> deadLetter(
      String topic, String stage, ConsumerRecord<byte[], byte[]> original, Throwable error) {
    RecordHeaders headers = new RecordHeaders();
    for (Header h : original.headers()) {
      headers.add(h);
    }
    put(headers, SOURCE_TOPIC, original.topic());
    put(headers, SOURCE_PARTITION, Integer.toString(original.partition()));
    put(headers, SOURCE_OFFSET, Long.toString(original.offset()));
    put(headers, SOURCE_TIMESTAMP, Long.toString(original.timestamp()));
    put(headers, EXCEPTION_CLASS, error.getClass().getName());
    put(headers, EXCEPTION_MESSAGE, cut(String.valueOf(error.getMessage()), MAX_MESSAGE));
    put(headers, EXCEPTION_STACKTRACE, cut(stackTrace(error), MAX_STACK));
    put(headers, STAGE, stage);
    put(headers, FAILED_AT, Long.toString(System.currentTimeMillis()));
    return new ProducerRecord<>(topic, null, original.key(), original.value(), headers);
  }

  /** A header's text value, or null if absent. */
  public static String header(org.apache.kafka.common.header.Headers headers, String key) {
    Header h = headers.lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static void put(RecordHeaders headers, String key, String value) {
    headers.remove(key); // a record dead-lettered twice keeps only its latest reason
    headers.add(key, value.getBytes(StandardCharsets.UTF_8));
  }

  private static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }

  private static String cut(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }
}
