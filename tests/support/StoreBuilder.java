import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Builds JetStream stores on disk the way nats-server 2.9/2.10 lays them out, with meta.inf written
 * as Go's json.Marshal writes it (one line, '>' as \u003e) and meta.sum as the server computes it.
 */
final class StoreBuilder {
  final Path storeDir;

  StoreBuilder(Path storeDir) {
    this.storeDir = storeDir;
  }

  Path jetstream() { return storeDir.resolve("jetstream"); }

  Path streamDir(String account, String stream) { return jetstream().resolve(account).resolve("streams").resolve(stream); }

  Path consumerDir(String account, String stream, String consumer) {
    return streamDir(account, stream).resolve("obs").resolve(consumer);
  }

  /** A stream config as a 2.9.10 server writes it; {@code extra} is appended inside the object. */
  static String streamJson(String name, int replicas, String retention, String extra) {
    return "{\"Created\":\"2026-11-21T23:38:07.180677982Z\",\"name\":\"" + name + "\",\"subjects\":[\"" + name.toLowerCase()
        + ".\\u003e\"],\"retention\":\"" + retention + "\",\"max_consumers\":-1,\"max_msgs\":-1,\"max_bytes\":-1,"
        + "\"max_age\":0,\"max_msgs_per_subject\":-1,\"max_msg_size\":-1,\"discard\":\"old\",\"storage\":\"file\","
        + "\"num_replicas\":" + replicas + ",\"duplicate_window\":120000000000,\"allow_direct\":false,"
        + "\"mirror_direct\":false,\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,"
        + "\"allow_rollup_hdrs\":false" + extra + "}";
  }

  static String consumerJson(String name, int replicas) {
    return "{\"Created\":\"2026-11-21T23:38:10.476743496Z\",\"Name\":\"" + name + "\",\"durable_name\":\"" + name
        + "\",\"name\":\"" + name + "\",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,"
        + "\"max_deliver\":-1,\"replay_policy\":\"instant\",\"max_waiting\":512,\"max_ack_pending\":1000,"
        + "\"num_replicas\":" + replicas + "}";
  }

  /** A stream with its meta files, a message block and a consumer state file per consumer. */
  StoreBuilder stream(String account, String stream, String metaInf) {
    Path dir = streamDir(account, stream);
    write(dir.resolve("meta.inf"), metaInf.getBytes(StandardCharsets.UTF_8));
    write(dir.resolve("meta.sum"), sum(stream, metaInf.getBytes(StandardCharsets.UTF_8)).getBytes(StandardCharsets.US_ASCII));
    write(dir.resolve("msgs").resolve("1.blk"), ("messages of " + stream).getBytes(StandardCharsets.UTF_8));
    return this;
  }

  StoreBuilder stream(String account, String stream, int replicas) {
    return stream(account, stream, streamJson(stream, replicas, "limits", ""));
  }

  StoreBuilder consumer(String account, String stream, String consumer, String metaInf) {
    Path dir = consumerDir(account, stream, consumer);
    byte[] bytes = metaInf.getBytes(StandardCharsets.UTF_8);
    write(dir.resolve("meta.inf"), bytes);
    write(dir.resolve("meta.sum"), sum(stream + "/" + consumer, bytes).getBytes(StandardCharsets.US_ASCII));
    write(dir.resolve("o.dat"), new byte[] {1, 2, 3, 4});
    return this;
  }

  StoreBuilder consumer(String account, String stream, String consumer, int replicas) {
    return consumer(account, stream, consumer, consumerJson(consumer, replicas));
  }

  /** Raft state as a clustered server leaves it in its system account folder. */
  StoreBuilder raft(String systemAccount) {
    Path js = jetstream().resolve(systemAccount).resolve("_js_");
    write(js.resolve("_meta_").resolve("peers.idx"), "peers".getBytes(StandardCharsets.UTF_8));
    write(js.resolve("_meta_").resolve("msgs").resolve("1.blk"), "meta log".getBytes(StandardCharsets.UTF_8));
    write(js.resolve("S-R3F-abc123").resolve("tav.idx"), "stream group".getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /**
   * Message block {@code index} of {@code stream} as the server writes it: one ~100-byte record on subject
   * orders.new per time in {@code tsNanos}, sequences from {@code firstSeq}, each with its record hash.
   */
  static byte[] messageBlock(String stream, int index, long firstSeq, long... tsNanos) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    HighwayHash64 hh = MsgBlock.hasher(stream, index);
    byte[] subject = "orders.new".getBytes(StandardCharsets.UTF_8);
    for (int k = 0; k < tsNanos.length; k++) {
      long seq = firstSeq + k;
      byte[] msg = ("{\"order\":" + seq + ",\"note\":\"" + "x".repeat(60) + "\"}").getBytes(StandardCharsets.UTF_8);
      int len = MsgBlock.HEADER + subject.length + msg.length + MsgBlock.HASH;
      java.nio.ByteBuffer r = java.nio.ByteBuffer.allocate(len).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      r.putInt(len).putLong(seq).putLong(tsNanos[k]).putShort((short) subject.length).put(subject).put(msg);
      byte[] hashed = new byte[16 + subject.length + msg.length];
      System.arraycopy(r.array(), 4, hashed, 0, 16);
      System.arraycopy(subject, 0, hashed, 16, subject.length);
      System.arraycopy(msg, 0, hashed, 16 + subject.length, msg.length);
      r.putLong(hh.hashBytes(hashed, 0, hashed.length));
      out.writeBytes(r.array());
    }
    return out.toByteArray();
  }

  /** Copies a captured store (or part of one) into place: tests never change a fixture in place. */
  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(target);
        else Files.copy(p, target);
      }
    }
  }

  static String sum(String checksumKey, byte[] metaInf) { return HighwayHash64.metaSum(checksumKey, metaInf); }

  static void write(Path file, byte[] bytes) {
    try {
      Files.createDirectories(file.getParent());
      Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every regular file under {@code root}: relative path -> bytes. */
  static Map<String, byte[]> files(Path root) {
    Map<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) files.put(root.relativize(p).toString(), Files.readAllBytes(p));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  /** A digest of every path, file and byte under root: equal digests mean an identical tree. */
  static String treeDigest(Path root) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      try (Stream<Path> walk = Files.walk(root)) {
        List<Path> all = new ArrayList<>(walk.sorted().toList());
        for (Path p : all) {
          sha.update(root.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
          if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) sha.update(Files.readAllBytes(p));
        }
      }
      return java.util.HexFormat.of().formatHex(sha.digest());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** How often each file content occurs under root, by SHA-256, counting what zip files hold too. */
  static Map<String, Integer> contents(Path root) {
    Map<String, Integer> counts = new HashMap<>();
    files(root).forEach((path, bytes) -> {
      counts.merge(sha256(bytes), 1, Integer::sum);
      if (path.endsWith(".zip")) zipEntries(bytes).values().forEach(b -> counts.merge(sha256(b), 1, Integer::sum));
    });
    return counts;
  }

  static Map<String, byte[]> zipEntries(byte[] zip) {
    Map<String, byte[]> entries = new TreeMap<>();
    try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(zip))) {
      for (java.util.zip.ZipEntry e; (e = in.getNextEntry()) != null; ) entries.put(e.getName(), in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return entries;
  }

  static String sha256(byte[] b) {
    try {
      return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
