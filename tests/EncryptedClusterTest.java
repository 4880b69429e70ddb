import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The quorum-loss incident on a cluster that ran with {@code jetstream { key, cipher }}, once per cipher: a real
 * 3-node nats-server cluster loses two nodes, the operator copies the survivor's store, runs
 * {@code js-recover prepare --key-file} on the copy, checks it with {@code js-recover verify --key-file} and starts a
 * standalone server with the same key and cipher. The key has a space and a non-ASCII character, as keys may. chacha runs with config-mode accounts and a named
 * system account (the account name is part of every encryption context); aes runs in {@code $G}.
 *
 * <p>Once per server generation (2.9, 2.10, 2.15), one incident per cipher is built on first use and shared by the
 * tests of that cipher: it yields two copies of the survivor's store, one prepared with the right key and one kept
 * for the wrong key.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class EncryptedClusterTest {
  /** The cluster's jetstream { key }: a space and a non-ASCII character, so bytes and characters differ. */
  private static final String KEY = "clé de test 1";

  @TempDir static Path tmp;
  /** The generation this run of the class tests, and its own folder. */
  @Parameter ServerGeneration generation;
  private Path work;

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final Map<String, Object> incidents = new HashMap<>(); // cipher -> Incident, or why it failed

  /**
   * A broken encrypted cluster after the operator's first steps: the truth recorded before the incident, the
   * survivor's store copied twice after it was stopped, the key file, and prepare run with it on the first copy.
   * {@code metaKeysBefore}/{@code metaKeysAfter}: every meta.key in that copy (path -> SHA-256) just before and
   * just after prepare, before any server touched it (2.9.10 re-keys encrypted streams when it loads them).
   */
  private record Incident(NatsConfig config, JetStreamTruth truth, Path copy, Path wrongKeyCopy,
      Path keyFile, Cli.Result prepared, Map<String, String> metaKeysBefore, Map<String, String> metaKeysAfter) {}

  @BeforeParameterizedClassInvocation void generationPresent() throws Exception {
    work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation, with the command that fetches it, when it is not here
  }

  @AfterParameterizedClassInvocation void shutDown() throws Exception {
    List<AutoCloseable> resources = new ArrayList<>(cleanup);
    Collections.reverse(resources);
    for (AutoCloseable resource : resources) resource.close();
    cleanup.clear();
    incidents.clear();
  }

  @ParameterizedTest(name = "{displayName} {0}")
  @ValueSource(strings = {"chacha", "aes"})
  void prepareResealsEveryConfigUnderItsOwnMetaKey(String cipher) throws Exception {
    Incident incident = incident(cipher);
    Cli.Result r = incident.prepared();
    assertEquals(0, r.exit(), "js-recover prepare --key-file failed:\n" + r.all());

    // Every R3 stream and every consumer created with num_replicas 3 is rewritten, and, being sealed, resealed.
    List<String> changeLines = r.out().lines().filter(l -> l.startsWith("  stream   ") || l.startsWith("  consumer ")).toList();
    for (JetStreamTruth.StreamTruth s : incident.truth().streams()) {
      if (s.replicas() > 1) assertResealed(changeLines, "stream   " + s.id(), r);
      for (JetStreamTruth.ConsumerTruth c : s.consumers()) {
        if (c.replicas() > 1) assertResealed(changeLines, "consumer " + s.id() + " > " + c.name(), r);
      }
    }
    changeLines.forEach(l -> assertTrue(l.endsWith(" (resealed)"), "a sealed config rewritten without resealing: " + l));

    // meta.key holds the seed the message blocks are encrypted with: prepare must not touch a single one.
    for (JetStreamTruth.StreamTruth s : incident.truth().streams()) {
      String dir = "jetstream/" + s.account() + "/streams/" + s.name() + "/";
      assertTrue(incident.metaKeysBefore().containsKey(dir + "meta.key"), "the cluster did not encrypt " + s.id());
      for (JetStreamTruth.ConsumerTruth c : s.consumers()) {
        assertTrue(incident.metaKeysBefore().containsKey(dir + "obs/" + c.name() + "/meta.key"),
            "the cluster did not encrypt consumer " + s.id() + " > " + c.name());
      }
    }
    assertEquals(incident.metaKeysBefore(), incident.metaKeysAfter(), "prepare changed, moved or removed a meta.key");

    // The Raft state sits under the system account's folder, whatever that account is called.
    String raft = "jetstream/" + incident.config().systemAccount() + "/_js_";
    assertTrue(r.out().contains("  raft     " + raft + ": moved to js-recover-backup/"), r.out());
    assertFalse(Files.exists(incident.copy().resolve(raft)), raft + " is still in the store");
  }

  @ParameterizedTest(name = "{displayName} {0}")
  @ValueSource(strings = {"chacha", "aes"})
  void standaloneServerWithTheSameKeyServesWhatTheClusterHeldAcrossRestarts(String cipher) throws Exception {
    Incident incident = incident(cipher);
    assertEquals(0, incident.prepared().exit(), "js-recover prepare --key-file failed:\n" + incident.prepared().all());

    // Started twice, as the runbook does (verify, then the server for the backup): 2.9.10 replaces every encrypted
    // stream's meta.key each time it loads it, so the second start reads what the first one rewrote.
    for (String start : List.of("first", "second")) {
      try (NatsServerProcess server = NatsServerProcess.standalone(generation, incident.config(), incident.copy(),
          work.resolve(cipher + "-server-" + start))) {
        assertEquals(List.of(), server.loadErrors(), start + " start could not load part of the store; log: " + server.logFile());
        // The survivor held every stream (it was chosen as the host of the one R1 stream), so nothing may be missing.
        JetStreamTruth.Comparison comparison = incident.truth().compareWith(JetStreamTruth.read(incident.config(), server::connect));
        comparison.redelivery().forEach(line -> System.out.println(cipher + ", " + start + " start: redelivery after recovery: " + line));
        assertEquals(List.of(), comparison.problems(), "after its " + start + " start the " + cipher
            + " recovery server does not serve what the cluster held");
        server.stop();
      }
    }
  }

  @ParameterizedTest(name = "{displayName} {0}")
  @ValueSource(strings = {"chacha", "aes"})
  void verifyWithTheKeyFileReportsEveryStreamAndConsumerLoaded(String cipher) throws Exception {
    // The runbook's load check: nats-server on the generated recovery.conf, which reads the key from the
    // environment (key: $JS_RECOVER_KEY), fed by verify from the same key file prepare used.
    Incident incident = incident(cipher);
    assertEquals(0, incident.prepared().exit(), "js-recover prepare --key-file failed:\n" + incident.prepared().all());

    Cli.Result r = Cli.run("verify", "--nats-server", generation.binary().toString(),
        "--key-file", incident.keyFile().toString(), incident.copy().toString());

    assertEquals(0, r.exit(), r.all());
    int consumers = incident.truth().streams().stream().mapToInt(s -> s.consumers().size()).sum();
    assertTrue(r.out().contains("All " + incident.truth().streams().size() + " stream(s) and " + consumers
        + " consumer(s) on disk loaded."), r.out());
  }

  @ParameterizedTest(name = "{displayName} {0}")
  @ValueSource(strings = {"chacha", "aes"})
  void aWrongKeyIsRefusedNamingEveryAssetAndChangesNothing(String cipher) throws Exception {
    Incident incident = incident(cipher);
    Path copy = incident.wrongKeyCopy();
    String before = StoreBuilder.treeDigest(copy);

    Cli.Result r = Cli.run("prepare", "--key", "wrong", copy.toString());

    assertEquals(1, r.exit(), r.all());
    // The operator must learn which assets the key fails on, not just that something failed.
    for (JetStreamTruth.StreamTruth s : incident.truth().streams()) {
      assertTrue(r.all().contains("the key does not open stream " + s.id() + " "), "stream " + s.id() + " not named:\n" + r.all());
      for (JetStreamTruth.ConsumerTruth c : s.consumers()) {
        assertTrue(r.all().contains("the key does not open consumer " + s.id() + " > " + c.name() + " "),
            "consumer " + s.id() + " > " + c.name() + " not named:\n" + r.all());
      }
    }
    assertEquals(before, StoreBuilder.treeDigest(copy), "prepare refused the wrong key but changed the store");
  }

  // ---- the incident ----

  /** The cipher's incident, staged on first use; a failure to stage it fails every test of that cipher at once. */
  private Incident incident(String cipher) {
    Object staged = incidents.computeIfAbsent(cipher, c -> {
      try {
        return breakAndPrepare(c);
      } catch (Exception | AssertionError e) {
        return e;
      }
    });
    if (staged instanceof Incident incident) return incident;
    throw new IllegalStateException("the " + cipher + " incident could not be staged: " + staged, (Throwable) staged);
  }

  /**
   * Builds an encrypted cluster, fills it, records the truth once every replica is current, SIGKILLs two nodes,
   * stops the survivor with SIGTERM, copies its store twice and runs prepare with the key file on one copy.
   */
  private Incident breakAndPrepare(String cipher) throws Exception {
    NatsConfig config = NatsConfig.defaults().withEncryption(KEY, cipher);
    if (cipher.equals("chacha")) {
      config = config.withAccount("ACC_A", "alice", "alice-pw").withSystemAccount("SYSX", "sys", "sys-pw");
    }
    NatsCluster cluster = NatsCluster.start(generation, config);
    cleanup.add(cluster);
    for (String account : config.jetStreamAccounts()) {
      try (Connection nc = cluster.connect(account)) {
        // R3 limits, work-queue and interest streams, each with a durable created without a replica count and
        // one with num_replicas 3, partly acked; headers and binary payloads; and an R1 stream.
        new Workload(nc).coreStreams();
      }
    }
    cluster.awaitReplicasCurrent();
    JetStreamTruth truth = JetStreamTruth.read(config, cluster::connect);
    String survivor = truth.stream(config.jetStreamAccounts().get(0), "SINGLE").orElseThrow().nodes().get(0);
    cluster.nodes().stream().filter(n -> !n.name().equals(survivor)).forEach(NatsServerProcess::kill);
    cluster.node(survivor).stop();
    Path copy = cluster.node(survivor).copyStoreTo(work.resolve(cipher + "-copy"));
    Path wrongKeyCopy = cluster.node(survivor).copyStoreTo(work.resolve(cipher + "-wrong-key-copy"));

    // As an operator writes it: echo "$KEY" > js.key (prepare ignores one trailing newline).
    Path keyFile = Files.writeString(work.resolve(cipher + ".key"), KEY + "\n", StandardCharsets.UTF_8);
    Map<String, String> before = metaKeys(copy);
    Cli.Result prepared = Cli.run("prepare", "--key-file", keyFile.toString(), copy.toString());
    return new Incident(config, truth, copy, wrongKeyCopy, keyFile, prepared, before, metaKeys(copy));
  }

  private void assertResealed(List<String> changeLines, String label, Cli.Result r) {
    assertTrue(changeLines.stream().anyMatch(l -> l.startsWith("  " + label + ": ") && l.endsWith(" (resealed)")),
        label + " not rewritten and resealed:\n" + r.out());
  }

  /**
   * Every meta.key in the store (path relative to the store dir -> SHA-256). A meta.key of Raft state that prepare
   * moved into js-recover-backup/<run>/raft/ is listed under the path it had in the store.
   */
  private Map<String, String> metaKeys(Path storeDir) {
    Map<String, String> keys = new TreeMap<>();
    StoreBuilder.files(storeDir).forEach((path, bytes) -> {
      if (!path.endsWith("/meta.key")) return;
      String where = path.replaceFirst("^js-recover-backup/[^/]+/raft/", "");
      assertEquals(null, keys.put(where, StoreBuilder.sha256(bytes)), "two copies of " + where);
    });
    return keys;
  }
}
