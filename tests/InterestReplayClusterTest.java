import static org.junit.jupiter.api.Assertions.assertEquals;

import io.nats.client.Connection;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
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
 * An interest stream's acks, once per server generation: a clustered server removes a message of an interest stream
 * once every consumer that takes it has acked it, and a SIGKILL loses what the blocks had not recorded of those
 * removals. prepare replays the consumer's Raft log into its o.dat (the ack floor moves on) and no tombstone for an
 * interest ack: the first standalone start applies the interest check from the consumers' o.dat itself (2.9: up to
 * the lowest ack floor; 2.10+: per message). A 3-node cluster with an R3 interest stream INT and one durable
 * consumer I takes a burst of async publishes while a worker acks each message as a request; every node is
 * SIGKILLed in the middle of it; each node in turn is prepared and started standalone: no message whose ack the
 * worker was confirmed and whose ack (or, 2.11+, delete) a Raft log on that node holds comes back.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class InterestReplayClusterTest {
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private NatsCluster cluster;
  private final Set<Long> acked = new ConcurrentSkipListSet<>(), fetched = new ConcurrentSkipListSet<>(),
      confirmed = new ConcurrentSkipListSet<>();
  /** Per survivor: its untouched copy, and the acks and deletes of INT its Raft logs held before prepare. */
  private final Map<String, Path> raw = new TreeMap<>();
  private final Map<String, Set<Long>> logged = new TreeMap<>();

  @BeforeParameterizedClassInvocation void burstAckAndSigkill() throws Exception {
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation when it is not installed
    for (java.util.Collection<?> c : List.of(acked, fetched, confirmed)) c.clear();
    raw.clear();
    logged.clear();
    NatsConfig config = NatsConfig.defaults().withEncryption(RaftReplayClusterTest.KEY, "chacha");
    cluster = NatsCluster.start(generation, config);
    AtomicBoolean stop = new AtomicBoolean();
    Thread publisher, worker;
    try (Connection nc = cluster.connect("$G"); Connection wc = cluster.connect("$G")) {
      new Workload(nc).stream(StreamConfiguration.builder().name("INT").subjects("int.>").retentionPolicy(RetentionPolicy.Interest)
          .storageType(StorageType.File).replicas(3));
      nc.jetStreamManagement().addOrUpdateConsumer("INT", ConsumerConfiguration.builder().durable("I").ackPolicy(AckPolicy.Explicit)
          .ackWait(Duration.ofSeconds(60)).maxAckPending(20000).build());
      cluster.awaitReplicasCurrent();
      io.nats.client.JetStream js = nc.jetStream();
      publisher = RaftReplayClusterTest.started(() -> RaftReplayClusterTest.publish(js, stop, Map.of("int.a", acked)));
      worker = RaftReplayClusterTest.started(() -> RaftReplayClusterTest.drain(wc, "INT", "I", stop, fetched, confirmed));
      Thread.sleep(RaftReplayClusterTest.BURST.toMillis());
      cluster.nodes().parallelStream().forEach(NatsServerProcess::kill); // in the middle of the burst and the acks
      stop.set(true);
      publisher.join(20_000);
      worker.join(20_000);
    }
    for (NatsServerProcess n : cluster.nodes()) {
      Path copy = n.copyStoreTo(work.resolve("raw-" + n.name()));
      if (System.getenv("KEEP") != null) StoreBuilder.copyTree(copy, Path.of(System.getenv("KEEP"), generation.name(), n.name()));
      raw.put(n.name(), copy);
      Path js = copy.resolve("jetstream/$SYS/_js_");
      ClusterInventory inv = ClusterInventory.of(Raft.read(js.resolve("_meta_"), RaftReplayClusterTest.KEY.getBytes(StandardCharsets.UTF_8)));
      GroupLog stream = RaftReplayClusterTest.log(js, inv.streams.get(ClusterInventory.key("$G", "INT")).group());
      GroupLog consumer = RaftReplayClusterTest.log(js, inv.consumers.get(ClusterInventory.key(ClusterInventory.key("$G", "INT"), "I")).group());
      Set<Long> inLogs = new TreeSet<>(stream.deletes.keySet());
      consumer.acks.forEach(a -> inLogs.add(a.streamSeq()));
      logged.put(n.name(), inLogs);
    }
    System.out.printf("%s: PubAck'ed INT %d; acks confirmed to the worker %d%n", generation, acked.size(), confirmed.size());
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (cluster != null) cluster.close();
  }

  @Test void noConfirmedAckThatTheLogsHoldComesBackAfterTheFirstStart() throws Exception {
    Path keyFile = Files.writeString(tmp.resolve(generation.name()).resolve("key"), RaftReplayClusterTest.KEY);
    for (String node : raw.keySet()) {
      Path copy = tmp.resolve(generation.name()).resolve("prepared-" + node);
      StoreBuilder.copyTree(raw.get(node), copy);
      Cli.Result r = Cli.run("prepare", "--key-file", keyFile.toString(), copy.toString());
      assertEquals(0, r.exit(), r.all());
      NatsConfig config = NatsConfig.defaults().withEncryption(RaftReplayClusterTest.KEY, "chacha");
      Set<Long> served;
      try (NatsServerProcess server = NatsServerProcess.standalone(generation, config, copy, copy.resolveSibling("server-" + node));
          Connection nc = NatsServerProcess.connect(config, "$G", server.clientUrl())) {
        Thread.sleep(2000); // the start's interest check runs after the load
        served = RaftReplayClusterTest.served(nc.jetStreamManagement(), "INT");
      }
      Set<Long> back = new TreeSet<>(confirmed), backLogged = new TreeSet<>();
      back.retainAll(served);
      backLogged.addAll(back);
      backLogged.retainAll(logged.get(node));
      System.out.printf("%s survivor %s: %s; confirmed acks back %d, their ack in a log here %d%n", generation, node,
          RaftReplayClusterTest.replayLine(r.out()), back.size(), backLogged.size());
      assertEquals("", RaftReplay.ranges(List.copyOf(backLogged)), node + ": acked messages whose ack a log here holds are back");
    }
  }
}
