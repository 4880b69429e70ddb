import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.PublishAck;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cluster's own records read from a real survivor, once per server generation: an encrypted 3-node cluster
 * with an R3 interest stream whose consumers are an R3 durable and a memory durable, an R3 limits stream with R1
 * durables on every node, and an R1 stream; the survivor is a node holding neither the R1 stream nor the R1 durable
 * C_R1. The limits stream takes a publish burst, and every node is SIGKILLed right after the last PubAck. inspect on
 * a copy of the survivor's store must list every stream and consumer the cluster served, say where the absent ones
 * were, and read the encrypted meta log with the key (without it, say the inventory is as of the snapshot).
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class ClusterRecordsClusterTest {
  static final String KEY = "raft records key";
  static final int BURST = 2000;
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private NatsCluster cluster;
  private Path copy, keyFile;
  /** "stream" or "stream > consumer" as the live cluster listed them. */
  private final TreeSet<String> live = new TreeSet<>();
  private String survivor, r1ConsumerNode, r1StreamNode, r1Stream;
  private long lastPubAck;

  @BeforeParameterizedClassInvocation void incident() throws Exception {
    live.clear(); // one instance serves every generation (PER_CLASS): the last one's durables are not this cluster's
    lastPubAck = 0;
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation when it is not installed
    NatsConfig config = NatsConfig.defaults().withEncryption(KEY, "chacha");
    cluster = NatsCluster.start(generation, config);
    try (Connection nc = cluster.connect("$G")) {
      Workload w = new Workload(nc);
      w.stream(StreamConfiguration.builder().name("INT").subjects("int.>").retentionPolicy(RetentionPolicy.Interest)
          .storageType(StorageType.File).replicas(3));
      w.stream(StreamConfiguration.builder().name("LIM").subjects("lim.>").storageType(StorageType.File).replicas(3));
      JetStreamManagement jsm = nc.jetStreamManagement();
      w.durable("INT", "ALL", null, 0);
      jsm.addOrUpdateConsumer("INT", ConsumerConfiguration.builder().durable("C_MEM").memStorage(true).build());
      // 2.10+ refuses an R1 consumer on an R3 interest stream: the R1 durable goes on the limits stream
      jsm.addOrUpdateConsumer("LIM", ConsumerConfiguration.builder().durable("C_R1").numReplicas(1).build());
      r1ConsumerNode = leader(() -> jsm.getConsumerInfo("LIM", "C_R1").getClusterInfo().getLeader());
      // More R1 durables until every node holds one (consumer placement varies, an R1 stream's does not): the
      // survivor's own R1 durable names it among the meta peers
      Map<String, String> r1Durables = new TreeMap<>(Map.of(r1ConsumerNode, "C_R1")); // node -> durable
      for (int i = 0; i < 30 && r1Durables.size() < 3; i++) {
        String name = "P" + i;
        jsm.addOrUpdateConsumer("LIM", ConsumerConfiguration.builder().durable(name).numReplicas(1).build());
        r1Durables.putIfAbsent(leader(() -> jsm.getConsumerInfo("LIM", name).getClusterInfo().getLeader()), name);
      }
      assertEquals(3, r1Durables.size(), "R1 durables placed on every node: " + r1Durables);
      r1Stream = "ONE";
      w.stream(StreamConfiguration.builder().name(r1Stream).subjects("one.>").storageType(StorageType.File).replicas(1));
      r1StreamNode = leader(() -> jsm.getStreamInfo(r1Stream).getClusterInfo().getLeader());
      survivor = cluster.nodes().stream().map(NatsServerProcess::name)
          .filter(n -> !n.equals(r1ConsumerNode) && !n.equals(r1StreamNode)).findFirst().orElseThrow();
      w.durable(r1Stream, "ONE_C", null, 0);
      w.publish("int.a", 10);
      w.publish("one.a", 3);
      for (String s : jsm.getStreamNames()) {
        live.add(s);
        jsm.getConsumerNames(s).forEach(c -> live.add(s + " > " + c));
      }
      cluster.awaitReplicasCurrent();
      cluster.awaitMetaRecords(survivor, KEY.getBytes(StandardCharsets.UTF_8),
          live.stream().filter(a -> a.contains(" > ")).toList());
      // The burst: every PubAck awaited, then every node SIGKILLed at once (a power cut of the processes).
      JetStream js = nc.jetStream();
      List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
      for (int i = 0; i < BURST; i++) acks.add(js.publishAsync("lim.a", ("m" + i).getBytes(StandardCharsets.UTF_8)));
      for (CompletableFuture<PublishAck> a : acks) lastPubAck = Math.max(lastPubAck, a.get().getSeqno());
    }
    NatsServerProcess s = cluster.node(survivor);
    s.kill();
    cluster.nodes().stream().filter(n -> n != s).forEach(NatsServerProcess::kill);
    copy = s.copyStoreTo(work.resolve("survivor-copy"));
    keyFile = Files.writeString(work.resolve("key"), KEY);
  }

  /** The leader a replicated asset reports once it has one (none right after it was created). */
  static String leader(java.util.concurrent.Callable<String> read) {
    String[] found = new String[1];
    Await.until(java.time.Duration.ofSeconds(20), "a leader", () -> {
      found[0] = read.call();
      return found[0] == null || found[0].isEmpty() ? "no leader yet" : null;
    });
    return found[0];
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (cluster != null) cluster.close();
  }

  JsonNode cluster(String... options) throws Exception {
    List<String> args = new ArrayList<>(List.of("inspect", "--json"));
    args.addAll(List.of(options));
    args.add(copy.toString());
    Cli.Result r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.exit(), r.all());
    return new ObjectMapper().readTree(r.out()).path("cluster");
  }

  static Map<String, JsonNode> assets(JsonNode cluster) {
    Map<String, JsonNode> byName = new TreeMap<>();
    for (JsonNode a : cluster.path("assets")) {
      byName.put(a.path("stream").asText() + (a.path("consumer").isNull() ? "" : " > " + a.path("consumer").asText()), a);
    }
    return byName;
  }

  @Test void theInventoryListsEveryStreamAndConsumerTheClusterServed() throws Exception {
    JsonNode records = cluster("--key-file", keyFile.toString());
    // Every asset of the incident is there, and nothing the cluster did not serve.
    assertEquals(live, new TreeSet<>(assets(records).keySet()));
    JsonNode meta = records.path("meta");
    assertEquals(3, meta.path("expected_peers").asInt());
    assertEquals(2, meta.path("quorum").asInt());
    assertEquals(Raft.nodeId(survivor), meta.path("self").asText());
    TreeSet<String> ids = new TreeSet<>();
    cluster.nodes().forEach(n -> ids.add(Raft.nodeId(n.name())));
    TreeSet<String> peers = new TreeSet<>();
    meta.path("peers").forEach(p -> peers.add(p.path("id").asText()));
    assertEquals(ids, peers);
  }

  @Test void absentConsumersAndStreamsAreNamedWithWhereTheyLived() throws Exception {
    Map<String, JsonNode> assets = assets(cluster("--key-file", keyFile.toString()));
    JsonNode r1 = assets.get("LIM > C_R1");
    assertFalse(r1.path("on_this_disk").asBoolean());
    assertEquals("only on the lost peers " + Raft.nodeId(r1ConsumerNode), r1.path("not_here").asText().replaceAll(" \\(.*\\)", ""));
    assertEquals("held in memory only", assets.get("INT > C_MEM").path("not_here").asText());
    assertTrue(assets.get(r1Stream).path("not_here").asText().startsWith("only on the lost peers " + Raft.nodeId(r1StreamNode)));
    assertTrue(assets.get(r1Stream + " > ONE_C").path("not_here").asText().startsWith("only on the lost peers " + Raft.nodeId(r1StreamNode)));
    assertTrue(assets.get("INT").path("on_this_disk").asBoolean());
    assertTrue(assets.get("INT > ALL").path("on_this_disk").asBoolean());
    assertEquals(3, assets.get("INT").path("peers").size());
    assertEquals(1, assets.get("LIM > C_R1").path("config").path("num_replicas").asInt());
  }

  @Test void everyPubAckedMessageIsInTheBlocksOrTheRaftLog() throws Exception {
    JsonNode log = assets(cluster("--key-file", keyFile.toString())).get("LIM").path("raft_log");
    long stored = log.path("stored_last_seq").asLong(), logged = log.path("last_seq").asLong();
    System.out.printf("%s: LIM PubAck'ed to %d, blocks to %d, Raft log to %d, %d message(s) in the log only%n",
        generation, lastPubAck, stored, logged, log.path("messages_beyond_store").asLong());
    assertEquals(List.of(), toList(log.path("damage")));
    assertTrue(Math.max(stored, logged) >= lastPubAck, log.toString());
    assertEquals(Math.max(0, logged - stored), log.path("messages_beyond_store").asLong(), log.toString());
  }

  @Test void withoutTheKeyTheInventoryIsAsOfTheSnapshot() throws Exception {
    JsonNode meta = cluster().path("meta");
    assertTrue(meta.path("log_encrypted_without_key").asBoolean(), meta.toString());
    assertTrue(meta.path("notes").toString().contains("the inventory is as of the snapshot"), meta.toString());
  }

  private static List<String> toList(JsonNode a) {
    List<String> l = new ArrayList<>();
    a.forEach(n -> l.add(n.asText()));
    return l;
  }
}
