import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.api.CompressionOption;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.api.StreamInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The runbook on the store a real 3-node nats-server cluster left on its survivor, once per captured generation
 * (tests/fixtures/cluster-VERSION), each run against a real server of its own generation: inspect, prepare, verify,
 * then a standalone server serves what the cluster served (TRUTH.json), R3 streams, explicit-R3 consumers and the
 * stream named _js_ included, and the 2.10+ captures' s2 compression, metadata, first_seq, deleted messages, KV
 * purges and (2.11+) per-message TTLs stay what they were.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("fixtures")
class CapturedClusterStoreTest {
  /** A captured fixture and the generation of nats-server that wrote it. */
  record Fixture(String version, ServerGeneration server) {
    Path dir() {
      return Path.of("tests/fixtures/cluster-" + version);
    }

    @Override public String toString() {
      return "cluster-" + version + " on " + server;
    }
  }

  static List<Fixture> fixtures() {
    return Stream.of("2.9.10", "2.10.27", "2.15.1").map(version -> new Fixture(version, ServerGeneration.all().stream()
        .filter(g -> version.startsWith(g.name() + ".")).findFirst().orElseThrow())).toList();
  }

  @Parameter Fixture fixture;
  @TempDir Path tmp;
  Path binary;
  JetStreamTruth truth;

  @BeforeEach
  void serverOfTheFixturesGeneration() throws Exception {
    binary = fixture.server().binary();
    truth = JetStreamTruth.fromJson(Files.readString(fixture.dir().resolve("TRUTH.json")));
  }

