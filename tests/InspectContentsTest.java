import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.PurgeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.CompressionOption;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * inspect reads what a survivor holds without a server, once per server generation: a real server stores streams
 * with known contents (limits with erased and kept deletes and a head purge, a work queue and an interest stream
 * with acks, a filtered consumer, a KV bucket with history, an s2-compressed stream on 2.10+, the same in an
 * encrypted store), reports its own numbers, and stops. inspect --json must report the same numbers, find a
 * flipped byte where it is, and write nothing.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class InspectContentsTest {
  static final String KEY = "inspect contents key";
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  record Written(Path store, Map<String, StreamState> streams, Map<String, ConsumerInfo> consumers) {}

  Written plain, encrypted;

  @BeforeParameterizedClassInvocation void writeStores() throws Exception {
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    plain = write(work.resolve("plain"), NatsConfig.defaults());
    encrypted = write(work.resolve("chacha"), NatsConfig.defaults().withEncryption(KEY, "chacha"));
  }

  Written write(Path dir, NatsConfig config) throws Exception {
    Path store = dir.resolve("store");
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, config, store, dir.resolve("server"))) {
      try (Connection nc = server.connect("$G")) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        JetStream js = nc.jetStream();
        jsm.addStream(StreamConfiguration.builder().name("LIM").subjects("lim.>").build());
        for (int i = 1; i <= 40; i++) js.publish(i % 2 == 0 ? "lim.even" : "lim.odd", ("message " + i).getBytes(StandardCharsets.UTF_8));
        jsm.deleteMessage("LIM", 20, true);
        jsm.deleteMessage("LIM", 21, false);
        jsm.purgeStream("LIM", PurgeOptions.builder().sequence(3).build());
        BlockReaderTest.consume(nc, "LIM", pull("C", null), 10, 4, true);
        BlockReaderTest.consume(nc, "LIM", pull("EVEN", "lim.even"), 3, 2, false);

        jsm.addStream(StreamConfiguration.builder().name("WQ").subjects("wq.>").retentionPolicy(RetentionPolicy.WorkQueue).build());
        jsm.addOrUpdateConsumer("WQ", pull("W", null));
        for (int i = 1; i <= 20; i++) js.publish("wq.job", ("job " + i).getBytes(StandardCharsets.UTF_8));
        BlockReaderTest.consume(nc, "WQ", pull("W", null), 10, 7, false);

        jsm.addStream(StreamConfiguration.builder().name("INT").subjects("int.>").retentionPolicy(RetentionPolicy.Interest).build());
        jsm.addOrUpdateConsumer("INT", pull("A", null));
        jsm.addOrUpdateConsumer("INT", pull("B", null));
        for (int i = 1; i <= 15; i++) js.publish("int.x", ("int " + i).getBytes(StandardCharsets.UTF_8));
        BlockReaderTest.consume(nc, "INT", pull("A", null), 8, 8, false);
        BlockReaderTest.consume(nc, "INT", pull("B", null), 5, 5, false);

        KeyValue kv = nc.keyValueManagement().create(KeyValueConfiguration.builder().name("cfg").maxHistoryPerKey(3).build())
            == null ? null : nc.keyValue("cfg");
        for (int i = 1; i <= 6; i++) kv.put("a", "a" + i);
        kv.put("b", "b1");
        kv.delete("b");

        if (generation.atLeast(10)) {
          jsm.addStream(StreamConfiguration.builder().name("CMP").subjects("cmp.>").compressionOption(CompressionOption.S2).build());
          for (int i = 1; i <= 300; i++) js.publish("cmp.x", ("payload " + i + " ").repeat(500).getBytes(StandardCharsets.UTF_8));
        }
      }
      // Under load a 2.10 stop right after acks has left an unreadable o.dat (2.10 writes it in place: truncate, then
      // write; FirstStartTest saw it too). Once the consumers' flusher has written their state, the stop has none left.
      Thread.sleep(2000);
      server.stop();
    }
    // The survivor is what the server left; the truth is what a server started on it reports (a started server may
    // rewrite its files, so it runs on the original, not on the copy inspect reads).
    Path survivor = dir.resolve("survivor");
    StoreBuilder.copyTree(store, survivor);
    return truth(survivor, store, config, dir.resolve("restarted"));
  }

  /** {@code survivor} with what a server of this generation started on {@code serverStore} (its copy) reports. */
  Written truth(Path survivor, Path serverStore, NatsConfig config, Path serverDir) throws Exception {
    Map<String, StreamState> streams = new TreeMap<>();
    Map<String, ConsumerInfo> consumers = new TreeMap<>();
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, config, serverStore, serverDir);
        Connection nc = server.connect("$G")) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      for (String s : jsm.getStreamNames()) {
        streams.put(s, jsm.getStreamInfo(s).getStreamState());
        for (String c : jsm.getConsumerNames(s)) consumers.put(s + "/" + c, jsm.getConsumerInfo(s, c));
      }
      server.stop();
    }
    return new Written(survivor, streams, consumers);
  }

  static ConsumerConfiguration pull(String name, String filter) {
    return ConsumerConfiguration.builder().durable(name).filterSubject(filter).ackPolicy(AckPolicy.Explicit)
        .ackWait(Duration.ofMinutes(10)).build();
  }

  static JsonNode inspect(Path store, String... options) throws Exception {
    String before = StoreBuilder.treeDigest(store);
    String[] args = new String[options.length + 3];
    args[0] = "inspect";
    args[1] = "--json";
    System.arraycopy(options, 0, args, 2, options.length);
    args[args.length - 1] = store.toString();
    Cli.Result r = Cli.run(args);
    assertEquals(0, r.exit(), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "inspect writes nothing");
    return Json.MAPPER.readTree(r.out());
  }

  static JsonNode stream(JsonNode doc, String name) {
    for (JsonNode s : doc.get("streams")) if (s.get("name").asText().equals(name)) return s;
    throw new AssertionError("no stream " + name + " in " + doc);
  }

  static JsonNode consumer(JsonNode stream, String name) {
    for (JsonNode c : stream.get("consumers")) if (c.get("name").asText().equals(name)) return c;
    throw new AssertionError("no consumer " + name + " in " + stream);
  }

  /** Every stream and consumer: inspect's numbers are the server's own. */
  void assertSameAsServer(Written w, JsonNode doc) {
    assertEquals(w.streams().keySet().size(), doc.get("streams").size());
    w.streams().forEach((name, server) -> {
      JsonNode s = stream(doc, name);
      long removed = 0;
      for (JsonNode n : s.get("removed_at_start")) removed += n.asLong();
      if (removed > 0) {
        // What the server removes at load is said, not subtracted: what is left is the server's count.
        assertEquals(server.getMsgCount(), s.get("messages").asLong() - removed, name + ": messages left after the start");
        assertEquals(server.getLastSequence(), s.get("last_seq").asLong(), name + ": last_seq");
        return;
      }
      assertEquals(server.getMsgCount(), s.get("messages").asLong(), name + ": messages");
      assertEquals(server.getByteCount(), s.get("bytes").asLong(), name + ": bytes");
      assertEquals(server.getFirstSequence(), s.get("first_seq").asLong(), name + ": first_seq");
      assertEquals(server.getLastSequence(), s.get("last_seq").asLong(), name + ": last_seq");
      assertEquals(server.getDeletedCount(), s.get("deleted").asLong(), name + ": deleted");
      if (server.getMsgCount() > 0) {
        assertEquals(server.getFirstTime().toInstant(), java.time.Instant.parse(s.get("first_ts").asText()), name + ": first_ts");
        assertEquals(server.getLastTime().toInstant(), java.time.Instant.parse(s.get("last_ts").asText()), name + ": last_ts");
      }
      assertEquals(0, s.get("damaged").size(), name + ": " + s.get("damaged"));
    });
    w.consumers().forEach((label, info) -> {
      JsonNode c = consumer(stream(doc, info.getStreamName()), info.getName());
      assertTrue(c.get("state_note").isNull(), label + ": " + c.get("state_note"));
      assertEquals(info.getDelivered().getConsumerSequence(), c.get("delivered").get("consumer_seq").asLong(), label + ": delivered");
      assertEquals(info.getDelivered().getStreamSequence(), c.get("delivered").get("stream_seq").asLong(), label + ": delivered");
      assertEquals(info.getAckFloor().getConsumerSequence(), c.get("ack_floor").get("consumer_seq").asLong(), label + ": ack floor");
      assertEquals(info.getAckFloor().getStreamSequence(), c.get("ack_floor").get("stream_seq").asLong(), label + ": ack floor");
      assertEquals(info.getNumAckPending(), c.get("pending").asLong(), label + ": pending");
      assertEquals(info.getRedelivered(), c.get("redelivered").asLong(), label + ": redelivered");
      assertEquals(info.getNumPending(), c.get("num_pending").asLong(), label + ": num_pending");
    });
  }

  @Test void plainStoreReadsAsTheServerReported() throws Exception {
    assertSameAsServer(plain, inspect(plain.store()));
  }

  @Test void verifyDataHashesEveryRecordAndReadsTheSame() throws Exception {
    assertSameAsServer(plain, inspect(plain.store(), "--verify-data"));
  }

  @Test void encryptedStoreReadsAsTheServerReportedWithTheKey() throws Exception {
    assertSameAsServer(encrypted, inspect(encrypted.store(), "--verify-data", "--key", KEY));
  }

  @Test void aBlockWithoutItsKeyFileAndADamagedConsumerStateAreSaidWithoutWritingAnything() throws Exception {
    Path copy = tmp.resolve(generation.name() + "-keyless");
    StoreBuilder.copyTree(encrypted.store(), copy);
    Files.delete(copy.resolve("jetstream/$G/streams/LIM/msgs/1.key"));
    Path odat = copy.resolve("jetstream/$G/streams/WQ/obs/W/o.dat");
    byte[] state = Files.readAllBytes(odat);
    state[state.length - 1] ^= 1;
    Files.write(odat, state);

    JsonNode doc = inspect(copy, "--key", KEY);

    JsonNode lim = stream(doc, "LIM");
    assertEquals(1, lim.get("damaged").get(0).get("block").asInt());
    assertTrue(lim.get("damaged").get(0).get("offset").isNull());
    assertEquals("cannot be decrypted: 1.key is missing", lim.get("damaged").get(0).get("why").asText());
    if (generation.atLeast(10)) assertTrue(lim.get("index_note").asText().startsWith("index.db not used (block 1 cannot be decrypted)"), lim.toString());
    assertEquals("o.dat damaged at offset 0: does not open with the consumer's key",
        consumer(stream(doc, "WQ"), "W").get("state_note").asText());
    assertTrue(consumer(stream(doc, "WQ"), "W").get("num_pending").isNull());
  }

  @Test void withoutTheKeyAnEncryptedStreamIsSealedWithWhatCanBeKnown() throws Exception {
    JsonNode lim = stream(inspect(encrypted.store()), "LIM");
    assertTrue(lim.get("sealed").asBoolean());
    assertTrue(lim.get("messages").isNull());
    assertTrue(lim.get("blocks").asLong() > 0);
    assertTrue(lim.get("block_bytes").asLong() > 0);
    assertTrue(consumer(lim, "C").get("delivered").isNull());
    assertTrue(consumer(lim, "C").get("state_note").asText().contains("encrypted"));
    Cli.Result table = Cli.run("inspect", encrypted.store().toString());
    assertTrue(table.out().contains("jetstream/$G/streams/LIM: encrypted: give the JetStream key"), table.out());
  }

  @Test void tableShowsMessagesRangeAndConsumerPositions() throws Exception {
    Cli.Result r = Cli.run("inspect", plain.store().toString());
    assertEquals(0, r.exit(), r.all());
    StreamState lim = plain.streams().get("LIM");
    assertTrue(r.out().matches("(?s).*\\$G +LIM +1 +- +limits +file +2 +0 +no +ok +" + lim.getMsgCount() + " +"
        + lim.getFirstSequence() + "\\.\\." + lim.getLastSequence() + " +-\n.*"), r.out());
    ConsumerInfo c = plain.consumers().get("LIM/C");
    assertTrue(r.out().matches("(?s).*Consumers \\(from o.dat\\):.*\\$G +LIM +C +" + c.getDelivered().getConsumerSequence() + "/"
        + c.getDelivered().getStreamSequence() + " +" + c.getAckFloor().getConsumerSequence() + "/"
        + c.getAckFloor().getStreamSequence() + " +" + c.getNumAckPending() + " +1 +" + c.getNumPending() + "\n.*"), r.out());
  }

  @Test void aFlippedByteIsFoundAtItsBlockAndRecordWithoutWritingAnything() throws Exception {
    Path copy = tmp.resolve(generation.name() + "-flipped");
    StoreBuilder.copyTree(plain.store(), copy);
    Path blk = copy.resolve("jetstream/$G/streams/LIM/msgs/1.blk");
    byte[] file = Files.readAllBytes(blk);
    // The last match: record 3's "message 3" followed by a hash whose first byte is '0' matches too (1 store in 256).
    int at = lastIndexOf(file, "message 30".getBytes(StandardCharsets.UTF_8));
    file[at + 9] ^= 0x20;
    Files.write(blk, file);
    long recordStart = recordOffset(file, at);

    JsonNode lim = stream(inspect(copy, "--verify-data"), "LIM");

    assertEquals(1, lim.get("damaged").size(), lim.toString());
    JsonNode d = lim.get("damaged").get(0);
    assertEquals(1, d.get("block").asInt());
    assertEquals(recordStart, d.get("offset").asLong());
    assertEquals("record seq 30: checksum mismatch", d.get("why").asText());
    Cli.Result table = Cli.run("inspect", "--verify-data", copy.toString());
    assertTrue(table.out().contains("jetstream/$G/streams/LIM: DAMAGED block 1 offset " + recordStart
        + ": record seq 30: checksum mismatch"), table.out());
  }

  @Test void withoutIndexFilesTheRecordsGiveWhatTheServerRebuilds() throws Exception {
    // index.db (2.10+) and N.idx (2.9) lost, as when a node died before writing them: the server rebuilds from the
    // records (tombstones included; 2.9's lazy deletes are lost), and inspect must count what it will count.
    Path survivor = tmp.resolve(generation.name() + "-noindex"), probe = tmp.resolve(generation.name() + "-noindex-probe");
    StoreBuilder.copyTree(plain.store(), survivor);
    try (var all = Files.walk(survivor)) {
      for (Path p : all.toList()) {
        String n = p.getFileName().toString();
        if (n.equals("index.db") || n.endsWith(".idx")) Files.delete(p);
      }
    }
    StoreBuilder.copyTree(survivor, probe);
    Written rebuilt = truth(survivor, probe, NatsConfig.defaults(), tmp.resolve(generation.name() + "-noindex-server"));
    JsonNode doc = inspect(survivor);

    assertSameAsServer(rebuilt, doc);
    assertEquals("records", stream(doc, "LIM").get("source").asText());
    JsonNode removed = stream(doc, generation.atLeast(10) ? "KV_cfg" : "INT").get("removed_at_start");
    assertEquals(generation.atLeast(10) ? 3 : 0, removed.get("max_msgs_per_subject").asLong(), "a's history beyond 3, deleted only in index.db");
    assertEquals(generation.atLeast(10) ? 0 : 5, removed.get("interest").asLong(), "2.9: the acks of both consumers were only in N.idx");
  }

  @Test void twoSurvivorsWithDifferentLastSequencesAreComparedAndTheLongerChosen() throws Exception {
    // Copy 2 lost LIM's last record (a node stopped earlier, or a block cut short) and never held KV_cfg.
    Path shorter = tmp.resolve(generation.name() + "-shorter");
    StoreBuilder.copyTree(plain.store(), shorter);
    Path blk = shorter.resolve("jetstream/$G/streams/LIM/msgs/1.blk");
    byte[] file = Files.readAllBytes(blk);
    Files.write(blk, java.util.Arrays.copyOf(file, (int) recordOffset(file, lastIndexOf(file, "message 40".getBytes(StandardCharsets.UTF_8)))));
    StoreBuilder.copyTree(shorter.resolve("jetstream/$G/streams/KV_cfg"), tmp.resolve(generation.name() + "-kv-aside"));
    deleteTree(shorter.resolve("jetstream/$G/streams/KV_cfg"));
    String digestA = StoreBuilder.treeDigest(plain.store()), digestB = StoreBuilder.treeDigest(shorter);

    Cli.Result r = Cli.run("inspect", "--json", shorter.toString(), plain.store().toString());

    assertEquals(0, r.exit(), r.all());
    JsonNode lim = stream(Json.MAPPER.readTree(r.out()), "LIM");
    assertEquals(39, lim.get("copies").get(0).get("last_seq").asLong());
    assertEquals(40, lim.get("copies").get(1).get("last_seq").asLong());
    assertEquals(plain.store().toRealPath().toString(), lim.get("recover_from").asText());
    assertEquals("highest last sequence (40)", lim.get("why").asText());
    assertEquals("copy 1 ends at 39, copy 2 at 40", lim.get("divergence").get(0).asText());
    assertTrue(lim.get("copies").get(0).get("consumers").get(0).has("ack_floor"));
    JsonNode kv = stream(Json.MAPPER.readTree(r.out()), "KV_cfg");
    assertFalse(kv.get("copies").get(0).get("present").asBoolean());
    assertTrue(kv.get("only_on_one_copy").asBoolean());
    JsonNode wq = stream(Json.MAPPER.readTree(r.out()), "WQ");
    assertEquals("copies agree", wq.get("why").asText());
    assertEquals(0, wq.get("divergence").size());

    Cli.Result table = Cli.run("inspect", shorter.toString(), plain.store().toString());
    assertTrue(table.out().contains("$G > LIM: copies diverge: copy 1 ends at 39, copy 2 at 40"), table.out());
    assertTrue(table.out().matches("(?s).*\\$G +LIM +2 +40 +.*<- highest last sequence \\(40\\)\n.*"), table.out());
    assertTrue(table.out().contains("$G > KV_cfg: on copy 2 only (an R1 stream lives on one node: the other copies never held it)"), table.out());
    assertEquals(digestA, StoreBuilder.treeDigest(plain.store()));
    assertEquals(digestB, StoreBuilder.treeDigest(shorter));
  }

  @Test void twoNodesOfAClusterOneStoppedEarlierAreComparedAndTheLaterChosen() throws Exception {
    Path early = tmp.resolve(generation.name() + "-n3"), late = tmp.resolve(generation.name() + "-n1");
    try (NatsCluster cluster = NatsCluster.start(generation, NatsConfig.defaults())) {
      try (Connection nc = cluster.connect("$G")) {
        new Workload(nc).stream(StreamConfiguration.builder().name("ORD").subjects("ord.>").replicas(3));
        for (int i = 1; i <= 10; i++) publishOnce(nc, "order " + i);
        cluster.awaitReplicasCurrent();
        cluster.node("n3").stop();
        // Two of three still make a quorum (once they elect a leader, if n3 led): both hold what they acknowledge.
        for (int i = 11; i <= 15; i++) publishOnce(nc, "order " + i);
      }
      cluster.node("n1").stop();
      cluster.node("n2").stop();
      StoreBuilder.copyTree(cluster.node("n3").storeDir(), early);
      StoreBuilder.copyTree(cluster.node("n1").storeDir(), late);
    }

    Cli.Result r = Cli.run("inspect", "--json", early.toString(), late.toString());

    assertEquals(0, r.exit(), r.all());
    JsonNode ord = stream(Json.MAPPER.readTree(r.out()), "ORD");
    assertEquals(10, ord.get("copies").get(0).get("last_seq").asLong(), "the node stopped early");
    assertEquals(15, ord.get("copies").get(1).get("last_seq").asLong());
    assertEquals(15, ord.get("copies").get(1).get("messages").asLong());
    assertEquals(late.toRealPath().toString(), ord.get("recover_from").asText());
    assertEquals("highest last sequence (15)", ord.get("why").asText());
    assertFalse(ord.get("only_on_one_copy").asBoolean());
  }

  /**
   * Publishes to ORD, trying again while the stream has no leader (a node just stopped, a stream just created); the
   * message id makes the stream store a retried message once.
   */
  static void publishOnce(Connection nc, String order) {
    Await.until(java.time.Duration.ofSeconds(20), "ORD to take " + order, () -> {
      nc.jetStream().publish("ord.x", order.getBytes(StandardCharsets.UTF_8),
          io.nats.client.PublishOptions.builder().messageId(order).build());
      return null;
    });
  }

  static void deleteTree(Path dir) throws Exception {
    try (var all = Files.walk(dir)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }

  /** The start of the record holding byte {@code at}: records are walked from the block's start by their lengths. */
  static long recordOffset(byte[] block, int at) {
    int i = 0;
    while (true) {
      int len = (block[i] & 0xff | (block[i + 1] & 0xff) << 8 | (block[i + 2] & 0xff) << 16 | (block[i + 3] & 0x7f) << 24);
      if (at < i + len) return i;
      i += len;
    }
  }

  static int lastIndexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = hay.length - needle.length; i >= 0; i--) {
      for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
      return i;
    }
    throw new AssertionError("not found");
  }
}
