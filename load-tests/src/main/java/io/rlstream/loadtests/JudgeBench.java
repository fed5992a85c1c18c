package io.rlstream.loadtests;

import io.rlstream.infra.KafkaBroker;
import io.rlstream.infra.KafkaClientConfig;
import io.rlstream.infra.TopicAdmin;
import io.rlstream.judge.Assembler;
import io.rlstream.judge.Judge;
import io.rlstream.judge.JudgeService;
import io.rlstream.judge.JudgeSets;
import io.rlstream.judge.JudgeSpec;
import io.rlstream.judge.Judges;
import io.rlstream.judge.llm.FakeChatServer;
import io.rlstream.judge.llm.LlmJudge;
import io.rlstream.schemas.AvroCodec;
import io.rlstream.schemas.Completion;
import io.rlstream.schemas.SampleGroup;
import io.rlstream.schemas.SyntheticRecords;
import io.rlstream.schemas.TopicNames;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import reactor.core.publisher.Flux;

/**
 * {@code rlstream bench judge}: logged {@code SampleGroup}s (8 completions each) pushed through a
 * judge service and the assembler on an embedded broker, end to end — {@code rl.samples} → judge →
 * {@code rl.judgements} → assembler → {@code rl.scored}, both stages transactional — once with the
 * math verifier and once with the LLM judge against the local fake server with its cache warmed by
 * a first pass. Throughput is groups emitted by the assembler per second, from the start of the
 * services to the last group. Ends with {@code RESULT judge verifier_groups_per_s=…
 * cached_llm_groups_per_s=…}.
 */
final class JudgeBench {
  private static final String USAGE =
      """
      usage: rlstream bench judge [--groups N] [--llm-groups N]

      Pushes N logged sample groups (8 completions) through the math verifier's judge service and
      the assembler on an embedded broker, then --llm-groups through the LLM judge (local fake
      server, warm cache), and prints groups/s end to end.
      """;

  private JudgeBench() {}

  static Object main(String[] args, PrintStream out) throws Exception {
    int groups = 50_000;
    int llmGroups = 5_000;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--groups" -> groups = Integer.parseInt(args[++i]);
        case "--llm-groups" -> llmGroups = Integer.parseInt(args[++i]);
        case "-h", "--help" -> {
          out.print(USAGE);
          return null;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
      }
    }
    double verifier;
    double llm;
    try (KafkaBroker broker = KafkaBroker.temporary("rlstream-bench-judge", Map.of())) {
      KafkaClientConfig kafka = KafkaClientConfig.of(broker.bootstrapServers());
      List<SampleGroup> logged = groups("v", groups);
      List<SampleGroup> llmLogged = groups("l", llmGroups);
      log(kafka, "verifier", logged);
      verifier = run(kafka, "verifier", logged, Judges.create(JudgeSpec.of("math")), out);
      try (FakeChatServer server = FakeChatServer.start()) {
        Judge judge =
            Judges.create(
                JudgeSpec.parse(
                    "llm,id=llm,endpoint=" + server.endpoint() + ",cache-size=1000000"));
        log(kafka, "llm", llmLogged);
        long t = System.nanoTime();
        Flux.fromIterable(llmLogged).flatMap(judge::judge, 64).blockLast();
        out.printf(
            Locale.ROOT,
            "llm cache warmed: %d groups, %d requests to the fake server in %.1f s%n",
            llmGroups,
            server.requests(),
            (System.nanoTime() - t) / 1e9);
        long before = server.requests();
        llm = run(kafka, "llm", llmLogged, judge, out);
        out.printf(
            "llm pass: %d requests to the server (cache hits %d)%n",
            server.requests() - before, ((LlmJudge) judge).cacheHits());
      }
    }
    String result =
        String.format(
            Locale.ROOT,
            "RESULT judge verifier_groups_per_s=%.0f cached_llm_groups_per_s=%.0f",
            verifier,
            llm);
    out.println(result);
    return result;
  }

  /** Logged groups: 8 completions, half right, reference answer "42". */
  private static List<SampleGroup> groups(String prefix, int n) {
    SyntheticRecords synthetic = new SyntheticRecords(7);
    List<SampleGroup> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      SampleGroup g = synthetic.sampleGroup(prefix + "-" + i, 8, 6);
      g.setReferenceAnswer("42");
      List<Completion> cs = g.getCompletions();
      for (int c = 0; c < cs.size(); c++) {
        cs.get(c).setText(c % 2 == 0 ? "the answer is 42" : "the answer is " + (i % 40));
      }
      out.add(g);
    }
    return out;
  }

  /** Creates the topics of run {@code name} and writes its logged groups. */
  private static void log(KafkaClientConfig kafka, String name, List<SampleGroup> logged)
      throws Exception {
    TopicNames topics = TopicNames.prefixed("bench-" + name);
    try (TopicAdmin admin = new TopicAdmin(kafka)) {
      admin.createIfAbsent(topics.specs());
    }
    AvroCodec<SampleGroup> codec = AvroCodec.of(SampleGroup.class);
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            kafka.producer(), new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<?>> sent = new ArrayList<>();
      for (SampleGroup g : logged) {
        sent.add(
            p.send(
                new ProducerRecord<>(
                    topics.samples(),
                    g.getGroupId().getBytes(StandardCharsets.UTF_8),
                    codec.encode(g))));
      }
      for (Future<?> f : sent) {
        f.get(); // a lost sample would leave the bench waiting for ever: fail instead
      }
    }
  }

  private static double run(
      KafkaClientConfig kafka, String name, List<SampleGroup> logged, Judge judge, PrintStream out)
      throws Exception {
    TopicNames topics = TopicNames.prefixed("bench-" + name);
    JudgeSets.publish(
        kafka,
        topics.assemblerConfig(),
        JudgeSets.parse(
            "main", judge.id() + "=1.0", "weighted_sum", 1, "partial", Duration.ofMinutes(10)));
    int n = logged.size();
    long start = System.nanoTime();
    try (JudgeService service =
            new JudgeService(kafka, topics, judge, JudgeService.Options.of("bench"));
        Assembler assembler = new Assembler(kafka, topics, Assembler.Options.of("main", "bench"))) {
      service.start();
      assembler.start();
      long lastPrint = System.nanoTime();
      long lastProgress = System.nanoTime();
      long lastEmitted = 0;
      while (assembler.emitted() < n) {
        if (assembler.emitted() > lastEmitted) {
          lastEmitted = assembler.emitted();
          lastProgress = System.nanoTime();
        } else if (System.nanoTime() - lastProgress > 60e9) {
          throw new IllegalStateException(
              name
                  + ": no group assembled for 60 s at "
                  + lastEmitted
                  + " of "
                  + n
                  + " ("
                  + service.deadLettered()
                  + " dead-lettered by the judge; see the log)");
        }
        if (!assembler.running() || !service.running()) {
          throw new IllegalStateException(name + ": a service stopped; see the log");
        }
        if (System.nanoTime() - lastPrint > 5e9) {
          lastPrint = System.nanoTime();
          out.printf(
              Locale.ROOT,
              "  %s: %d judged, %d dead-lettered, %d assembled, %d waiting%n",
              name,
              service.judged(),
              service.deadLettered(),
              assembler.emitted(),
              assembler.counts().pending());
        }
        Thread.sleep(20);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double rate = n / seconds;
      out.printf(
          Locale.ROOT,
          "%s: %d groups judged and assembled in %.2f s = %.0f groups/s (%d dead-lettered)%n",
          name,
          n,
          seconds,
          rate,
          service.deadLettered() + assembler.counts().deadLettered());
      return rate;
    }
  }
}
