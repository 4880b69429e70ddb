import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.api.Placement;
import io.nats.client.api.Source;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The incident js-recover exists for, end to end against real nats-server processes: a 3-node JetStream cluster
 * loses two nodes and with them Raft quorum; the operator copies the survivor's store, runs
 * {@code js-recover prepare} on the copy, starts a standalone nats-server on it and checks that it serves what
 * the cluster held: every stream the survivor held with its messages and sequences, every durable consumer
 * (lagging is reported, missing fails), and a server log without checksum or consumer errors.
 *
 * <p>Once per server generation (2.9, 2.10, 2.15): one populated cluster breaks in {@link #incident} for the
 * many-streams checks; the incidents that differ (survivor killed too, several accounts) build their own.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class QuorumLossTest {
  @TempDir static Path tmp;
  /** The generation this run of the class tests, and its own folder. */
  @Parameter ServerGeneration generation;
  private Path work;

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final Map<Path, Cli.Result> preparedCopies = new HashMap<>();
  private final Map<Path, NatsServerProcess> recoveryServers = new HashMap<>();

  /** The main incident: the survivor's store copied once while it still ran, once after it was stopped. */
  private JetStreamTruth truth;
  private String survivor;
  private Path runningCopy;
  private Path stoppedCopy;

  @BeforeParameterizedClassInvocation void incident() throws Exception {
    work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation, with the command that fetches it, when it is not here
    Incident incident = breakCluster(NatsConfig.defaults(), cluster -> {
      try (Connection nc = cluster.connect("$G")) {
        Workload workload = new Workload(nc);
        workload.coreStreams();
        workload.keyValueAndObjects();
        workload.mirrorAndSources();
      }
    });
    truth = incident.truth();
    survivor = incident.survivor().name();
    runningCopy = incident.survivor().copyStoreTo(work.resolve("running-copy"));
    incident.survivor().stop();
    stoppedCopy = incident.survivor().copyStoreTo(work.resolve("stopped-copy"));
  }

  @AfterParameterizedClassInvocation void shutDown() throws Exception {
    Collections.reverse(cleanup);
    for (AutoCloseable resource : cleanup) resource.close();
    cleanup.clear();
  }

  @Test void streamsOfEveryRetentionKeepTheirMessagesAndConsumers() throws Exception {
    // Limits, work queue, interest and R1 streams; their consumers were created without a replica count or with 3.
    assertNothingLost(truth.hostedBy(survivor).only("ORDERS", "JOBS", "EVENTS", "SINGLE").withoutSamples()
        .compareWith(served(recovered(stoppedCopy))));
  }

  @Test void keyValueBucketKeepsItsHistory() throws Exception {
    NatsServerProcess server = recovered(stoppedCopy);
    assertNothingLost(truth.only("KV_" + Workload.KV_BUCKET).compareWith(served(server)));
    try (Connection nc = server.connect("$G")) {
      KeyValue kv = nc.keyValue(Workload.KV_BUCKET);
      assertEquals(Workload.MODES, kv.history("app.mode").stream().map(KeyValueEntry::getValueAsString).toList());
      assertEquals(KeyValueOperation.DELETE, kv.history(Workload.RETIRED_KEY).get(1).getOperation());
      assertNull(kv.get(Workload.RETIRED_KEY), "a deleted key stays deleted");
    }
  }

  @Test void objectStoreObjectReadsBackWhole() throws Exception {
    NatsServerProcess server = recovered(stoppedCopy);
    assertNothingLost(truth.only("OBJ_" + Workload.OBJECT_BUCKET).compareWith(served(server)));
    try (Connection nc = server.connect("$G")) {
      ByteArrayOutputStream object = new ByteArrayOutputStream();
      nc.objectStore(Workload.OBJECT_BUCKET).get(Workload.OBJECT_NAME, object); // jnats checks the digest too
      assertArrayEquals(Workload.objectBytes(), object.toByteArray());
    }
  }

  @Test void mirrorAndSourcedStreamLoadWithTheirOrigins() throws Exception {
    NatsServerProcess server = recovered(stoppedCopy);
    assertNothingLost(truth.only("ORDERS_MIRROR", "COMBINED").compareWith(served(server)));
    try (Connection nc = server.connect("$G")) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      assertEquals("ORDERS", jsm.getStreamInfo("ORDERS_MIRROR").getConfiguration().getMirror().getSourceName());
      assertEquals(List.of("ORDERS", "PLACED"), jsm.getStreamInfo("COMBINED").getConfiguration().getSources().stream()
          .map(Source::getSourceName).sorted().toList());
    }
  }

  @Test void placedStreamLoadsWithoutItsOldClusterPlacement() throws Exception {
    NatsServerProcess server = recovered(stoppedCopy);
    assertNothingLost(truth.only("PLACED").compareWith(served(server)));
    try (Connection nc = server.connect("$G")) {
      Placement placement = nc.jetStreamManagement().getStreamInfo("PLACED").getConfiguration().getPlacement();
      assertTrue(placement == null || placement.getCluster() == null, "placement still names " + placement);
    }
  }

  @Test void streamsAndConsumersWithRaftFolderNameAndOddCharactersLoad() throws Exception {
    // `_js_` is also the name of the Raft folder prepare moves aside; only the system account's is Raft data.
    assertNothingLost(truth.only("_js_", "A#b@c&d-e").compareWith(served(recovered(stoppedCopy))));
  }

  @Test void headersAndBinaryPayloadsReadBackByteForByte() throws Exception {
    JetStreamTruth expected = truth.hostedBy(survivor);
    List<JetStreamTruth.MessageSample> samples = expected.streams().stream().flatMap(s -> s.samples().stream()).toList();
    assertTrue(samples.stream().anyMatch(m -> m.headers().getOrDefault("X-Multi", List.of()).size() == 2), "no multi-value header sampled");
    assertTrue(samples.stream().anyMatch(m -> m.data().length == 0), "no empty payload sampled");
    assertTrue(samples.stream().anyMatch(m -> isBinary(m.data())), "no payload with NUL and high bytes sampled");
    assertNothingLost(expected.compareWith(served(recovered(stoppedCopy))));
  }

  @Test void everyStreamOnTheSurvivorLoadsAndMonitoringAgrees() throws Exception {
    NatsServerProcess server = recovered(stoppedCopy);
    JetStreamTruth expected = truth.hostedBy(survivor).withoutSamples();
    assertNothingLost(expected.compareWith(served(server)));
    // The same, as /jsz of the recovered server reports it.
    assertNothingLost(expected.compareWith(JetStreamTruth.fromJsz(server.jsz())));
  }

  @Test void recoveryServerLogsNoChecksumOrConsumerErrors() throws Exception {
    assertLogClean(recovered(stoppedCopy));
  }

  @Test void copyTakenWhileTheSurvivorStillRanLoadsOrIsRefused() throws Exception {
    // Operators copy live stores. prepare may accept the copy, then it must load completely, or refuse it
    // clearly and leave it as it was; anything in between is the silent half state this test forbids.
    Map<String, String> before = contents(runningCopy);
    Cli.Result result = prepare(runningCopy);
    if (result.exit() == 0) {
      System.out.println("copy of a running server: prepare accepted it: " + result.out().lines().findFirst().orElse(""));
      NatsServerProcess server = recovered(runningCopy);
      // A live copy is at best what a crash leaves behind.
      assertNothingLost(truth.hostedBy(survivor).compareWithCrashedStore(served(server)));
      assertLogClean(server);
    } else {
      System.out.println("copy of a running server: prepare refused it with exit " + result.exit() + ": " + result.all().strip());
      assertFalse(result.all().isBlank(), "prepare failed without saying why");
      assertEquals(before, contents(runningCopy), "prepare refused the copy but changed it");
    }
  }

  @Test void survivorKilledWithSigkillToo() throws Exception {
    Incident incident = breakCluster(NatsConfig.defaults(), cluster -> {
      try (Connection nc = cluster.connect("$G")) {
        new Workload(nc).coreStreams();
      }
    });
    incident.survivor().kill();
    Path copy = incident.survivor().copyStoreTo(work.resolve("killed-copy"));
    NatsServerProcess server = recovered(copy);
    assertNothingLost(incident.truth().hostedBy(incident.survivor().name()).compareWithCrashedStore(served(server)));
    assertLogClean(server);
  }

  @Test void severalAccountsInConfigMode() throws Exception {
    NatsConfig accounts = NatsConfig.defaults()
        .withAccount("ACC_A", "alice", "alice-pw")
        .withAccount("ACC_B", "bob", "bob-pw")
        .withSystemAccount("SYSX", "sys", "sys-pw");
    Incident incident = breakCluster(accounts, cluster -> {
      for (String account : accounts.jetStreamAccounts()) {
        try (Connection nc = cluster.connect(account)) {
          new Workload(nc).coreStreams(); // the same stream names in both accounts
        }
      }
    });
    incident.survivor().stop();
    Path copy = incident.survivor().copyStoreTo(work.resolve("accounts-copy"));
    JetStreamTruth expected = incident.truth().hostedBy(incident.survivor().name());
    assertEquals(List.of("ACC_A", "ACC_B"), expected.streams().stream().map(JetStreamTruth.StreamTruth::account).distinct().toList());
    NatsServerProcess server = recovered(copy, accounts);
    assertNothingLost(expected.compareWith(served(server)));
    assertLogClean(server);
  }

  // ---- the runbook's steps ----

  /** A cluster that has been running and was just broken: the survivor still runs, the two others are gone. */
  private record Incident(JetStreamTruth truth, NatsServerProcess survivor) {}

  private interface Population {
    void fill(NatsCluster cluster) throws Exception;
  }

  /**
   * Starts a cluster, fills it, waits until every replica is current and records the truth, then SIGKILLs two
   * nodes. The survivor is the node holding the first account's R1 stream SINGLE, so that stream is recoverable.
   */
  private Incident breakCluster(NatsConfig config, Population population) throws Exception {
    NatsCluster cluster = NatsCluster.start(generation, config);
    cleanup.add(cluster);
    population.fill(cluster);
    cluster.awaitReplicasCurrent();
    JetStreamTruth truth = JetStreamTruth.read(config, cluster::connect);
    String survivor = truth.stream(config.jetStreamAccounts().get(0), "SINGLE").orElseThrow().nodes().get(0);
    cluster.nodes().stream().filter(n -> !n.name().equals(survivor)).forEach(NatsServerProcess::kill);
    return new Incident(truth, cluster.node(survivor));
  }

  /** js-recover prepare on a copy, once per copy: a second run would be a different experiment. */
  private Cli.Result prepare(Path copy) {
    return preparedCopies.computeIfAbsent(copy, c -> Cli.run("prepare", c.toString()));
  }

  private NatsServerProcess recovered(Path copy) {
    return recovered(copy, NatsConfig.defaults());
  }

  /** The prepared copy served by a standalone nats-server with the cluster's accounts and key, no cluster block. */
  private NatsServerProcess recovered(Path copy, NatsConfig config) {
    Cli.Result result = prepare(copy);
    assertEquals(0, result.exit(), "js-recover prepare " + copy + " failed:\n" + result.all());
    return recoveryServers.computeIfAbsent(copy, c -> {
      NatsServerProcess server = NatsServerProcess.standalone(generation, config, c, work.resolve(c.getFileName() + "-server"));
      cleanup.add(server);
      return server;
    });
  }

  /** What the recovered server serves, read as an application reads it. */
  private JetStreamTruth served(NatsServerProcess server) throws Exception {
    return JetStreamTruth.read(server.config(), server::connect);
  }

  /** Redelivery (a consumer behind, removed messages back) is reported; anything lost or changed fails. */
  private void assertNothingLost(JetStreamTruth.Comparison comparison) {
    comparison.redelivery().forEach(r -> System.out.println("redelivery after recovery: " + r));
    assertEquals(List.of(), comparison.problems(), "the recovered server does not serve what the cluster held");
  }

  private void assertLogClean(NatsServerProcess server) {
    assertEquals(List.of(), server.loadErrors(), "the recovery server could not load part of the store; log: " + server.logFile());
  }

  private boolean isBinary(byte[] data) {
    boolean nul = false, high = false;
    for (byte b : data) {
      nul |= b == 0;
      high |= b < 0;
    }
    return nul && high;
  }

  /** Every file under a folder with a digest of its bytes, to tell whether anything changed. */
  private Map<String, String> contents(Path dir) throws IOException {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path f : all.filter(Files::isRegularFile).toList()) {
        files.put(dir.relativize(f).toString(), digest(Files.readAllBytes(f)));
      }
    }
    return files;
  }

  private String digest(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
