package io.rlstream.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class KafkaClientConfigTest {
  private static final Map<String, Object> SECURE =
      Map.of(
          "security.protocol", "SASL_SSL",
          "sasl.mechanism", "SCRAM-SHA-512",
          "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;",
          "ssl.truststore.location", "/etc/kafka/truststore.jks",
          "client.id", "judge-1");

  @Test
  void producerHasFixedSafetyDefaults() {
    Map<String, Object> p = KafkaClientConfig.of("b:9092").producer();
    assertThat(p).containsEntry("acks", "all").containsEntry("enable.idempotence", "true");
    assertThat(p).containsEntry("bootstrap.servers", "b:9092");
    assertThat(p).doesNotContainKey("transactional.id");
  }

  @Test
  void consumerHasFixedSafetyDefaults() {
    Map<String, Object> c = KafkaClientConfig.of("b:9092").consumer("g");
    assertThat(c)
        .containsEntry("isolation.level", "read_committed")
        .containsEntry("enable.auto.commit", "false")
        .containsEntry("group.id", "g")
        .containsEntry("auto.offset.reset", "earliest");
  }

  @Test
  void transactionalProducerKeepsTheSafetyDefaults() {
    Map<String, Object> p = KafkaClientConfig.of("b:9092").transactionalProducer("judge-math-0");
    assertThat(p)
        .containsEntry("transactional.id", "judge-math-0")
        .containsEntry("acks", "all")
        .containsEntry("enable.idempotence", "true");
  }

  @Test
  void securityAndUserSettingsPassThroughUnchangedToEveryClient() {
    KafkaClientConfig config = KafkaClientConfig.of("b:9093", SECURE);
    for (Map<String, Object> props :
        new Map[] {
          config.producer(), config.consumer("g"), config.admin(), config.transactionalProducer("t")
        }) {
      assertThat(props).containsAllEntriesOf(SECURE);
    }
  }

  @Test
  void tuningSettingsOverrideDefaults() {
    KafkaClientConfig config =
        KafkaClientConfig.of(
            "b:9092",
            Map.of("linger.ms", 50, "max.poll.records", 7, "auto.offset.reset", "latest"));
    assertThat(config.producer()).containsEntry("linger.ms", 50);
    assertThat(config.consumer("g"))
        .containsEntry("max.poll.records", 7)
        .containsEntry("auto.offset.reset", "latest");
  }

  @Test
  void eachClientGetsOnlyTheKeysItKnows() {
    KafkaClientConfig config =
        KafkaClientConfig.of("b:9092", Map.of("max.poll.records", 7, "linger.ms", 50));
    assertThat(config.producer()).doesNotContainKey("max.poll.records");
    assertThat(config.consumer("g")).doesNotContainKey("linger.ms");
  }

  @Test
  void unsafeOverridesAreRefusedWithAReason() {
    assertThatThrownBy(() -> KafkaClientConfig.of("b:9092", Map.of("acks", "1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("acks=1 is not allowed")
        .hasMessageContaining("acks=all")
        .hasMessageContaining("Remove the setting");
    assertThatThrownBy(() -> KafkaClientConfig.of("b:9092", Map.of("enable.auto.commit", true)))
        .hasMessageContaining("enable.auto.commit=true is not allowed");
    assertThatThrownBy(
            () -> KafkaClientConfig.of("b:9092", Map.of("isolation.level", "read_uncommitted")))
        .hasMessageContaining("read_committed");
    assertThatThrownBy(() -> KafkaClientConfig.of("b:9092", Map.of("enable.idempotence", "false")))
        .hasMessageContaining("enable.idempotence");
    assertThatThrownBy(() -> KafkaClientConfig.of("b:9092").with(Map.of("acks", "0")))
        .hasMessageContaining("acks=0");
  }

  @Test
  void restatingASafeValueIsAccepted() {
    assertThat(
            KafkaClientConfig.of("b:9092", Map.of("acks", "-1", "enable.auto.commit", "false"))
                .producer())
        .containsEntry("acks", "all");
  }

  @Test
  void emptyBootstrapIsRefused() {
    assertThatThrownBy(() -> KafkaClientConfig.of(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bootstrap.servers is empty");
  }
}
