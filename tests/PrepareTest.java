import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** prepare on stores that look like a survivor's: what it changes, what it keeps, where originals go. */
class PrepareTest {
  @TempDir Path tmp;

  /** The survivor of a 3-node cluster: R3 streams, explicit-R3 consumers, Raft state, a stream named _js_. */
  StoreBuilder survivor() {
    return new StoreBuilder(tmp.resolve("store"))
        .stream("$G", "ORDERS", StoreBuilder.streamJson("ORDERS", 3, "limits", ",\"placement\":{\"cluster\":\"C1\"}"))
        .consumer("$G", "ORDERS", "R3EXPL", 3)
        .consumer("$G", "ORDERS", "INHERIT", 0)
        .stream("$G", "WQ", StoreBuilder.streamJson("WQ", 3, "workqueue", ""))
        .consumer("$G", "WQ", "WORKER", 3)
        .stream("$G", "_js_", 3)
        .consumer("$G", "_js_", "_js_", 3)
        .raft("$SYS");
  }

  @Test
  void streamsGoToOneReplicaWithoutPlacementAndConsumersInherit() throws Exception {
    StoreBuilder store = survivor();

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertEquals(StoreBuilder.streamJson("ORDERS", 1, "limits", ""),
        StoreBuilder.read(store.streamDir("$G", "ORDERS").resolve("meta.inf")), "only num_replicas and placement change");
    assertEquals(StoreBuilder.consumerJson("R3EXPL", 0), StoreBuilder.read(store.consumerDir("$G", "ORDERS", "R3EXPL").resolve("meta.inf")));
    assertEquals(StoreBuilder.consumerJson("WORKER", 0), StoreBuilder.read(store.consumerDir("$G", "WQ", "WORKER").resolve("meta.inf")));
    assertEquals(StoreBuilder.consumerJson("INHERIT", 0), StoreBuilder.read(store.consumerDir("$G", "ORDERS", "INHERIT").resolve("meta.inf")));
    for (String stream : List.of("ORDERS", "WQ", "_js_")) {
      Path dir = store.streamDir("$G", stream);
      assertEquals(StoreBuilder.sum(stream, Files.readAllBytes(dir.resolve("meta.inf"))), StoreBuilder.read(dir.resolve("meta.sum")),
          "meta.sum of " + stream + " recomputed with the stream's key");
    }
    Path c = store.consumerDir("$G", "ORDERS", "R3EXPL");
    assertEquals(StoreBuilder.sum("ORDERS/R3EXPL", Files.readAllBytes(c.resolve("meta.inf"))), StoreBuilder.read(c.resolve("meta.sum")));
    assertTrue(r.out().contains("$G > ORDERS: num_replicas 3 -> 1, placement {\"cluster\":\"C1\"} removed"), r.out());
    assertTrue(r.out().contains("$G > ORDERS > R3EXPL: num_replicas 3 -> 0"), r.out());
    assertTrue(r.out().contains("Totals: 3 of 3 stream(s) and 3 of 4 consumer(s) changed, 1 Raft folder(s) moved."), r.out());
  }

  @Test
  void aStreamNamedJsIsDataAndOnlyTheAccountLevelRaftFolderMoves() throws Exception {
    StoreBuilder store = survivor().raft("SYSX").raft("ADKQFNVOXTPFG5O43BPWGHVPQN4JXRJCTMU6CRKBPZPB5ZURXXPIBIBW");
    Map<String, byte[]> raftBefore = StoreBuilder.files(store.jetstream().resolve("$SYS/_js_"));

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(Files.isDirectory(store.streamDir("$G", "_js_").resolve("msgs")), "the stream named _js_ stays");
    assertTrue(Files.exists(store.consumerDir("$G", "_js_", "_js_").resolve("o.dat")), "its consumer named _js_ stays");
    for (String account : List.of("$SYS", "SYSX", "ADKQFNVOXTPFG5O43BPWGHVPQN4JXRJCTMU6CRKBPZPB5ZURXXPIBIBW")) {
      assertFalse(Files.exists(store.jetstream().resolve(account).resolve("_js_")), account + "/_js_ moved out of jetstream/");
      Path moved = onlyRun(store).resolve("raft/jetstream").resolve(account).resolve("_js_");
      assertTrue(Files.isDirectory(moved), "Raft state of " + account + " kept at " + moved);
    }
    Map<String, byte[]> raftAfter = StoreBuilder.files(onlyRun(store).resolve("raft/jetstream/$SYS/_js_"));
    assertEquals(raftBefore.keySet(), raftAfter.keySet());
    raftBefore.forEach((k, v) -> assertArrayEquals(v, raftAfter.get(k), k));
  }

