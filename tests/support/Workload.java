import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.KeyValue;
import io.nats.client.Message;
import io.nats.client.ObjectStore;
import io.nats.client.PublishOptions;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.PurgeOptions;
import io.nats.client.api.CompressionOption;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.Mirror;
import io.nats.client.api.ObjectMeta;
import io.nats.client.api.ObjectStoreConfiguration;
import io.nats.client.api.Placement;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.Source;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes to a JetStream account the way applications do: streams of every retention, durable consumers created
 * with and without a replica count, messages with headers and binary payloads, part of them fetched and acked.
 * The data is deterministic, so a fixture captured twice holds the same messages.
 */
final class Workload {
  static final String KV_BUCKET = "CONFIG";
  /** The values written to {@link #KV_BUCKET}'s key {@code app.mode}, oldest first; the bucket keeps 5 per key. */
  static final List<String> MODES = List.of("blue", "green", "red");
  /** Put to {@link #KV_BUCKET}, then deleted. */
  static final String RETIRED_KEY = "app.retired";
  static final String OBJECT_BUCKET = "FILES";
  static final String OBJECT_NAME = "blob.bin";
  /** The bucket of {@link #newerFeatures}: one key purged through KV, one through a stream purge of its subject. */
  static final String PURGED_BUCKET = "SETTINGS";
  /** The metadata of stream LABELED; Go's JSON encoder escapes its {@code &}, {@code <} and {@code >} in meta.inf. */
  static final Map<String, String> LABELS = Map.of("owner", "team-a", "note", "a&b <c>");
  /** A TTL that outlives any test run: 100 years (Go durations reach 292). */
  static final String CENTURY_TTL = "876000h";

  private static final Duration FETCH_WAIT = Duration.ofSeconds(5);
  private final JetStreamManagement jsm;
  private final JetStream js;
  private final Connection nc;
  private final Random random = new Random(20261121);

  Workload(Connection nc) throws IOException {
    this.nc = nc;
    this.jsm = nc.jetStreamManagement();
    this.js = nc.jetStream();
  }

  /**
   * The streams every incident and the captured fixture hold, all R3 but SINGLE: ORDERS (limits), JOBS
   * (work queue), EVENTS (interest), {@code _js_} (the name of the Raft folder), PLACED (placement cluster C1),
   * {@code A#b@c&d-e} and SINGLE (R1). All but PLACED have durable consumers, created without a replica count
   * (the server stores 0) or with num_replicas 3, that have consumed part of the stream.
   */
  void coreStreams() throws Exception {
    stream(StreamConfiguration.builder().name("ORDERS").subjects("orders.>").replicas(3));
    publish("orders.new", 12);
    publish("orders.paid", 8);
    durable("ORDERS", "NEW", "orders.new", 0);
    durable("ORDERS", "R3EXPL", null, 3);
    consume("ORDERS", "NEW", 10, 6);
    consume("ORDERS", "R3EXPL", 15, 9);

    // A work queue allows one consumer per subject, so the two consumers filter disjoint subjects.
    stream(StreamConfiguration.builder().name("JOBS").subjects("jobs.>").retentionPolicy(RetentionPolicy.WorkQueue).replicas(3));
    durable("JOBS", "JOBS_A", "jobs.a", 0);
    durable("JOBS", "JOBS_B", "jobs.b", 3);
    publish("jobs.a", 6);
    publish("jobs.b", 6);
    consume("JOBS", "JOBS_A", 4, 3);
    consume("JOBS", "JOBS_B", 3, 1);

    // Interest retention drops messages nobody is interested in, so the consumers exist before the messages.
    stream(StreamConfiguration.builder().name("EVENTS").subjects("events.>").retentionPolicy(RetentionPolicy.Interest).replicas(3));
    durable("EVENTS", "AUDIT", null, 0);
    durable("EVENTS", "R3EXPL", null, 3);
    publish("events.login", 10);
    consume("EVENTS", "AUDIT", 8, 8);
    consume("EVENTS", "R3EXPL", 6, 3);

    stream(StreamConfiguration.builder().name("_js_").subjects("jsjs.>").replicas(3));
    publish("jsjs.x", 5);
    durable("_js_", "_js_", null, 3);
    consume("_js_", "_js_", 3, 2);

    stream(StreamConfiguration.builder().name("PLACED").subjects("placed.>").replicas(3)
        .placement(Placement.builder().cluster(NatsCluster.NAME).build()));
    publish("placed.x", 4);

    stream(StreamConfiguration.builder().name("A#b@c&d-e").subjects("odd.>").replicas(3));
    publish("odd.x", 5);
    durable("A#b@c&d-e", "c#1@x&y-z", null, 0);
    consume("A#b@c&d-e", "c#1@x&y-z", 2, 1);

    stream(StreamConfiguration.builder().name("SINGLE").subjects("single.>").replicas(1));
    publish("single.x", 5);
    durable("SINGLE", "SINGLE_C", null, 0);
    consume("SINGLE", "SINGLE_C", 3, 2);
  }

