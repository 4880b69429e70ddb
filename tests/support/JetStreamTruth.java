import static io.nats.client.support.JsonValueUtils.readArray;
import static io.nats.client.support.JsonValueUtils.readBoolean;
import static io.nats.client.support.JsonValueUtils.readInteger;
import static io.nats.client.support.JsonValueUtils.readLong;
import static io.nats.client.support.JsonValueUtils.readString;
import static io.nats.client.support.JsonValueUtils.readValue;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.Replica;
import io.nats.client.api.StreamInfo;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a JetStream deployment serves, stream by stream: account, replica count, the nodes holding it, messages
 * and sequences, each durable consumer's position, and the messages themselves (the first {@value #SAMPLE_LIMIT}
 * of each stream). Recorded from a cluster before an incident it is the truth a recovered server is compared
 * with; tests/fixtures/cluster-2.9.10/TRUTH.json is one written as JSON.
 */
record JetStreamTruth(List<StreamTruth> streams) {
  /** Messages sampled per stream; comparisons check every message of streams up to this size. */
  static final int SAMPLE_LIMIT = 64;

  /**
   * A stream; {@code deleted} is its num_deleted (sequences between first and last no longer held), -1 in a
   * TRUTH.json written before it was recorded.
   */
  record StreamTruth(String account, String name, int replicas, List<String> nodes, long messages, long firstSeq,
      long lastSeq, long deleted, Features features, List<ConsumerTruth> consumers, List<MessageSample> samples) {
    String id() {
      return account + " > " + name;
    }

    Optional<ConsumerTruth> consumer(String name) {
      return consumers.stream().filter(c -> c.name().equals(name)).findFirst();
    }
  }

  /**
   * Stream configuration of nats-server 2.10+ that a recovery must keep: s2 block compression, the application's
   * metadata (without the server's own {@code _nats.} keys), the configured first sequence, per-message TTLs (2.11+).
   */
  record Features(String compression, Map<String, String> metadata, long firstSeq, boolean allowMsgTtl) {
    static final Features NONE = new Features("none", Map.of(), 0, false);

    static Features of(String compression, Map<String, String> metadata, long firstSeq, boolean allowMsgTtl) {
      Map<String, String> own = new TreeMap<>(metadata == null ? Map.of() : metadata);
      own.keySet().removeIf(k -> k.startsWith("_nats."));
      // jnats reports an unset first_seq as 1, /jsz as absent: both mean none configured.
      return new Features(compression == null ? "none" : compression.toLowerCase(java.util.Locale.ROOT), own,
          firstSeq <= 1 ? 0 : firstSeq, allowMsgTtl);
    }
  }

  /** A durable consumer; {@code replicas} is its num_replicas (0: created without one); positions are stream sequences. */
  record ConsumerTruth(String name, int replicas, long ackFloor, long delivered) {}

  record MessageSample(long seq, String subject, Map<String, List<String>> headers, byte[] data) {
    boolean sameAs(MessageSample other) {
      return seq == other.seq && subject.equals(other.subject) && headers.equals(other.headers)
          && Arrays.equals(data, other.data);
    }

    @Override public String toString() {
      return "#" + seq + " " + subject + " " + headers + " " + Base64.getEncoder().encodeToString(data);
    }
  }

  /**
   * How a served state differs from the truth. A problem is data lost or changed. Redelivery is data that comes
   * back although the cluster was done with it: a consumer behind its position, or (after a crash) messages the
   * cluster had removed; at-least-once delivery survives it, consumers see those messages again.
   */
  record Comparison(List<String> problems, List<String> redelivery) {}

  /** Opens a client connection logged in to an account. */
  interface Connector {
    Connection connect(String account) throws Exception;
  }