  @Test
  void everyOriginalByteStillExistsUnderTheStoreDirAndTheManifestSaysWhatChanged() throws Exception {
    StoreBuilder store = survivor();
    Map<String, Integer> before = StoreBuilder.contents(store.storeDir);

    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    Map<String, Integer> after = StoreBuilder.contents(store.storeDir);
    before.forEach((sha, n) -> assertTrue(after.getOrDefault(sha, 0) >= n, "an original file's bytes are gone: " + sha));
    Path run = onlyRun(store);
    JsonNode manifest = Json.MAPPER.readTree(run.resolve("manifest.json").toFile());
    assertEquals("complete", manifest.get("status").asText());
    JsonNode orders = find(manifest.get("changes"), "jetstream/$G/streams/ORDERS/meta.inf");
    assertEquals("num_replicas", orders.get("fields").get(0).get("field").asText());
    assertEquals(3, orders.get("fields").get(0).get("from").asInt());
    assertEquals(1, orders.get("fields").get(0).get("to").asInt());
    assertEquals("placement", orders.get("fields").get(1).get("field").asText());
    assertTrue(orders.get("fields").get(1).get("removed").asBoolean());
    assertEquals(StoreBuilder.read(store.streamDir("$G", "ORDERS").resolve("meta.sum")), orders.get("meta_sum").get("to").asText());
    Map<String, byte[]> originals = StoreBuilder.zipEntries(Files.readAllBytes(run.resolve("originals.zip")));
    assertArrayEquals(StoreBuilder.streamJson("ORDERS", 3, "limits", ",\"placement\":{\"cluster\":\"C1\"}").getBytes(),
        originals.get("jetstream/$G/streams/ORDERS/meta.inf"));
    assertEquals("originals.zip:jetstream/$G/streams/ORDERS/meta.inf", orders.get("original").asText());
    assertEquals("jetstream/$SYS/_js_", manifest.get("raft_dirs").get(0).get("from").asText());
  }

