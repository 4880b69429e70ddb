import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A synthetic survivor of a 3-node cluster at scale (KV-heavy deployments run tens of thousands of streams), as
 * nats-server 2.10+/2.15 writes it: N streams of num_replicas 3, every fourth with placement, M consumers each (M < 1024)
 * (every other one num_replicas 3, the rest 0: inherit), meta.inf as Go's json.Marshal writes it with meta.sum
 * over it, a small message block per stream (three messages, each record hashed as the server hashes it; no index.db,
 * as a node killed before its clean stop leaves it, so inspect reads the records), an o.dat per consumer (delivered 3,
 * acknowledged up to 2, one pending), and under $SYS/_js_ the meta group, whose snapshot assigns every stream and
 * consumer to three peers as a cleanly stopped meta leader leaves it, and a Raft group (S-R3F-… or C-R3F-…) per stream
 * and per consumer, whose files are placeholders (peers, term and vote, a log block that reads as damaged).
 */
final class ClusterStoreGenerator {
  static final String ACCOUNT = "$G", SYSTEM = "$SYS";
  /** When the messages were written (2026-11-28T04:47:38Z, after the configs), in nanoseconds. */
  static final long WRITTEN = 1_795_841_258_000_000_000L;
  /** Every consumer's: delivered 3, acknowledged up to 2, 3 pending since the messages were written. */
  static final ConsumerState POSITION = new ConsumerState(new ConsumerState.SeqPair(3, 3), new ConsumerState.SeqPair(2, 2),
      List.of(new ConsumerState.Pending(3, 3, WRITTEN)), new java.util.TreeMap<>());

  /** The meta group's peers: node ids of servers n1, n2 and n3. */
  static final List<String> PEERS = List.of(Raft.nodeId("n1"), Raft.nodeId("n2"), Raft.nodeId("n3"));

  private ClusterStoreGenerator() {}

  /** Every meta file a prepare rewrites or reads: meta.inf and meta.sum of each stream and consumer. */
  static long metaFiles(int streams, int consumersPerStream) { return 2L * streams * (1 + consumersPerStream); }

  static String streamName(int i) { return "KV_bucket_" + i; }

  static String consumerName(int c) { return "C" + c; }

  static StoreBuilder generate(Path storeDir, int streams, int consumersPerStream) {
    StoreBuilder store = new StoreBuilder(storeDir);
    Path js = store.jetstream().resolve(SYSTEM).resolve("_js_");
    String[] assignments = new String[streams];
    // Files are written in parallel: generating the 50,000-stream store one file at a time takes minutes.
    IntStream.range(0, streams).parallel().forEach(i -> {
      String name = streamName(i);
      String placement = i % 4 == 0 ? ",\"placement\":{\"cluster\":\"C1\",\"tags\":[\"az:" + (i % 3) + "\"]}" : "";
      byte[] metaInf = streamJson(name, placement).getBytes(StandardCharsets.UTF_8);
      Path dir = store.streamDir(ACCOUNT, name);
      StoreBuilder.write(dir.resolve("meta.inf"), metaInf);
      StoreBuilder.write(dir.resolve("meta.sum"), StoreBuilder.sum(name, metaInf).getBytes(StandardCharsets.US_ASCII));
      StoreBuilder.write(dir.resolve("msgs").resolve("1.blk"), StoreBuilder.messageBlock(name, 1, 1, WRITTEN, WRITTEN + 1, WRITTEN + 2));
      raftGroup(js.resolve("S-R3F-" + groupId('S', i, 0)));
      StringBuilder assignment = new StringBuilder("{\"client\":{\"acc\":\"" + ACCOUNT + "\"},\"created\":\"2026-11-28T04:47:37Z\","
          + "\"stream\":" + new String(metaInf, StandardCharsets.UTF_8) + ",\"group\":" + group('S', i, 0) + ",\"Consumers\":[");
      for (int c = 0; c < consumersPerStream; c++) {
        String consumer = consumerName(c);
        byte[] cInf = consumerJson(consumer, c % 2 == 0 ? 3 : 0).getBytes(StandardCharsets.UTF_8);
        Path cDir = store.consumerDir(ACCOUNT, name, consumer);
        StoreBuilder.write(cDir.resolve("meta.inf"), cInf);
        StoreBuilder.write(cDir.resolve("meta.sum"), StoreBuilder.sum(name + "/" + consumer, cInf).getBytes(StandardCharsets.US_ASCII));
        StoreBuilder.write(cDir.resolve("o.dat"), ConsumerStateWriter.encode(POSITION, WRITTEN / 1_000_000_000L));
        raftGroup(js.resolve("C-R3F-" + groupId('C', i, c)));
        assignment.append(c == 0 ? "" : ",").append("{\"name\":\"").append(consumer).append("\",\"stream\":\"").append(name)
            .append("\",\"client\":{\"acc\":\"").append(ACCOUNT).append("\"},\"consumer\":").append(new String(cInf, StandardCharsets.UTF_8))
            .append(",\"group\":").append(group('C', i, c)).append('}');
      }
      assignments[i] = assignment.append("]}").toString();
    });
    metaGroup(js.resolve("_meta_"), ("[" + String.join(",", assignments) + "]").getBytes(StandardCharsets.UTF_8));
    return store;
  }

