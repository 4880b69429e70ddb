import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.PublishAck;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.StreamState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hard-killed survivors, once per server generation: a 3-node cluster (encrypted: chacha, aes on 2.15) with an R3
 * limits stream LIM and an R3 work queue WQ takes a burst of async publishes while a worker drains WQ, acking each
 * message as a request; every node is SIGKILLed in the middle of it. Each node in turn is the survivor: a copy of
 * its store is prepared and served by a standalone server of the same generation, and what it serves is checked
 * against what the clients were told: no PubAck'ed message its disk held (blocks or Raft log) is missing unless the
 * worker had fetched it (as in the reference runs: a fetched message was consumed), and no message whose ack the
 * worker was confirmed comes back when the stream's Raft log holds its delete or the consumer's its ack (on 2.9
 * written into the blocks' N.idx, where 2.9 keeps them; 2.10+ as tombstones). How many entries the replay
 * found is luck of the moment of the kill; the checks hold whatever it is, and the numbers are printed.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class RaftReplayClusterTest {
  static final Duration BURST = Duration.ofMillis(2500);
  static final String KEY = "replay key";
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private NatsCluster cluster;
  private NatsConfig config;
  private Path keyFile;
  private final Set<Long> limAcked = new ConcurrentSkipListSet<>(), wqAcked = new ConcurrentSkipListSet<>(),
      wqFetched = new ConcurrentSkipListSet<>(), wqConfirmed = new ConcurrentSkipListSet<>();
  /** Per survivor: its untouched copy, and what its Raft logs held before prepare. */
  private final Map<String, Path> raw = new TreeMap<>();
  private final Map<String, Set<Long>> limLogged = new TreeMap<>(), wqLogged = new TreeMap<>(), wqLogDeletes = new TreeMap<>(),
      wConsumerAcks = new TreeMap<>();

  @BeforeParameterizedClassInvocation void burstDrainAndSigkill() throws Exception {
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation when it is not installed
    // one instance serves every generation: nothing of the one before may count here
    for (java.util.Collection<?> c : List.of(limAcked, wqAcked, wqFetched, wqConfirmed)) c.clear();
    for (Map<?, ?> m : List.of(raw, limLogged, wqLogged, wqLogDeletes, wConsumerAcks, recovered)) m.clear();
    // encrypted, so that the replayed blocks are sealed as the stream's own: chacha, and aes on the newest server
    config = NatsConfig.defaults().withEncryption(KEY, generation.atLeast(15) ? "aes" : "chacha");
    keyFile = Files.writeString(work.resolve("key"), KEY);
    cluster = NatsCluster.start(generation, config);
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    try (Connection nc = cluster.connect("$G"); Connection wc = cluster.connect("$G")) {
      Workload w = new Workload(nc);
      w.stream(StreamConfiguration.builder().name("LIM").subjects("lim.>").storageType(StorageType.File).replicas(3));
      w.stream(StreamConfiguration.builder().name("WQ").subjects("wq.>").retentionPolicy(RetentionPolicy.WorkQueue)
          .storageType(StorageType.File).replicas(3));
      nc.jetStreamManagement().addOrUpdateConsumer("WQ", ConsumerConfiguration.builder().durable("W").ackPolicy(AckPolicy.Explicit)
          .ackWait(Duration.ofSeconds(60)).maxAckPending(20000).build());
      cluster.awaitReplicasCurrent();
      JetStream js = nc.jetStream();
      threads.add(started(() -> publish(js, stop, Map.of("lim.a", limAcked, "wq.a", wqAcked))));
      threads.add(started(() -> drain(wc, "WQ", "W", stop, wqFetched, wqConfirmed)));
      Thread.sleep(BURST.toMillis());
      cluster.nodes().parallelStream().forEach(NatsServerProcess::kill); // in the middle of the burst and the drain
      stop.set(true);
      for (Thread t : threads) t.join(20_000);
    }
    for (NatsServerProcess n : cluster.nodes()) {
      Path copy = n.copyStoreTo(work.resolve("raw-" + n.name()));
      if (System.getenv("KEEP") != null) StoreBuilder.copyTree(copy, Path.of(System.getenv("KEEP"), generation.name(), n.name()));
      raw.put(n.name(), copy);
      Path js = copy.resolve("jetstream/$SYS/_js_");
      ClusterInventory inv = ClusterInventory.of(Raft.read(js.resolve("_meta_"), KEY.getBytes(StandardCharsets.UTF_8)));
      GroupLog lim = log(js, inv.streams.get(ClusterInventory.key("$G", "LIM")).group());
      GroupLog wq = log(js, inv.streams.get(ClusterInventory.key("$G", "WQ")).group());
      GroupLog w = log(js, inv.consumers.get(ClusterInventory.key(ClusterInventory.key("$G", "WQ"), "W")).group());
      limLogged.put(n.name(), seqs(lim));
      wqLogged.put(n.name(), seqs(wq));
      wqLogDeletes.put(n.name(), new TreeSet<>(wq.deletes.keySet()));
      Set<Long> acks = new TreeSet<>();
      w.acks.forEach(a -> acks.add(a.streamSeq()));
      wConsumerAcks.put(n.name(), acks);
    }
    System.out.printf("%s: PubAck'ed LIM %d, WQ %d; acks confirmed to the worker %d%n", generation, limAcked.size(),
        wqAcked.size(), wqConfirmed.size());
  }

  static Thread started(Runnable r) {
    Thread t = new Thread(r);
    t.start();
    return t;
  }

  /** Async publishes, up to 4,000 in flight, in turn to each subject of {@code acked}: the sequences PubAck'ed. */
  static void publish(JetStream js, AtomicBoolean stop, Map<String, Set<Long>> acked) {
    Semaphore inFlight = new Semaphore(4000);
    byte[] payload = "x".repeat(64).getBytes(StandardCharsets.UTF_8);
    List<String> subjects = List.copyOf(new TreeMap<>(acked).keySet());
    for (long i = 0; !stop.get(); i++) {
      String subject = subjects.get((int) (i % subjects.size()));
      try {
        inFlight.acquire();
        js.publishAsync(subject, payload).whenComplete((PublishAck ack, Throwable t) -> {
          inFlight.release();
          if (t == null && !ack.isDuplicate()) acked.get(subject).add(ack.getSeqno());
        });
      } catch (Exception killed) {
        inFlight.release();
        if (stop.get()) return;
      }
    }
  }

  /** A worker on a pull consumer, acking each message as a request: what it fetched, and the acks confirmed to it. */
  static void drain(Connection wc, String stream, String consumer, AtomicBoolean stop, Set<Long> fetched, Set<Long> confirmed) {
    try {
      JetStreamSubscription sub = wc.jetStream().subscribe(null, PullSubscribeOptions.bind(stream, consumer));
      while (!stop.get()) {
        for (Message m : sub.fetch(500, Duration.ofMillis(200))) {
          long seq = m.metaData().streamSequence();
          fetched.add(seq);
          m.ackSync(Duration.ofSeconds(2)); // returns once the server confirmed the ack
          confirmed.add(seq);
        }
      }
    } catch (Exception killed) {
      // the cluster is gone: what was confirmed so far is what the worker was told
    }
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (cluster != null) cluster.close();
  }

  static GroupLog log(Path js, String group) { return GroupLog.of(Raft.read(js.resolve(group), KEY.getBytes(StandardCharsets.UTF_8))); }

  static Set<Long> seqs(GroupLog log) {
    Set<Long> s = new TreeSet<>();
    log.messages.forEach(m -> s.add(m.seq()));
    return s;
  }

  /** A fresh copy of a survivor's untouched store. */
  Path copyOf(String node, String as) throws Exception {
    Path copy = tmp.resolve(generation.name()).resolve(as + "-" + node);
    StoreBuilder.copyTree(raw.get(node), copy);
    return copy;
  }

  /** Sequences a stream serves: first..last without the deleted ones. */
  static Set<Long> served(JetStreamManagement jsm, String stream) throws Exception {
    StreamState st = jsm.getStreamInfo(stream, StreamInfoOptions.deletedDetails()).getStreamState();
    Set<Long> s = new TreeSet<>();
    for (long q = st.getFirstSequence(); q <= st.getLastSequence() && st.getMsgCount() > 0; q++) s.add(q);
    if (st.getDeleted() != null) st.getDeleted().forEach(s::remove);
    return s;
  }

  record Served(Set<Long> lim, Set<Long> wq, String output) {}

  private final Map<String, Served> recovered = new TreeMap<>();

  /** prepare, then a standalone server on the prepared copy: what it serves (once per survivor). */
  Served recovered(String node) throws Exception {
    if (recovered.containsKey(node)) return recovered.get(node);
    Path copy = copyOf(node, "prepared");
    Cli.Result r = Cli.run("prepare", "--key-file", keyFile.toString(), copy.toString());
    assertEquals(0, r.exit(), r.all());
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, config, copy, copy.resolveSibling("server-" + node));
        Connection nc = NatsServerProcess.connect(config, "$G", server.clientUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      // the consumer loads from its replayed (sealed) o.dat
      System.out.printf("%s survivor %s: W loaded, ack floor %s%n", generation, node, jsm.getConsumerInfo("WQ", "W").getAckFloor());
      Served s = new Served(served(jsm, "LIM"), served(jsm, "WQ"), r.out());
      recovered.put(node, s);
      return s;
    }
  }

  @Test void noPubAckedMessageThatTheSurvivorHeldIsMissing() throws Exception {
    for (String node : raw.keySet()) {
      Served s = recovered(node);
      Set<Long> limMissing = new TreeSet<>(limAcked), wqMissing = new TreeSet<>(wqAcked);
      limMissing.removeAll(s.lim());
      wqMissing.removeAll(s.wq());
      wqMissing.removeAll(wqFetched); // the worker had it (and acked it, or was about to): consumed, not lost
      Set<Long> limHeld = new TreeSet<>(limMissing), wqHeld = new TreeSet<>(wqMissing);
      limHeld.retainAll(limLogged.get(node));
      wqHeld.retainAll(wqLogged.get(node));
      System.out.printf("%s survivor %s: %s; PubAck'ed but not served: LIM %d, WQ %d (never on this node: LIM %d, WQ %d)%n",
          generation, node, replayLine(s.output()), limMissing.size(), wqMissing.size(), limMissing.size() - limHeld.size(),
          wqMissing.size() - wqHeld.size());
      assertEquals("", RaftReplay.ranges(List.copyOf(limHeld)), node + ": PubAck'ed LIM messages its Raft log held are not served");
      assertEquals("", RaftReplay.ranges(List.copyOf(wqHeld)), node + ": PubAck'ed WQ messages its Raft log held are not served");
    }
  }

  @Test void noConfirmedAckThatTheLogsHoldComesBack() throws Exception {
    for (String node : raw.keySet()) {
      Set<Long> back = new TreeSet<>(wqConfirmed);
      back.retainAll(recovered(node).wq());
      Set<Long> deleteLogged = new TreeSet<>(back), ackOnly = new TreeSet<>(back);
      deleteLogged.retainAll(wqLogDeletes.get(node));
      ackOnly.removeAll(deleteLogged);
      ackOnly.retainAll(wConsumerAcks.get(node));
      System.out.printf("%s survivor %s: confirmed acks back %d; delete in the stream log %d; ack only in the consumer log %d%n",
          generation, node, back.size(), deleteLogged.size(), ackOnly.size());
      assertEquals("", RaftReplay.ranges(List.copyOf(deleteLogged)), node + ": acked messages whose delete the stream log holds are back");
      assertEquals("", RaftReplay.ranges(List.copyOf(ackOnly)), node + ": acked messages whose ack the consumer log holds are back");
    }
  }

  @Test void committedOnlyReplaysNothingBeyondTheKnownCommit() throws Exception {
    String node = raw.keySet().iterator().next();
    Path copy = copyOf(node, "committed-only");
    Cli.Result r = Cli.run("prepare", "--committed-only", "--key-file", keyFile.toString(), copy.toString());
    assertEquals(0, r.exit(), r.all());
    for (JsonNode entry : RaftReplayTest.manifest(copy).path("replayed")) {
      assertEquals("", entry.path("messages_beyond_known_commit").asText(), entry.toString());
      assertEquals("", entry.path("deletes_beyond_known_commit").asText(), entry.toString());
    }
    assertTrue(!r.out().contains("at-least-once"), r.out());
  }

  @Test void aDryRunWritesNothingAndUndoPutsTheStoreBack() throws Exception {
    String node = raw.keySet().iterator().next();
    Path copy = copyOf(node, "undo");
    String before = StoreBuilder.treeDigest(copy.resolve("jetstream"));
    Cli.Result dry = Cli.run("prepare", "--dry-run", "--key-file", keyFile.toString(), copy.toString());
    assertEquals(0, dry.exit(), dry.all());
    assertEquals(before, StoreBuilder.treeDigest(copy.resolve("jetstream")), "the dry run wrote");
    assertEquals(0, Cli.run("prepare", "--key-file", keyFile.toString(), copy.toString()).exit());
    Cli.Result undo = Cli.run("undo", copy.toString());
    assertEquals(0, undo.exit(), undo.all());
    assertEquals(before, StoreBuilder.treeDigest(copy.resolve("jetstream")), "undo left the store changed");
  }

  static String replayLine(String out) {
    return out.lines().filter(l -> l.startsWith("Totals:") || l.startsWith("  replay") || l.startsWith("           beyond"))
        .collect(java.util.stream.Collectors.joining("\n    "));
  }
}