  /** Reads every JetStream account of {@code config} through jnats, as an application sees it. */
  static JetStreamTruth read(NatsConfig config, Connector connector) throws Exception {
    List<StreamTruth> streams = new ArrayList<>();
    for (String account : config.jetStreamAccounts()) {
      try (Connection nc = connector.connect(account)) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        for (StreamInfo info : jsm.getStreams()) streams.add(read(account, jsm, info));
      }
    }
    return sorted(streams);
  }

  private static StreamTruth read(String account, JetStreamManagement jsm, StreamInfo info) throws Exception {
    String name = info.getConfiguration().getName();
    List<ConsumerTruth> consumers = new ArrayList<>();
    for (ConsumerInfo c : jsm.getConsumers(name)) {
      if (c.getConsumerConfiguration().getDurable() == null) continue; // ephemeral: mirrors' and sources' own
      Integer replicas = c.getConsumerConfiguration().getNumReplicas();
      consumers.add(new ConsumerTruth(c.getName(), replicas == null ? 0 : replicas,
          c.getAckFloor().getStreamSequence(), c.getDelivered().getStreamSequence()));
    }
    var state = info.getStreamState();
    List<MessageSample> samples = new ArrayList<>();
    for (long seq = state.getFirstSequence(); state.getMsgCount() > 0 && seq <= state.getLastSequence()
        && samples.size() < SAMPLE_LIMIT; seq++) {
      try {
        MessageInfo m = jsm.getMessage(name, seq);
        samples.add(new MessageSample(seq, m.getSubject(),
            m.getHeaders() == null ? Map.of() : new TreeMap<>(m.getHeaders().toMap()), m.getData() == null ? new byte[0] : m.getData()));
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() != 10037) throw e; // 10037: no message at this sequence (acked or deleted)
      }
    }
    List<String> nodes = new ArrayList<>();
    if (info.getClusterInfo() != null) {
      nodes.add(info.getClusterInfo().getLeader());
      for (Replica r : Optional.ofNullable(info.getClusterInfo().getReplicas()).orElse(List.of())) nodes.add(r.getName());
    }
    nodes.sort(null);
    consumers.sort(Comparator.comparing(ConsumerTruth::name));
    var config = info.getConfiguration();
    return new StreamTruth(account, name, config.getReplicas(), nodes, state.getMsgCount(), state.getFirstSequence(),
        state.getLastSequence(), state.getDeletedCount(), Features.of(
        config.getCompressionOption() == null ? null : config.getCompressionOption().toString(),
        config.getMetadata(), config.getFirstSequence(), config.isAllowMessageTtl()), consumers, samples);
  }

  /** What one server's /jsz (with accounts, streams, consumers and config) says it holds; no message samples. */
  static JetStreamTruth fromJsz(JsonValue jsz) {
    List<StreamTruth> streams = new ArrayList<>();
    for (JsonValue account : readArray(jsz, "account_details")) {
      for (JsonValue s : readArray(account, "stream_detail")) {
        List<ConsumerTruth> consumers = new ArrayList<>();
        for (JsonValue c : readArray(s, "consumer_detail")) {
          if (readString(readValue(c, "config"), "durable_name") == null) continue;
          consumers.add(new ConsumerTruth(readString(c, "name"), readInteger(readValue(c, "config"), "num_replicas", 0),
              readLong(readValue(c, "ack_floor"), "stream_seq", 0), readLong(readValue(c, "delivered"), "stream_seq", 0)));
        }
        consumers.sort(Comparator.comparing(ConsumerTruth::name));
        JsonValue cluster = readValue(s, "cluster");
        List<String> nodes = new ArrayList<>();
        if (cluster != null) {
          nodes.add(readString(cluster, "leader"));
          readArray(cluster, "replicas").forEach(r -> nodes.add(readString(r, "name")));
        }
        nodes.sort(null);
        JsonValue state = readValue(s, "state");
        JsonValue config = readValue(s, "config");
        streams.add(new StreamTruth(readString(account, "name"), readString(s, "name"),
            readInteger(config, "num_replicas", 0), nodes, readLong(state, "messages", 0),
            readLong(state, "first_seq", 0), readLong(state, "last_seq", 0), readLong(state, "num_deleted", 0),
            features(config), consumers, List.of()));
      }
    }
    return sorted(streams);
  }

  Optional<StreamTruth> stream(String account, String name) {
    return streams.stream().filter(s -> s.account().equals(account) && s.name().equals(name)).findFirst();
  }

  /** Only the streams a node held: what its store can give back after the others are lost. */
  JetStreamTruth hostedBy(String node) {
    return new JetStreamTruth(streams.stream().filter(s -> s.nodes().contains(node)).toList());
  }

  /** Only the streams with these names (in any account); each must be there, so no check compares nothing. */
  JetStreamTruth only(String... names) {
    Set<String> wanted = Set.of(names);
    List<StreamTruth> kept = streams.stream().filter(s -> wanted.contains(s.name())).toList();
    for (String name : names) {
      if (kept.stream().noneMatch(s -> s.name().equals(name))) throw new IllegalArgumentException("the truth has no stream " + name);
    }
    return new JetStreamTruth(kept);
  }

  JetStreamTruth withoutSamples() {
    return new JetStreamTruth(streams.stream().map(s -> new StreamTruth(s.account(), s.name(), s.replicas(),
        s.nodes(), s.messages(), s.firstSeq(), s.lastSeq(), s.deleted(), s.features(), s.consumers(), List.of())).toList());
  }

  /**
   * Compares what a server serves with this truth, for a store from a server that was shut down cleanly. Problems:
   * a stream or durable consumer missing, other messages or sequences, a sampled message that reads back
   * differently, a consumer ahead of the truth (it would skip messages). A consumer behind the truth is redelivery.
   */
  Comparison compareWith(JetStreamTruth served) {
    return compare(served, false);
  }

  /**
   * The same for a store from a server that did not shut down cleanly (SIGKILL, or copied while it ran).
   * nats-server 2.9 records that a message was removed (acked on a work-queue or interest stream, deleted) only
   * in its index files, which it rewrites every 0.5 to 2 s and on shutdown; after a crash the removal can be
   * undone. A stream that holds every message of the truth plus such earlier ones is redelivery, not a problem.
   */
  Comparison compareWithCrashedStore(JetStreamTruth served) {
    return compare(served, true);
  }

  private Comparison compare(JetStreamTruth served, boolean crashed) {
    List<String> problems = new ArrayList<>();
    List<String> redelivery = new ArrayList<>();
    for (StreamTruth want : streams) {
      Optional<StreamTruth> found = served.stream(want.account(), want.name());
      if (found.isEmpty()) {
        problems.add("stream " + want.id() + " is missing");
        continue;
      }
      StreamTruth got = found.get();
      boolean same = got.messages() == want.messages() && got.firstSeq() == want.firstSeq() && got.lastSeq() == want.lastSeq();
      boolean removalsUndone = got.lastSeq() == want.lastSeq() && got.firstSeq() <= want.firstSeq() && got.messages() > want.messages();
      if (crashed && removalsUndone) {
        redelivery.add("stream " + want.id() + " holds " + describe(got) + ", the cluster held " + describe(want)
            + ": " + (got.messages() - want.messages()) + " removed message(s) are back");
      } else if (!same) {
        problems.add("stream " + want.id() + " holds " + describe(got) + ", the cluster held " + describe(want));
      } else if (want.deleted() >= 0 && got.deleted() >= 0 && got.deleted() != want.deleted()) {
        problems.add("stream " + want.id() + " has " + got.deleted() + " deleted sequence(s), the cluster had " + want.deleted());
      }
      if (!got.features().equals(want.features())) {
        problems.add("stream " + want.id() + " is configured " + got.features() + ", the cluster had " + want.features());
      }
      for (MessageSample sample : want.samples()) {
        Optional<MessageSample> read = got.samples().stream().filter(m -> m.seq() == sample.seq()).findFirst();
        if (read.isEmpty() || !read.get().sameAs(sample)) {
          problems.add("stream " + want.id() + " message " + sample + " reads back as " + read.map(Object::toString).orElse("nothing"));
        }
      }
      for (ConsumerTruth c : want.consumers()) {
        String id = "consumer " + want.id() + " > " + c.name();
        Optional<ConsumerTruth> gotConsumer = got.consumer(c.name());
        if (gotConsumer.isEmpty()) {
          problems.add(id + " is missing");
          continue;
        }
        ConsumerTruth g = gotConsumer.get();
        if (g.ackFloor() > c.ackFloor() || g.delivered() > c.delivered()) {
          problems.add(id + " is ahead of the cluster: " + position(g) + " instead of " + position(c));
        } else if (g.ackFloor() < c.ackFloor() || g.delivered() < c.delivered()) {
          redelivery.add(id + " lags: " + position(g) + " instead of " + position(c) + ", "
              + (c.ackFloor() - g.ackFloor()) + " acked message(s) will be delivered again");
        }
      }
    }
    return new Comparison(problems, redelivery);
  }

  private static String describe(StreamTruth s) {
    return s.messages() + " messages, sequences " + s.firstSeq() + ".." + s.lastSeq();
  }

  private static String position(ConsumerTruth c) {
    return "ack floor " + c.ackFloor() + ", delivered " + c.delivered();
  }

  private static JetStreamTruth sorted(List<StreamTruth> streams) {
    return new JetStreamTruth(streams.stream()
        .sorted(Comparator.comparing(StreamTruth::account).thenComparing(StreamTruth::name)).toList());
  }

  // ---- JSON (TRUTH.json) ----

  String toJson() {
    List<JsonValue> list = new ArrayList<>();
    for (StreamTruth s : streams) {
      Map<String, JsonValue> m = new LinkedHashMap<>();
      m.put("account", new JsonValue(s.account()));
      m.put("name", new JsonValue(s.name()));
      m.put("replicas", new JsonValue(s.replicas()));
      m.put("nodes", new JsonValue(s.nodes().stream().map(JsonValue::new).toList()));
      m.put("messages", new JsonValue(s.messages()));
      m.put("first_seq", new JsonValue(s.firstSeq()));
      m.put("last_seq", new JsonValue(s.lastSeq()));
      m.put("deleted", new JsonValue(s.deleted()));
      if (!s.features().equals(Features.NONE)) {
        Map<String, JsonValue> f = new LinkedHashMap<>();
        f.put("compression", new JsonValue(s.features().compression()));
        Map<String, JsonValue> metadata = new LinkedHashMap<>();
        s.features().metadata().forEach((k, v) -> metadata.put(k, new JsonValue(v)));
        f.put("metadata", new JsonValue(metadata));
        f.put("first_seq", new JsonValue(s.features().firstSeq()));
        f.put("allow_msg_ttl", new JsonValue(s.features().allowMsgTtl()));
        m.put("config", new JsonValue(f));
      }
      m.put("consumers", new JsonValue(s.consumers().stream().map(c -> {
        Map<String, JsonValue> cm = new LinkedHashMap<>();
        cm.put("name", new JsonValue(c.name()));
        cm.put("replicas", new JsonValue(c.replicas()));
        cm.put("ack_floor", new JsonValue(c.ackFloor()));
        cm.put("delivered", new JsonValue(c.delivered()));
        return new JsonValue(cm);
      }).toList()));
      m.put("samples", new JsonValue(s.samples().stream().map(x -> {
        Map<String, JsonValue> xm = new LinkedHashMap<>();
        xm.put("seq", new JsonValue(x.seq()));
        xm.put("subject", new JsonValue(x.subject()));
        Map<String, JsonValue> headers = new LinkedHashMap<>();
        x.headers().forEach((k, v) -> headers.put(k, new JsonValue(v.stream().map(JsonValue::new).toList())));
        xm.put("headers", new JsonValue(headers));
        xm.put("data", new JsonValue(Base64.getEncoder().encodeToString(x.data())));
        return new JsonValue(xm);
      }).toList()));
      list.add(new JsonValue(m));
    }
    StringBuilder out = new StringBuilder();
    pretty(new JsonValue(Map.of("streams", new JsonValue(list))), "", out);
    return out.append('\n').toString();
  }

  static JetStreamTruth fromJson(String json) throws Exception {
    List<StreamTruth> streams = new ArrayList<>();
    for (JsonValue s : readArray(JsonParser.parse(json), "streams")) {
      List<ConsumerTruth> consumers = readArray(s, "consumers").stream().map(c -> new ConsumerTruth(readString(c, "name"),
          readInteger(c, "replicas", 0), readLong(c, "ack_floor", 0), readLong(c, "delivered", 0))).toList();
      List<MessageSample> samples = readArray(s, "samples").stream().map(x -> {
        Map<String, List<String>> headers = new TreeMap<>();
        readValue(x, "headers").map.forEach((k, v) -> headers.put(k, v.array.stream().map(e -> e.string).toList()));
        return new MessageSample(readLong(x, "seq", 0), readString(x, "subject"), headers,
            Base64.getDecoder().decode(readString(x, "data")));
      }).toList();
      streams.add(new StreamTruth(readString(s, "account"), readString(s, "name"), readInteger(s, "replicas", 0),
          readArray(s, "nodes").stream().map(n -> n.string).toList(), readLong(s, "messages", 0),
          readLong(s, "first_seq", 0), readLong(s, "last_seq", 0), readLong(s, "deleted", -1), features(readValue(s, "config")),
          consumers, samples));
    }
    return sorted(streams);
  }

  /** The {@link Features} of a stream config as /jsz or TRUTH.json write it; none for a TRUTH.json without one. */
  private static Features features(JsonValue config) {
    if (config == null) return Features.NONE;
    Map<String, String> metadata = new TreeMap<>();
    JsonValue m = readValue(config, "metadata");
    if (m != null && m.map != null) m.map.forEach((k, v) -> metadata.put(k, v.string));
    return Features.of(readString(config, "compression"), metadata, readLong(config, "first_seq", 0),
        readBoolean(config, "allow_msg_ttl"));
  }

  /** Indented JSON, one value per line and small arrays of scalars inline, so a fixture diff reads well. */
  private static void pretty(JsonValue v, String indent, StringBuilder out) {
    String inner = indent + "  ";
    if (v.map != null && !v.map.isEmpty()) {
      out.append("{\n");
      var entries = new ArrayList<>(v.map.entrySet());
      for (int i = 0; i < entries.size(); i++) {
        out.append(inner).append(new JsonValue(entries.get(i).getKey()).toJson()).append(": ");
        pretty(entries.get(i).getValue(), inner, out);
        out.append(i + 1 < entries.size() ? ",\n" : "\n");
      }
      out.append(indent).append('}');
    } else if (v.array != null && v.array.stream().anyMatch(e -> e.map != null || e.array != null)) {
      out.append("[\n");
      for (int i = 0; i < v.array.size(); i++) {
        out.append(inner);
        pretty(v.array.get(i), inner, out);
        out.append(i + 1 < v.array.size() ? ",\n" : "\n");
      }
      out.append(indent).append(']');
    } else {
      out.append(v.toJson());
    }
  }
}
