import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster-record readers on the Raft folders real clusters left on their survivor (tests/fixtures/cluster-*):
 * the meta group's inventory must name every stream and consumer the cluster served before the incident, with
 * its Raft group and peers, and the stream logs must hold the messages the cluster stored.
 */
class ClusterRecordsTest {
  static Path raft(String version) {
    return Path.of("tests/fixtures/cluster-" + version + "/store/jetstream/$SYS/_js_");
  }

  static JsonNode truth(String version) throws Exception {
    return new ObjectMapper().readTree(Files.readAllBytes(Path.of("tests/fixtures/cluster-" + version + "/TRUTH.json")));
  }

  @Test void nodeIdsAreTheServersHashOfTheirNames() throws Exception {
    // peers.idx of every fixture lists the ids of n1, n2 and n3 (the servers of capture.java)
    Raft.Group meta = Raft.read(raft("2.9.10").resolve("_meta_"), null);
    assertEquals(new TreeSet<>(List.of(Raft.nodeId("n1"), Raft.nodeId("n2"), Raft.nodeId("n3"))), new TreeSet<>(meta.peers().ids()));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"2.9.10", "2.10.27", "2.15.1"})
  void theInventoryListsEveryStreamAndConsumerTheClusterServed(String version) throws Exception {
    Raft.Group meta = Raft.read(raft(version).resolve("_meta_"), null);
    assertEquals(List.of(), meta.damage());
    assertNotNull(meta.snapshot(), "a cleanly stopped survivor has a meta snapshot");
    ClusterInventory inv = ClusterInventory.of(meta);
    assertEquals(List.of(), inv.notes);
    assertEquals(3, inv.expectedPeers);
    List<String> want = new ArrayList<>(), got = new ArrayList<>();
    for (JsonNode s : truth(version).path("streams")) {
      List<String> nodes = new ArrayList<>();
      s.path("nodes").forEach(n -> nodes.add(Raft.nodeId(n.asText())));
      want.add(s.path("account").asText() + " > " + s.path("name").asText() + " peers " + new TreeSet<>(nodes));
      for (JsonNode c : s.path("consumers")) want.add(s.path("account").asText() + " > " + s.path("name").asText() + " > " + c.path("name").asText());
    }
    for (ClusterAsset s : inv.streams.values()) {
      got.add(s.account() + " > " + s.stream() + " peers " + new TreeSet<>(s.peers()));
      assertTrue(s.group().startsWith(s.peers().size() == 1 ? "S-R1F-" : "S-R3F-"), s.group());
      for (ClusterAsset c : inv.consumersOf(s)) got.add(c.account() + " > " + c.stream() + " > " + c.consumer());
    }
    want.sort(null);
    got.sort(null);
    assertEquals(want, got);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"2.9.10", "2.10.27", "2.15.1"})
  void streamLogsHoldTheMessagesTheClusterStored(String version) throws Exception {
    ClusterInventory inv = ClusterInventory.of(Raft.read(raft(version).resolve("_meta_"), null));
    int decoded = 0;
    for (JsonNode s : truth(version).path("streams")) {
      ClusterAsset a = inv.streams.get(ClusterInventory.key(s.path("account").asText(), s.path("name").asText()));
      Path dir = raft(version).resolve(a.group());
      if (!Files.isDirectory(dir)) continue; // R1: no Raft folder
      GroupLog log = GroupLog.of(Raft.read(dir, null));
      assertEquals(List.of(), log.damage, a.stream());
      for (GroupLog.StreamMsg m : log.messages) {
        for (JsonNode sample : s.path("samples")) {
          if (sample.path("seq").asLong() != m.seq()) continue;
          assertEquals(sample.path("subject").asText(), m.subject(), a.stream() + " seq " + m.seq());
          assertEquals(sample.path("data").asText(), Base64.getEncoder().encodeToString(m.payload()), a.stream() + " seq " + m.seq());
          decoded++;
        }
      }
    }
    // 2.10.27's survivor kept its stream logs after their snapshots; the others compacted them on the clean stop
    if (version.equals("2.10.27")) assertTrue(decoded > 50, decoded + " logged messages matched");
  }

  @Test void inspectShowsTheClusterAsTheSurvivorLastKnewIt(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(Path.of("tests/fixtures/cluster-2.15.1/store"), store);
    JsonNode truth = truth("2.15.1");
    String survivor = null;
    int assets = 0;
    for (JsonNode s : truth.path("streams")) {
      if (s.path("name").asText().equals("SINGLE")) survivor = s.path("nodes").get(0).asText();
      assets += 1 + s.path("consumers").size();
    }
    Cli.Result table = Cli.run("inspect", store.toString());
    assertEquals(0, table.exit(), table.all());
    assertTrue(table.out().contains("The meta group expects 3 peer(s)"), table.out());
    assertTrue(table.out().contains("electing a leader needs 2 of them to answer"), table.out());
    assertTrue(table.out().contains("This survivor is " + Raft.nodeId(survivor) + ", 1 of 3: it cannot elect a meta leader alone"), table.out());

    JsonNode cluster = new ObjectMapper().readTree(Cli.run("inspect", "--json", store.toString()).out()).path("cluster");
    assertEquals(3, cluster.path("meta").path("expected_peers").asInt());
    assertEquals(2, cluster.path("meta").path("quorum").asInt());
    assertEquals(Raft.nodeId(survivor), cluster.path("meta").path("self").asText());
    assertEquals(assets, cluster.path("assets").size());
    for (JsonNode a : cluster.path("assets")) {
      assertTrue(a.path("on_this_disk").asBoolean(), a.toString());
      assertTrue(a.path("peers").toString().contains(Raft.nodeId(survivor)), a.toString());
      assertFalse(a.path("raft_group").asText().isEmpty(), a.toString());
      assertTrue(a.path("config").isObject(), a.toString());
    }

    // prepare moves _js_ into its backup: inspect still reads the records there
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Cli.Result after = Cli.run("inspect", store.toString());
    assertTrue(after.out().contains("Cluster records (js-recover-backup/"), after.out());
    assertTrue(after.out().contains("This survivor is " + Raft.nodeId(survivor)), after.out());
  }

  @Test void aStandaloneStoreHasNoClusterRecords(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(Path.of("tests/fixtures/cluster-2.15.1/store/jetstream/$G"), store.resolve("jetstream/$G"));
    Cli.Result table = Cli.run("inspect", store.toString());
    assertEquals(0, table.exit(), table.all());
    assertFalse(table.out().contains("Cluster records"), table.out());
    assertTrue(new ObjectMapper().readTree(Cli.run("inspect", "--json", store.toString()).out()).path("cluster").isNull());
  }

  @Test void aDamagedMetaSnapshotIsNamedAndNothingChanges(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(Path.of("tests/fixtures/cluster-2.15.1/store"), store);
    Path snap = store.resolve("jetstream/$SYS/_js_/_meta_/snapshots/snap.1.24");
    byte[] b = Files.readAllBytes(snap);
    b[b.length / 2] ^= 0x40;
    Files.write(snap, b);
    String before = StoreBuilder.treeDigest(store);
    Cli.Result r = Cli.run("inspect", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("note: _meta_/snapshots: snap.1.24: checksum mismatch"), r.out());
    assertTrue(r.out().contains("note: no meta snapshot: the inventory holds only what the log after it still has"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store), "inspect changed the store");
  }

  /** The inventory a meta snapshot holding {@code json} (s2-compressed, as the server writes it) gives. */
  private static ClusterInventory inventoryOf(String json) {
    Raft.Snapshot snap = new Raft.Snapshot("snap.1.5", 1, 5, new Raft.Peers(3, ClusterStoreGenerator.PEERS),
        ClusterStoreGenerator.s2Block(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    return ClusterInventory.of(new Raft.Group("_meta_", Path.of("_meta_"), snap, null, null, List.of(), List.of(), false));
  }

  private static final String ASSIGNMENT = "{\"client\":{\"acc\":\"ORDERS_ACC\"},\"stream\":{\"name\":\"ORDERS\","
      + "\"max_msgs\":18446744073709551615,\"num_replicas\":3},\"group\":{\"name\":\"S-R3F-x1\",\"peers\":[],\"store\":\"file\"},"
      + "\"Consumers\":[{\"name\":\"c1\",\"stream\":\"ORDERS\",\"client\":{\"acc\":\"ORDERS_ACC\"},"
      + "\"consumer\":{\"durable_name\":\"c1\",\"mem_storage\":true},\"group\":{\"name\":\"C-R3F-x2\",\"store\":\"file\"}}]}";

  @Test void anAssignmentsConfigComesBackWithEveryNumberAsTheSnapshotHoldsIt() {
    ClusterInventory inv = inventoryOf("[" + ASSIGNMENT + "]");
    assertEquals(List.of(), inv.notes);
    ClusterAsset orders = inv.streams.get(ClusterInventory.key("ORDERS_ACC", "ORDERS"));
    assertEquals(new java.math.BigInteger("18446744073709551615"), orders.config().path("max_msgs").bigIntegerValue(), "a uint64 limit");
    ClusterAsset c1 = inv.consumersOf(orders).get(0);
    assertEquals("c1", c1.config().path("durable_name").asText());
    assertTrue(c1.memory(), "a consumer whose config says mem_storage lives in memory, whatever its group's store says");
  }

  @Test void aMetaSnapshotWhoseJsonBreaksOffIsNamedAndAddsNoneOfItsAssignments() {
    ClusterInventory inv = inventoryOf("[" + ASSIGNMENT + ",{\"client\":");
    assertTrue(inv.streams.isEmpty() && inv.consumers.isEmpty(), "the assignments before the break are not taken either");
    assertEquals(1, inv.notes.size(), inv.notes.toString());
    assertTrue(inv.notes.get(0).startsWith("snap.1.5: snapshot JSON does not parse: "), inv.notes.toString());
  }

  @Test void aMetaSnapshotThatIsNoListOfAssignmentsIsNamed() {
    ClusterInventory inv = inventoryOf("{\"ORDERS\":" + ASSIGNMENT + "}");
    assertTrue(inv.streams.isEmpty());
    assertEquals(List.of("snap.1.5: snapshot JSON is not a list of stream assignments"), inv.notes);
  }

  @Test void aSnapshotOfAClusterWithoutStreamsIsAnEmptyInventory() {
    // 2.15 writes snap.<t>.<i> with no data at all while the cluster holds no stream: header, peer state, hash
    byte[] peers = {3, 0, 0, 0, 1, 0, 0, 0, 'f', 'j', 'F', 'y', 'E', 'j', 'c', '1', 0, 0};
    java.nio.ByteBuffer file = java.nio.ByteBuffer.allocate(20 + peers.length + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    file.putLong(1).putLong(2).putInt(peers.length).put(peers);
    byte[] bytes = file.array();
    long hash = HighwayHash64.keyedBy("_meta_").hashBytes(bytes, 0, bytes.length - 8);
    java.nio.ByteBuffer.wrap(bytes, bytes.length - 8, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(hash);
    Outcome<Raft.Snapshot> snap = Raft.snapshot("_meta_", "snap.1.2", bytes);
    assertTrue(snap.ok(), String.valueOf(snap.damage()));
    assertEquals(List.of("fjFyEjc1"), snap.value().peers().ids());
    ClusterInventory inv = ClusterInventory.of(new Raft.Group("_meta_", Path.of("_meta_"), snap.value(), null, null, List.of(), List.of(), false));
    assertEquals(List.of(), inv.notes);
    assertTrue(inv.streams.isEmpty());
    assertEquals(3, inv.expectedPeers);
  }
}