  private static String group(char kind, int stream, int consumer) {
    return "{\"name\":\"" + kind + "-R3F-" + groupId(kind, stream, consumer) + "\",\"peers\":[\"" + String.join("\",\"", PEERS)
        + "\"],\"store\":\"file\"}";
  }

  /**
   * The meta group as a cleanly stopped leader leaves it: term and vote, and a snapshot at index 5 of every
   * assignment, {@code u64 term | u64 index | u32 len | peer state | s2 block of the JSON | hash keyed sha256(_meta_)};
   * the s2 block holds the JSON as one literal, which every s2 decoder reads.
   */
  private static void metaGroup(Path dir, byte[] assignments) {
    java.io.ByteArrayOutputStream snap = new java.io.ByteArrayOutputStream();
    littleEndian(snap, 1, 8);
    littleEndian(snap, 5, 8);
    littleEndian(snap, 8 + 8L * PEERS.size() + 2, 4);
    littleEndian(snap, PEERS.size(), 4);
    littleEndian(snap, PEERS.size(), 4);
    PEERS.forEach(id -> snap.writeBytes(id.getBytes(StandardCharsets.ISO_8859_1)));
    littleEndian(snap, 0, 2); // no domain extension
    snap.writeBytes(s2Block(assignments));
    byte[] body = snap.toByteArray();
    littleEndian(snap, HighwayHash64.keyedBy(Raft.META_GROUP).hashBytes(body, 0, body.length), 8);
    StoreBuilder.write(dir.resolve(Raft.SNAPSHOTS).resolve("snap.1.5"), snap.toByteArray());
    StoreBuilder.write(dir.resolve("tav.idx"), new byte[16]);
  }

  /** An s2 block of {@code plain}: its length as a uvarint, then all of it as one literal (tag 63), as any decoder reads. */
  static byte[] s2Block(byte[] plain) {
    java.io.ByteArrayOutputStream block = new java.io.ByteArrayOutputStream();
    ConsumerStateWriter.uvarint(block, plain.length);
    block.write(0xfc);
    littleEndian(block, plain.length - 1, 4);
    block.writeBytes(plain);
    return block.toByteArray();
  }

  private static void littleEndian(java.io.ByteArrayOutputStream out, long v, int bytes) {
    for (int k = 0; k < bytes; k++) out.write((int) (v >>> (8 * k)) & 0xff);
  }

  /** A stream config as 2.15 writes it (2.10 writes the same but for allow_msg_ttl). */
  static String streamJson(String name, String placement) {
    return "{\"Created\":\"2026-11-28T04:47:37.47095545Z\",\"name\":\"" + name + "\",\"subjects\":[\"$KV." + name
        + ".\\u003e\"],\"retention\":\"limits\",\"max_consumers\":-1,\"max_msgs\":-1,\"max_bytes\":-1,\"max_age\":0,"
        + "\"max_msgs_per_subject\":1,\"max_msg_size\":-1,\"discard\":\"new\",\"storage\":\"file\",\"num_replicas\":3,"
        + "\"duplicate_window\":120000000000" + placement + ",\"compression\":\"none\",\"allow_direct\":true,"
        + "\"mirror_direct\":false,\"sealed\":false,\"deny_delete\":true,\"deny_purge\":false,\"allow_rollup_hdrs\":true,"
        + "\"consumer_limits\":{},\"allow_msg_ttl\":false,\"metadata\":{\"_nats.req.level\":\"0\"}}";
  }

  static String consumerJson(String name, int replicas) {
    return "{\"Created\":\"2026-11-28T04:47:36.779015633Z\",\"Name\":\"" + name + "\",\"durable_name\":\"" + name
        + "\",\"name\":\"" + name + "\",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,"
        + "\"max_deliver\":-1,\"replay_policy\":\"instant\",\"max_waiting\":512,\"max_ack_pending\":1000,"
        + "\"num_replicas\":" + replicas + ",\"metadata\":{\"_nats.req.level\":\"0\"}}";
  }

  /** The files of one Raft group as the server leaves them: peers, term and vote, a log block. */
  private static void raftGroup(Path dir) {
    StoreBuilder.write(dir.resolve("peers.idx"), new byte[34]);
    StoreBuilder.write(dir.resolve("tav.idx"), new byte[16]);
    StoreBuilder.write(dir.resolve("msgs").resolve("1.blk"), ("raft log of " + dir.getFileName()).getBytes(StandardCharsets.UTF_8));
  }

  /** An 8-character group name, unique per stream and consumer, like the server's random ones. */
  private static String groupId(char kind, int stream, int consumer) {
    long n = ((long) stream * 1024 + consumer) * 2 + (kind == 'C' ? 1 : 0);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder b = new StringBuilder();
    for (int k = 0; k < 8; k++, n /= alphabet.length()) b.append(alphabet.charAt((int) (n % alphabet.length())));
    return b.toString();
  }
}
