package io.rlstream.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.rlstream.infra.internal.ChildProcessBroker;
import io.rlstream.infra.testing.SharedKafka;
import io.rlstream.infra.testing.TestTopics;
import io.rlstream.schemas.TopicSpec;
import io.rlstream.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Starting, stopping and restarting real brokers; these tests start brokers of their own. */
class BrokerIT {
  private Path dir;

  @BeforeEach
  void makeDir() throws Exception {
    dir = Files.createTempDirectory("broker-it");
  }

  @AfterEach
  void removeDir() {
    SharedKafka.deleteRecursively(dir);
  }

  @Test
  void inProcessBrokerRestartsOnItsDataWithTheSameClusterTopicsRecordsAndPort() {
    String clusterId;
    String bootstrap;
    try (KafkaBroker broker = KafkaBroker.inProcess(BrokerSettings.of(dir))) {
      clusterId = broker.clusterId();
      bootstrap = broker.bootstrapServers();
      KafkaClientConfig config = KafkaClientConfig.of(bootstrap);
      try (TopicAdmin admin = new TopicAdmin(config)) {
        assertThat(admin.createIfAbsent(Topics.all())).hasSize(Topics.all().size());
      }
      produce(config, Topics.SAMPLES, "before-restart");
    }
    try (KafkaBroker again = KafkaBroker.inProcess(BrokerSettings.of(dir))) {
      assertThat(again.clusterId()).isEqualTo(clusterId);
      assertThat(again.bootstrapServers()).isEqualTo(bootstrap);
      KafkaClientConfig config = KafkaClientConfig.of(again.bootstrapServers());
      try (TopicAdmin admin = new TopicAdmin(config)) {
        assertThat(admin.createIfAbsent(Topics.all())).isEmpty(); // all still there
        var info = admin.describe(List.of(Topics.SCORED, Topics.POLICY));
        assertThat(info.get(Topics.SCORED).partitions()).isEqualTo(Topics.SCORED_SPEC.partitions());
        assertThat(info.get(Topics.SCORED).configs()).containsEntry("retention.ms", "-1");
        assertThat(info.get(Topics.POLICY).partitions()).isEqualTo(1);
        assertThat(info.get(Topics.POLICY).configs())
            .containsEntry("max.message.bytes", Integer.toString(8 << 20));
      }
      assertThat(readValues(config, Topics.SAMPLES)).contains("before-restart");
    }
  }

  @Test
  void childProcessBrokerServesClientsStopsOnSigtermAndRestartsOnItsData() throws Exception {
    long pid;
    try (KafkaBroker broker = KafkaBroker.childProcess(BrokerSettings.of(dir))) {
      pid = ((ChildProcessBroker) broker).pid();
      assertThat(ProcessHandle.of(pid)).isPresent();
      KafkaClientConfig config = KafkaClientConfig.of(broker.bootstrapServers());
      try (TopicAdmin admin = new TopicAdmin(config)) {
        admin.createIfAbsent(List.of(new TopicSpec("child-topic", 2, Map.of(), "test")));
      }
      produce(config, "child-topic", "hello-child");
    }
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(Files.readString(dir.resolve("broker.log")))
        .doesNotContain("Exception in thread \"main\"");
    try (KafkaBroker again = KafkaBroker.childProcess(BrokerSettings.of(dir))) {
      assertThat(readValues(KafkaClientConfig.of(again.bootstrapServers()), "child-topic"))
          .containsExactly("hello-child");
    }
  }

  @Test
  void createIfAbsentLeavesAnExistingTopicAsItIs() {
    String name = SharedKafka.uniqueName("existing");
    try (TopicAdmin admin = new TopicAdmin(SharedKafka.config())) {
      assertThat(admin.createIfAbsent(List.of(new TopicSpec(name, 2, Map.of(), "t"))))
          .containsExactly(name);
      assertThat(
              admin.createIfAbsent(
                  List.of(new TopicSpec(name, 5, Map.of("retention.ms", "1000"), "t"))))
          .isEmpty();
      var info = admin.describe(List.of(name, "no-such-topic"));
      assertThat(info).containsOnlyKeys(name);
      assertThat(info.get(name).partitions()).isEqualTo(2);
      assertThat(info.get(name).configs()).doesNotContainKey("retention.ms");
    }
  }

  private static void produce(KafkaClientConfig config, String topic, String value) {
    try (var p =
        new KafkaProducer<>(config.producer(), new StringSerializer(), new StringSerializer())) {
      p.send(new ProducerRecord<>(topic, "k", value));
      p.flush();
    }
  }

  private static List<String> readValues(KafkaClientConfig config, String topic) {
    return TestTopics.readAll(config, topic, "read_committed").stream()
        .map(r -> new String(r.value(), StandardCharsets.UTF_8))
        .toList();
  }
}
