import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * prepare gives back every consumer the cluster's records list for a stream on this disk but that has no folder
 * here, on the stores real clusters left (tests/fixtures/cluster-*), with consumer folders taken away as an R1
 * durable on a lost node or a memory durable leaves them: its config from the assignment, a right meta.sum, and a
 * position that loses nothing (the consumer's own Raft log on this node, else the stream's first message).
 */
class ConsumerRecreationTest {
  @TempDir Path tmp;

  static Path fixture(String version) { return Path.of("tests/fixtures/cluster-" + version + "/store"); }

  /** A copy of a fixture whose named consumers lost their folders ("STREAM/CONSUMER"). */
  Path survivorWithout(String version, String... consumers) throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(fixture(version), store);
    for (String c : consumers) deleteTree(consumerDir(store, c));
    return store;
  }

  static Path consumerDir(Path store, String streamSlashConsumer) {
    String[] p = streamSlashConsumer.split("/");
    return store.resolve("jetstream/$G/streams/" + p[0] + "/obs/" + p[1]);
  }

  static void deleteTree(Path root) throws Exception {
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }

  static ConsumerState state(Path consumerDir) throws Exception {
    Outcome<ConsumerState> st = ConsumerState.decode(Files.readAllBytes(consumerDir.resolve("o.dat")), null);
    assertTrue(st.ok(), consumerDir + ": " + st.damage());
    return st.value();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"2.9.10", "2.10.27", "2.15.1"})
  void aConsumerOnlyTheRecordsListComesBackWithItsConfigAndNoAckItsLogDoesNotProve(String version) throws Exception {
    Path original = consumerDir(fixture(version), "EVENTS/AUDIT");
    Path store = survivorWithout(version, "EVENTS/AUDIT");

    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("consumer $G > EVENTS > AUDIT: recreated from its assignment"), r.out());
    assertTrue(r.out().contains("1 recreated, 0 not"), r.out());

    Path dir = consumerDir(store, "EVENTS/AUDIT");
    byte[] metaInf = Files.readAllBytes(dir.resolve("meta.inf"));
    assertEquals(HighwayHash64.metaSum("EVENTS/AUDIT", metaInf), Files.readString(dir.resolve("meta.sum")));
    // The config the server had stored on this node, member for member (Created is the assignment's).
    ObjectNode want = (ObjectNode) new ObjectMapper().readTree(Files.readAllBytes(original.resolve("meta.inf")));
    ObjectNode got = (ObjectNode) new ObjectMapper().readTree(metaInf);
    want.remove("Created");
    assertTrue(got.path("Created").asText().startsWith("20"), got.toString());
    got.remove("Created");
    assertEquals(want, got);

    // Its Raft log proves the acks up to its known commit index: the floor is at most the one the server stored
    // (the last ack lies beyond the commit index this node knew, so it is delivered again), never above it.
    ConsumerState stored = state(original), recreated = state(dir);
    assertTrue(recreated.ackFloor().streamSeq() <= stored.ackFloor().streamSeq(), recreated + " vs " + stored);
    assertTrue(recreated.ackFloor().streamSeq() > 0, "the log's acks were applied: " + recreated);
    assertEquals(stored.delivered(), recreated.delivered());

    JsonNode manifest = manifest(store);
    JsonNode entry = manifest.path("recreated_consumers").get(0);
    assertEquals("jetstream/$G/streams/EVENTS/obs/AUDIT", entry.path("folder").asText());
    assertTrue(entry.path("delivery_from").asText().startsWith("position from its Raft "), entry.toString());
    assertEquals(recreated.ackFloor().streamSeq(), entry.path("position").path("ack_floor_stream_seq").asLong());
  }

  @Test void aConsumerWithoutARecordOfItsPositionStartsAtTheStreamsFirstMessage() throws Exception {
    // SINGLE_C's stream is R1: no Raft folder on any node holds its position.
    Path store = survivorWithout("2.15.1", "SINGLE/SINGLE_C");
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("consumer $G > SINGLE > SINGLE_C: recreated from its assignment"), r.out());
    assertTrue(r.out().contains("delivery from the stream's first message (no record of its position on this node)"), r.out());
    ConsumerState st = state(consumerDir(store, "SINGLE/SINGLE_C"));
    assertEquals(new ConsumerState.SeqPair(0, 0), st.delivered());
    assertEquals(new ConsumerState.SeqPair(0, 0), st.ackFloor());

    JsonNode consumers = new ObjectMapper().readTree(Cli.run("inspect", "--json", store.toString()).out()).path("streams");
    long numPending = -1;
    for (JsonNode s : consumers) {
      for (JsonNode c : s.path("consumers")) {
        if (c.path("name").asText().equals("SINGLE_C")) numPending = c.path("num_pending").asLong();
      }
    }
    assertEquals(5, numPending, "every message of SINGLE is delivered to it again");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"2.9.10", "2.10.27", "2.15.1"})
  void replayingAConsumersRaftSnapshotAndLogGivesTheStateTheServerStored(String version) throws Exception {
    Path raft = fixture(version).resolve("jetstream/$SYS/_js_");
    ClusterInventory inv = ClusterInventory.of(Raft.read(raft.resolve("_meta_"), null));
    int checked = 0;
    for (ClusterAsset c : inv.consumers.values()) {
      Path group = raft.resolve(c.group());
      if (!Files.isDirectory(group)) continue;
      Raft.Group g = Raft.read(group, null);
      ConsumerState.SeqPair zero = new ConsumerState.SeqPair(0, 0);
      ConsumerState base = g.snapshot() != null ? ConsumerState.decode(g.snapshot().data(), null).value()
          : !g.log().isEmpty() && g.log().get(0).index() == 1 ? new ConsumerState(zero, zero, List.of(), java.util.Collections.emptySortedMap())
          : null;
      if (base == null) continue; // a compacted log without its snapshot tells no whole history
      ConsumerState replayed = ConsumerLogReplay.applied(base, GroupLog.of(g).consumerUpdates, c.config(), version.equals("2.9.10"));
      ConsumerState stored = state(fixture(version).resolve("jetstream/" + c.account() + "/streams/" + c.stream() + "/obs/" + c.consumer()));
      assertEquals(stored.delivered(), replayed.delivered(), c.stream() + " > " + c.consumer());
      assertEquals(stored.ackFloor(), replayed.ackFloor(), c.stream() + " > " + c.consumer());
      assertEquals(stored.pending().stream().map(ConsumerState.Pending::streamSeq).toList(),
          replayed.pending().stream().map(ConsumerState.Pending::streamSeq).toList(), c.stream() + " > " + c.consumer());
      checked++;
    }
    assertTrue(checked >= 5, "consumers with a snapshot or a whole log: " + checked);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"2.9.10", "2.10.27", "2.15.1"})
  void oDatIsWrittenAsTheServerWritesIt(String version) throws Exception {
    int same = 0;
    try (Stream<Path> all = Files.walk(fixture(version))) {
      for (Path odat : all.filter(p -> p.getFileName().toString().equals("o.dat")).toList()) {
        byte[] file = Files.readAllBytes(odat);
        ConsumerState st = ConsumerState.decode(file, null).value();
        byte[] again = ConsumerStateWriter.encode(st, 1_800_000_000L);
        assertEquals(st, ConsumerState.decode(again, null).value(), odat.toString());
        if (st.pending().isEmpty()) { // with pending, the server's base time is the time it wrote
          assertArrayEquals(file, again, odat.toString());
          same++;
        }
      }
    }
    assertTrue(same > 0, "no o.dat without pending messages to compare byte for byte");
  }

  @Test void dryRunSaysWhatWouldBeRecreatedAndWritesNothing() throws Exception {
    Path store = survivorWithout("2.10.27", "EVENTS/AUDIT", "SINGLE/SINGLE_C");
    String before = StoreBuilder.treeDigest(store);
    Cli.Result r = Cli.run("prepare", "--dry-run", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("consumer $G > EVENTS > AUDIT: recreated from its assignment"), r.out());
    assertTrue(r.out().contains("2 would be recreated, 0 not"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store));
  }

  @Test void undoTakesTheRecreatedConsumersAway() throws Exception {
    Path store = survivorWithout("2.9.10", "EVENTS/AUDIT", "SINGLE/SINGLE_C");
    Map<String, String> before = UndoTest.snapshot(store.resolve("jetstream"));
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    assertTrue(Files.isDirectory(consumerDir(store, "EVENTS/AUDIT")));

    Cli.Result dry = Cli.run("undo", "--dry-run", store.toString());
    assertTrue(dry.out().contains("aside    jetstream/$G/streams/EVENTS/obs/AUDIT (a consumer prepare recreated"), dry.out());
    Cli.Result r = Cli.run("undo", store.toString());
    assertEquals(0, r.exit(), r.all());
    UndoTest.assertSameTree(before, UndoTest.snapshot(store.resolve("jetstream")), "jetstream/ after undo");
    // Kept, not deleted: the recreated folder is in the undo folder.
    try (Stream<Path> all = Files.walk(store.resolve(Backups.DIR))) {
      assertTrue(all.anyMatch(p -> p.endsWith("created/jetstream/$G/streams/EVENTS/obs/AUDIT/o.dat")));
    }
  }

  @Test void theHalfBuiltFolderOfAKilledRunIsMovedAsideAndTheConsumerRecreated() throws Exception {
    // A run killed while building the folder leaves it beside obs/, never in it: the server would read it as a consumer.
    Path store = survivorWithout("2.15.1", "EVENTS/AUDIT");
    Path halfBuilt = store.resolve("jetstream/$G/streams/EVENTS/AUDIT.4242" + StoreWalker.TEMP_SUFFIX);
    Files.createDirectories(halfBuilt);
    Files.writeString(halfBuilt.resolve("meta.inf"), "{\"Name\":\"AUD");
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("leftover jetstream/$G/streams/EVENTS/AUDIT.4242" + StoreWalker.TEMP_SUFFIX), r.out());
    assertFalse(Files.exists(halfBuilt));
    assertTrue(Files.isRegularFile(consumerDir(store, "EVENTS/AUDIT").resolve("o.dat")));
    try (Stream<Path> left = Files.list(store.resolve("jetstream/$G/streams/EVENTS"))) {
      assertEquals(List.of(), left.filter(p -> p.toString().endsWith(StoreWalker.TEMP_SUFFIX)).toList());
    }
  }

  @Test void aPositionBeyondTheStreamHereIsCutToItsLastSequence() throws Exception {
    // A survivor whose stream lags the consumer's log: its state must not skip the messages stored after recovery.
    Path store = survivorWithout("2.15.1", "EVENTS/AUDIT");
    deleteTree(store.resolve("jetstream/$G/streams/EVENTS/msgs"));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("cut to the stream's last sequence 0 here"), r.out());
    ConsumerState st = state(consumerDir(store, "EVENTS/AUDIT"));
    assertEquals(0, st.delivered().streamSeq());
    assertEquals(0, st.ackFloor().streamSeq());
    assertEquals(List.of(), st.pending());
  }

  @Test void aSecondPrepareFindsTheRecreatedConsumersInPlace() throws Exception {
    Path store = survivorWithout("2.15.1", "EVENTS/AUDIT", "SINGLE/SINGLE_C");
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    String after = StoreBuilder.treeDigest(store.resolve("jetstream"));
    Cli.Result again = Cli.run("prepare", store.toString());
    assertEquals(0, again.exit(), again.all());
    assertTrue(again.out().contains("is already prepared"), again.out());
    assertEquals(after, StoreBuilder.treeDigest(store.resolve("jetstream")));
  }

  @Test void undoAlsoMovesAsideTheHalfBuiltFolderOfAKilledRun() throws Exception {
    Path store = survivorWithout("2.15.1", "EVENTS/AUDIT");
    Map<String, String> before = UndoTest.snapshot(store.resolve("jetstream"));
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    // as a run killed while building the folder leaves it (its manifest names the consumer)
    Path halfBuilt = store.resolve("jetstream/$G/streams/EVENTS/AUDIT.4242" + StoreWalker.TEMP_SUFFIX);
    Files.createDirectories(halfBuilt);
    Files.writeString(halfBuilt.resolve("meta.inf"), "{");
    Cli.Result r = Cli.run("undo", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("aside    jetstream/$G/streams/EVENTS/AUDIT.4242" + StoreWalker.TEMP_SUFFIX + " (temp file of a killed run)"), r.out());
    UndoTest.assertSameTree(before, UndoTest.snapshot(store.resolve("jetstream")), "jetstream/ after undo");
  }

  @Test void somethingInTheConsumersPlaceIsLeftAsItIs() throws Exception {
    Path store = survivorWithout("2.15.1", "EVENTS/AUDIT");
    Path squatter = consumerDir(store, "EVENTS/AUDIT");
    Files.writeString(squatter, "not a consumer folder");
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("consumer $G > EVENTS > AUDIT: NOT recreated: jetstream/$G/streams/EVENTS/obs/AUDIT exists but "
        + "is no consumer folder; left as is"), r.out());
    assertTrue(r.out().contains("0 recreated, 1 not"), r.out());
    assertEquals("not a consumer folder", Files.readString(squatter));
    assertEquals(0, manifest(store).path("recreated_consumers").size());
  }

  @Test void undoRefusesAManifestWhoseRecreatedConsumerPointsOutsideTheStore() throws Exception {
    Path store = survivorWithout("2.15.1", "EVENTS/AUDIT");
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Path manifest = manifestPath(store);
    ObjectNode m = (ObjectNode) new ObjectMapper().readTree(manifest.toFile());
    ((ObjectNode) m.path("recreated_consumers").get(0)).put("folder", "../elsewhere/obs/AUDIT");
    Files.write(manifest, new ObjectMapper().writeValueAsBytes(m));
    String before = StoreBuilder.treeDigest(store);
    Cli.Result r = Cli.run("undo", store.toString());
    assertNotEquals(0, r.exit());
    assertTrue(r.all().contains("is damaged: a recreated consumer names no consumer folder inside jetstream/"), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store));
  }

  @Test void aStoreWithEveryConsumerOnDiskGetsNoneRecreated() throws Exception {
    Path store = survivorWithout("2.15.1");
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("0 consumer(s) of the streams on this disk have no folder here."), r.out());
    assertFalse(r.out().contains("recreated from"), r.out());
  }

  static Path manifestPath(Path store) throws Exception {
    try (Stream<Path> runs = Files.list(store.resolve(Backups.DIR))) {
      return runs.map(d -> d.resolve(Backups.MANIFEST)).filter(Files::isRegularFile).findFirst().orElseThrow();
    }
  }

  static JsonNode manifest(Path store) throws Exception { return new ObjectMapper().readTree(manifestPath(store).toFile()); }
}
