import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * verify starts a server on the only copy of the data: it must never start one on a store that is not ready for it,
 * never wait for ever, and never leave one behind when it ends.
 */
class VerifyTest {
  @TempDir Path tmp;

  /** A survivor's store after prepare: what verify is meant for. */
  StoreBuilder prepared() {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3).raft("$SYS");
    Cli.Result r = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, r.exit(), r.all());
    return store;
  }

  static List<ServerGeneration> generations() { return ServerGeneration.all(); }

  @Test void theHealthcheckWarningsVerifysOwnPollingCausesAreLeftOutAndTheServersOwnKept() throws Exception {
    // 2.10+ warn for each /healthz asked while the store still loads: verify asks it, so under load they came and went.
    Path log = Files.writeString(tmp.resolve("server.log"), String.join("\n",
        "[7] 2026/11/28 08:00:00.000001 [WRN] Plaintext passwords detected, use nkeys or bcrypt",
        "[7] 2026/11/28 08:00:00.000002 [WRN] Healthcheck failed: \"JetStream has not yet loaded all assets\"",
        "[7] 2026/11/28 08:00:00.000003 [WRN]   Error unmarshalling stream metafile \"/s/jetstream/$G/streams/P/meta.inf\"",
        "[7] 2026/11/28 08:00:00.000004 [INF] Server is ready", ""));
    LoadCheck check = new LoadCheck();

    check.readLog(log);

    assertEquals(List.of("[7] 2026/11/28 08:00:00.000003 [WRN]   Error unmarshalling stream metafile \"/s/jetstream/$G/streams/P/meta.inf\""),
        check.serverWarnings);
  }

  /** The chacha survivor of EncryptedStoreTest: an R3 stream written by 2.9 (no index.db) with an R3 consumer. */
  StoreBuilder encryptedSurvivor() throws Exception {
    EncryptedStoreTest encrypted = new EncryptedStoreTest();
    encrypted.tmp = tmp;
    return encrypted.survivor(EncryptedStoreTest.CHACHA);
  }

  @ParameterizedTest(name = "{0}: an undone encrypted store is refused")
  @MethodSource("generations")
  void anEncryptedStoreUndoneAfterPrepareIsRefusedAndKeepsEveryMetaKey(ServerGeneration server) throws Exception {
    // The survivor of an encrypted R3 cluster, prepared, then put back as it was (undo), recovery.conf still there.
    StoreBuilder store = encryptedSurvivor();
    Path keyFile = Files.writeString(tmp.resolve("js.key"), EncryptedStoreTest.CHACHA.key() + "\n");
    Path original = tmp.resolve("original");
    StoreBuilder.copyTree(store.jetstream(), original);
    assertEquals(0, Cli.run("prepare", "--key-file", keyFile.toString(), store.storeDir.toString()).exit());
    deleteTree(store.jetstream());
    StoreBuilder.copyTree(original, store.jetstream());
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("verify", "--nats-server", server.binary().toString(), "--key-file", keyFile.toString(),
        "--timeout", "30", store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(store.storeDir.toRealPath() + " is not prepared for a standalone server, so verify starts "
        + "none on it"), r.err());
    assertTrue(r.err().contains("\n  stream $G > ORD-1: num_replicas 3 -> 1, placement {\"cluster\":\"C1\"} removed\n"), r.err());
    assertTrue(r.err().contains("\n  consumer $G > ORD-1 > C1: num_replicas 3 -> 0\n"), r.err());
    assertTrue(r.err().contains("\n  jetstream/$SYS/_js_: Raft state still in place\n"), r.err());
    assertTrue(r.err().contains("Run js-recover prepare first; nothing was started or changed."), r.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "every meta.key and meta.inf is as it was");
  }

  @Test
  void aServerThatEmptiesFirstSeqStreamsAsItLoadsThemIsRefusedBeforeItStarts() throws Exception {
    // The survivor a real 2.10.27 cluster left: LABELED has first_seq 1000 and its first message at 1000, which
    // nats-server 2.10.27 purges as it loads it (CapturedClusterStoreTest proves the loss on the server itself).
    ServerGeneration affected = ServerGeneration.all().get(1);
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(Path.of("tests/fixtures/cluster-2.10.27/store"), store);
    assertTrue(Cli.run("inspect", store.toString()).out().contains("first_seq 1000: nats-server 2.10.0 to 2.10.27 and "
        + "2.11.0 to 2.11.1 delete every message of such a stream as they load it"), "inspect says so before prepare");
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = Cli.run("verify", "--nats-server", affected.binary().toString(), "--timeout", "30", store.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(affected.binary() + " is nats-server: v2.10.27, which deletes every message of $G > LABELED "
        + "as it loads it"), r.err());
    assertTrue(r.err().contains("Pass --nats-server with another release (2.10.28+, 2.11.2+, 2.9); nothing was started or "
        + "changed."), r.err());
    assertFalse(r.out().contains("Starting"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store), "every message block is as it was");
  }

  @Test
  void theReleasesThatPurgeFirstSeqStreamsAreTheOnesBeforeTheFix() {
    for (String bad : List.of("nats-server: v2.10.0", "nats-server: v2.10.27", "nats-server: v2.11.0", "nats-server: v2.11.1")) {
      assertTrue(LoadCheck.purgesFirstSeqStreams(bad), bad);
    }
    for (String good : List.of("nats-server: v2.9.10", "nats-server: v2.10.28", "nats-server: v2.11.2", "nats-server: v2.15.1",
        "nats-server: v2.12.0")) {
      assertFalse(LoadCheck.purgesFirstSeqStreams(good), good);
    }
  }

  @ParameterizedTest(name = "{0}: $G beside a named account, encrypted, is verified and served as printed")
  @MethodSource("generations")
  void globalBesideANamedAccountIsVerifiedAndTheStepsForItServeIt(ServerGeneration server) throws Exception {
    // An encrypted store written by real servers: ACME's stream with accounts configured, $G's without (each on a
    // store of its own: 2.10+ stay unhealthy over an account folder their config does not serve).
    String key = "g and named";
    Path storeDir = tmp.resolve("store");
    NatsConfig encrypted = NatsConfig.defaults().withEncryption(key, "chacha");
    fill(server, encrypted, "$G", storeDir, "G_S", 2);
    fill(server, encrypted.withAccount("ACME", "acme", "acme-pw"), "ACME", tmp.resolve("acme-store"), "ACME_S", 3);
    StoreBuilder.copyTree(tmp.resolve("acme-store/jetstream/ACME"), storeDir.resolve("jetstream/ACME"));
    Path keyFile = Files.writeString(tmp.resolve("js.key"), key + "\n");
    Cli.Result prepared = Cli.run("prepare", "--key-file", keyFile.toString(), storeDir.toString());
    assertEquals(0, prepared.exit(), prepared.all());

    Cli.Result verified = Cli.run("verify", "--nats-server", server.binary().toString(), "--key-file", keyFile.toString(),
        "--timeout", "30", storeDir.toString());

    assertEquals(0, verified.exit(), verified.all());
    assertTrue(verified.out().matches("(?s).*\\$G +G_S +yes +2 .*"), verified.out());
    assertTrue(verified.out().matches("(?s).*ACME +ACME_S +yes +3 .*"), verified.out());
    assertTrue(verified.out().contains("All 2 stream(s) and 0 consumer(s) on disk loaded."), verified.out());

    // The operator follows the printed steps for $G: the export line, then the second server's command.
    List<String> lines = prepared.out().lines().map(String::strip).toList();
    String export = lines.stream().filter(l -> l.startsWith("export JS_RECOVER_KEY=")).findFirst().orElseThrow()
        .replaceAll(" +#.*", "").replace("/path/to/key-file", keyFile.toString());
    int note = lines.indexOf(lines.stream().filter(l -> l.startsWith("$G holds streams too")).findFirst().orElseThrow());
    List<String> start = RecoveryConfClusterTest.words(lines.get(note + 2));
    assertEquals(List.of("nats-server", "-c", storeDir.resolve("recovery-global.conf").toString()), start, prepared.out());
    assertFalse(prepared.out().contains(key), "the key was printed");
    RecoveryConfig.Settings global = RecoveryConfig.read(storeDir.resolve("recovery-global.conf"));
    Process second = new ProcessBuilder("bash", "-c", export + "; exec \"$0\" -c \"$1\"", server.binary().toString(), start.get(2))
        .redirectErrorStream(true).redirectOutput(tmp.resolve("global.log").toFile()).start();
    try {
      Await.until(Duration.ofSeconds(30), "$G's stream G_S with its 2 messages on the server started as printed", () -> {
        if (!second.isAlive()) throw new IllegalStateException("it exited:\n" + Files.readString(tmp.resolve("global.log")));
        String jsz = HandStartedServer.get(global.httpPort(), "/jsz?streams=true");
        return jsz.contains("\"name\": \"G_S\"") && jsz.contains("\"messages\": 2") ? null : jsz;
      });
    } finally {
      second.destroy();
      second.waitFor();
    }
    assertTrue(lines.get(note + 3).startsWith("nats --server nats://127.0.0.1:" + global.port() + " account backup "), prepared.out());
  }

  /** Starts a standalone server with {@code config} on the store, adds a file stream in {@code account}, publishes. */
  static void fill(ServerGeneration generation, NatsConfig config, String account, Path storeDir, String stream, int messages)
      throws Exception {
    try (NatsServerProcess s = NatsServerProcess.standalone(generation, config, storeDir, storeDir.resolveSibling("fill-" + stream));
        io.nats.client.Connection nc = s.connect(account)) {
      nc.jetStreamManagement().addStream(io.nats.client.api.StreamConfiguration.builder().name(stream)
          .subjects(stream.toLowerCase() + ".>").storageType(io.nats.client.api.StorageType.File).build());
      for (int i = 0; i < messages; i++) nc.jetStream().publish(stream.toLowerCase() + ".m", new byte[] {(byte) i});
    }
  }

  @Test
  void aConsumerAboveItsStreamsReplicasIsRefused() throws Exception {
    StoreBuilder store = prepared().consumer("$G", "ORDERS", "LATE", 3); // a consumer the server wrote after prepare
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("verify", "--nats-server", recordingServer().toString(), store.storeDir.toString());

    assertRefusedUnstarted(r, store, before, "\n  consumer $G > ORDERS > LATE: num_replicas 3 -> 0\n");
  }

  @Test
  void raftStateInPlaceIsRefused() throws Exception {
    StoreBuilder store = prepared().raft("SYS"); // a second system account's Raft folder, copied in later
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("verify", "--nats-server", recordingServer().toString(), store.storeDir.toString());

    assertRefusedUnstarted(r, store, before, "\n  jetstream/SYS/_js_: Raft state still in place\n");
  }

  @Test
  void aProblemTheWalkerFindsIsRefused() throws Exception {
    StoreBuilder store = prepared();
    Files.writeString(store.streamDir("$G", "ORDERS").resolve("meta.sum"), "0123456789abcdef");
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("verify", "--nats-server", recordingServer().toString(), store.storeDir.toString());

    assertRefusedUnstarted(r, store, before, "\n  jetstream/$G/streams/ORDERS/meta.sum: meta.sum of stream $G > ORDERS does "
        + "not match meta.inf (stored \"0123456789abcdef\", computed ");
    assertFalse(r.err().contains("recomputed"), "one line per asset: " + r.err());
  }

  @Test
  void aRecoveryConfThatLoadsAnotherStoreIsRefused() throws Exception {
    StoreBuilder first = prepared();
    Path copy = tmp.resolve("copy");
    StoreBuilder.copyTree(first.storeDir, copy); // recovery.conf comes along, still naming the first store
    String firstBefore = StoreBuilder.treeDigest(first.storeDir), copyBefore = StoreBuilder.treeDigest(copy);

    Cli.Result r = Cli.run("verify", "--nats-server", recordingServer().toString(), copy.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(copy.toRealPath().resolve("recovery.conf") + " loads the store at " + first.storeDir.toRealPath()
        + ", not this one (it came with a copy of another store)"), r.err());
    assertTrue(r.err().contains("Run js-recover prepare " + copy.toRealPath() + " to write one for this store; nothing was "
        + "started or changed."), r.err());
    assertFalse(Files.exists(tmp.resolve("server-started")), "verify started a server");
    assertEquals(firstBefore, StoreBuilder.treeDigest(first.storeDir));
    assertEquals(copyBefore, StoreBuilder.treeDigest(copy));

    assertEquals(0, Cli.run("prepare", copy.toString()).exit(), "prepare, as advised, writes one for the copy");
    assertEquals(copy.toRealPath(), RecoveryConfig.storeDirIn(copy.resolve("recovery.conf")));
  }

  @Test
  void aMissingGlobalConfOrAConfNamingNoStoreIsRefused() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).stream("ACME", "S1", 3).raft("$SYS");
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    Path global = store.storeDir.resolve("recovery-global.conf");
    Files.move(global, tmp.resolve("aside.conf")); // a store prepared before $G got a config of its own
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result missing = Cli.run("verify", "--nats-server", recordingServer().toString(), store.storeDir.toString());

    assertEquals(1, missing.exit(), missing.all());
    assertTrue(missing.err().contains("no recovery-global.conf in " + store.storeDir.toRealPath() + ": run js-recover prepare "
        + store.storeDir.toRealPath() + " first."), missing.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));

    Files.move(tmp.resolve("aside.conf"), global);
    Path conf = store.storeDir.resolve("recovery.conf");
    Files.writeString(conf, Files.readString(conf).replaceFirst("(?m)^  store_dir: .*\n", "")); // edited by hand
    before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result noStore = Cli.run("verify", "--nats-server", recordingServer().toString(), store.storeDir.toString());

    assertEquals(1, noStore.exit(), noStore.all());
    assertTrue(noStore.err().contains(store.storeDir.toRealPath().resolve("recovery.conf") + " names no store_dir: a server "
        + "started on it would load and write another copy"), noStore.err());
    assertFalse(Files.exists(tmp.resolve("server-started")), "verify started a server");
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  void assertRefusedUnstarted(Cli.Result r, StoreBuilder store, String before, String names) throws Exception {
    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(store.storeDir.toRealPath() + " is not prepared for a standalone server"), r.err());
    assertTrue(r.err().contains(names), r.err());
    assertTrue(r.err().contains("Run js-recover prepare first; nothing was started or changed."), r.err());
    assertFalse(Files.exists(tmp.resolve("server-started")), "verify started a server");
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @ParameterizedTest(name = "{0}: a key file with CRLF gives the server started as printed the key verify used")
  @MethodSource("generations")
  void aKeyFileWithCrlfGivesTheServerStartedAsPrintedTheKeyVerifyUsed(ServerGeneration generation) throws Exception {
    StoreBuilder store = encryptedSurvivor();
    Path keyFile = Files.writeString(tmp.resolve("js.key"), EncryptedStoreTest.CHACHA.key() + "\r\n"); // saved on Windows
    Cli.Result prepared = Cli.run("prepare", "--key-file", keyFile.toString(), store.storeDir.toString());
    assertEquals(0, prepared.exit(), prepared.all());
    Path bin = generation.binary();

    Cli.Result verified = Cli.run("verify", "--nats-server", bin.toString(), "--key-file", keyFile.toString(), "--timeout", "30",
        store.storeDir.toString());
    assertEquals(0, verified.exit(), verified.all());

    // The operator starts the server as prepare printed it, the export line pasted with the key file's path.
    String export = prepared.out().lines().map(String::strip).filter(l -> l.startsWith("export JS_RECOVER_KEY=")).findFirst()
        .orElseThrow(() -> new AssertionError("no export line in:\n" + prepared.out())).replaceAll(" +#.*", "")
        .replace("/path/to/key-file", keyFile.toString());
    RecoveryConfig.Settings conf = RecoveryConfig.read(store.storeDir.resolve("recovery.conf"));
    try (HandStartedServer server = HandStartedServer.start(tmp.resolve("server.log"), conf.httpPort(), Duration.ofSeconds(30),
        "bash", "-c", export + "; exec \"$0\" -c \"$1\"", bin.toString(), store.storeDir.resolve("recovery.conf").toString())) {
      String jsz = server.get("/jsz?streams=true&consumers=true");
      assertTrue(jsz.contains("\"messages\": 3"), "ORD-1's 3 messages are served, as verify said: " + jsz);
      assertEquals(List.of(), server.loadErrors());
    }
  }

  @ParameterizedTest(name = "{0}: after verify, the server started as printed loads the encrypted store")
  @MethodSource("generations")
  void afterVerifyTheServerStartedAsPrintedLoadsTheEncryptedStore(ServerGeneration server) throws Exception {
    StoreBuilder store = encryptedSurvivor();
    Path keyFile = Files.writeString(tmp.resolve("js.key"), EncryptedStoreTest.CHACHA.key() + "\n");
    Cli.Result prepared = Cli.run("prepare", "--key-file", keyFile.toString(), store.storeDir.toString());
    assertEquals(0, prepared.exit(), prepared.all());

    Cli.Result verified = Cli.run("verify", "--nats-server", server.binary().toString(), "--key-file", keyFile.toString(),
        "--timeout", "30", store.storeDir.toString());

    assertEquals(0, verified.exit(), verified.all());
    if (server.name().equals("2.10")) { // 2.10.27 has the bug of nats-server PR #7678
      assertTrue(verified.out().contains("left their meta.inf sealed under the old one (a server bug, fixed by nats-server "
          + "PR #7678), so its next start would load none of them. js-recover resealed each meta.inf under its new "
          + "meta.key:\n  $G > ORD-1\n"), verified.out());
    }
    Cli.Result inspected = Cli.run("inspect", "--key-file", keyFile.toString(), store.storeDir.toString());
    assertFalse(inspected.out().contains("Problems"), "verify left a store js-recover cannot open:\n" + inspected.out());
    String export = KeyRing.EXPORT_LINE.replace("/path/to/key-file", keyFile.toString());
    RecoveryConfig.Settings conf = RecoveryConfig.read(store.storeDir.resolve("recovery.conf"));
    try (HandStartedServer again = HandStartedServer.start(tmp.resolve("server.log"), conf.httpPort(), Duration.ofSeconds(30),
        "bash", "-c", export + "; exec \"$0\" -c \"$1\"", server.binary().toString(), store.storeDir.resolve("recovery.conf").toString())) {
      String jsz = again.get("/jsz?streams=true");
      assertTrue(jsz.contains("\"messages\": 3"), "ORD-1's 3 messages are served after verify: " + jsz);
      assertEquals(List.of(), again.loadErrors());
    }
  }

  @Test
  void aKeyFileOfMoreThanOneLineIsRefused() throws Exception {
    StoreBuilder store = encryptedSurvivor();
    Path keyFile = Files.writeString(tmp.resolve("js.key"), EncryptedStoreTest.CHACHA.key() + "\r\nanother line\n");
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("prepare", "--key-file", keyFile.toString(), store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("key file " + keyFile + " holds more than one line; a JetStream key is one line (a trailing "
        + "line break, LF or CRLF, is ignored). Give a file holding only the key, as in jetstream { key }."), r.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void aMonitoringPortThatAcceptsButNeverAnswersEndsAtTheTimeout() throws Exception {
    StoreBuilder store = prepared();
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
        () -> Cli.run("verify", "--nats-server", silentServer().toString(), "--timeout", "8", store.storeDir.toString()));

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("nats-server did not finish loading the store within 8 s (--timeout): its monitoring port "
        + "127.0.0.1:"), r.err());
    assertTrue(r.err().contains(" accepts connections but never answers; see "), r.err());
    assertEquals(List.of(), children(), "verify left its server running");
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void sigtermToVerifyStopsItsServer() throws Exception {
    StoreBuilder store = prepared();
    Process verify = JsRecoverProcess.builder("verify", "--nats-server", silentServer().toString(), "--timeout", "300",
        store.storeDir.toString()).redirectOutput(tmp.resolve("verify.out").toFile()).start();
    List<ProcessHandle> server = List.of();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (server.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
        server = verify.descendants().toList();
      }
      assertFalse(server.isEmpty(), "verify started no server: " + Files.readString(tmp.resolve("verify.out")));

      verify.destroy(); // SIGTERM, as systemd, a container stop or kill(1) sends it
      assertTrue(verify.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "verify did not exit on SIGTERM");
      List<ProcessHandle> started = server;
      try { // a process being stopped may take a moment to go; one still there 10 s on was left behind
        Await.until(Duration.ofSeconds(10), "what verify started to stop", () -> {
          List<String> alive = started.stream().filter(ProcessHandle::isAlive).map(VerifyTest::describe).toList();
          return alive.isEmpty() ? null : alive.toString();
        });
      } catch (IllegalStateException e) {
        throw new AssertionError("the server verify started outlived it: " + e.getMessage());
      }
    } finally {
      verify.destroyForcibly();
      server.forEach(ProcessHandle::destroyForcibly);
    }
  }

  // ---- fake servers ----

  /** A "nats-server" that opens the monitoring port it is given (-m) and answers nothing, as a wedged server does. */
  Path silentServer() throws Exception {
    Path source = Files.writeString(tmp.resolve("SilentListener.java"), """
        public class SilentListener {
          public static void main(String[] args) throws Exception {
            int port = 0;
            for (int i = 0; i + 1 < args.length; i++) if (args[i].equals("-m")) port = Integer.parseInt(args[i + 1]);
            var socket = new java.net.ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress());
            var held = new java.util.ArrayList<java.net.Socket>();
            while (true) held.add(socket.accept());
          }
        }
        """);
    return script("silent-server", "exec '" + JsRecoverProcess.javaBin() + "' '" + source + "' \"$@\"");
  }

  /** A "nats-server" that only leaves a mark that it was started. */
  Path recordingServer() throws Exception {
    return script("recording-server", "touch '" + tmp.resolve("server-started") + "'; exit 1");
  }

  static void deleteTree(Path root) throws Exception {
    try (var walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }

  Path script(String name, String body) throws Exception {
    Path p = Files.writeString(tmp.resolve(name), "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  /** Processes this test JVM started that are still running (an in-process verify's servers are among them). */
  static List<String> children() {
    return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).map(VerifyTest::describe).toList();
  }

  static String describe(ProcessHandle p) {
    return p.pid() + " " + p.info().commandLine().orElse("?");
  }
}