  @Test
  void unknownFieldsOrderEscapesAndHugeNumbersSurviveByteForByte() throws Exception {
    // Fields of 2.10-2.12 servers this tool does not know, a uint64 above Long.MAX_VALUE, nested
    // objects mentioning num_replicas, odd spacing: only the top-level members change.
    String extra = ",\"metadata\":{\"num_replicas\":\"7\",\"owner\":\"team \\\"a\\\" \\u003e b\"},\"compression\":\"s2\","
        + "\"first_seq\":18446744073709551615,\"subject_transform\":{\"src\":\"a.\\u003e\",\"dest\":\"b.\\u003e\"},"
        + "\"consumer_limits\":{},\"allow_msg_ttl\":true,\"max_bytes_huge\":1.0E+400,\"placement\":{\"cluster\":\"C1\",\"tags\":[\"az:1\"]} ";
    String original = StoreBuilder.streamJson("KV_config", 5, "limits", extra);
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "KV_config", original);

    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    String expected = StoreBuilder.streamJson("KV_config", 1, "limits", extra.substring(0, extra.indexOf(",\"placement\"")) + " ");
    assertEquals(expected, StoreBuilder.read(store.streamDir("$G", "KV_config").resolve("meta.inf")));
  }

  @Test
  void placementAsTheFirstMemberIsRemovedWithItsComma() throws Exception {
    String json = "{\"placement\":{\"cluster\":\"C1\"},\"name\":\"P\",\"num_replicas\":3}";
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "P", json);

    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    assertEquals("{\"name\":\"P\",\"num_replicas\":1}", StoreBuilder.read(store.streamDir("$G", "P").resolve("meta.inf")));
  }

  // --- members read as nats-server's Go decoder reads them -----------------------------------------

  @Test
  void aReplicaCountSpelledInAnotherCaseIsTheOneChanged() throws Exception {
    // Go matches member names to fields case-insensitively when none matches exactly: the server reads 3.
    String json = StoreBuilder.streamJson("ORDERS", 3, "limits", "").replace("\"num_replicas\"", "\"Num_Replicas\"");
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", json);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("stream   $G > ORDERS: Num_Replicas 3 -> 1"), r.out());
    assertEquals(json.replace("\"Num_Replicas\":3", "\"Num_Replicas\":1"), StoreBuilder.read(store.streamDir("$G", "ORDERS").resolve("meta.inf")));
    assertTrue(r.out().contains("stream restore " + store.storeDir + "-backup/ORDERS --replicas 3"), r.out());
  }

  @Test
  void namesMatchAsGoFoldsThemNotAsJavaDoes() throws Exception {
    // Go folds long s to s, so "num_replicaſ" is the replica count; a dotless i folds to nothing ASCII, so
    // "num_replıcas" is an unknown field and the stream, which the cluster ran as R1, is left as it is.
    String longS = StoreBuilder.streamJson("LONG_S", 3, "limits", "").replace("\"num_replicas\"", "\"num_replica\u017f\"");
    String dotless = StoreBuilder.streamJson("DOTLESS", 1, "limits", "").replace("\"num_replicas\":1", "\"num_repl\u0131cas\":3");
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "LONG_S", longS).stream("$G", "DOTLESS", dotless);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertEquals(longS.replace("\u017f\":3", "\u017f\":1"), StoreBuilder.read(store.streamDir("$G", "LONG_S").resolve("meta.inf")));
    assertEquals(dotless, StoreBuilder.read(store.streamDir("$G", "DOTLESS").resolve("meta.inf")), "a member the server does not read");
    assertTrue(r.out().contains("stream restore " + store.storeDir + "-backup/LONG_S --replicas 3"), r.out());
    assertTrue(r.out().contains("stream restore " + store.storeDir + "-backup/DOTLESS --replicas 1"), r.out());
  }

  @Test
  void ofDuplicateReplicaCountsTheLastOneTheServerKeepsIsChanged() throws Exception {
    String json = StoreBuilder.streamJson("ORDERS", 1, "limits", ",\"NUM_REPLICAS\":3");
    String nullLast = StoreBuilder.streamJson("NULL_LAST", 3, "limits", ",\"num_replicas\":null"); // null leaves an int as it was
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", json)
        .stream("$G", "KEEPS_ONE", StoreBuilder.streamJson("KEEPS_ONE", 3, "limits", ",\"num_replicas\":1"))
        .stream("$G", "NULL_LAST", nullLast);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertEquals(json.replace("\"NUM_REPLICAS\":3", "\"NUM_REPLICAS\":1"), StoreBuilder.read(store.streamDir("$G", "ORDERS").resolve("meta.inf")));
    assertEquals(nullLast.replace("\"num_replicas\":3", "\"num_replicas\":1"), StoreBuilder.read(store.streamDir("$G", "NULL_LAST").resolve("meta.inf")));
    assertTrue(r.out().contains("stream restore " + store.storeDir + "-backup/NULL_LAST --replicas 3"), r.out());
    assertFalse(r.out().contains("KEEPS_ONE: num_replicas"), "the server reads 1 there: nothing to change\n" + r.out());
    assertTrue(r.out().contains("stream restore " + store.storeDir + "-backup/KEEPS_ONE --replicas 1"), r.out());
  }

  @Test
  void duplicatePlacementsAreAllRemovedAndTheObjectStaysValid() throws Exception {
    String json = "{\"placement\":{\"cluster\":\"C1\"},\"Placement\":{\"tags\":[\"a\"]},"
        + StoreBuilder.streamJson("ORDERS", 3, "limits", ",\"placement\":{\"cluster\":\"C2\"}").substring(1);
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", json);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    String after = StoreBuilder.read(store.streamDir("$G", "ORDERS").resolve("meta.inf"));
    assertEquals(StoreBuilder.streamJson("ORDERS", 1, "limits", ""), after);
    assertTrue(r.out().contains("placement {\"cluster\":\"C1\"} removed, Placement {\"tags\":[\"a\"]} removed"), r.out());
  }

  @Test
  void dryRunPrintsThePlanAndLeavesTheStoreByteIdentical() {
    StoreBuilder store = survivor();
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("prepare", "--dry-run", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "a dry run writes nothing");
    assertTrue(r.out().contains("Dry run: nothing is written."), r.out());
    assertTrue(r.out().contains("$G > WQ > WORKER: num_replicas 3 -> 0"), r.out());
    assertTrue(r.out().contains("jetstream/$SYS/_js_: would be moved to js-recover-backup/<run>/raft/"), r.out());
    assertTrue(r.out().contains("would change"), r.out());
  }

  @Test
  void aSecondRunChangesNothingAndStillPrintsTheRestoreCommandsWithOriginalReplicas() {
    StoreBuilder store = survivor();
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    String afterFirst = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result second = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, second.exit(), second.all());
    assertEquals(afterFirst, StoreBuilder.treeDigest(store.storeDir), "the second run wrote something");
    assertTrue(second.out().contains("already prepared"), second.out());
    assertTrue(second.out().contains("stream restore " + store.storeDir + "-backup/ORDERS --replicas 3"), second.out());
    assertTrue(second.out().contains("Kept " + store.storeDir.resolve("recovery.conf")), second.out());
  }

  @Test
  void nextStepsNameTheServerCommandTheBackupAndEachRestoreWithItsReplicaCount() {
    StoreBuilder store = survivor().stream("$G", "SMALL", 1);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    String backup = store.storeDir + "-backup";
    assertTrue(r.out().contains("nats-server -c " + store.storeDir.resolve("recovery.conf")), r.out());
    assertTrue(r.out().contains("js-recover verify --keep-running " + store.storeDir), r.out());
    assertTrue(r.out().matches("(?s).*nats --server nats://127\\.0\\.0\\.1:\\d+ account backup " + backup + " -f.*"), r.out());
    assertTrue(r.out().contains("stream restore " + backup + "/WQ --replicas 3"), r.out());
    assertTrue(r.out().contains("stream restore " + backup + "/SMALL --replicas 1"), r.out());
    assertTrue(r.out().contains("stream restore " + backup + "/_js_ --replicas 3"), r.out());
  }

  @Test
  void nextStepsAreVerifyThenRestoreWithEachStreamsOriginalReplicaCountThenTheNatsCliAsTheAlternative() {
    StoreBuilder store = survivor().stream("$G", "SMALL", 1);
    StoreBuilder accounts = new StoreBuilder(tmp.resolve("accounts")).stream("A", "ORDERS", 3).stream("B", "EVENTS", 1);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());
    Cli.Result several = Cli.run("prepare", accounts.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    String steps = r.out().substring(r.out().indexOf("Next steps:"));
    assertTrue(steps.contains("\n       js-recover verify " + store.storeDir + "\n"), steps);
    assertTrue(steps.contains("\n       js-recover restore --to <new-cluster> " + store.storeDir + "\n"), steps);
    String counts = steps.lines().filter(l -> l.contains("original replica counts: ")).findFirst().orElseThrow();
    for (String each : List.of("ORDERS 3", "WQ 3", "_js_ 3", "SMALL 1")) assertTrue(counts.contains(each), counts);
    assertTrue(steps.indexOf("js-recover restore") < steps.indexOf("Or with the nats CLI"), steps);
    assertEquals(0, several.exit(), several.all());
    assertTrue(several.out().contains("js-recover restore --account A --to <new-cluster> " + accounts.storeDir + "\n"
        + "         original replica counts: ORDERS 3\n"), several.out());
    assertTrue(several.out().contains("js-recover restore --account B --to <new-cluster> " + accounts.storeDir + "\n"
        + "         original replica counts: EVENTS 1\n"), several.out());
  }

  @Test
  void filesKeepTheirModeOwnerAndGroup() throws Exception {
    StoreBuilder store = survivor();
    Path meta = store.streamDir("$G", "ORDERS").resolve("meta.inf");
    Path sum = store.streamDir("$G", "ORDERS").resolve("meta.sum");
    for (Path p : List.of(meta, sum)) Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r-----"));
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      // What a root-run prepare must not do: leave files the nats user (here uid 4242) cannot read.
      for (Path p : List.of(meta, sum)) {
        Files.setAttribute(p, "unix:uid", 4242);
        Files.setAttribute(p, "unix:gid", 4343);
      }
    }

    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    for (Path p : List.of(meta, sum)) {
      assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
      if (root) {
        assertEquals(4242, Files.getAttribute(p, "unix:uid"), p.toString());
        assertEquals(4343, Files.getAttribute(p, "unix:gid"), p.toString());
      }
    }
  }

  static Path onlyRun(StoreBuilder store) throws Exception {
    try (Stream<Path> runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      List<Path> all = runs.toList();
      assertEquals(1, all.size(), "one run folder: " + all);
      return all.get(0);
    }
  }

  static JsonNode find(JsonNode changes, String metaInf) {
    for (JsonNode c : changes) if (c.get("meta_inf").asText().equals(metaInf)) return c;
    throw new AssertionError("no change for " + metaInf + " in " + changes);
  }
}