  /**
   * Stream features of nats-server 2.10+ (and per-message TTLs of 2.11+), all R3: SQUEEZED (s2 compression,
   * blocks small enough that the first ones are sealed and compressed on disk), LABELED (metadata, first_seq 1000),
   * PRUNED (seq 3 deleted with erase, seq 6 without), KV bucket {@link #PURGED_BUCKET} (purges) and, on 2.11+,
   * EXPIRING (allow_msg_ttl: messages with a 100-year TTL, one that never expires, and one of 1 s that has expired
   * by the time this returns).
   */
  void newerFeatures(ServerGeneration server) throws Exception {
    if (!server.atLeast(10)) throw new IllegalArgumentException(server + " has none of these features");
    // A stream's block size is a quarter of max_bytes, at least 32 kB: 24 messages of 1.5 kB fill one and a bit.
    stream(StreamConfiguration.builder().name("SQUEEZED").subjects("squeezed.>").replicas(3)
        .compressionOption(CompressionOption.S2).maxBytes(100_000));
    for (int i = 0; i < 24; i++) {
      js.publish("squeezed.text", ("message " + i + ": " + "the quick brown fox jumps over the lazy dog. ".repeat(32)).getBytes());
    }

    stream(StreamConfiguration.builder().name("LABELED").subjects("labeled.>").replicas(3).metadata(LABELS).firstSequence(1000));
    publish("labeled.x", 6);

    stream(StreamConfiguration.builder().name("PRUNED").subjects("pruned.>").replicas(3));
    publish("pruned.x", 10);
    jsm.deleteMessage("PRUNED", 3, true);
    jsm.deleteMessage("PRUNED", 6, false);

    placed("bucket " + PURGED_BUCKET, () -> nc.keyValueManagement().create(
        KeyValueConfiguration.builder().name(PURGED_BUCKET).maxHistoryPerKey(5).replicas(3).build()));
    KeyValue kv = nc.keyValue(PURGED_BUCKET);
    for (String mode : MODES) kv.put("app.mode", mode);
    kv.put("app.cache", "warm");
    kv.put("app.cache", "hot");
    kv.put("app.kept", "stays");
    kv.purge("app.mode"); // leaves one purge marker, removes the three values
    jsm.purgeStream("KV_" + PURGED_BUCKET, PurgeOptions.subject("$KV." + PURGED_BUCKET + ".app.cache"));

    if (!server.atLeast(11)) return;
    stream(StreamConfiguration.builder().name("EXPIRING").subjects("expiring.>").replicas(3).allowMessageTtl());
    for (int i = 0; i < 6; i++) {
      PublishOptions.Builder ttl = PublishOptions.builder();
      if (i == 2) ttl.messageTtlSeconds(1);
      else if (i == 4) ttl.messageTtlNever();
      else ttl.messageTtlCustom(CENTURY_TTL);
      js.publish(NatsMessage.builder().subject("expiring.x").data(payload(1 + random.nextInt(32))).build(), ttl.build());
    }
    awaitMessages("EXPIRING", 5);
  }

  /** A key-value bucket with history (3 revisions of one key, a deleted key) and an object in 5 chunks, both R3. */
  void keyValueAndObjects() throws Exception {
    placed("bucket " + KV_BUCKET, () -> nc.keyValueManagement().create(
        KeyValueConfiguration.builder().name(KV_BUCKET).maxHistoryPerKey(5).replicas(3).build()));
    KeyValue kv = nc.keyValue(KV_BUCKET);
    for (String mode : MODES) kv.put("app.mode", mode);
    kv.put("app.limit", payload(40));
    kv.put(RETIRED_KEY, "soon gone");
    kv.delete(RETIRED_KEY);

    placed("object store " + OBJECT_BUCKET, () -> nc.objectStoreManagement().create(
        ObjectStoreConfiguration.builder(OBJECT_BUCKET).replicas(3).build()));
    ObjectStore objects = nc.objectStore(OBJECT_BUCKET);
    objects.put(ObjectMeta.builder(OBJECT_NAME).chunkSize(8192).build(), new ByteArrayInputStream(objectBytes()));
  }

