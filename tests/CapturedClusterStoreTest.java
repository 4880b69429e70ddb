import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runbook on the store a real 3-node nats-server 2.9.10 cluster left on its survivor
 * (tests/fixtures/cluster-2.9.10): inspect, prepare, verify, then a standalone server serves what
 * the cluster served (TRUTH.json), R3 streams, explicit-R3 consumers and the stream named _js_ included.
 */
@ExtendWith(NatsServerInstalled.class)
class CapturedClusterStoreTest {
  static final Path FIXTURE = Path.of("tests/fixtures/cluster-2.9.10");

  @TempDir Path tmp;

  /** Step 2 of the runbook: work on a copy, never on the survivor's own disk. */
  Path copyOfSurvivor() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE.resolve("store"), store);
    return store;
  }

  static JetStreamTruth clusterTruth() throws Exception {
    return JetStreamTruth.fromJson(Files.readString(FIXTURE.resolve("TRUTH.json")));
  }

  @Test
  void everyMetaSumTheServerWroteMatchesOurHighwayHash() throws Exception {
    int pairs = 0;
    try (var walk = Files.walk(FIXTURE.resolve("store/jetstream/$G/streams"))) {
      for (Path sum : walk.filter(p -> p.getFileName().toString().equals("meta.sum")).toList()) {
        Path dir = sum.getParent();
        String key = dir.getParent().getFileName().toString().equals("obs")
            ? dir.getParent().getParent().getFileName() + "/" + dir.getFileName() : dir.getFileName().toString();
        assertEquals(Files.readString(sum), HighwayHash64.metaSum(key, Files.readAllBytes(dir.resolve("meta.inf"))), sum.toString());
        pairs++;
      }
    }
    assertEquals(16, pairs, "7 streams and 9 consumers");
  }

  @Test
  void unpreparedTheStandaloneServerLosesTheReplicatedStreams() throws Exception {
    // What happens without js-recover: the reason this tool exists, and proof the checks below can fail.
    Path store = copyOfSurvivor();
    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.installed(), NatsConfig.defaults(), store, tmp.resolve("server"))) {
      assertTrue(server.log().contains("replicas > 1 not supported in non-clustered mode"), server.log());
      assertFalse(clusterTruth().compareWith(JetStreamTruth.read(NatsConfig.defaults(), server::connect)).problems().isEmpty());
    }
  }

  @Test
  void inspectShowsWhatTheSurvivorHolds() throws Exception {
    Path store = copyOfSurvivor();
    String before = StoreBuilder.treeDigest(store);

    Cli.Result table = Cli.run("inspect", store.toString());
    Cli.Result json = Cli.run("inspect", "--json", store.toString());

    assertEquals(0, table.exit(), table.all());
    assertTrue(table.out().contains("Store " + store + ": 1 account(s), 7 stream(s), 9 consumer(s)"), table.out());
    assertTrue(table.out().matches("(?s).*\\$G +ORDERS +3 +- +limits +file +2 +1 +no +ok.*"), table.out());
    assertTrue(table.out().matches("(?s).*\\$G +PLACED +3 +cluster=C1 +limits.*"), table.out());
    assertTrue(table.out().contains("jetstream/$SYS/_js_"), table.out());
    assertTrue(table.out().contains("jetstream/$G/streams/EVENTS: interest retention"), table.out());
    JsonNode doc = Json.MAPPER.readTree(json.out());
    assertEquals(7, doc.get("streams").size());
    JsonNode js = doc.get("streams").get(6);
    assertEquals("_js_", js.get("name").asText());
    assertEquals(3, js.get("replicas").asInt());
    assertTrue(js.get("sum_ok").asBoolean());
    assertEquals("_js_", js.get("consumers").get(0).get("name").asText());
    assertEquals(3, js.get("consumers").get(0).get("replicas").asInt());
    assertEquals("C1", doc.get("streams").get(4).get("placement").get("cluster").asText());
    assertEquals(List.of("jetstream/$SYS/_js_"), List.of(doc.get("raft_dirs").get(0).asText()));
    assertEquals(0, doc.get("problems").size());
    assertEquals(before, StoreBuilder.treeDigest(store), "inspect wrote something");
  }

  @Test
  void preparedTheStandaloneServerServesWhatTheClusterServed() throws Exception {
    Path store = copyOfSurvivor();

    Cli.Result prepared = Cli.run("prepare", store.toString());

    assertEquals(0, prepared.exit(), prepared.all());
    assertTrue(prepared.out().contains("Totals: 6 of 7 stream(s) and 4 of 9 consumer(s) changed, 1 Raft folder(s) moved."), prepared.out());
    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.installed(), NatsConfig.defaults(), store, tmp.resolve("server"))) {
      assertEquals(List.of(), server.loadErrors(), "the server logged load errors");
      JetStreamTruth.Comparison diff = clusterTruth().compareWith(JetStreamTruth.read(NatsConfig.defaults(), server::connect));
      assertEquals(List.of(), diff.problems(), "what the standalone server serves differs from what the cluster served");
      diff.redelivery().forEach(r -> System.out.println("redelivery after recovery: " + r));
    }
  }

  // --- verify -----------------------------------------------------------------------------------

  @Test
  void verifyProvesThePreparedStoreLoadsAndStopsTheServer() throws Exception {
    Path store = copyOfSurvivor();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());

    Cli.Result r = Cli.run("verify", store.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +yes +20 +2/2.*"), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +_js_ +yes +5 +1/1.*"), r.out());
    assertTrue(r.out().contains("All 7 stream(s) and 9 consumer(s) on disk loaded."), r.out());
    assertTrue(r.out().contains("The server was stopped."), r.out());
    assertFalse(r.out().contains("warnings and errors"), r.out());
  }

  @Test
  void verifyReportsPreciselyAStoreBrokenOnPurpose() throws Exception {
    Path store = copyOfSurvivor();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Path streams = store.resolve("jetstream/$G/streams");
    Files.writeString(streams.resolve("PLACED/meta.sum"), "0123456789abcdef"); // a sum forced wrong
    Path newMeta = streams.resolve("ORDERS/obs/NEW/meta.inf"); // a consumer left at 3 replicas
    byte[] r3 = Files.readString(newMeta).replace("\"num_replicas\":0", "\"num_replicas\":3").getBytes();
    Files.write(newMeta, r3);
    Files.writeString(streams.resolve("ORDERS/obs/NEW/meta.sum"), HighwayHash64.metaSum("ORDERS/NEW", r3));

    Cli.Result r = Cli.run("verify", store.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +PLACED +NO +- +0/0.*"), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +yes +20 +1/2 +NEW.*"), r.out());
    assertTrue(r.out().contains("checksums do not match \"0123456789abcdef\""), r.out());
    assertTrue(r.out().contains("Error adding consumer \"NEW\": consumer config replica count exceeds parent stream"), r.out());
    assertTrue(r.out().contains("NOT everything loaded: 1 of 7 stream(s) and 1 of 9 consumer(s) on disk are missing."), r.out());
  }

  @Test
  void verifyKeepRunningLeavesTheServerUpOnRecoveryConfsPorts() throws Exception {
    Path store = copyOfSurvivor();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    RecoveryConfig.Settings conf = RecoveryConfig.read(store.resolve("recovery.conf"));

    Cli.Result r = Cli.run("verify", "--keep-running", store.toString());

    assertEquals(0, r.exit(), r.all());
    long pid = Long.parseLong(r.out().replaceAll("(?s).*left running \\(pid (\\d+)\\).*", "$1"));
    try {
      String jsz = HandStartedServer.get(conf.httpPort(), "/jsz");
      assertTrue(jsz.contains("\"streams\": 7"), jsz);
    } finally {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
      ProcessHandle.of(pid).ifPresent(p -> p.onExit().join());
    }
  }

  @Test
  void verifyRefusesWithoutNatsServerOrRecoveryConf() throws Exception {
    Path store = copyOfSurvivor();
    Cli.Result unprepared = Cli.run("verify", store.toString());
    assertEquals(1, unprepared.exit());
    assertTrue(unprepared.err().contains("no recovery.conf in " + store + ": run js-recover prepare " + store + " first."), unprepared.err());

    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    ProcessBuilder noServer = JsRecoverProcess.builder("verify", store.toString());
    noServer.environment().put("PATH", tmp.resolve("empty-bin").toString());
    JsRecoverProcess.Result r = JsRecoverProcess.run(noServer);
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("nats-server is not on PATH. Install it"), r.output());
    assertTrue(r.output().contains("--nats-server /path/to/nats-server"), r.output());

    Cli.Result wrongBin = Cli.run("verify", "--nats-server", tmp.resolve("nope").toString(), store.toString());
    assertEquals(1, wrongBin.exit());
    assertTrue(wrongBin.err().contains("--nats-server " + tmp.resolve("nope") + " is not an executable file."), wrongBin.err());
  }

  @Test
  void recoveryConfServesEveryAccountOperatorModeNamesIncluded() throws Exception {
    // The survivor's streams spread over a config-mode account and an operator-mode one (folder
    // named by the account's public key), with the Raft state under a named system account.
    Path store = copyOfSurvivor();
    Path js = store.resolve("jetstream");
    String operatorAccount = "ADKQFNVOXTPFG5O43BPWGHVPQN4JXRJCTMU6CRKBPZPB5ZURXXPIBIBW";
    Files.createDirectories(js.resolve("ACC_B/streams"));
    Files.createDirectories(js.resolve(operatorAccount + "/streams"));
    for (String stream : List.of("ORDERS", "JOBS", "EVENTS")) {
      Files.move(js.resolve("$G/streams/" + stream), js.resolve("ACC_B/streams/" + stream));
    }
    for (String stream : List.of("PLACED", "SINGLE", "_js_", "A#b@c&d-e")) {
      Files.move(js.resolve("$G/streams/" + stream), js.resolve(operatorAccount + "/streams/" + stream));
    }
    Files.delete(js.resolve("$G/streams"));
    Files.delete(js.resolve("$G"));
    Files.move(js.resolve("$SYS"), js.resolve("SYSX"));

    Cli.Result prepared = Cli.run("prepare", store.toString());
    Cli.Result verified = Cli.run("verify", store.toString());

    assertEquals(0, prepared.exit(), prepared.all());
    String conf = Files.readString(store.resolve("recovery.conf"));
    assertTrue(conf.contains("\"ACC_B\": { jetstream: enabled, users: [ { user: \"recover-ACC_B\", password: \""), conf);
    assertTrue(conf.contains("\"" + operatorAccount + "\": { jetstream: enabled"), conf);
    assertFalse(conf.contains("SYSX"), "the old system account holds no streams: " + conf);
    RecoveryConfig.Settings s = RecoveryConfig.read(store.resolve("recovery.conf"));
    assertTrue(prepared.out().contains("--user recover-ACC_B --password " + s.login("ACC_B").password() + " account backup "
        + store + "-backup/ACC_B -f"), prepared.out());
    assertTrue(prepared.out().contains("stream restore " + store + "-backup/ACC_B/ORDERS --replicas 3   # account ACC_B"),
        prepared.out());
    assertEquals(0, verified.exit(), verified.all());
    assertTrue(verified.out().matches("(?s).*ACC_B +ORDERS +yes +20 +2/2.*"), verified.out());
    assertTrue(verified.out().matches("(?s).*" + operatorAccount + " +_js_ +yes +5 +1/1.*"), verified.out());
    assertTrue(verified.out().contains("All 7 stream(s) and 9 consumer(s) on disk loaded."), verified.out());
  }

  @Test
  void recoveryConfIsLoopbackOnlyPrivateAndLoadsTheStoreAlone() throws Exception {
    Path store = copyOfSurvivor();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Path conf = store.resolve("recovery.conf");
    String text = Files.readString(conf);

    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(conf)));
    assertTrue(text.matches("(?s).*\nlisten: 127\\.0\\.0\\.1:\\d+\nhttp: 127\\.0\\.0\\.1:\\d+\n.*"), text);
    for (String block : List.of("cluster", "gateway", "leafnodes", "mqtt", "websocket", "accounts")) {
      assertFalse(text.matches("(?s).*\n" + block + " *[{:].*"), block + " in recovery.conf:\n" + text);
    }
    assertTrue(text.contains("store_dir: \"" + store + "\""), text);
    try (HandStartedServer server = HandStartedServer.start(tmp.resolve("server.log"), RecoveryConfig.read(conf).httpPort(),
        java.time.Duration.ofSeconds(30), ServerGeneration.installed().binary().toString(), "-c", conf.toString())) {
      String jsz = server.get("/jsz?consumers=true");
      assertTrue(jsz.contains("\"streams\": 7") && jsz.contains("\"consumers\": 9"), jsz);
      assertEquals(List.of(), server.loadErrors());
    }
  }
}
