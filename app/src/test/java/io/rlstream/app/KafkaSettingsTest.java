package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rlstream.infra.KafkaClientConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SASL/SSL settings from --kafka-config reach every kind of client; secrets come from the env. */
class KafkaSettingsTest {
  @Test
  void securitySettingsReachEveryClientAndSecretsComeFromTheEnvironment(@TempDir Path tmp)
      throws Exception {
    Path file = tmp.resolve("kafka.properties");
    Files.writeString(
        file,
        String.join(
            "\n",
            "bootstrap.servers=broker-1:9093",
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
                + " username=\"rl\" password=\"${KAFKA_PASSWORD}\";",
            "ssl.truststore.location=/etc/kafka/truststore.jks",
            ""));
    String[] flags = {"--kafka-config", file.toString()};
    Args noPassword = new Args("learner", flags, Map.of());
    assertThatThrownBy(() -> ServiceCommands.Kafka.from(noPassword))
        .hasMessageContaining("sasl.jaas.config")
        .hasMessageContaining("KAFKA_PASSWORD")
        .hasMessageContaining("not set");

    KafkaClientConfig config =
        ServiceCommands.Kafka.from(new Args("learner", flags, Map.of("KAFKA_PASSWORD", "s3cret")))
            .config();
    for (Map<String, Object> client :
        List.of(
            config.producer(),
            config.transactionalProducer("t"),
            config.consumer("g"),
            config.reader(),
            config.admin())) {
      assertThat(client)
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
          .containsEntry("ssl.truststore.location", "/etc/kafka/truststore.jks")
          .containsEntry("bootstrap.servers", "broker-1:9093");
      assertThat((String) client.get("sasl.jaas.config")).contains("s3cret");
    }
  }
}
