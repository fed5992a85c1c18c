package io.rlstream.app;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The YAML configuration file ({@code --config FILE} or {@code $RLSTREAM_CONFIG}): every setting of
 * every command, under the command's name, with the names its flags have. Two sections are shared:
 * {@code kafka} (the cluster, read by every command that talks to Kafka, with {@code client} for
 * producer/consumer/admin settings such as SASL/SSL) and {@code loop} (the RL loop's settings, read
 * by demo, generator, learner and replay, which must agree on them). A command's own section wins
 * over a shared one; flags win over the file.
 *
 * <pre>
 * kafka:
 *   bootstrap-servers: kafka-1:9092
 *   client:
 *     security.protocol: SASL_SSL
 *     sasl.jaas.config: '... password="${KAFKA_PASSWORD}";'
 * loop:
 *   algorithm: grpo
 *   group-size: 8
 * learner:
 *   checkpoint: /models/sft
 *   checkpoint-dir: /data/learner
 * </pre>
 *
 * <p>{@code ${NAME}} in any value is the environment variable NAME, so secrets stay out of the
 * file. Loading checks the shape (sections are maps, settings single values), the section names,
 * the shared sections' keys and the variables; each command checks its own section's keys when it
 * reads its settings ({@link Args#rejectUnknown()}).
 */
final class ConfigFile {
  static final String ENV = "RLSTREAM_CONFIG";
  static final String KAFKA = "kafka";
  static final String LOOP = "loop";
  static final String CLIENT = "client";

  /** The commands that read a section of the file; the first word of a command's name. */
  static final List<String> COMMANDS =
      List.of(
          "up",
          "demo",
          "sft",
          "eval",
          "generator",
          "judge",
          "assembler",
          "judges",
          "learner",
          "replay",
          "inspect",
          "topics",
          "rm-train",
          "fake-llm");

  /** The commands that run the RL loop and so read the {@code loop} section. */
  static final Set<String> LOOP_COMMANDS = Set.of("demo", "generator", "learner", "replay");

  static final List<String> KAFKA_KEYS =
      List.of("bootstrap-servers", "kafka-config", "topic-prefix", "create-topics", CLIENT);

  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

  /** One setting from the file: its value with variables replaced, as written, and where. */
  record Setting(String value, String raw, String origin) {}

  private final Map<String, Map<String, Setting>> sections;
  private final Map<String, Setting> client;

  private ConfigFile(Map<String, Map<String, Setting>> sections, Map<String, Setting> client) {
    this.sections = sections;
    this.client = client;
  }

  static ConfigFile empty() {
    return new ConfigFile(Map.of(), Map.of());
  }

  /** Reads and checks {@code file}; {@code env} resolves {@code ${NAME}}. */
  static ConfigFile load(Path file, Map<String, String> env) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("config file " + file + " does not exist");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read config file " + file + ": " + e);
    }
    Object root;
    try (JsonParser p = new YAMLFactory().createParser(text)) {
      root = p.nextToken() == null ? null : node(p);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          file + " is not valid YAML: " + e.getOriginalMessage() + location(e));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read config file " + file + ": " + e);
    }
    if (root == null) {
      return new ConfigFile(Map.of(), Map.of());
    }
    if (!(root instanceof Map<?, ?> top)) {
      throw new IllegalArgumentException(
          file + " must be a map of sections (kafka:, loop:, learner:, ...), got " + kind(root));
    }
    Map<String, Map<String, Setting>> sections = new LinkedHashMap<>();
    Map<String, Setting> client = new LinkedHashMap<>();
    Set<String> known = new TreeSet<>(COMMANDS);
    known.add(KAFKA);
    known.add(LOOP);
    for (Map.Entry<?, ?> section : top.entrySet()) {
      String name = (String) section.getKey();
      if (!known.contains(name)) {
        throw new IllegalArgumentException(
            file
                + ": unknown section '"
                + name
                + "'"
                + Args.didYouMean(name, known)
                + "; sections are "
                + String.join(", ", known));
      }
      Object body = section.getValue();
      if (body == null) {
        continue;
      }
      if (!(body instanceof Map<?, ?> entries)) {
        throw new IllegalArgumentException(
            file + ": " + name + " must be a map of settings (key: value), got " + kind(body));
      }
      Map<String, Setting> settings = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : entries.entrySet()) {
        String key = (String) e.getKey();
        String where = name + "." + key;
        if (name.equals(KAFKA)) {
          checkKey(file, where, key, KAFKA_KEYS, "kafka takes " + String.join(", ", KAFKA_KEYS));
        }
        if (name.equals(LOOP)) {
          checkKey(
              file,
              where,
              key,
              LoopConfig.KEYS,
              "'rlstream learner --help' lists them under 'loop settings'");
        }
        if (name.equals(KAFKA) && key.equals(CLIENT)) {
          client.putAll(clientSettings(file, e.getValue(), env));
          continue;
        }
        settings.put(key, setting(file, where, e.getValue(), env));
      }
      sections.put(name, settings);
    }
    return new ConfigFile(sections, client);
  }

  /** A shared section takes only its own keys: {@code key} must be one of {@code known}. */
  private static void checkKey(
      Path file, String where, String key, Collection<String> known, String hint) {
    if (!known.contains(key)) {
      String section = where.substring(0, where.indexOf('.'));
      throw new IllegalArgumentException(
          file
              + ": "
              + where
              + " is not a "
              + section
              + " setting"
              + Args.didYouMean(key, known)
              + "; "
              + hint);
    }
  }

  /**
   * The file's settings for {@code command}: {@code kafka}, then {@code loop} for the loop's
   * commands, then the command's own section, a later one winning.
   */
  Map<String, Setting> settingsFor(String command) {
    Map<String, Setting> out = new LinkedHashMap<>(sections.getOrDefault(KAFKA, Map.of()));
    if (LOOP_COMMANDS.contains(command)) {
      out.putAll(sections.getOrDefault(LOOP, Map.of()));
    }
    out.putAll(sections.getOrDefault(command, Map.of()));
    return out;
  }

  /** Whether {@code key} comes from {@code command}'s own section (checked by that command). */
  boolean ownSection(String command, String key) {
    return sections.getOrDefault(command, Map.of()).containsKey(key);
  }

  /** {@code kafka.client}: settings passed to every producer, consumer and admin client. */
  Map<String, Setting> client() {
    return client;
  }

  private static Map<String, Setting> clientSettings(
      Path file, Object node, Map<String, String> env) {
    String where = KAFKA + "." + CLIENT;
    if (!(node instanceof Map<?, ?> entries)) {
      throw new IllegalArgumentException(
          file
              + ": "
              + where
              + " must be a map of Kafka client properties (security.protocol: SASL_SSL, ...), got "
              + kind(node));
    }
    Map<String, Setting> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : entries.entrySet()) {
      out.put((String) e.getKey(), setting(file, where + "." + e.getKey(), e.getValue(), env));
    }
    return out;
  }

  private static Setting setting(Path file, String where, Object node, Map<String, String> env) {
    if (node == null) {
      throw new IllegalArgumentException(
          file + ": " + where + " has no value; give one or remove the line");
    }
    if (!(node instanceof String raw)) {
      throw new IllegalArgumentException(
          file
              + ": "
              + where
              + " must be a single value (text, number or true/false), got "
              + kind(node)
              + "; several values go in one string, as on the command line (e.g. 'math=1.0,len=0.5')");
    }
    return new Setting(substitute(raw, env, file + ": " + where), raw, file + " " + where);
  }

  /** {@code ${NAME}} replaced by the environment variable NAME; an unset one is an error. */
  static String substitute(String raw, Map<String, String> env, String where) {
    Matcher m = VAR.matcher(raw);
    StringBuilder v = new StringBuilder();
    while (m.find()) {
      String value = env.get(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException(
            where
                + " uses ${"
                + m.group(1)
                + "}, but the environment variable "
                + m.group(1)
                + " is not set");
      }
      m.appendReplacement(v, Matcher.quoteReplacement(value));
    }
    m.appendTail(v);
    return v.toString();
  }

  /** Whether {@code raw} takes anything from the environment. */
  static boolean usesEnvironment(String raw) {
    return VAR.matcher(raw).find();
  }

  private static String location(JsonProcessingException e) {
    return e.getLocation() == null
        ? ""
        : " (line "
            + e.getLocation().getLineNr()
            + ", column "
            + e.getLocation().getColumnNr()
            + ")";
  }

  /**
   * The YAML under the parser's current token: maps and lists as such, every scalar as the text it
   * was written with ({@code off} stays "off", {@code 1e-4} "1e-4"; YAML 1.1 would make the first a
   * boolean), null for an empty value.
   */
  private static Object node(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.START_OBJECT) {
      Map<String, Object> map = new LinkedHashMap<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        p.nextToken();
        map.put(key, node(p));
      }
      return map;
    }
    if (t == JsonToken.START_ARRAY) {
      List<Object> list = new ArrayList<>();
      while (p.nextToken() != JsonToken.END_ARRAY) {
        list.add(node(p));
      }
      return list;
    }
    return t == JsonToken.VALUE_NULL ? null : p.getText();
  }

  private static String kind(Object n) {
    if (n instanceof List<?>) {
      return "a list";
    }
    if (n instanceof Map<?, ?>) {
      return "a map";
    }
    return "'" + n + "'";
  }
}