  /** The content of {@link #OBJECT_NAME}: 40,000 bytes of every value, the same every run. */
  static byte[] objectBytes() {
    byte[] bytes = new byte[40_000];
    new Random(7).nextBytes(bytes);
    return bytes;
  }

  /** ORDERS_MIRROR mirrors ORDERS; COMBINED sources ORDERS and PLACED. Returns once both have caught up. */
  void mirrorAndSources() throws Exception {
    stream(StreamConfiguration.builder().name("ORDERS_MIRROR").replicas(3)
        .mirror(Mirror.builder().sourceName("ORDERS").build()));
    stream(StreamConfiguration.builder().name("COMBINED").replicas(3)
        .sources(Source.builder().sourceName("ORDERS").build(), Source.builder().sourceName("PLACED").build()));
    long orders = messages("ORDERS");
    awaitMessages("ORDERS_MIRROR", orders);
    awaitMessages("COMBINED", orders + messages("PLACED"));
  }

  void stream(StreamConfiguration.Builder config) {
    StreamConfiguration built = config.build();
    placed("stream " + built.getName(), () -> jsm.addStream(built));
  }

  /**
   * Creates a replicated asset. A cluster that has just elected its meta leader may not yet have heard every peer's
   * statistics and answers "no suitable peers for placement" (10005): only that is tried again, anything else fails.
   */
  private void placed(String what, java.util.concurrent.Callable<?> create) {
    Await.until(Duration.ofSeconds(20), "the cluster to place " + what, () -> {
      try {
        create.call();
        return null;
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() == 10005) return e.getMessage();
        throw new IllegalStateException(e);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** A pull consumer with explicit acks; {@code replicas} 0 means created without a replica count. */
  void durable(String stream, String name, String filterSubject, int replicas) throws IOException, JetStreamApiException {
    jsm.addOrUpdateConsumer(stream, ConsumerConfiguration.builder().durable(name).filterSubject(filterSubject)
        .numReplicas(replicas == 0 ? null : replicas).build());
  }

  /**
   * Publishes {@code count} messages, each with a binary payload of every byte value (some empty); three in four
   * carry headers, one of them with two values.
   */
  void publish(String subject, int count) throws IOException, JetStreamApiException {
    for (int i = 0; i < count; i++) {
      NatsMessage.Builder message = NatsMessage.builder().subject(subject).data(payload(i % 5 == 4 ? 0 : 1 + random.nextInt(96)));
      if (i % 4 != 0) {
        message.headers(new Headers().add("Order-Id", subject + "-" + i).add("X-Multi", "a", "b c"));
      }
      publishOnce(message.build());
    }
  }

  /**
   * Publishes one message once. Right after a stream is created in a cluster its subjects may not be routed to
   * every node yet: "503 No Responders" means nothing stored it, so that alone is tried again; anything else fails.
   */
  private void publishOnce(Message message) {
    Await.until(Duration.ofSeconds(10), "a stream to take " + message.getSubject(), () -> {
      try {
        js.publish(message);
        return null;
      } catch (IOException e) {
        if (e.getMessage() != null && e.getMessage().contains("503 No Responders")) return e.getMessage();
        throw new UncheckedIOException(e);
      } catch (JetStreamApiException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** Fetches {@code fetch} messages through the durable and acks the first {@code ack}: a consumer in mid-work. */
  void consume(String stream, String durable, int fetch, int ack) throws Exception {
    JetStreamSubscription sub = js.subscribe(null, PullSubscribeOptions.bind(stream, durable));
    List<Message> messages = sub.fetch(fetch, FETCH_WAIT);
    if (messages.size() != fetch) {
      throw new IllegalStateException(stream + " > " + durable + " fetched " + messages.size() + " of " + fetch);
    }
    for (Message m : messages.subList(0, ack)) m.ackSync(FETCH_WAIT);
    sub.unsubscribe();
  }

  private long messages(String stream) throws IOException, JetStreamApiException {
    return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
  }

  private void awaitMessages(String stream, long count) {
    Await.until(Duration.ofSeconds(20), stream + " to hold " + count + " messages", () -> {
      long now = messages(stream);
      return now == count ? null : "it holds " + now;
    });
  }

  private byte[] payload(int size) {
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    return bytes;
  }
}
