import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
 * What the first server start removes, once per server generation: a real server writes a store, the store is broken
 * the way survivors are (limits lowered, consumers lost, a stream's removals not flushed, a flipped byte in a block the
 * server must rebuild), inspect says what the start will remove, and a server of that generation started on a copy
 * leaves exactly what inspect's numbers say: messages minus everything in removed_at_start.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class FirstStartTest {
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  /** The store as the server left it; INT's and FINT's msgs/ as they were before their consumers acknowledged anything. */
  Path store, intBeforeAcks, fintBeforeAcks;
  Map<String, StreamState> written;

  @BeforeParameterizedClassInvocation void writeStore() throws Exception {
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    store = work.resolve("store");
    intBeforeAcks = work.resolve("int-msgs-before-acks");
    fintBeforeAcks = work.resolve("fint-msgs-before-acks");
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, work.resolve("s1"))) {
      try (Connection nc = server.connect("$G")) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        JetStream js = nc.jetStream();
        jsm.addStream(StreamConfiguration.builder().name("BYTES").subjects("bytes.>").build());
        for (int i = 1; i <= 30; i++) js.publish("bytes.x", "x".repeat(10 * i).getBytes(StandardCharsets.UTF_8));
        jsm.addStream(StreamConfiguration.builder().name("BOTH").subjects("both.>").build());
        for (int i = 1; i <= 30; i++) js.publish("both.x", "y".repeat(100).getBytes(StandardCharsets.UTF_8));
        jsm.addStream(StreamConfiguration.builder().name("DNEW").subjects("dnew.>").discardPolicy(DiscardPolicy.New)
            .maxMessages(100).build());
        for (int i = 1; i <= 20; i++) js.publish("dnew.x", ("d " + i).getBytes(StandardCharsets.UTF_8));
        jsm.addStream(StreamConfiguration.builder().name("INT").subjects("int.>").retentionPolicy(RetentionPolicy.Interest).build());
        jsm.addOrUpdateConsumer("INT", InspectContentsTest.pull("A", null));
        jsm.addOrUpdateConsumer("INT", InspectContentsTest.pull("B", null));
        for (int i = 1; i <= 15; i++) js.publish("int.x", ("int " + i).getBytes(StandardCharsets.UTF_8));
        jsm.addStream(StreamConfiguration.builder().name("FINT").subjects("fint.>").retentionPolicy(RetentionPolicy.Interest).build());
        jsm.addOrUpdateConsumer("FINT", InspectContentsTest.pull("F", "fint.a"));
        jsm.addOrUpdateConsumer("FINT", InspectContentsTest.pull("G", "fint.b"));
        for (int i = 1; i <= 10; i++) js.publish(i % 2 == 1 ? "fint.a" : "fint.b", ("f " + i).getBytes(StandardCharsets.UTF_8));
        jsm.addStream(StreamConfiguration.builder().name("ORPHAN").subjects("orphan.>").retentionPolicy(RetentionPolicy.Interest).build());
        jsm.addOrUpdateConsumer("ORPHAN", InspectContentsTest.pull("X", null));
        for (int i = 1; i <= 12; i++) js.publish("orphan.x", ("o " + i).getBytes(StandardCharsets.UTF_8));
        BlockReaderTest.consume(nc, "ORPHAN", "X", 4, 4, false);
        jsm.addStream(StreamConfiguration.builder().name("LIM").subjects("lim.>").build());
        for (int i = 1; i <= 40; i++) js.publish("lim.x", ("message " + i).getBytes(StandardCharsets.UTF_8));
      }
      server.stop();
    }
    StoreBuilder.copyTree(store.resolve("jetstream/$G/streams/INT/msgs"), intBeforeAcks);
    StoreBuilder.copyTree(store.resolve("jetstream/$G/streams/FINT/msgs"), fintBeforeAcks);
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, work.resolve("s2"));
        Connection nc = server.connect("$G")) {
      // A acknowledges 1..8; B 1..5 and 7, not 6: its ack floor is 5, 6 is pending, 7 acknowledged above the floor.
      acknowledge(nc, "INT", "A", 8, List.of(1, 2, 3, 4, 5, 6, 7, 8));
      acknowledge(nc, "INT", "B", 7, List.of(1, 2, 3, 4, 5, 7));
      // F takes fint.a (odd sequences) and acknowledges all 5 (floor 9); G takes fint.b and acknowledges 2 and 4 (floor 4).
      acknowledge(nc, "FINT", "F", 5, List.of(1, 2, 3, 4, 5));
      acknowledge(nc, "FINT", "G", 5, List.of(1, 2));
      written = new TreeMap<>();
      JetStreamManagement jsm = nc.jetStreamManagement();
      for (String s : jsm.getStreamNames()) written.put(s, jsm.getStreamInfo(s).getStreamState());
      // Under load a 2.10 stop right after acks has left an unreadable o.dat here (2.10 writes it in place: truncate,
      // then write). Once the consumers' flusher has written their state, the stop has none left to write.
      Thread.sleep(2000);
      server.stop();
    }
  }

  /** {@code consumer} fetches {@code fetch} messages and acknowledges the {@code acked}-th of them (1-based). */
  static void acknowledge(Connection nc, String stream, String consumer, int fetch, List<Integer> acked) throws Exception {
    JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind(stream, consumer));
    List<Message> got = sub.fetch(fetch, Duration.ofSeconds(5));
    assertEquals(fetch, got.size());
    for (int n : acked) got.get(n - 1).ackSync(Duration.ofSeconds(5));
    nc.flush(Duration.ofSeconds(5));
  }

  /** A copy of the store to break; {@code name} is the test's. */
  Path copy(String name) throws Exception {
    Path copy = tmp.resolve(generation.name() + "-" + name);
    StoreBuilder.copyTree(store, copy);
    return copy;
  }

  static Path streamDir(Path store, String stream) { return store.resolve("jetstream/$G/streams/" + stream); }

  /** Sets config fields of a stream's meta.inf and its meta.sum, as an edited config a survivor may hold. */
  static void setConfig(Path store, String stream, Map<String, Long> fields) throws Exception {
    Path dir = streamDir(store, stream);
    ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(Files.readAllBytes(dir.resolve("meta.inf")));
    fields.forEach(cfg::put);
    byte[] bytes = Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(cfg);
    Files.write(dir.resolve("meta.inf"), bytes);
    Files.writeString(dir.resolve("meta.sum"), StoreBuilder.sum(stream, bytes));
  }

  /** The index files a server would trust for this stream (2.10+ index.db, 2.9 N.idx), as a node killed before writing them. */
  static void loseIndex(Path store, String stream) throws Exception {
    try (var all = Files.list(streamDir(store, stream).resolve("msgs"))) {
      for (Path p : all.toList()) {
        String n = p.getFileName().toString();
        if (n.equals("index.db") || n.endsWith(".idx")) Files.delete(p);
      }
    }
  }

  /** What a server of this generation reports for each stream once started on a copy of {@code survivor}. */
  Map<String, StreamState> started(Path survivor, String name) throws Exception {
    Path probe = tmp.resolve(generation.name() + "-" + name + "-probe");
    StoreBuilder.copyTree(survivor, probe);
    Map<String, StreamState> streams = new TreeMap<>();
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), probe,
        tmp.resolve(generation.name() + "-" + name + "-server")); Connection nc = server.connect("$G")) {
      Thread.sleep(2000); // what the start removes later than the load (an interest check) has run by now
      JetStreamManagement jsm = nc.jetStreamManagement();
      for (String s : jsm.getStreamNames()) streams.put(s, jsm.getStreamInfo(s).getStreamState());
      server.stop();
    }
    return streams;
  }

  static long removed(JsonNode stream) {
    long n = 0;
    for (JsonNode v : stream.get("removed_at_start")) n += v.asLong();
    return n;
  }

  /** The server kept what inspect said it would: messages less everything the start removes, up to the same last sequence. */
  static void assertServerKept(StreamState server, JsonNode s) {
    String name = s.get("name").asText();
    assertEquals(server.getMsgCount(), s.get("messages").asLong() - removed(s), name + ": messages the start left " + s);
  }

  @Test void limitsLoweredInTheConfigAreCountedOldestFirstAsTheServerRemovesThem() throws Exception {
    Path survivor = copy("limits");
    long bothBytes = written.get("BOTH").getByteCount();
    setConfig(survivor, "BYTES", Map.of("max_bytes", written.get("BYTES").getByteCount() / 2));
    setConfig(survivor, "BOTH", Map.of("max_msgs", 25L, "max_bytes", bothBytes * 18 / 30));
    setConfig(survivor, "DNEW", Map.of("max_msgs", 5L));

    JsonNode doc = InspectContentsTest.inspect(survivor);
    Map<String, StreamState> server = started(survivor, "limits");

    JsonNode bytes = InspectContentsTest.stream(doc, "BYTES"), both = InspectContentsTest.stream(doc, "BOTH");
    JsonNode dnew = InspectContentsTest.stream(doc, "DNEW");
    for (JsonNode s : List.of(bytes, both, dnew)) assertServerKept(server.get(s.get("name").asText()), s);
    assertTrue(bytes.get("removed_at_start").get("max_bytes").asLong() > 0, bytes.toString());
    assertEquals(server.get("BYTES").getFirstSequence(), 1 + bytes.get("removed_at_start").get("max_bytes").asLong(), "oldest first");
    assertEquals(5, both.get("removed_at_start").get("max_msgs").asLong(), "max_msgs first");
    assertEquals(7, both.get("removed_at_start").get("max_bytes").asLong(), "then max_bytes, of the 25 max_msgs left");
    assertEquals(13, server.get("BOTH").getFirstSequence());
    // 2.9 trims a discard-new stream at load as it trims a discard-old one; 2.10+ leave it.
    assertEquals(generation.atLeast(10) ? 0 : 15, dnew.get("removed_at_start").get("max_msgs").asLong());

    Cli.Result table = Cli.run("inspect", survivor.toString());
    assertTrue(table.out().contains("jetstream/$G/streams/BOTH: the first server start removes 7 message(s) over max_bytes, oldest first"),
        table.out());
  }

  @Test void anInterestStreamWithoutConsumersOnDiskKeepsItsMessagesAtTheFirstStart() throws Exception {
    // ORPHAN's only consumer was lost (an R1 consumer on a lost peer, a folder not copied): 8 messages are left.
    Path survivor = copy("orphan");
    InspectContentsTest.deleteTree(streamDir(survivor, "ORPHAN").resolve("obs"));

    JsonNode orphan = InspectContentsTest.stream(InspectContentsTest.inspect(survivor), "ORPHAN");
    Map<String, StreamState> server = started(survivor, "orphan");

    assertEquals(8, orphan.get("messages").asLong());
    assertEquals(0, removed(orphan), orphan.toString());
    assertServerKept(server.get("ORPHAN"), orphan);
    assertEquals("interest retention and no consumer on disk: the first start removes none of its 8 message(s) (only a "
        + "consumer's acknowledgement removes one); they stay until consumers are created again", orphan.get("interest_note").asText());
    Cli.Result table = Cli.run("inspect", survivor.toString());
    assertTrue(table.out().contains("jetstream/$G/streams/ORPHAN: interest retention and no consumer on disk"), table.out());
  }

  @Test void consumersWhoseAckFloorIsPastMessagesOnDiskHaveThemRemovedAtTheFirstStart() throws Exception {
    // INT's blocks as they were before any acknowledgement (its removals never reached the disk), its consumers' o.dat
    // after: A's floor 8; B's floor 5 with 7 acknowledged above it and 6 pending.
    Path survivor = copy("floors");
    for (String stream : List.of("INT", "FINT")) {
      Path msgs = streamDir(survivor, stream).resolve("msgs");
      InspectContentsTest.deleteTree(msgs);
      StoreBuilder.copyTree(stream.equals("INT") ? intBeforeAcks : fintBeforeAcks, msgs);
    }

    JsonNode doc = InspectContentsTest.inspect(survivor);
    JsonNode in = InspectContentsTest.stream(doc, "INT"), filtered = InspectContentsTest.stream(doc, "FINT");
    Map<String, StreamState> server = started(survivor, "floors");

    assertEquals(15, in.get("messages").asLong());
    // 2.9 purges up to the lowest ack floor; 2.10+ also remove 7, which every consumer has acknowledged.
    assertEquals(generation.atLeast(10) ? 6 : 5, in.get("removed_at_start").get("interest").asLong(), in.toString());
    assertServerKept(server.get("INT"), in);
    assertEquals(6, server.get("INT").getFirstSequence());
    // Filtered consumers: 2.10+ remove each message the consumers its subject goes to have acknowledged (1-5, 7, 9:
    // F's fint.a up to 9 and G's fint.b up to 4); 2.9 purges up to the lowest floor whatever the subjects: G's, 5 (a
    // filtered consumer's floor passes the messages not for it).
    assertEquals(10, filtered.get("messages").asLong());
    assertEquals(generation.atLeast(10) ? 7 : 5, filtered.get("removed_at_start").get("interest").asLong(), filtered.toString());
    assertServerKept(server.get("FINT"), filtered);
  }

  @Test void aDamagedRecordInABlockTheServerRebuildsDropsTheRestOfTheBlock() throws Exception {
    // LIM's index lost (the node was killed), and a byte of message 30's payload flipped: the server rebuilds the block
    // from its records and cuts it at the first bad one.
    Path survivor = copy("damaged");
    loseIndex(survivor, "LIM");
    long at = flip(survivor, "message 30");

    JsonNode lim = InspectContentsTest.stream(InspectContentsTest.inspect(survivor), "LIM");
    Map<String, StreamState> server = started(survivor, "damaged");

    JsonNode d = lim.get("damaged").get(0);
    assertEquals(at, d.get("offset").asLong());
    assertEquals("record seq 30: checksum mismatch", d.get("why").asText());
    assertEquals(10, d.get("dropped_at_start").asLong(), "31..40 after it; 30 itself is not counted");
    assertEquals(39, lim.get("messages").asLong(), "what the block holds with a good checksum");
    assertEquals(10, lim.get("removed_at_start").get("damage").asLong());
    assertServerKept(server.get("LIM"), lim);
    // 2.10+ end the stream before the bad record; 2.9 keeps its sequence as the last (it sets last before the hash check).
    assertEquals(generation.atLeast(10) ? 29 : 30, server.get("LIM").getLastSequence());
    Cli.Result table = Cli.run("inspect", survivor.toString());
    assertTrue(table.out().contains("jetstream/$G/streams/LIM: the first server start drops the 10 message(s) after the damage at block 1 "
        + "offset " + at + " (it cuts a block it rebuilds at the first bad record)"), table.out());
  }

  @Test void aDamagedRecordInABlockATrustedIndexVouchesForIsNotDroppedAtTheFirstStart() throws Exception {
    // The index's last checksum still matches the block: the server loads the counts from it and reads no record.
    Path survivor = copy("damaged-indexed");
    flip(survivor, "message 30");

    JsonNode lim = InspectContentsTest.stream(InspectContentsTest.inspect(survivor, "--verify-data"), "LIM");
    Map<String, StreamState> server = started(survivor, "damaged-indexed");

    assertEquals(1, lim.get("damaged").size(), lim.toString());
    assertTrue(lim.get("damaged").get(0).get("dropped_at_start").isNull(), lim.toString());
    assertEquals(0, removed(lim));
    assertEquals(40, server.get("LIM").getMsgCount());
    assertEquals(40, lim.get("messages").asLong());
  }

  /** Flips a byte of {@code payload} in LIM's block 1; returns where its record starts. */
  static long flip(Path store, String payload) throws Exception {
    Path blk = streamDir(store, "LIM").resolve("msgs/1.blk");
    byte[] file = Files.readAllBytes(blk);
    int at = InspectContentsTest.lastIndexOf(file, payload.getBytes(StandardCharsets.UTF_8));
    file[at + payload.length() - 1] ^= 0x20;
    Files.write(blk, file);
    return InspectContentsTest.recordOffset(file, at);
  }
}
