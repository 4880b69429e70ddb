import static io.nats.client.support.JsonValueUtils.readArray;
import static io.nats.client.support.JsonValueUtils.readBoolean;
import static io.nats.client.support.JsonValueUtils.readLong;
import static io.nats.client.support.JsonValueUtils.readString;
import static io.nats.client.support.JsonValueUtils.readValue;

import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A 3-node JetStream cluster "C1" of real nats-server processes n1, n2, n3 on 127.0.0.1, each with its own
 * store in a temporary folder. {@link #start} returns once the nodes agree on a meta leader; {@link #close}
 * kills whatever still runs and deletes the folder, whatever state a test left the cluster in.
 */
final class NatsCluster implements AutoCloseable {
  static final String NAME = "C1";
  // 30 s was too short on a loaded 2-core machine: a 2.10 leader once still saw one of its two peers after 30 s.
  private static final Duration FORMATION_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration REPLICATION_TIMEOUT = Duration.ofSeconds(30);

  private final Path root;
  private final NatsConfig config;
  private final List<NatsServerProcess> nodes = new ArrayList<>();

  private NatsCluster(Path root, NatsConfig config) {
    this.root = root;
    this.config = config;
  }

  /**
   * Starts n1..n3 of the {@code server} generation with {@code config}'s accounts and encryption and waits for a meta
   * leader. A cluster that does not form is started once more from scratch: 2.10 once elected a leader from two
   * nodes and never added the third (the third named that leader, the leader's peer set stayed at 2 for 60 s).
   */
  static NatsCluster start(ServerGeneration server, NatsConfig config) throws IOException {
    try {
      return startOnce(server, config);
    } catch (FormationTimeout first) {
      System.err.println("cluster C1 of " + server + " did not form; starting it again: " + first.getMessage());
      return startOnce(server, config);
    }
  }

  private static NatsCluster startOnce(ServerGeneration server, NatsConfig config) throws IOException {
    NatsCluster cluster = new NatsCluster(Files.createTempDirectory("js-recover-cluster-"), config);
    try {
      // Routes must name every node's cluster port before any node starts, so these three are picked up front.
      List<Integer> ports = freePorts(3);
      String routes = ports.stream().map(p -> "nats-route://127.0.0.1:" + p).collect(Collectors.joining(", "));
      for (int i = 0; i < ports.size(); i++) {
        String name = "n" + (i + 1);
        Path dir = cluster.root.resolve(name);
        cluster.nodes.add(NatsServerProcess.start(server, name, config, dir.resolve("store"),
            "cluster {\n  name: " + NAME + "\n  listen: 127.0.0.1:" + ports.get(i) + "\n  routes: [ " + routes + " ]\n}\n",
            dir));
      }
      try {
        cluster.awaitMetaLeader();
      } catch (IllegalStateException e) {
        if (!e.getMessage().startsWith("timed out")) throw e;
        StringBuilder logs = new StringBuilder(e.getMessage());
        cluster.nodes.forEach(n -> logs.append("\n--- ").append(n.name()).append(" ---\n").append(NatsServerProcess.tail(n.logFile())));
        throw new FormationTimeout(logs.toString());
      }
      return cluster;
    } catch (RuntimeException | IOException e) {
      cluster.close();
      throw e;
    }
  }

  /** The nodes ran but never agreed on a meta leader that sees every peer; the message holds each node's log tail. */
  private static final class FormationTimeout extends IllegalStateException {
    FormationTimeout(String message) {
      super(message);
    }
  }

  NatsConfig config() {
    return config;
  }

  List<NatsServerProcess> nodes() {
    return List.copyOf(nodes);
  }

  NatsServerProcess node(String name) {
    return nodes.stream().filter(n -> n.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node " + name));
  }

  /** A client connection to the cluster (any running node), logged in to {@code account}. */
  Connection connect(String account) throws IOException, InterruptedException {
    return NatsServerProcess.connect(config, account,
        nodes.stream().filter(NatsServerProcess::isAlive).map(NatsServerProcess::clientUrl).toArray(String[]::new));
  }

  /** Every node names the same meta leader, and the leader sees all its peers current. */
  void awaitMetaLeader() {
    Await.until(FORMATION_TIMEOUT, "a JetStream meta leader", () -> {
      Set<String> leaders = new TreeSet<>();
      JsonValue leaderView = null;
      for (NatsServerProcess node : nodes) {
        if (!node.isAlive()) throw new IllegalStateException(node.name() + " exited\n" + NatsServerProcess.tail(node.logFile()));
        JsonValue meta = readValue(node.get("/jsz"), "meta_cluster");
        String leader = meta == null ? null : readString(meta, "leader");
        if (leader == null) return node.name() + " knows no meta leader";
        leaders.add(leader);
        if (leader.equals(node.name())) leaderView = meta;
      }
      if (leaders.size() > 1) return "nodes name different leaders " + leaders;
      if (leaderView == null) return "the named leader " + leaders + " does not consider itself leader";
      List<JsonValue> peers = readArray(leaderView, "replicas");
      if (peers.size() != nodes.size() - 1 || !peers.stream().allMatch(p -> readBoolean(p, "current"))) {
        return "meta peers not all current: " + leaderView.toJson();
      }
      return null;
    });
  }

  /**
   * Waits until every running node holds the same messages for every stream it hosts, every stream and consumer
   * has a leader, and each leader sees all its replicas current with lag 0. That is the moment an incident can
   * strike without the survivor missing what the cluster acknowledged.
   */
  void awaitReplicasCurrent() {
    Await.until(REPLICATION_TIMEOUT, "every stream and consumer replica to be current", () -> {
      Map<String, Map<String, String>> streamStates = new TreeMap<>(); // stream -> node -> state
      Map<String, Integer> expectedHosts = new TreeMap<>();
      Set<String> consumers = new TreeSet<>();
      Set<String> ledConsumers = new TreeSet<>();
      for (NatsServerProcess node : nodes) {
        if (!node.isAlive()) continue;
        for (JsonValue account : readArray(node.jsz(), "account_details")) {
          for (JsonValue stream : readArray(account, "stream_detail")) {
            String id = readString(account, "name") + " > " + readString(stream, "name");
            JsonValue state = readValue(stream, "state");
            streamStates.computeIfAbsent(id, k -> new TreeMap<>()).put(node.name(),
                readLong(state, "messages", 0) + " msgs " + readLong(state, "first_seq", 0) + ".." + readLong(state, "last_seq", 0));
            String lagging = laggingReplicas(node, readValue(stream, "cluster"));
            if (lagging != null) return id + ": " + lagging;
            if (isLeader(node, readValue(stream, "cluster"))) {
              expectedHosts.put(id, 1 + readArray(readValue(stream, "cluster"), "replicas").size());
            }
            for (JsonValue consumer : readArray(stream, "consumer_detail")) {
              String cid = id + " > " + readString(consumer, "name");
              consumers.add(cid);
              lagging = laggingReplicas(node, readValue(consumer, "cluster"));
              if (lagging != null) return cid + ": " + lagging;
              if (isLeader(node, readValue(consumer, "cluster"))) ledConsumers.add(cid);
            }
          }
        }
      }
      for (var e : streamStates.entrySet()) {
        if (!expectedHosts.containsKey(e.getKey())) return e.getKey() + " has no leader";
        if (e.getValue().size() != expectedHosts.get(e.getKey())) return e.getKey() + " is on " + e.getValue().keySet() + " only";
        if (Set.copyOf(e.getValue().values()).size() != 1) return e.getKey() + " differs between nodes: " + e.getValue();
      }
      consumers.removeAll(ledConsumers);
      return consumers.isEmpty() ? null : "no leader for " + consumers;
    });
  }

  /**
   * Waits until {@code node}'s own meta records on disk (snapshot and log, read as js-recover reads them; {@code key}
   * null when not encrypted) list every one of {@code consumers} ("STREAM > CONSUMER"). The API answers once the
   * meta leader and one follower hold an assignment; the third node may write it later, and a test that kills
   * before then tests a survivor that never knew the consumer.
   */
  void awaitMetaRecords(String node, byte[] key, java.util.Collection<String> consumers) {
    Path meta = node(node).storeDir().resolve("jetstream/$SYS/_js_/_meta_");
    Await.until(REPLICATION_TIMEOUT, node + "'s meta records to list every consumer", () -> {
      ClusterInventory inv = ClusterInventory.of(Raft.read(meta, key));
      Set<String> missing = new TreeSet<>(consumers);
      inv.consumers.values().forEach(c -> missing.remove(c.stream() + " > " + c.consumer()));
      return missing.isEmpty() ? null : "not yet in " + meta + ": " + missing + " " + inv.notes;
    });
  }

  private static boolean isLeader(NatsServerProcess node, JsonValue cluster) {
    return cluster != null && node.name().equals(readString(cluster, "leader"));
  }

  /** On the group's leader: which replicas are not current or lag; null when all are current (or not the leader). */
  private static String laggingReplicas(NatsServerProcess node, JsonValue cluster) {
    if (!isLeader(node, cluster)) return null;
    List<String> behind = readArray(cluster, "replicas").stream()
        .filter(r -> !readBoolean(r, "current") || readLong(r, "lag", 0) != 0)
        .map(JsonValue::toJson).toList();
    return behind.isEmpty() ? null : "replicas behind leader " + node.name() + ": " + behind;
  }

  /** Kills every node still running and deletes the cluster's folders. */
  @Override public void close() {
    nodes.forEach(NatsServerProcess::close);
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Ports free right now on 127.0.0.1, held open together so that they are distinct, and below the kernel's ephemeral
   * range: a port from that range, let go, can be handed to the next listener on port 0 before its node binds it
   * (a node's own monitor port, on -1, once took its route port).
   */
  private static List<Integer> freePorts(int count) throws IOException {
    int below = ephemeralLow();
    java.util.Random random = new java.util.Random();
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int tries = 0; sockets.size() < count; tries++) {
        if (below <= LOWEST_PORT + count || tries > 1000) { // no room below the range: the range it is
          sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
          continue;
        }
        try {
          sockets.add(new ServerSocket(LOWEST_PORT + random.nextInt(below - LOWEST_PORT), 1, InetAddress.getLoopbackAddress()));
        } catch (java.net.BindException taken) {
          // another process has it: try another
        }
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } finally {
      for (ServerSocket s : sockets) s.close();
    }
  }

  private static final int LOWEST_PORT = 10_000;

  /** The first port the kernel hands out for port 0 (Linux: net.ipv4.ip_local_port_range). */
  private static int ephemeralLow() {
    try {
      return Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException unknown) {
      return 32_768; // the kernel's default
    }
  }
}