  /** Step 2 of the runbook: work on a copy, never on the survivor's own disk. */
  Path copyOfSurvivor() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(fixture.dir().resolve("store"), store);
    return store;
  }

  /**
   * A copy verify may start this fixture's own server on: without the streams that server empties as it loads them
   * ({@link #emptiedByTheServer}), beside which verify refuses to start it (VerifyTest), set aside as an operator with
   * only that release would set them aside, to recover with another.
   */
  Path copyForVerify() throws Exception {
    Path store = copyOfSurvivor();
    for (JetStreamTruth.StreamTruth s : truth.streams()) {
      if (emptiedByTheServer(s)) {
        Files.move(store.resolve("jetstream").resolve(s.account()).resolve("streams").resolve(s.name()),
            Files.createDirectories(tmp.resolve("set-aside")).resolve(s.name()));
      }
    }
    return store;
  }

  Path preparedCopy() throws Exception {
    Path store = copyOfSurvivor();
    Cli.Result prepared = Cli.run("prepare", store.toString());
    assertEquals(0, prepared.exit(), prepared.all());
    return store;
  }

  NatsServerProcess standalone(Path store) {
    return NatsServerProcess.standalone(fixture.server(), NatsConfig.defaults(), store, tmp.resolve("server"));
  }

  Cli.Result verify(String... options) {
    return Cli.run(Stream.concat(Stream.of("verify", "--nats-server", binary.toString()), Stream.of(options)).toArray(String[]::new));
  }

  int streams() {
    return streams(truth);
  }

  int consumers() {
    return consumers(truth);
  }

  static int streams(JetStreamTruth t) {
    return t.streams().size();
  }

  static int consumers(JetStreamTruth t) {
    return t.streams().stream().mapToInt(s -> s.consumers().size()).sum();
  }

  /** The streams of the truth that have a feature; whether there must be any depends on the generation. */
  List<JetStreamTruth.StreamTruth> streamsWith(Predicate<JetStreamTruth.StreamTruth> feature, boolean expected, String what) {
    List<JetStreamTruth.StreamTruth> found = truth.streams().stream().filter(feature).toList();
    assertEquals(expected, !found.isEmpty(), fixture + ": " + what + " expected " + expected + ", found " + found);
    return found;
  }

  /**
   * nats-server 2.10.27 itself purges, at every start, a file stream whose first message sits at its configured
   * first_seq (filestore.go: {@code firstSeq <= cfg.FirstSeq}; fixed in 2.10.28 and 2.11.2 by nats-server commit
   * 48b87441a). No change js-recover may make (meta.inf keeps every byte) prevents it, so those streams are left out
   * of what that server must serve; {@link #metadataAndFirstSeqAreKeptByteForByteAndServed} proves the loss, so a
   * fixed server shows up there.
   */
  boolean emptiedByTheServer(JetStreamTruth.StreamTruth s) {
    return fixture.version().equals("2.10.27") && s.features().firstSeq() > 0 && s.firstSeq() == s.features().firstSeq();
  }

  /** The truth a recovery server of this generation can serve: all of it, but for {@link #emptiedByTheServer}. */
  JetStreamTruth servable() {
    return new JetStreamTruth(truth.streams().stream().filter(s -> !emptiedByTheServer(s)).toList());
  }

  Path metaInf(Path store, String stream) {
    return store.resolve("jetstream/$G/streams").resolve(stream).resolve("meta.inf");
  }

  @Test
  void everyMetaSumTheServerWroteMatchesOurHighwayHash() throws Exception {
    int pairs = 0;
    try (var walk = Files.walk(fixture.dir().resolve("store/jetstream/$G/streams"))) {
      for (Path sum : walk.filter(p -> p.getFileName().toString().equals("meta.sum")).toList()) {
        Path dir = sum.getParent();
        String key = dir.getParent().getFileName().toString().equals("obs")
            ? dir.getParent().getParent().getFileName() + "/" + dir.getFileName() : dir.getFileName().toString();
        assertEquals(Files.readString(sum), HighwayHash64.metaSum(key, Files.readAllBytes(dir.resolve("meta.inf"))), sum.toString());
        pairs++;
      }
    }
    assertEquals(streams() + consumers(), pairs, streams() + " streams and " + consumers() + " consumers");
  }

  @Test
  void unpreparedTheStandaloneServerLosesTheReplicatedStreams() throws Exception {
    // What happens without js-recover: the reason this tool exists, and proof the checks below can fail.
    Path store = copyOfSurvivor();
    // Started without waiting for /healthz: 2.10+ never reports healthy while a stream on disk is not loaded.
    try (NatsServerProcess server = NatsServerProcess.start(fixture.server(), "recovery", NatsConfig.defaults(), store, "", tmp.resolve("server"))) {
      Await.until(java.time.Duration.ofSeconds(30), "the server to finish loading the store",
          () -> server.log().contains("Server is ready") ? null : "not ready yet");
      assertTrue(server.log().contains("replicas > 1 not supported in non-clustered mode"), server.log());
      assertFalse(truth.compareWith(JetStreamTruth.read(NatsConfig.defaults(), server::connect)).problems().isEmpty());
    }
  }

  @Test
  void inspectShowsWhatTheSurvivorHolds() throws Exception {
    Path store = copyOfSurvivor();
    String before = StoreBuilder.treeDigest(store);

    Cli.Result table = Cli.run("inspect", store.toString());
    Cli.Result json = Cli.run("inspect", "--json", store.toString());

    assertEquals(0, table.exit(), table.all());
    assertTrue(table.out().contains("Store " + store + ": 1 account(s), " + streams() + " stream(s), " + consumers() + " consumer(s)"), table.out());
    assertTrue(table.out().matches("(?s).*\\$G +ORDERS +3 +- +limits +file +2 +1 +no +ok.*"), table.out());
    assertTrue(table.out().matches("(?s).*\\$G +PLACED +3 +cluster=C1 +limits.*"), table.out());
    assertTrue(table.out().contains("jetstream/$SYS/_js_"), table.out());
    assertTrue(table.out().contains("jetstream/$G/streams/EVENTS: interest retention"), table.out());
    JsonNode doc = Json.MAPPER.readTree(json.out());
    assertEquals(streams(), doc.get("streams").size());
    JsonNode js = streamNamed(doc, "_js_");
    assertEquals(3, js.get("replicas").asInt());
    assertTrue(js.get("sum_ok").asBoolean());
    assertEquals("_js_", js.get("consumers").get(0).get("name").asText());
    assertEquals(3, js.get("consumers").get(0).get("replicas").asInt());
    assertEquals("C1", streamNamed(doc, "PLACED").get("placement").get("cluster").asText());
    assertEquals(List.of("jetstream/$SYS/_js_"), List.of(doc.get("raft_dirs").get(0).asText()));
    assertEquals(0, doc.get("problems").size());
    assertEquals(before, StoreBuilder.treeDigest(store), "inspect wrote something");
  }

  private static JsonNode streamNamed(JsonNode inspected, String name) {
    for (JsonNode s : inspected.get("streams")) if (s.get("name").asText().equals(name)) return s;
    throw new AssertionError("inspect --json lists no stream " + name + ": " + inspected);
  }

  @Test
  void preparedTheStandaloneServerServesWhatTheClusterServed() throws Exception {
    Path store = copyOfSurvivor();

    Cli.Result prepared = Cli.run("prepare", store.toString());

    assertEquals(0, prepared.exit(), prepared.all());
    long replicated = truth.streams().stream().filter(s -> s.replicas() > 1).count();
    long explicitR3 = truth.streams().stream().flatMap(s -> s.consumers().stream()).filter(c -> c.replicas() > 1).count();
    assertTrue(prepared.out().contains("Totals: " + replicated + " of " + streams() + " stream(s) and " + explicitR3 + " of "
        + consumers() + " consumer(s) changed, 1 Raft folder(s) moved."), prepared.out());
    try (NatsServerProcess server = standalone(store)) {
      assertEquals(List.of(), server.loadErrors(), "the server logged load errors");
      JetStreamTruth.Comparison diff = servable().compareWith(JetStreamTruth.read(NatsConfig.defaults(), server::connect));
      assertEquals(List.of(), diff.problems(), "what the standalone server serves differs from what the cluster served");
      diff.redelivery().forEach(r -> System.out.println("redelivery after recovery: " + r));
    }
  }

  // --- verify -----------------------------------------------------------------------------------

  @Test
  void verifyProvesThePreparedStoreLoadsAndStopsTheServer() throws Exception {
    Path store = copyForVerify();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());

    Cli.Result r = verify(store.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +yes +20 +2/2.*"), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +_js_ +yes +5 +1/1.*"), r.out());
    assertTrue(r.out().contains("All " + streams(servable()) + " stream(s) and " + consumers(servable()) + " consumer(s) on disk loaded."), r.out());
    assertTrue(r.out().contains("The server was stopped."), r.out());
    assertFalse(r.out().contains("warnings and errors"), r.out());
  }

  @Test
  void verifyReportsPreciselyAStoreBrokenOnPurpose() throws Exception {
    Path store = copyForVerify();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    // Breaks only the server sees (verify refuses what js-recover itself can see), as every generation refuses them: a
    // stream with a retention policy the server does not know, and a push consumer delivering into its own stream.
    Path streams = store.resolve("jetstream/$G/streams");
    rewrite(streams.resolve("PLACED"), "PLACED", "\"retention\":\"limits\"", "\"retention\":\"forever\"");
    rewrite(streams.resolve("ORDERS/obs/NEW"), "ORDERS/NEW", "\"max_waiting\":512", "\"deliver_subject\":\"orders.loop\"");

    Cli.Result r = verify(store.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +PLACED +NO +- +0/0.*"), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +yes +20 +1/2 +NEW.*"), r.out());
    assertTrue(r.out().contains("PLACED/meta.inf\": can not unmarshal \"\\\"forever\\\"\""), r.out());
    // 2.9 and 2.10 name the consumer "NEW", 2.15 '$G > ORDERS > NEW'.
    assertTrue(r.out().matches("(?s).*Error adding consumer (\"NEW\"|'\\$G > ORDERS > NEW'): consumer deliver subject forms "
        + "a cycle.*"), r.out());
    assertTrue(r.out().contains("NOT everything loaded: 1 of " + streams(servable()) + " stream(s) and 1 of " + consumers(servable())
        + " consumer(s) on disk are missing."), r.out());
  }

  /** A meta.inf edited as the server would have written it, with its meta.sum. */
  static void rewrite(Path dir, String checksumKey, String from, String to) throws Exception {
    byte[] edited = Files.readString(dir.resolve("meta.inf")).replace(from, to).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Files.write(dir.resolve("meta.inf"), edited);
    Files.writeString(dir.resolve("meta.sum"), HighwayHash64.metaSum(checksumKey, edited));
  }

  @Test
  void verifyKeepRunningLeavesTheServerUpOnRecoveryConfsPorts() throws Exception {
    Path store = copyForVerify();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    RecoveryConfig.Settings conf = RecoveryConfig.read(store.resolve("recovery.conf"));

    Cli.Result r = verify("--keep-running", store.toString());

    assertEquals(0, r.exit(), r.all());
    long pid = Long.parseLong(r.out().replaceAll("(?s).*left running \\(pid (\\d+)\\).*", "$1"));
    try {
      String jsz = HandStartedServer.get(conf.httpPort(), "/jsz");
      assertTrue(jsz.contains("\"streams\": " + streams(servable())), jsz);
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
    Path store = copyForVerify();
    Path js = store.resolve("jetstream");
    String operatorAccount = "ADKQFNVOXTPFG5O43BPWGHVPQN4JXRJCTMU6CRKBPZPB5ZURXXPIBIBW";
    Files.createDirectories(js.resolve("ACC_B/streams"));
    Files.createDirectories(js.resolve(operatorAccount + "/streams"));
    for (String stream : List.of("ORDERS", "JOBS", "EVENTS")) {
      Files.move(js.resolve("$G/streams/" + stream), js.resolve("ACC_B/streams/" + stream));
    }
    try (Stream<Path> rest = Files.list(js.resolve("$G/streams"))) { // PLACED, SINGLE, _js_, A#b@c&d-e, ...
      for (Path stream : rest.toList()) Files.move(stream, js.resolve(operatorAccount + "/streams").resolve(stream.getFileName()));
    }
    Files.delete(js.resolve("$G/streams"));
    Files.delete(js.resolve("$G"));
    Files.move(js.resolve("$SYS"), js.resolve("SYSX"));

    Cli.Result prepared = Cli.run("prepare", store.toString());
    Cli.Result verified = verify(store.toString());

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
    assertTrue(verified.out().contains("All " + streams(servable()) + " stream(s) and " + consumers(servable()) + " consumer(s) on disk loaded."), verified.out());
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
        java.time.Duration.ofSeconds(30), binary.toString(), "-c", conf.toString())) {
      String jsz = server.get("/jsz?consumers=true");
      assertTrue(jsz.contains("\"streams\": " + streams()) && jsz.contains("\"consumers\": " + consumers()), jsz);
      assertEquals(List.of(), server.loadErrors());
    }
  }

  // --- what newer generations add: each generation's fixture holds what its server supports --------------

  @Test
  void compressedStreamStaysCompressedAndIsServedWhole() throws Exception {
    List<JetStreamTruth.StreamTruth> compressed = streamsWith(s -> s.features().compression().equals("s2"),
        fixture.server().atLeast(10), "s2-compressed streams");
    Path store = preparedCopy();
    try (NatsServerProcess server = standalone(store); Connection nc = server.connect("$G")) {
      for (JetStreamTruth.StreamTruth want : compressed) {
        assertTrue(Files.readString(metaInf(store, want.name())).contains("\"compression\":\"s2\""), want.id());
        assertTrue(startsWithCmp(store.resolve("jetstream/$G/streams").resolve(want.name()).resolve("msgs/1.blk")),
            want.id() + ": its sealed first block is no longer s2-compressed on disk");
        StreamInfo served = nc.jetStreamManagement().getStreamInfo(want.name());
        assertEquals(CompressionOption.S2, served.getConfiguration().getCompressionOption(), want.id());
      }
      String[] names = compressed.stream().map(JetStreamTruth.StreamTruth::name).toArray(String[]::new);
      if (names.length > 0) {
        JetStreamTruth.Comparison diff = truth.only(names).compareWith(JetStreamTruth.read(NatsConfig.defaults(), server::connect));
        assertEquals(List.of(), diff.problems(), "the compressed stream is served differently");
      }
    }
  }

  private static boolean startsWithCmp(Path block) throws Exception {
    try (var in = Files.newInputStream(block)) {
      return new String(in.readNBytes(3), java.nio.charset.StandardCharsets.ISO_8859_1).equals("cmp");
    }
  }

  @Test
  void metadataAndFirstSeqAreKeptByteForByteAndServed() throws Exception {
    List<JetStreamTruth.StreamTruth> labeled = streamsWith(s -> !s.features().metadata().isEmpty() || s.features().firstSeq() > 0,
        fixture.server().atLeast(10), "streams with metadata or first_seq");
    Path store = preparedCopy();
    for (JetStreamTruth.StreamTruth want : labeled) {
      String captured = Files.readString(metaInf(fixture.dir().resolve("store"), want.name()));
      String prepared = Files.readString(metaInf(store, want.name()));
      for (String member : List.of("\"metadata\":\\{[^}]*\\}", "\"first_seq\":\\d+")) {
        assertEquals(find(member, captured), find(member, prepared), want.id() + " meta.inf " + member);
      }
    }
    if (fixture.server().atLeast(10)) {
      assertTrue(Files.readString(metaInf(store, "LABELED")).contains("\"note\":\"a\\u0026b \\u003cc\\u003e\""),
          "Go's escapes of the metadata are kept");
    }
    try (NatsServerProcess server = standalone(store); Connection nc = server.connect("$G")) {
      for (JetStreamTruth.StreamTruth want : labeled) {
        StreamInfo served = nc.jetStreamManagement().getStreamInfo(want.name());
        assertTrue(served.getConfiguration().getMetadata().entrySet().containsAll(want.features().metadata().entrySet()),
            want.id() + " serves metadata " + served.getConfiguration().getMetadata());
        assertEquals(want.features().firstSeq(), served.getConfiguration().getFirstSequence(), want.id());
        if (emptiedByTheServer(want)) { // purged by the 2.10.27 server at start, up to its last sequence
          assertEquals(0, served.getStreamState().getMsgCount(), want.id() + ": nats-server 2.10.27 no longer empties it");
          assertEquals(want.lastSeq() + 1, served.getStreamState().getFirstSequence(), want.id());
        } else {
          assertEquals(want.messages(), served.getStreamState().getMsgCount(), want.id());
          assertEquals(want.firstSeq(), served.getStreamState().getFirstSequence(), want.id());
        }
      }
    }
  }

  private static String find(String regex, String text) {
    Matcher m = Pattern.compile(regex).matcher(text);
    return m.find() ? m.group() : null;
  }

  @Test
  void deletedMessagesStayDeleted() throws Exception {
    // Every sequence between first and last that the cluster no longer served: deleted via the API (PRUNED: 3
    // with erase, 6 without), acked off a work queue or interest stream, expired (EXPIRING: 3).
    if (fixture.server().atLeast(10)) assertEquals(2, truth.stream("$G", "PRUNED").orElseThrow().deleted());
    List<JetStreamTruth.StreamTruth> withGaps = streamsWith(s -> s.messages() <= JetStreamTruth.SAMPLE_LIMIT
        && s.messages() < s.lastSeq() - s.firstSeq() + 1, true, "streams with deleted sequences");
    Path store = preparedCopy();
    try (NatsServerProcess server = standalone(store); Connection nc = server.connect("$G")) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      for (JetStreamTruth.StreamTruth want : withGaps) {
        StreamInfo served = jsm.getStreamInfo(want.name());
        if (want.deleted() >= 0) assertEquals(want.deleted(), served.getStreamState().getDeletedCount(), want.id());
        for (long seq = want.firstSeq(); seq <= want.lastSeq(); seq++) {
          long s = seq;
          if (want.samples().stream().anyMatch(m -> m.seq() == s)) continue;
          JetStreamApiException gone = org.junit.jupiter.api.Assertions.assertThrows(JetStreamApiException.class,
              () -> jsm.getMessage(want.name(), s), want.id() + " serves deleted sequence " + s);
          assertEquals(10037, gone.getApiErrorCode(), gone.getMessage());
        }
      }
    }
  }

  @Test
  void keyValuePurgesStayPurged() throws Exception {
    streamsWith(s -> s.name().equals("KV_" + Workload.PURGED_BUCKET), fixture.server().atLeast(10), "the purged KV bucket");
    if (!fixture.server().atLeast(10)) return;
    Path store = preparedCopy();
    try (NatsServerProcess server = standalone(store); Connection nc = server.connect("$G")) {
      KeyValue kv = nc.keyValue(Workload.PURGED_BUCKET);
      assertNull(kv.get("app.mode"), "purged through KV");
      List<KeyValueOperation> history = kv.history("app.mode").stream().map(e -> e.getOperation()).toList();
      assertEquals(List.of(KeyValueOperation.PURGE), history, "the purge marker alone is left of app.mode");
      assertNull(kv.get("app.cache"), "purged through a stream purge of its subject");
      assertEquals(List.of(), kv.history("app.cache"));
      assertEquals("stays", kv.get("app.kept").getValueAsString());
      assertEquals(List.of("app.kept"), kv.keys());
    }
  }

  @Test
  void messagesWithTtlAreServedWithTheirTtl() throws Exception {
    // The capture published 100-year TTLs, one "never" and one of 1 s that expired before the truth was read:
    // what the fixture holds outlives any test run.
    List<JetStreamTruth.StreamTruth> expiring = streamsWith(s -> s.features().allowMsgTtl(), fixture.server().atLeast(11),
        "streams with allow_msg_ttl");
    Path store = preparedCopy();
    try (NatsServerProcess server = standalone(store); Connection nc = server.connect("$G")) {
      for (JetStreamTruth.StreamTruth want : expiring) {
        assertTrue(Files.readString(metaInf(store, want.name())).contains("\"allow_msg_ttl\":true"), want.id());
        assertTrue(nc.jetStreamManagement().getStreamInfo(want.name()).getConfiguration().isAllowMessageTtl(), want.id());
        assertTrue(want.samples().stream().allMatch(m -> m.headers().containsKey("Nats-TTL")), want.id() + " samples carry Nats-TTL");
        JetStreamTruth.Comparison diff = truth.only(want.name()).compareWith(JetStreamTruth.read(NatsConfig.defaults(), server::connect));
        assertEquals(List.of(), diff.problems(), want.id() + " is served differently");
      }
    }
  }
}
