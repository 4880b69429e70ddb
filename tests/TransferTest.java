import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The runbook's last step, js-recover restore and backup, against real servers of one generation: the store a
 * 2.9.10 cluster's survivor left (tests/fixtures/cluster-2.9.10) is prepared and served by a standalone recovery
 * server, and carried into a fresh 3-node cluster. What arrives is compared with what the recovery server serves:
 * every stream with its original replica count, every message byte for byte, every consumer at its position.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class TransferTest {
  static final Path FIXTURE = Path.of("tests/fixtures/cluster-2.9.10");

  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private Path store;
  private NatsServerProcess recovery;
  private NatsCluster target;
  private final Map<String, Integer> originalReplicas = new TreeMap<>();

  @BeforeParameterizedClassInvocation void recoveryServerAndNewCluster() throws Exception {
    generation.binary(); // skips this generation, with the command that fetches it, when it is not here
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    store = work.resolve("store");
    StoreBuilder.copyTree(FIXTURE.resolve("store"), store);
    Cli.Result prepared = Cli.run("prepare", store.toString());
    assertEquals(0, prepared.exit(), prepared.all());
    for (JsonNode s : Json.MAPPER.readTree(FIXTURE.resolve("TRUTH.json").toFile()).path("streams")) {
      originalReplicas.put(s.path("name").asText(), s.path("replicas").asInt());
    }
    recovery = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, work.resolve("recovery"));
    target = NatsCluster.start(generation, NatsConfig.defaults());
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (target != null) target.close();
    if (recovery != null) recovery.close();
  }

  /** Each test starts from an empty new cluster. */
  @BeforeEach void emptyTarget() throws Exception {
    try (Connection nc = target.connect("$G")) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      Await.until(java.time.Duration.ofSeconds(20), "an empty target", () -> {
        List<String> left = jsm.getStreamNames();
        for (String name : left) {
          try {
            jsm.deleteStream(name);
          } catch (JetStreamApiException gone) {
            // listed a moment ago, deleted since
          }
        }
        return left.isEmpty() ? null : "streams left: " + left;
      });
    }
  }

  private Cli.Result restore(String... more) {
    List<String> args = new ArrayList<>(List.of("restore", "--from", recovery.clientUrl(), "--to", targetUrl()));
    args.addAll(List.of(more));
    args.add(store.toString());
    return Cli.run(args.toArray(String[]::new));
  }

  private String targetUrl() {
    return target.nodes().get(0).clientUrl();
  }

  @Test void everyStreamArrivesWithItsReplicasMessagesAndConsumers() throws Exception {
    Cli.Result r = restore();

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("7 of 7 stream(s) done."), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +3 +restored.*"), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +SINGLE +1 +restored.*"), r.out());
    assertTargetHoldsWhatTheRecoveryServerServes(originalReplicas.keySet());

    Cli.Result again = restore();
    assertEquals(0, again.exit(), again.all());
    assertTrue(again.out().matches("(?s).*\\$G +ORDERS +3 +already whole.*"), again.out());
    assertFalse(again.out().contains("restored"), again.out());
    JsonNode json = Json.MAPPER.readTree(restore("--json").out());
    assertTrue(json.path("done").asBoolean(), json.toString());
    assertEquals(7, json.path("streams").size(), json.toString());
    for (JsonNode s : json.path("streams")) assertEquals("already_whole", s.path("outcome").asText(), s.toString());
  }

  @Test void withoutFromAnEncryptedStoreIsServedByAServerRestoreAndBackupStartAndStop() throws Exception {
    // The survivor of an encrypted R3 cluster (an R3 stream with an R3 consumer, written by 2.9), prepared with its key.
    EncryptedStoreTest encrypted = new EncryptedStoreTest();
    encrypted.tmp = Files.createDirectories(tmp.resolve(generation.name() + "-encrypted"));
    StoreBuilder survivor = encrypted.survivor(EncryptedStoreTest.CHACHA);
    Path keyFile = Files.writeString(encrypted.tmp.resolve("js.key"), EncryptedStoreTest.CHACHA.key() + "\n");
    assertEquals(0, Cli.run("prepare", "--key-file", keyFile.toString(), survivor.storeDir.toString()).exit());
    Path storeDir = survivor.storeDir.toRealPath();

    Cli.Result r = Cli.run("restore", "--nats-server", generation.binary().toString(), "--key-file", keyFile.toString(),
        "--to", targetUrl(), storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.err().contains("Starting " + generation.binary() + " on " + storeDir.resolve("recovery.conf")), r.err());
    assertTrue(r.err().contains("The recovery server was stopped."), r.err());
    assertTrue(r.out().matches("(?s).*\\$G +ORD-1 +3 +restored.*"), r.out());
    assertTrue(r.out().contains("1 consumer(s) at their positions"), r.out());
    assertTrue(r.out().contains("1 of 1 stream(s) done."), r.out());
    assertFalse(r.all().contains(EncryptedStoreTest.CHACHA.key()), "the key was printed");
    assertEquals(List.of(), serversOn(storeDir), "restore left its server running");
    assertFalse(Files.exists(storeDir.resolve(StoreLock.FILE)), "restore left its lock");
    try (Connection nc = target.connect("$G")) {
      StreamInfo got = nc.jetStreamManagement().getStreamInfo("ORD-1");
      assertEquals(3, got.getConfiguration().getReplicas());
      assertEquals(2, got.getClusterInfo().getReplicas().size(), "ORD-1's peers");
      assertEquals(List.of("C1"), nc.jetStreamManagement().getConsumerNames("ORD-1"));
    }
    Cli.Result backup = Cli.run("backup", "--nats-server", generation.binary().toString(), "--key-file", keyFile.toString(),
        storeDir.toString(), encrypted.tmp.resolve("backup").toString());
    assertEquals(0, backup.exit(), backup.all());
    assertTrue(backup.out().matches("(?s).*\\$G +ORD-1 +3 +written.*"), backup.out());
    assertEquals(List.of(), serversOn(storeDir), "backup left its server running");
    // What the server's stop left (2.10.27 seals meta.inf under a meta.key it replaced) was resealed: it loads again.
    Cli.Result inspected = Cli.run("inspect", "--key-file", keyFile.toString(), storeDir.toString());
    assertFalse(inspected.out().contains("Problems"), "restore left a store that no longer opens:\n" + inspected.out());
  }

  @Test void globalBesideANamedAccountRestoresFromTheServerOfItsOwnConfig() throws Exception {
    // $G's stream written with no accounts configured, ACME's with: a server serves $G's JetStream only without accounts.
    Path work = tmp.resolve(generation.name() + "-global");
    VerifyTest.fill(generation, NatsConfig.defaults(), "$G", work.resolve("store"), "G_S", 2);
    VerifyTest.fill(generation, NatsConfig.defaults().withAccount("ACME", "acme", "acme-pw"), "ACME", work.resolve("acme-store"), "ACME_S", 3);
    StoreBuilder.copyTree(work.resolve("acme-store/jetstream/ACME"), work.resolve("store/jetstream/ACME"));
    assertEquals(0, Cli.run("prepare", work.resolve("store").toString()).exit());
    Path storeDir = work.resolve("store").toRealPath();
    String bin = generation.binary().toString();

    Cli.Result both = Cli.run("restore", "--nats-server", bin, "--to", targetUrl(), storeDir.toString());
    Cli.Result global = Cli.run("restore", "--account", "$G", "--nats-server", bin, "--to", targetUrl(), storeDir.toString());
    Cli.Result acme = Cli.run("restore", "--account", "ACME", "--nats-server", bin, "--to", targetUrl(), storeDir.toString());

    assertEquals(1, both.exit(), both.all());
    // The new cluster has $G only: both accounts would land in it, so one command without a login per account is refused.
    assertTrue(both.err().contains("accounts $G and ACME would log in to the new cluster as the same user"), both.err());
    assertFalse(both.err().contains("Starting "), "a server was started: " + both.err());
    assertEquals(0, global.exit(), global.all());
    assertTrue(global.err().contains(" on " + storeDir.resolve("recovery-global.conf") + " ("), global.err());
    assertTrue(global.out().matches("(?s).*\\$G +G_S +1 +restored.*"), global.out());
    assertEquals(0, acme.exit(), acme.all());
    assertTrue(acme.err().contains(" on " + storeDir.resolve("recovery.conf") + " ("), acme.err());
    assertTrue(acme.out().matches("(?s).*ACME +ACME_S +1 +restored.*"), acme.out());
    assertEquals(List.of(), serversOn(storeDir), "restore left a server running");
    try (Connection nc = target.connect("$G")) {
      assertEquals(2, nc.jetStreamManagement().getStreamInfo("G_S").getStreamState().getMsgCount());
      assertEquals(3, nc.jetStreamManagement().getStreamInfo("ACME_S").getStreamState().getMsgCount());
    }
  }

  /** Processes started on a file of this store (nats-server -c <store>/recovery.conf). */
  static List<String> serversOn(Path storeDir) {
    return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
        .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))
        .filter(line -> line.contains(storeDir + "/recovery")).toList();
  }

  @Test void anInterruptedRestoreCompletesWhenRunAgain() throws Exception {
    // The operator's link to the new cluster drops in the middle of ORDERS' archive.
    try (Connection source = recovery.connect("$G"); Connection broken = target.connect("$G")) {
      Transfer.Restore[] restore = new Transfer.Restore[1];
      try {
        Transfer.snapshot(source, "ORDERS", reply -> {
          restore[0] = Transfer.Restore.open(broken, "ORDERS",
              Transfer.targetConfig(reply.path("config"), 3, null, List.of()), reply.path("state"));
          return chunk -> {
            restore[0].chunk(chunk);
            try {
              broken.close();
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          };
        });
      } catch (Refusal expected) {
        // the connection closed under the relay
      }
    }

    Cli.Result r = restore("--stream", "ORDERS");

    if (generation.atLeast(12)) {
      // 2.12+ build the stream as the archive arrives: the interrupted run left ORDERS with its messages but
      // without its consumers. That copy is named and kept until the operator says --replace.
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.out().contains("NOT DONE $G > ORDERS: the target already has a stream ORDERS that differs ("), r.out());
      assertTrue(r.out().contains("consumer R3EXPL missing at the target"), r.out());
      r = restore("--stream", "ORDERS", "--replace");
    }
    // 2.9 and 2.10 leave an empty stream once they give the interrupted restore up: the rerun replaces it.
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +3 +restored.*"), r.out());
    assertTargetHoldsWhatTheRecoveryServerServes(List.of("ORDERS"));
  }

  @Test void aStreamTheTargetAlreadyHasIsRefusedAndLeftAloneUnlessReplaced() throws Exception {
    try (Connection nc = target.connect("$G")) {
      nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("ORDERS").subjects("elsewhere.>").replicas(3).build());
      nc.jetStream().publish("elsewhere.1", "the new cluster's own".getBytes());
    }

    Cli.Result r = restore("--stream", "ORDERS", "--stream", "SINGLE");

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +ORDERS +3 +refused.*"), r.out());
    assertTrue(r.out().contains("NOT DONE $G > ORDERS: the target already has a stream ORDERS that differs (messages 20 at the "
        + "source, 1 at the target"), r.out());
    assertTrue(r.out().contains("Rerun with --replace"), r.out());
    assertTrue(r.out().contains("1 of 2 stream(s) done"), r.out());
    try (Connection nc = target.connect("$G")) {
      StreamInfo left = nc.jetStreamManagement().getStreamInfo("ORDERS");
      assertEquals(1, left.getStreamState().getMsgCount(), "the target's own stream was changed");
      assertEquals(List.of("elsewhere.>"), left.getConfiguration().getSubjects());
    }

    // A server that does not serve the store's streams, named as the recovery server by mistake.
    Cli.Result wrongSource = Cli.run("restore", "--from", targetUrl(), "--to", targetUrl(), "--stream", "JOBS", store.toString());
    assertEquals(1, wrongSource.exit(), wrongSource.all());
    assertTrue(wrongSource.out().contains("NOT DONE $G > JOBS: source: the recovery server does not serve this stream"), wrongSource.out());

    Cli.Result replaced = restore("--replace", "--stream", "ORDERS", "--cluster", NatsCluster.NAME);
    assertEquals(0, replaced.exit(), replaced.all());
    assertTargetHoldsWhatTheRecoveryServerServes(List.of("ORDERS", "SINGLE"));
    try (Connection nc = target.connect("$G")) {
      assertEquals(NatsCluster.NAME, nc.jetStreamManagement().getStreamInfo("ORDERS").getConfiguration().getPlacement().getCluster());
    }
  }

  @Test void aStreamWhoseOriginalReplicaCountIsUnknownIsNotRestoredWithAGuess() throws Exception {
    // A --force run that could not read PLACED's config (torn) records its count as unknown, and the config is still
    // unreadable: no run can know the count. (The recovery server serves the copy whose PLACED was readable.)
    Path unknown = tmp.resolve(generation.name()).resolve("unknown-replicas");
    StoreBuilder.copyTree(store, unknown);
    Files.writeString(unknown.resolve("jetstream/$G/streams/PLACED/meta.inf"), "{\"name\":\"PLA");
    try (var runs = Files.list(unknown.resolve("js-recover-backup"))) {
      for (Path manifest : runs.map(run -> run.resolve("manifest.json")).filter(Files::isRegularFile).toList()) {
        com.fasterxml.jackson.databind.node.ObjectNode m = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(manifest.toFile());
        for (JsonNode s : m.path("streams")) {
          if (s.path("stream").asText().equals("PLACED")) ((com.fasterxml.jackson.databind.node.ObjectNode) s).putNull("replicas");
        }
        Files.write(manifest, Json.MAPPER.writeValueAsBytes(m));
      }
    }

    Cli.Result r = Cli.run("restore", "--from", recovery.clientUrl(), "--to", targetUrl(), "--stream", "PLACED", "--stream",
        "SINGLE", unknown.toString());
    Cli.Result backup = Cli.run("backup", "--from", recovery.clientUrl(), "--stream", "PLACED", unknown.toString(),
        tmp.resolve(generation.name()).resolve("unknown-backup").toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.out().contains("NOT DONE $G > PLACED: its original replica count is unknown (no prepare run could read its "
        + "config), so it is not restored with a guess; nothing was sent: give --replicas N"), r.out());
    assertTrue(r.out().matches("(?s).*\\$G +SINGLE +1 +restored.*"), r.out());
    try (Connection nc = target.connect("$G")) {
      assertFalse(nc.jetStreamManagement().getStreamNames().contains("PLACED"), "PLACED was restored with a guessed count");
    }
    assertEquals(1, backup.exit(), backup.all());
    assertTrue(backup.out().contains("NOT DONE $G > PLACED: its original replica count is unknown (no prepare run could read its "
        + "config), so it is not backed up with a guess; nothing was sent."), backup.out());
    assertFalse(Files.exists(tmp.resolve(generation.name()).resolve("unknown-backup/PLACED/backup.json")));

    Cli.Result given = Cli.run("restore", "--from", recovery.clientUrl(), "--to", targetUrl(), "--stream", "PLACED",
        "--replicas", "3", unknown.toString());
    assertEquals(0, given.exit(), given.all());
    assertTrue(given.out().matches("(?s).*\\$G +PLACED +3 +restored.*"), given.out());
  }

  @Test void aTargetWithoutJetStreamOrWithWrongCredentialsFailsEveryStreamClearly() throws Exception {
    NatsConfig auth = NatsConfig.defaults().withAccount("APP", "app", "app-secret").withSystemAccount("SYS", "sys", "sys-secret");
    try (NatsServerProcess other = NatsServerProcess.standalone(generation, auth, tmp.resolve(generation.name() + "-other-store"),
        tmp.resolve(generation.name() + "-other"))) {
      String hostPort = other.clientUrl().replace("nats://", "");

      Cli.Result wrong = Cli.run("restore", "--from", recovery.clientUrl(), "--to", "nats://app:not-the-password@" + hostPort, store.toString());
      Cli.Result noJetStream = Cli.run("restore", "--from", recovery.clientUrl(), "--to", "nats://sys:sys-secret@" + hostPort,
          "--stream", "ORDERS", store.toString());

      assertEquals(1, wrong.exit(), wrong.all());
      assertTrue(wrong.out().contains("NOT DONE $G > ORDERS: cannot connect to nats://" + hostPort + ": "), wrong.out());
      assertTrue(wrong.out().toLowerCase().contains("authorization violation"), wrong.out());
      assertTrue(wrong.out().contains("0 of 7 stream(s) done"), wrong.out());
      assertEquals(1, noJetStream.exit(), noJetStream.all());
      assertTrue(noJetStream.out().contains("NOT DONE $G > ORDERS: "), noJetStream.out());
      assertTrue(noJetStream.out().matches("(?s).*NOT DONE \\$G > ORDERS: [^\\n]*(JetStream|jetstream).*"), noJetStream.out());
      assertTrue(noJetStream.out().contains("0 of 1 stream(s) done"), noJetStream.out());
      for (Cli.Result r : List.of(wrong, noJetStream)) {
        assertFalse(r.all().contains("not-the-password") || r.all().contains("sys-secret"), "a target password was printed: " + r.all());
      }
      try (Connection nc = other.connect("APP")) {
        assertEquals(List.of(), nc.jetStreamManagement().getStreamNames(), "something arrived");
      }
    }
  }

  @Test void aBackupLaidOutAsTheNatsCliWritesItRestoresThroughFromBackup() throws Exception {
    Path backup = tmp.resolve(generation.name() + "-backup");

    Cli.Result written = Cli.run("backup", "--from", recovery.clientUrl(), store.toString(), backup.toString());
    Cli.Result again = Cli.run("backup", "--from", recovery.clientUrl(), store.toString(), backup.toString());

    assertEquals(0, written.exit(), written.all());
    assertTrue(written.out().contains("7 of 7 stream(s) done."), written.out());
    for (var e : originalReplicas.entrySet()) {
      Path folder = backup.resolve(e.getKey());
      JsonNode request = Json.MAPPER.readTree(folder.resolve("backup.json").toFile());
      assertEquals(e.getKey(), request.path("config").path("name").asText());
      assertEquals(e.getValue().intValue(), request.path("config").path("num_replicas").asInt(), e.getKey() + " lost its replica count");
      assertTrue(request.path("state").has("last_seq"), request.toString());
      byte[] archive = Files.readAllBytes(folder.resolve("stream.tar.s2"));
      assertEquals("ff06000053327354774f", HexFormat.of().formatHex(archive, 0, 10), "not an s2 stream as the server writes it");
    }

    assertEquals(0, again.exit(), again.all());
    assertTrue(again.out().matches("(?s).*\\$G +ORDERS +3 +kept.*"), again.out());

    // Two streams, to keep the run short: an R3 one with consumers and the R1 one.
    Cli.Result r = Cli.run("restore", "--from-backup", backup.resolve("ORDERS").toString(), "--to", targetUrl());
    Cli.Result single = Cli.run("restore", "--from-backup", backup.resolve("SINGLE").toString(), "--to", targetUrl());

    assertEquals(0, r.exit(), r.all());
    assertEquals(0, single.exit(), single.all());
    assertTrue(r.out().contains("1 of 1 stream(s) done."), r.out());
    assertTrue(r.out().contains("2 consumer(s) at their positions"), r.out());
    assertTargetHoldsWhatTheRecoveryServerServes(List.of("ORDERS", "SINGLE"));
  }

  @Test void eachAccountRestoresWithItsOwnRecoveryUserIntoItsOwnTargetAccount() throws Exception {
    // Two accounts with a stream of the same name: each must land in its own account of the new deployment.
    Path work = tmp.resolve(generation.name() + "-accounts");
    Path accountsStore = work.resolve("store");
    NatsConfig original = NatsConfig.defaults().withAccount("A", "a", "a-pw").withAccount("B", "b", "b-pw");
    try (NatsServerProcess before = NatsServerProcess.standalone(generation, original, accountsStore, work.resolve("before"))) {
      for (String account : List.of("A", "B")) {
        try (Connection nc = before.connect(account)) {
          nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("ORDERS").subjects("orders.>").build());
          for (int i = 0; i < (account.equals("A") ? 3 : 5); i++) nc.jetStream().publish("orders." + i, (account + i).getBytes());
        }
      }
      before.stop();
    }
    assertEquals(0, Cli.run("prepare", accountsStore.toString()).exit());
    RecoveryConfig.Settings conf = RecoveryConfig.read(accountsStore.resolve("recovery.conf"));
    NatsConfig recoveryUsers = NatsConfig.defaults()
        .withAccount("A", conf.login("A").user(), conf.login("A").password())
        .withAccount("B", conf.login("B").user(), conf.login("B").password());
    NatsConfig newDeployment = NatsConfig.defaults().withAccount("A", "new-a", "new-a-pw").withAccount("B", "new-b", "new-b-pw");
    try (NatsServerProcess source = NatsServerProcess.standalone(generation, recoveryUsers, accountsStore, work.resolve("recovery"));
        NatsServerProcess to = NatsServerProcess.standalone(generation, newDeployment, work.resolve("target-store"), work.resolve("target"))) {
      String hostPort = to.clientUrl().replace("nats://", "");

      Cli.Result a = Cli.run("restore", "--from", source.clientUrl(), "--to", "nats://new-a:new-a-pw@" + hostPort, "--account", "A",
          accountsStore.toString());
      Cli.Result b = Cli.run("restore", "--from", source.clientUrl(), "--to", "nats://new-b:new-b-pw@" + hostPort, "--account", "B",
          accountsStore.toString());

      assertEquals(0, a.exit(), a.all());
      assertEquals(0, b.exit(), b.all());
      assertTrue(a.out().matches("(?s).*A +ORDERS +1 +restored.*"), a.out());
      for (String account : List.of("A", "B")) {
        try (Connection from = source.connect(account); Connection arrived = to.connect(account)) {
          JetStreamManagement want = from.jetStreamManagement(), got = arrived.jetStreamManagement();
          assertEquals(messages(want, want.getStreamInfo("ORDERS")), messages(got, got.getStreamInfo("ORDERS")), account);
        }
      }
      try (Connection nc = to.connect("B")) {
        assertEquals(5, nc.jetStreamManagement().getStreamInfo("ORDERS").getStreamState().getMsgCount());
      }
      assertFalse(a.all().contains("new-a-pw") || a.all().contains(conf.login("A").password()), "a password was printed: " + a.all());
    }
  }

  @Test void aTargetBehindTlsAndAnNkeyIsReachedAsTheNatsCliReachesIt() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(generation.name() + "-tls"));
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (String who : List.of("server", "client")) {
      openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + ".key", "-out", who + ".csr", "-subj", "/CN=" + who);
      openssl(dir, "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", who + ".pem",
          "-days", "1", "-extfile", "san.ext");
    }
    openssl(dir, "rsa", "-in", "client.key", "-traditional", "-out", "client-traditional.key");
    io.nats.client.NKey user = io.nats.client.NKey.createUser(null);
    Path seed = dir.resolve("user.nk");
    Files.writeString(seed, new String(user.getSeed()) + "\n");
    String extra = "tls { cert_file: " + NatsConfig.quote(dir.resolve("server.pem").toString()) + ", key_file: "
        + NatsConfig.quote(dir.resolve("server.key").toString()) + ", ca_file: " + NatsConfig.quote(dir.resolve("ca.pem").toString())
        + ", verify: true }\nauthorization { users: [ { nkey: " + new String(user.getPublicKey()) + " } ] }\n";
    try (NatsServerProcess to = NatsServerProcess.start(generation, "tls-target", NatsConfig.defaults(), dir.resolve("store"), extra,
        dir.resolve("server"))) {
      List<String> tls = List.of("--nkey", seed.toString(), "--tlsca", dir.resolve("ca.pem").toString(),
          "--tlscert", dir.resolve("client.pem").toString());
      List<String> args = new ArrayList<>(List.of("restore", "--from", recovery.clientUrl(), "--to", to.clientUrl(), "--stream", "ORDERS"));
      args.addAll(tls);

      Cli.Result withoutKey = Cli.run(concat(args, store.toString()));
      Cli.Result traditionalKey = Cli.run(concat(args, "--tlskey", dir.resolve("client-traditional.key").toString(), "--replicas", "1",
          store.toString()));
      Cli.Result r = Cli.run(concat(args, "--tlskey", dir.resolve("client.key").toString(), "--replicas", "1", store.toString()));

      assertEquals(1, withoutKey.exit(), withoutKey.all());
      assertTrue(withoutKey.out().contains("NOT DONE $G > ORDERS: cannot use the credentials or TLS files given: --tlscert and "
          + "--tlskey go together"), withoutKey.out());
      assertEquals(1, traditionalKey.exit(), traditionalKey.all());
      assertTrue(traditionalKey.out().contains("NOT DONE $G > ORDERS: cannot use the credentials or TLS files given: "
          + dir.resolve("client-traditional.key") + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY); convert it with: openssl pkcs8"),
          traditionalKey.out());
      assertEquals(0, r.exit(), r.all());
      assertTrue(r.out().matches("(?s).*\\$G +ORDERS +1 +restored.*"), r.out());
      assertFalse(r.all().contains(new String(user.getSeed())), "the seed was printed");
    }
  }

  static String[] concat(List<String> args, String... more) {
    List<String> all = new ArrayList<>(args);
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
  }

  @Test void theTargetConfigIsTheSourcesWithTheNewReplicasAndPlacement() throws Exception {
    JsonNode source = Json.MAPPER.readTree("{\"name\":\"ORDERS\",\"num_replicas\":1,\"placement\":{\"cluster\":\"OLD\"},"
        + "\"max_bytes\":18446744073709551615,\"future_field\":true}");

    JsonNode placed = Transfer.targetConfig(source, 3, "C2", List.of("ssd", "eu"));
    JsonNode unplaced = Transfer.targetConfig(source, 5, null, List.of());

    assertEquals("{\"name\":\"ORDERS\",\"num_replicas\":3,\"max_bytes\":18446744073709551615,\"future_field\":true,"
        + "\"placement\":{\"cluster\":\"C2\",\"tags\":[\"ssd\",\"eu\"]}}", placed.toString());
    assertEquals(5, unplaced.path("num_replicas").asInt());
    assertFalse(unplaced.has("placement"), unplaced.toString());
    assertEquals(1, source.path("num_replicas").asInt(), "the source config was changed");
  }

  /** Every stream in the target with its original replicas, every message byte for byte, every consumer at its position. */
  private void assertTargetHoldsWhatTheRecoveryServerServes(Iterable<String> streams) throws Exception {
    try (Connection from = recovery.connect("$G"); Connection to = target.connect("$G")) {
      JetStreamManagement source = from.jetStreamManagement(), restored = to.jetStreamManagement();
      for (String stream : streams) {
        StreamInfo want = source.getStreamInfo(stream), got = restored.getStreamInfo(stream);
        assertEquals(originalReplicas.get(stream).intValue(), got.getConfiguration().getReplicas(), stream + " replicas");
        assertEquals(originalReplicas.get(stream) - 1, got.getClusterInfo().getReplicas() == null ? 0 : got.getClusterInfo().getReplicas().size(),
            stream + " peers");
        assertEquals(want.getStreamState().getMsgCount(), got.getStreamState().getMsgCount(), stream + " messages");
        assertEquals(messages(source, want), messages(restored, got), stream + " messages differ");
        assertEquals(positions(source.getConsumers(stream)), positions(restored.getConsumers(stream)), stream + " consumers");
      }
    }
  }

  /** seq, subject, headers, payload and time of every message; deleted sequences as such. */
  private static List<String> messages(JetStreamManagement jsm, StreamInfo info) throws Exception {
    List<String> all = new ArrayList<>();
    String stream = info.getConfiguration().getName();
    for (long seq = info.getStreamState().getFirstSequence(); seq <= info.getStreamState().getLastSequence(); seq++) {
      try {
        MessageInfo m = jsm.getMessage(stream, seq);
        all.add(seq + " " + m.getSubject() + " " + (m.getHeaders() == null ? "{}" : new TreeMap<>(m.getHeaders().entrySet().stream()
            .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)))) + " "
            + Base64.getEncoder().encodeToString(m.getData() == null ? new byte[0] : m.getData()) + " " + m.getTime().toInstant());
      } catch (JetStreamApiException deleted) {
        all.add(seq + " deleted (" + deleted.getApiErrorCode() + ")");
      }
    }
    return all;
  }

  private static Map<String, String> positions(List<ConsumerInfo> consumers) {
    Map<String, String> p = new TreeMap<>();
    for (ConsumerInfo c : consumers) {
      p.put(c.getName(), "delivered " + c.getDelivered().getConsumerSequence() + "/" + c.getDelivered().getStreamSequence()
          + " ack floor " + c.getAckFloor().getConsumerSequence() + "/" + c.getAckFloor().getStreamSequence()
          + " pending " + c.getNumPending() + " ack pending " + c.getNumAckPending());
    }
    return p;
  }
}
