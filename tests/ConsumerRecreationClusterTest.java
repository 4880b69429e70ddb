import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every consumer back, on real clusters of every generation: an encrypted 3-node cluster with an R3 interest stream
 * INT whose only consumer on every disk (A_R3) wants int.a, while int.b is wanted by a memory-storage durable (no
 * folder on any node) and, on 2.9, by R1 durables placed on every node (2.10+ refuses R1 consumers on an R3 interest
 * stream, 10134: there the R1 durables are on the limits stream LIM); two more memory durables deliver "new" and
 * from a start sequence, which a server applies to a consumer without state. Nothing is acknowledged. Two nodes are
 * SIGKILLed, the survivor is stopped; on a copy of its store prepare recreates every consumer the survivor lacks,
 * and a standalone server serves every message and every consumer (name, filter, ack policy) with every message
 * still pending. Without prepare's recreation INT would lose every int.b message at the first start.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class ConsumerRecreationClusterTest {
  static final String KEY = "consumers back key";
  static final int INT_A = 30, INT_B = 20, LIM_A = 10;
  static final String EPHEMERAL = "EPH";
  /** B_FROM starts at this sequence: the last 10 of int.b, published after int.a's 30. */
  static final long FROM_SEQ = INT_A + INT_B - 9;
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private NatsCluster cluster;
  private NatsConfig config;
  private Path work, survivorStore, keyFile;
  private String survivor;
  /** "STREAM > CONSUMER" -> its config as the cluster served it. */
  private final Map<String, ConsumerConfiguration> live = new TreeMap<>();
  /** The consumers the survivor's disk lacks: memory durables and R1 durables on the lost nodes. */
  private final TreeSet<String> absent = new TreeSet<>();

  @BeforeParameterizedClassInvocation void incident() throws Exception {
    live.clear(); // one instance serves every generation (PER_CLASS): nothing of the last one may stay
    absent.clear();
    work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation when it is not installed
    config = NatsConfig.defaults().withEncryption(KEY, "chacha");
    cluster = NatsCluster.start(generation, config);
    String r1Stream = generation.atLeast(10) ? "LIM" : "INT", r1Filter = generation.atLeast(10) ? "lim.a" : "int.b";
    Map<String, String> r1ByNode = new TreeMap<>(); // node -> an R1 durable it leads
    try (Connection nc = cluster.connect("$G")) {
      Workload w = new Workload(nc);
      JetStreamManagement jsm = nc.jetStreamManagement();
      w.stream(StreamConfiguration.builder().name("INT").subjects("int.>").retentionPolicy(RetentionPolicy.Interest)
          .storageType(StorageType.File).replicas(3));
      w.stream(StreamConfiguration.builder().name("LIM").subjects("lim.>").storageType(StorageType.File).replicas(3));
      jsm.addOrUpdateConsumer("INT", ConsumerConfiguration.builder().durable("A_R3").filterSubject("int.a").build());
      jsm.addOrUpdateConsumer("INT", ConsumerConfiguration.builder().durable("B_MEM").filterSubject("int.b").memStorage(true).build());
      // Deliver policies a server applies to a consumer without state: "new" would start after the last message.
      jsm.addOrUpdateConsumer("INT", ConsumerConfiguration.builder().durable("B_NEW").filterSubject("int.b").memStorage(true)
          .deliverPolicy(DeliverPolicy.New).build());
      jsm.addOrUpdateConsumer("INT", ConsumerConfiguration.builder().durable("B_FROM").filterSubject("int.b").memStorage(true)
          .deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(FROM_SEQ).build());
      absent.addAll(List.of("INT > B_MEM", "INT > B_NEW", "INT > B_FROM"));
      // An ephemeral (a client's, gone with it) is not recreated; it wants only what A_R3 keeps too.
      jsm.addOrUpdateConsumer("INT", ConsumerConfiguration.builder().name(EPHEMERAL).filterSubject("int.a").memStorage(true)
          .inactiveThreshold(Duration.ofHours(1)).build());
      for (int i = 0; i < 30 && r1ByNode.size() < 3; i++) {
        String name = "R1_" + i;
        jsm.addOrUpdateConsumer(r1Stream, ConsumerConfiguration.builder().durable(name).filterSubject(r1Filter)
            .ackPolicy(AckPolicy.Explicit).numReplicas(1).build());
        String node = ClusterRecordsClusterTest.leader(() -> jsm.getConsumerInfo(r1Stream, name).getClusterInfo().getLeader());
        r1ByNode.putIfAbsent(node, name);
      }
      assertEquals(3, r1ByNode.size(), "R1 durables placed on every node: " + r1ByNode);
      survivor = cluster.nodes().get(0).name();
      w.publish("int.a", INT_A);
      w.publish("int.b", INT_B);
      w.publish("lim.a", LIM_A);
      for (String s : List.of("INT", "LIM")) {
        for (String c : jsm.getConsumerNames(s)) {
          ConsumerInfo info = jsm.getConsumerInfo(s, c);
          live.put(s + " > " + c, info.getConsumerConfiguration());
          if (c.startsWith("R1_") && !survivor.equals(info.getClusterInfo().getLeader())) absent.add(s + " > " + c);
        }
      }
      cluster.awaitReplicasCurrent();
    }
    cluster.awaitMetaRecords(survivor, KEY.getBytes(StandardCharsets.UTF_8), live.keySet());
    NatsServerProcess s = cluster.node(survivor);
    cluster.nodes().stream().filter(n -> n != s).forEach(NatsServerProcess::kill);
    s.stop();
    survivorStore = s.copyStoreTo(work.resolve("survivor"));
    keyFile = Files.writeString(work.resolve("key"), KEY);
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (cluster != null) cluster.close();
  }

  private Path copy(String name) throws Exception {
    Path copy = work.resolve(name);
    StoreBuilder.copyTree(survivorStore, copy);
    return copy;
  }

  @Test void theSurvivorLacksTheMemoryAndLostR1Durables() throws Exception {
    assertTrue(absent.size() >= 3, "a memory durable and R1 durables on both lost nodes: " + absent);
    for (String a : live.keySet()) {
      if (a.endsWith(" > " + EPHEMERAL)) continue; // memory storage: on no disk
      String[] p = a.split(" > ");
      Path dir = survivorStore.resolve("jetstream/$G/streams/" + p[0] + "/obs/" + p[1]);
      assertEquals(!absent.contains(a), Files.isDirectory(dir), a);
    }
  }

  @Test void everyMessageAndEveryConsumerIsServedStandalone() throws Exception {
    Path store = copy("prepared");
    String before = StoreBuilder.treeDigest(store);
    Cli.Result dry = Cli.run("prepare", "--dry-run", "--key-file", keyFile.toString(), store.toString());
    assertEquals(0, dry.exit(), dry.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "the dry run wrote");
    Cli.Result r = Cli.run("prepare", "--key-file", keyFile.toString(), store.toString());
    assertEquals(0, r.exit(), r.all());
    for (String a : absent) {
      String line = "consumer $G > " + a + ": recreated from its assignment";
      assertTrue(dry.out().contains(line), dry.out());
      assertTrue(r.out().contains(line), r.out());
    }
    assertTrue(r.out().contains(absent.size() + " recreated, 1 not"), r.out());
    assertTrue(r.out().contains("consumer $G > INT > " + EPHEMERAL + ": NOT recreated: an ephemeral consumer"), r.out());

    NatsServerProcess server = NatsServerProcess.standalone(generation, config, store, work.resolve("prepared-server"));
    try (server; Connection nc = server.connect("$G")) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      assertEquals(INT_A + INT_B, jsm.getStreamInfo("INT").getStreamState().getMsgCount(), "INT kept every message");
      assertEquals(LIM_A, jsm.getStreamInfo("LIM").getStreamState().getMsgCount());
      TreeSet<String> served = new TreeSet<>();
      for (String s : List.of("INT", "LIM")) jsm.getConsumerNames(s).forEach(c -> served.add(s + " > " + c));
      TreeSet<String> durables = new TreeSet<>(live.keySet());
      durables.remove("INT > " + EPHEMERAL);
      assertEquals(durables, served, "every durable consumer back");
      for (Map.Entry<String, ConsumerConfiguration> e : live.entrySet()) {
        if (!durables.contains(e.getKey())) continue;
        String[] p = e.getKey().split(" > ");
        ConsumerInfo info = jsm.getConsumerInfo(p[0], p[1]);
        ConsumerConfiguration want = e.getValue(), got = info.getConsumerConfiguration();
        assertEquals(want.getDurable(), got.getDurable(), e.getKey());
        assertEquals(want.getFilterSubject(), got.getFilterSubject(), e.getKey());
        assertEquals(want.getAckPolicy(), got.getAckPolicy(), e.getKey());
        long matching = "int.a".equals(want.getFilterSubject()) ? INT_A : p[1].equals("B_FROM") ? INT_A + INT_B - FROM_SEQ + 1
            : "int.b".equals(want.getFilterSubject()) ? INT_B : LIM_A;
        assertEquals(matching, info.getNumPending(), e.getKey() + ": nothing was acknowledged, everything is pending");
        assertEquals(0, info.getNumAckPending(), e.getKey());
      }
      assertFalse(jsm.getConsumerInfo("INT", "B_MEM").getConsumerConfiguration().isMemStorage(), "comes back with file storage");
    }
    assertEquals(List.of(), server.loadErrors(), "log: " + server.logFile());
  }

  @Test void undoTakesTheRecreatedConsumersAwayAgain() throws Exception {
    Path store = copy("undone");
    Map<String, String> before = UndoTest.snapshot(store.resolve("jetstream"));
    assertEquals(0, Cli.run("prepare", "--key-file", keyFile.toString(), store.toString()).exit());
    Cli.Result r = Cli.run("undo", store.toString());
    assertEquals(0, r.exit(), r.all());
    for (String a : absent) {
      String[] p = a.split(" > ");
      assertTrue(r.out().contains("aside    jetstream/$G/streams/" + p[0] + "/obs/" + p[1]), r.out());
    }
    UndoTest.assertSameTree(before, UndoTest.snapshot(store.resolve("jetstream")), "jetstream/ after undo");
  }

  @Test void withoutTheKeyPrepareRefusesAndForcedSaysWhichConsumersAreNotRecreated() throws Exception {
    Path store = copy("no-key");
    String before = StoreBuilder.treeDigest(store);
    Cli.Result refused = Cli.run("prepare", store.toString());
    assertNotEquals(0, refused.exit());
    assertTrue(refused.all().contains("is encrypted (meta.key present)"), refused.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "a refusal changes nothing");

    // Without the key the meta log does not open either: consumers assigned after the meta snapshot are not known.
    Cli.Result forced = Cli.run("prepare", "--dry-run", "--force", store.toString());
    boolean asOfSnapshot = forced.out().contains("the inventory is as of the snapshot");
    for (String a : absent) {
      assertTrue(asOfSnapshot || forced.out().contains("consumer $G > " + a + ": NOT recreated: its stream is encrypted and "
          + "its config did not open: pass the cluster's JetStream key (--key-file FILE) to recreate it"), forced.out());
    }
    assertFalse(forced.out().contains(": recreated from its assignment"), forced.out());
    assertEquals(before, StoreBuilder.treeDigest(store), "a dry run changes nothing");
  }
}
