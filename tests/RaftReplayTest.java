import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * prepare replays what a stream's Raft log holds beyond its blocks, without timing luck: the survivor of the real
 * 2.10.27 cluster (tests/fixtures/cluster-2.10.27, stream logs kept after their snapshots) is broken the way a
 * hard kill breaks a 2.12+ node, whose blocks are flushed lazily while the log is written through: the last five
 * ORDERS messages are cut from its block, or a delete is in the log but not in the blocks. The replayed records
 * must be the server's own, and a real 2.10.27 server must serve exactly what the cluster did.
 */
class RaftReplayTest {
  static final Path FIXTURE = Path.of("tests/fixtures/cluster-2.10.27");
  /** The captured 2.9.10 survivor's store: deletes there live in each block's N.idx. */
  static final Path FIXTURE_29 = Path.of("tests/fixtures/cluster-2.9.10/store");
  static final int KEPT = 15; // of ORDERS' 20 messages

  @TempDir Path tmp;

  Path store() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE.resolve("store"), store);
    return store;
  }

  static Path ordersBlock(Path store) { return store.resolve("jetstream/$G/streams/ORDERS/msgs/1.blk"); }

  /** The records of a plain block file by sequence: bytes without the trailing hash, and whether the hash verified. */
  static java.util.TreeMap<Long, byte[]> records(Path block, String stream, int index, List<MsgBlock.Record> seen) throws Exception {
    byte[] file = Files.readAllBytes(block);
    java.util.TreeMap<Long, byte[]> byseq = new java.util.TreeMap<>();
    MsgBlock.scan(stream, index, file, null, true, r -> {
      seen.add(r);
      byseq.put(r.seq(), java.util.Arrays.copyOfRange(file, (int) r.offset(), (int) r.offset() + r.length() - MsgBlock.HASH));
    });
    return byseq;
  }

  /** The block as a hard-killed node leaves it: the records after the first {@code kept} lost. */
  static java.util.TreeMap<Long, byte[]> cutTail(Path store, int kept) throws Exception {
    List<MsgBlock.Record> seen = new ArrayList<>();
    java.util.TreeMap<Long, byte[]> original = records(ordersBlock(store), "ORDERS", 1, seen);
    byte[] file = Files.readAllBytes(ordersBlock(store));
    Files.write(ordersBlock(store), java.util.Arrays.copyOf(file, (int) seen.get(kept).offset()));
    return original;
  }

  @Test void messagesCutFromTheBlocksAreReplayedAsTheServerWroteThemAndServed() throws Exception {
    Path store = store();
    java.util.TreeMap<Long, byte[]> original = cutTail(store, KEPT);

    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 5 message(s) (seq 16..20, the blocks ended at 15) replayed from Raft group "), r.out());
    assertTrue(r.out().contains("into jetstream/$G/streams/ORDERS/msgs/2.blk"), r.out());
    // the last message's entry lies beyond the highest commit the node's log records: listed, and replayed
    assertTrue(r.out().contains("beyond the known commit index of their log (the stream's: 20): messages seq 20 (at-least-once"), r.out());

    // Byte for byte the server's records (length, sequence, time, subject, headers, payload), each hash keyed by block 2
    List<MsgBlock.Record> seen = new ArrayList<>();
    java.util.TreeMap<Long, byte[]> replayed = records(ordersBlock(store).resolveSibling("2.blk"), "ORDERS", 2, seen);
    assertEquals(List.of(16L, 17L, 18L, 19L, 20L), new ArrayList<>(replayed.keySet()));
    assertTrue(seen.stream().allMatch(rec -> rec.hash() == MsgBlock.Hash.OK), seen.toString());
    for (long seq : replayed.keySet()) assertArrayEquals(original.get(seq), replayed.get(seq), "record " + seq);

    JsonNode manifest = manifest(store);
    JsonNode entry = manifest.path("replayed").get(0);
    assertEquals("ORDERS", entry.path("stream").asText());
    assertEquals("16..20", entry.path("message_seqs").asText());
    assertEquals("20", entry.path("messages_beyond_known_commit").asText());
    assertEquals("jetstream/$G/streams/ORDERS/msgs/2.blk", entry.path("created").get(0).asText());

    try (NatsServerProcess server = server(store); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      assertEquals(20, jsm.getStreamInfo("ORDERS").getStreamState().getMsgCount());
      for (JsonNode sample : samples("ORDERS")) {
        MessageInfo m = jsm.getMessage("ORDERS", sample.path("seq").asLong());
        assertEquals(sample.path("subject").asText(), m.getSubject(), "seq " + m.getSeq());
        assertEquals(sample.path("data").asText(), Base64.getEncoder().encodeToString(m.getData() == null ? new byte[0] : m.getData()), "seq " + m.getSeq());
        JsonNode headers = sample.path("headers");
        headers.fieldNames().forEachRemaining(h -> {
          List<String> want = new ArrayList<>();
          headers.path(h).forEach(v -> want.add(v.asText()));
          assertEquals(want, m.getHeaders().get(h), "seq " + m.getSeq() + " header " + h);
        });
      }
    }
  }

  @Test void committedOnlyLeavesWhatTheNodeDidNotKnowCommitted() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    Cli.Result r = Cli.run("prepare", "--committed-only", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 4 message(s) (seq 16..19, the blocks ended at 15)"), r.out());
    assertTrue(r.out().contains("replay   $G > ORDERS: 1 message(s) beyond the known commit index 20: left in the log (--committed-only)"), r.out());
    List<MsgBlock.Record> seen = new ArrayList<>();
    assertEquals(List.of(16L, 17L, 18L, 19L), new ArrayList<>(records(ordersBlock(store).resolveSibling("2.blk"), "ORDERS", 2, seen).keySet()));
  }

  @Test void aDryRunShowsTheReplayAndWritesNothing() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    String before = StoreBuilder.treeDigest(store);
    Cli.Result r = Cli.run("prepare", "--dry-run", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 5 message(s) (seq 16..20, the blocks ended at 15) would be replayed"), r.out());
    assertTrue(r.out().contains("5 message(s), 0 delete(s) and 0 consumer state(s) would be replayed from the Raft logs"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store), "a dry run wrote");
  }

  @Test void undoTakesTheReplayedBlocksAway() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    String before = StoreBuilder.treeDigest(store.resolve("jetstream"));
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    assertTrue(Files.exists(ordersBlock(store).resolveSibling("2.blk")));
    Cli.Result undo = Cli.run("undo", store.toString());
    assertEquals(0, undo.exit(), undo.all());
    assertTrue(undo.out().contains("aside    jetstream/$G/streams/ORDERS/msgs/2.blk (prepare created it)"), undo.out());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream")), "undo left the store changed");
    // a prepare after the undo replays again
    Cli.Result again = Cli.run("prepare", store.toString());
    assertEquals(0, again.exit(), again.all());
    assertTrue(again.out().contains("replay   $G > ORDERS: 5 message(s)"), again.out());
  }

  @Test void aCompletedPrepareDoesNotReplayTwice() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Files.delete(ordersBlock(store).resolveSibling("2.blk")); // as if a server had since removed what it served
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("already prepared"), r.out());
    assertFalse(Files.exists(ordersBlock(store).resolveSibling("2.blk")));
  }

  @Test void aDeleteTheLogHoldsBecomesATombstoneAndTheServerForgetsTheMessage() throws Exception {
    Path store = store();
    List<MsgBlock.Record> seen = new ArrayList<>();
    records(ordersBlock(store), "ORDERS", 1, seen);
    long ts3 = seen.get(2).ts();
    appendToStreamLog(store, "ORDERS", deleteMsg("ORDERS", 3));

    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 1 delete(s) as tombstones (seq 3) replayed"), r.out());
    assertTrue(r.out().contains("beyond the known commit index of their log (the stream's: 21): deletes of seq 3 (at-least-once"), r.out());
    List<MsgBlock.Record> tomb = new ArrayList<>();
    records(ordersBlock(store).resolveSibling("2.blk"), "ORDERS", 2, tomb);
    assertEquals(1, tomb.size());
    assertEquals(MsgBlock.Kind.TOMBSTONE, tomb.get(0).kind());
    assertEquals(3, tomb.get(0).seq());
    assertEquals(ts3, tomb.get(0).ts(), "the server's tombstone carries the message's time");
    assertEquals(MsgBlock.Hash.OK, tomb.get(0).hash());
    assertServedWithout(store, "ORDERS", 19, 3);
  }

  /**
   * A cluster upgraded from 2.9 keeps a stream's config as 2.9 wrote it (no "compression") while 2.10+ write its
   * blocks and index.db: the delete must still be a tombstone, not a 2.9 N.idx the 2.10 server never reads.
   */
  @Test void aStreamOfAClusterUpgradedFrom29IsReplayedByTheRulesOfTheServerThatWroteItsBlocks() throws Exception {
    Path store = store();
    Path dir = store.resolve("jetstream/$G/streams/ORDERS");
    String config = Files.readString(dir.resolve("meta.inf"));
    byte[] as29Wrote = config.replace("\"compression\":\"none\",", "").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertNotEquals(config.length(), as29Wrote.length, "the fixture's config has no \"compression\" to take out");
    Files.write(dir.resolve("meta.inf"), as29Wrote);
    Files.writeString(dir.resolve("meta.sum"), HighwayHash64.metaSum("ORDERS", as29Wrote));
    appendToStreamLog(store, "ORDERS", deleteMsg("ORDERS", 3));

    Cli.Result r = Cli.run("prepare", store.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 1 delete(s) as tombstones (seq 3) replayed"), r.out());
    assertFalse(Files.exists(ordersBlock(store).resolveSibling("1.idx")), "a 2.9 index was written for a 2.10 stream");
    assertServedWithout(store, "ORDERS", 19, 3);
  }

  @Test void aWorkQueueAckInAConsumerLogRemovesTheMessage() throws Exception {
    Path store = store();
    // JOBS_B (filter jobs.b) had 8 and 9 delivered, its ack floor at 7: the ack of 8 reached its log, not the stream
    appendToLog(store, ClusterInventory.key(ClusterInventory.key("$G", "JOBS"), "JOBS_B"), ackUpdate(5, 8));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    // 1..3 and 7, removed in index.db only, get tombstones too: the new block makes the server rebuild from the blocks
    assertTrue(r.out().contains("replay   $G > JOBS: 5 delete(s) as tombstones (seq 1..3, 7..8) replayed"), r.out());
    assertServedWithout(store, "JOBS", 7, 8);
  }

  /** A real 2.10.27 server on the prepared store: it serves {@code count} messages of {@code stream}, and not {@code gone}. */
  void assertServedWithout(Path store, String stream, long count, long gone) throws Exception {
    try (NatsServerProcess server = server(store); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      assertEquals(count, jsm.getStreamInfo(stream).getStreamState().getMsgCount());
      JetStreamApiException e = assertThrows(JetStreamApiException.class, () -> jsm.getMessage(stream, gone), "seq " + gone + " is served");
      assertEquals(10037, e.getApiErrorCode()); // no message found
    }
  }

  /** The fixture's own generation, standalone on the prepared store. */
  NatsServerProcess server(Path store) {
    return NatsServerProcess.standalone(ServerGeneration.all().get(1), NatsConfig.defaults(), store, tmp.resolve("server"));
  }

  @Test void acksInAConsumerLogMoveItsStateOnAndTheServerDoesNotRedeliverThem() throws Exception {
    Path store = store();
    Path odat = store.resolve("jetstream/$G/streams/ORDERS/obs/NEW/o.dat");
    ConsumerState stored = ConsumerState.decode(Files.readAllBytes(odat), null).value();
    // NEW (filter orders.new) had 7..10 delivered and its ack floor at 6: the acks of 7 and 9 reached its log only
    String asset = ClusterInventory.key(ClusterInventory.key("$G", "ORDERS"), "NEW");
    appendToLog(store, asset, ackUpdate(7, 7));
    appendToLog(store, asset, ackUpdate(9, 9));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS > NEW: o.dat moved on from Raft group "), r.out());
    assertTrue(r.out().contains("ack floor 6/6 -> 7/7, delivered 10/10 -> 10/10"), r.out());
    ConsumerState now = ConsumerState.decode(Files.readAllBytes(odat), null).value();
    assertEquals(new ConsumerState.SeqPair(7, 7), now.ackFloor());
    assertEquals(stored.delivered(), now.delivered());
    assertEquals(List.of(8L, 10L), now.pending().stream().map(ConsumerState.Pending::streamSeq).toList());
    // the original is kept, and undo puts it back
    JsonNode c = manifest(store).path("consumers_replayed").get(0);
    assertEquals("NEW", c.path("consumer").asText());
    assertEquals("6/6", c.path("ack_floor").path("from").asText());
    assertEquals("7/7", c.path("ack_floor").path("to").asText());

    try (NatsServerProcess server = server(store); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      io.nats.client.api.ConsumerInfo info = nc.jetStreamManagement().getConsumerInfo("ORDERS", "NEW");
      assertEquals(7, info.getAckFloor().getStreamSequence());
      assertEquals(2, info.getNumAckPending()); // 8 and 10: 7 and 9 are not redelivered
    }
    Cli.Result undo = Cli.run("undo", store.toString());
    assertEquals(0, undo.exit(), undo.all());
    assertArrayEquals(Files.readAllBytes(FIXTURE.resolve("store/jetstream/$G/streams/ORDERS/obs/NEW/o.dat")), Files.readAllBytes(odat));
  }

  @Test void aTornConsumerStateIsRebuiltFromItsRaftSnapshotAndLog() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE_29, store);
    assertRebuilt(store, whole -> java.util.Arrays.copyOf(whole, 3), "(snapshot snap."); // a kill while 2.9 or 2.10 rewrote it
  }

  /**
   * A kill while 2.9 rewrote an o.dat leaves it empty; a consumer group that never took a snapshot holds its whole
   * history in its log (the 2.10.27 fixture's do): the state is rebuilt from the log alone, as the original was.
   */
  @Test void anEmptyConsumerStateWithoutASnapshotIsRebuiltFromTheWholeLog() throws Exception {
    assertRebuilt(store(), whole -> new byte[0], "(the whole Raft log (o.dat does not read");
  }

  /** ORDERS > NEW's o.dat torn by {@code tear}: prepare rebuilds the position it held from what {@code basis} names. */
  static void assertRebuilt(Path store, java.util.function.UnaryOperator<byte[]> tear, String basis) throws Exception {
    Path odat = store.resolve("jetstream/$G/streams/ORDERS/obs/NEW/o.dat");
    byte[] whole = Files.readAllBytes(odat);
    ConsumerState before = ConsumerState.decode(whole, null).value();
    Files.write(odat, tear.apply(whole));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS > NEW: o.dat moved on from Raft group "), r.out());
    assertTrue(r.out().contains(basis), r.out());
    ConsumerState rebuilt = ConsumerState.decode(Files.readAllBytes(odat), null).value();
    assertEquals(before.ackFloor(), rebuilt.ackFloor());
    assertEquals(before.delivered(), rebuilt.delivered());
    assertEquals(before.pending().stream().map(ConsumerState.Pending::streamSeq).toList(),
        rebuilt.pending().stream().map(ConsumerState.Pending::streamSeq).toList());
  }

  @Test void committedOnlyLeavesADeleteBeyondTheKnownCommitInTheLog() throws Exception {
    Path store = store();
    appendToStreamLog(store, "ORDERS", deleteMsg("ORDERS", 3));
    Cli.Result r = Cli.run("prepare", "--committed-only", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 1 delete(s) beyond the known commit index of their log: left in the log (--committed-only)"), r.out());
    assertFalse(Files.exists(ordersBlock(store).resolveSibling("2.blk")));
  }

  @Test void aLogWhoseSequencesDoNotLineUpWithTheBlocksIsNotReplayed() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    // a message for seq 15 the blocks hold with another time: a proposal rejected at apply time shifted the log
    appendToStreamLog(store, "ORDERS", streamMsg(14, 1, "orders.new", null, "late"));
    Cli.Result r = Cli.run("prepare", "--dry-run", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 5 message(s) and 0 delete(s) not replayed: the log's message for seq 15 "
        + "(log#22) is not the one the blocks hold, so its sequences do not line up with the store"), r.out());
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    assertFalse(Files.exists(ordersBlock(store).resolveSibling("2.blk")));
  }

  @Test void aRollupIsNotReplayedNorAnythingAfterIt() throws Exception {
    Path store = store();
    appendToStreamLog(store, "ORDERS", streamMsg(20, 2, "orders.new", "NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", "only this"));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: messages from seq 21 (log#22) on: not replayed, it rolls up its subject "
        + "(Nats-Rollup), which the server applies by removing older messages and js-recover does not"), r.out());
    assertFalse(Files.exists(ordersBlock(store).resolveSibling("2.blk")));
  }

  @Test void aDamagedLastBlockIsNotAddedTo() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    byte[] b = Files.readAllBytes(ordersBlock(store));
    b[b.length - 12] ^= 0x01; // the last record's payload: its hash no longer matches
    Files.write(ordersBlock(store), b);
    String before = StoreBuilder.treeDigest(store.resolve("jetstream/$G"));
    Cli.Result r = Cli.run("prepare", "--dry-run", store.toString());
    assertTrue(r.out().contains("replay   $G > ORDERS: nothing replayed: block 1 is damaged (record seq 15: checksum mismatch); "
        + "the server truncates it there, and js-recover does not add to a stream whose end it cannot tell"), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream/$G")));
  }

  @Test void aBlockIndexIsWrittenAsThe29ServerWroteIt() throws Exception {
    try (var idx = Files.find(FIXTURE_29, 8, (p, a) -> p.toString().endsWith(".idx") && p.getParent().endsWith("msgs"))) {
      for (Path f : idx.toList()) { // streams' and Raft logs'; JOBS' has a delete map entry
        byte[] file = Files.readAllBytes(f);
        assertArrayEquals(file, BlockIndex29.read(file, null).value().encode(null), f.toString());
      }
    }
  }

  /**
   * A 2.9 store keeps deletes only in its blocks' N.idx: the log's deletes of ORDERS 1 (in order: the first sequence
   * moves) and 3 (out of order: the delete map) and JOBS_B's work-queue ack of JOBS 8 are written there as the
   * 2.9.10 server records them, N.fss is set aside, and a real 2.9.10 server serves the streams without them, with
   * its per-subject counts right.
   */
  @Test void aStoreOf29RecordsTheLogsDeletesInItsBlockIndexAsTheServerDoes() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE_29, store);
    appendToStreamLog(store, "ORDERS", deleteMsg("ORDERS", 1));
    appendToStreamLog(store, "ORDERS", deleteMsg("ORDERS", 3));
    appendToLog(store, ClusterInventory.key(ClusterInventory.key("$G", "JOBS"), "JOBS_B"), ackUpdate(5, 8));
    Path orders = store.resolve("jetstream/$G/streams/ORDERS/msgs");
    byte[] idxBefore = Files.readAllBytes(orders.resolve("1.idx")), fssBefore = Files.readAllBytes(orders.resolve("1.fss"));
    String before = StoreBuilder.treeDigest(store.resolve("jetstream/$G"));

    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 2 delete(s) into the blocks' N.idx (seq 1, 3) replayed"), r.out());
    assertTrue(r.out().contains("replay   $G > JOBS: 1 delete(s) into the blocks' N.idx (seq 8) replayed"), r.out());
    assertTrue(r.out().contains("into jetstream/$G/streams/ORDERS/msgs/1.idx (jetstream/$G/streams/ORDERS/msgs/1.fss set aside "
        + "into originals.zip)"), r.out());
    BlockIndex29 idx = BlockIndex29.read(Files.readAllBytes(orders.resolve("1.idx")), null).value();
    assertEquals(18, idx.messages());
    assertEquals(2, idx.firstSeq());
    assertArrayEquals(new long[] {3}, idx.deleted());
    assertFalse(Files.exists(orders.resolve("1.fss")), "the per-subject counts are the server's to count again");
    assertFalse(Files.exists(orders.resolve("2.blk")), "a 2.9 server does not know tombstones");
    JsonNode replayed = manifest(store).path("replayed");
    JsonNode o = replayed.get(0).path("stream").asText().equals("ORDERS") ? replayed.get(0) : replayed.get(1);
    assertEquals("1, 3", o.path("index_deletes").asText());
    assertEquals("jetstream/$G/streams/ORDERS/msgs/1.idx", o.path("rewritten").get(0).asText());
    assertEquals("jetstream/$G/streams/ORDERS/msgs/1.fss", o.path("set_aside").get(0).asText());
    assertEquals(0, o.path("created").size());

    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.all().get(0), NatsConfig.defaults(), store,
        tmp.resolve("server")); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      assertEquals(18, jsm.getStreamInfo("ORDERS").getStreamState().getMsgCount());
      for (long gone : new long[] {1, 3}) {
        assertEquals(10037, assertThrows(JetStreamApiException.class, () -> jsm.getMessage("ORDERS", gone)).getApiErrorCode());
      }
      var subjects = jsm.getStreamInfo("ORDERS", io.nats.client.api.StreamInfoOptions.filterSubjects("orders.new"))
          .getStreamState().getSubjects();
      assertEquals(10, subjects.get(0).getCount(), "orders.new counted without the two deleted");
      assertEquals(7, jsm.getStreamInfo("JOBS").getStreamState().getMsgCount());
      assertEquals(10037, assertThrows(JetStreamApiException.class, () -> jsm.getMessage("JOBS", 8)).getApiErrorCode());
    }

    Cli.Result undo = Cli.run("undo", store.toString());
    assertEquals(0, undo.exit(), undo.all());
    assertArrayEquals(idxBefore, Files.readAllBytes(orders.resolve("1.idx")));
    assertArrayEquals(fssBefore, Files.readAllBytes(orders.resolve("1.fss")));
  }

  /**
   * Deletes that empty a 2.9 block that is not the stream's last (a message is replayed after it): the server
   * removes such a block (removeMsgBlock), so the replay sets its files aside, and a real 2.9.10 server starts the
   * stream at the replayed message. Undo brings the block back.
   */
  @Test void a29BlockTheDeletesEmptyIsSetAsideAsTheServerRemovesIt() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE_29, store);
    for (long seq : new long[] {4, 5, 6, 8, 9, 10, 11, 12}) appendToStreamLog(store, "JOBS", deleteMsg("JOBS", seq));
    appendToStreamLog(store, "JOBS", streamMsg(12, System.currentTimeMillis() * 1_000_000L, "jobs.a", null, "after the drain"));
    Path jobs = store.resolve("jetstream/$G/streams/JOBS/msgs");
    String before = StoreBuilder.treeDigest(jobs);

    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > JOBS: 1 message(s) (seq 13, the blocks ended at 12) and 8 delete(s) into the "
        + "blocks' N.idx (seq 4..6, 8..12) replayed"), r.out());
    for (String f : List.of("1.blk", "1.idx", "1.fss")) assertFalse(Files.exists(jobs.resolve(f)), f + " is still there");
    JsonNode replayed = manifest(store).path("replayed");
    JsonNode o = replayed.get(0);
    assertEquals("JOBS", o.path("stream").asText(), replayed.toString());
    assertEquals(List.of("jetstream/$G/streams/JOBS/msgs/1.blk", "jetstream/$G/streams/JOBS/msgs/1.fss",
        "jetstream/$G/streams/JOBS/msgs/1.idx"), new ObjectMapper().convertValue(o.path("set_aside"), List.class));
    Path undone = tmp.resolve("undone"); // the server below writes its own files into the store
    StoreBuilder.copyTree(store, undone);
    assertEquals(0, Cli.run("undo", undone.toString()).exit());
    assertEquals(before, StoreBuilder.treeDigest(undone.resolve("jetstream/$G/streams/JOBS/msgs")), "undo did not bring the block back");
    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.all().get(0), NatsConfig.defaults(), store,
        tmp.resolve("server")); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      var state = nc.jetStreamManagement().getStreamInfo("JOBS").getStreamState();
      assertEquals(1, state.getMsgCount());
      assertEquals(13, state.getFirstSequence());
    }
  }

  /**
   * A 2.9 store keeps deletes in N.idx, which new blocks do not have: a message the log adds and then deletes is
   * written erased (its sequence with the delete bit, as 2.9's removeMsg erases one), and a real 2.9.10 server serves
   * the one after it but not it. Undo takes the new block away.
   */
  @Test void aMessageTheLogAddsAndDeletesOnA29StoreIsWrittenErasedAndNotServed() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE_29, store);
    long now = System.currentTimeMillis() * 1_000_000L;
    appendToStreamLog(store, "ORDERS", streamMsg(20, now, "orders.new", null, "deleted after the survivor lost quorum"));
    appendToStreamLog(store, "ORDERS", streamMsg(21, now + 1, "orders.new", null, "kept"));
    appendToStreamLog(store, "ORDERS", deleteMsg("ORDERS", 21));
    Path orders = store.resolve("jetstream/$G/streams/ORDERS/msgs");
    String before = StoreBuilder.treeDigest(orders);

    Cli.Result r = Cli.run("prepare", store.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 2 message(s) (seq 21..22, the blocks ended at 20) and 1 delete(s) of "
        + "those messages written erased (seq 21) replayed"), r.out());
    assertFalse(r.out().contains("not replayed"), r.out());
    JsonNode o = manifest(store).path("replayed").get(0);
    assertEquals("21", o.path("erased").asText(), o.toString());
    assertEquals("", o.path("index_deletes").asText(), o.toString());
    Path undone = tmp.resolve("undone"); // the server below writes its own files into the store
    StoreBuilder.copyTree(store, undone);
    Cli.Result undo = Cli.run("undo", undone.toString());
    assertEquals(0, undo.exit(), undo.all());
    assertEquals(before, StoreBuilder.treeDigest(undone.resolve("jetstream/$G/streams/ORDERS/msgs")), "undo did not take the new block away");
    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.all().get(0), NatsConfig.defaults(), store,
        tmp.resolve("server")); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      var state = jsm.getStreamInfo("ORDERS").getStreamState();
      assertEquals(21, state.getMsgCount(), "1..20 and 22");
      assertEquals(22, state.getLastSequence());
      assertEquals(10037, assertThrows(JetStreamApiException.class, () -> jsm.getMessage("ORDERS", 21)).getApiErrorCode());
      assertEquals("kept", new String(jsm.getMessage("ORDERS", 22).getData(), StandardCharsets.UTF_8));
    }
  }

  /**
   * A purge the cluster committed but the survivor's blocks had not applied: replayed as the server applies it, at
   * its place in the log (after the five messages the kill cut from the block, which it purges too), and a message
   * the log put after it is kept. A real 2.10.27 server serves exactly that one.
   */
  @Test void aWholePurgeRemovesTheStoredAndReplayedMessagesBeforeIt() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    appendToLog(store, ClusterInventory.key("$G", "ORDERS"), List.of(purge("ORDERS"),
        streamMsg(20, System.currentTimeMillis() * 1_000_000L, "orders.new", null, "after the purge")));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 6 message(s) (seq 16..21, the blocks ended at 15) and 20 delete(s) as "
        + "tombstones (seq 1..20) replayed"), r.out());
    assertServedExactly(store, ServerGeneration.all().get(1), "ORDERS", 21, List.of(21L));
  }

  /** Filtered ({@code *.paid}), up to a sequence, and keep-the-newest purges on the 2.10.27 survivor. */
  @Test void filteredSequenceAndKeepPurgesRemoveWhatTheServerRemoves() throws Exception {
    assertPurged(FIXTURE.resolve("store"), 1, "{\"filter\":\"*.paid\"}", range(1, 12));
    assertPurged(FIXTURE.resolve("store"), 1, "{\"seq\":6}", range(6, 20));
    assertPurged(FIXTURE.resolve("store"), 1, "{\"filter\":\"orders.new\",\"keep\":2}", range(11, 20));
  }

  /** The same purges on the 2.9.10 survivor: written into the blocks' N.idx, served so by a real 2.9.10 server. */
  @Test void purgesOnA29StoreGoIntoItsBlockIndex() throws Exception {
    assertPurged(FIXTURE_29, 0, null, List.of());
    assertPurged(FIXTURE_29, 0, "{\"filter\":\"*.paid\"}", range(1, 12));
    assertPurged(FIXTURE_29, 0, "{\"seq\":6}", range(6, 20));
    assertPurged(FIXTURE_29, 0, "{\"filter\":\"orders.new\",\"keep\":2}", range(11, 20));
    // 2.9 keeps the newest N of a whole stream as Compact(last - N + 1)
    assertPurged(FIXTURE_29, 0, "{\"keep\":4}", range(17, 20));
  }

  /** A copy of {@code fixture} whose ORDERS log ends with a purge of {@code request} (null: none), prepared and served. */
  void assertPurged(Path fixture, int generation, String request, List<Long> served) throws Exception {
    Path store = Files.createTempDirectory(tmp, "store");
    StoreBuilder.copyTree(fixture, store);
    appendToStreamLog(store, "ORDERS", purge("ORDERS", request));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: " + (20 - served.size()) + " delete(s)"), request + ": " + r.out());
    assertServedExactly(store, ServerGeneration.all().get(generation), "ORDERS", 20, served);
  }

  static List<Long> range(long from, long to) { return java.util.stream.LongStream.rangeClosed(from, to).boxed().toList(); }

  /** A real server of {@code generation} on the prepared store serves exactly {@code served} of seq 1..{@code last}. */
  void assertServedExactly(Path store, ServerGeneration generation, String stream, long last, List<Long> served) throws Exception {
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, store.resolveSibling(
        store.getFileName() + "-server")); Connection nc = NatsServerProcess.connect(NatsConfig.defaults(), "$G", server.clientUrl())) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      assertEquals(served.size(), jsm.getStreamInfo(stream).getStreamState().getMsgCount(), "served " + served);
      for (long seq = 1; seq <= last; seq++) {
        long s = seq;
        if (served.contains(seq)) assertEquals(seq, jsm.getMessage(stream, seq).getSeq());
        else assertEquals(10037, assertThrows(JetStreamApiException.class, () -> jsm.getMessage(stream, s), "seq " + s).getApiErrorCode());
      }
    }
  }

  @Test void aDryRunListsThePurgeAndUndoBringsThePurgedMessagesBack() throws Exception {
    Path store = store();
    appendToStreamLog(store, "ORDERS", purge("ORDERS", "{\"filter\":\"orders.new\"}"));
    String before = StoreBuilder.treeDigest(store.resolve("jetstream"));
    Cli.Result dry = Cli.run("prepare", "--dry-run", store.toString());
    assertEquals(0, dry.exit(), dry.all());
    assertTrue(dry.out().contains("replay   $G > ORDERS: 12 delete(s) as tombstones (seq 1..12) would be replayed"), dry.out());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream")), "a dry run wrote");
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Cli.Result undo = Cli.run("undo", store.toString());
    assertEquals(0, undo.exit(), undo.all());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream")), "undo left the store changed");
  }

  /**
   * The captured KV_SETTINGS log ends with the purge of {@code app.cache} (seq 4, 5) that its blocks applied, as the
   * rollup at 7 removed 1..3: below the block's new first sequence, in index.db only, their records still in the
   * block. The purge removes nothing more, the message the log holds after it is replayed into a new block, which
   * outdates index.db: the records index.db alone removed get tombstones, and a real 2.10.27 server (rebuilding the
   * stream from its blocks) serves exactly 6, 7 and the replayed 8, not the purged and rolled-up 1..5.
   */
  @Test void aPurgeTheBlocksAppliedRemovesNothingMoreAndNothingComesBack() throws Exception {
    Path store = store();
    appendToStreamLog(store, "KV_SETTINGS", streamMsg(7, System.currentTimeMillis() * 1_000_000L, "$KV.SETTINGS.app.new", null, "v"));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > KV_SETTINGS: 1 message(s) (seq 8, the blocks ended at 7) and 5 delete(s) as "
        + "tombstones (seq 1..5) replayed"), r.out());
    assertServedExactly(store, ServerGeneration.all().get(1), "KV_SETTINGS", 8, List.of(6L, 7L, 8L));
  }

  /** A purge keeping the newest N of a work queue whose consumer logs hold acks: which it kept cannot be told. */
  @Test void aKeepPurgeOfAWorkQueueWithAcksInItsConsumerLogsIsNotReplayed() throws Exception {
    Path store = store();
    appendToLog(store, ClusterInventory.key(ClusterInventory.key("$G", "JOBS"), "JOBS_B"), ackUpdate(5, 8));
    appendToStreamLog(store, "JOBS", purge("JOBS", "{\"keep\":2}"));
    String before = StoreBuilder.treeDigest(store.resolve("jetstream/$G/streams/JOBS/msgs"));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > JOBS: 0 message(s) and 1 delete(s) not replayed: the purge at log#"), r.out());
    assertTrue(r.out().contains(" keeps the newest 2, and work-queue acks in the consumers' logs (their own Raft logs) may have "
        + "removed messages before or after it, so which it kept cannot be told"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream/$G/streams/JOBS/msgs")), "a refused replay wrote");
  }

  @Test void committedOnlyLeavesAPurgeBeyondTheKnownCommitInTheLog() throws Exception {
    Path store = store();
    appendToStreamLog(store, "ORDERS", purge("ORDERS"));
    Cli.Result r = Cli.run("prepare", "--committed-only", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("the purge at log#22 is beyond the known commit index 21: left in the log (--committed-only)"), r.out());
    assertFalse(Files.exists(ordersBlock(store).resolveSibling("2.blk")));
  }

  /** 2.14+ may propose a sequence gap as a delete range: not replayed, the messages with it, nothing written. */
  @Test void aLogWithADeleteRangeIsNotReplayedAndNothingIsWritten() throws Exception {
    Path store = store();
    cutTail(store, KEPT);
    appendToStreamLog(store, "ORDERS", op(GroupLog.DELETE_RANGE, "{\"first\":21,\"num\":2}\n"));
    String before = StoreBuilder.treeDigest(store.resolve("jetstream/$G/streams/ORDERS/msgs"));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 5 message(s) and 0 delete(s) not replayed: the log also holds 1 delete "
        + "range(s) (sequences skipped without a message, which 2.14+ servers propose), which js-recover does not replay"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream/$G/streams/ORDERS/msgs")), "a refused replay wrote");
  }

  /** A 2.9 whole-stream purge up to a sequence beyond the stream's end moves its next sequence: not replayed, nothing written. */
  @Test void aPurgeBeyondTheStreamsEndIsNotReplayedAndNothingIsWritten() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(FIXTURE_29, store);
    appendToStreamLog(store, "ORDERS", purge("ORDERS", "{\"seq\":40}"));
    String before = StoreBuilder.treeDigest(store.resolve("jetstream/$G/streams/ORDERS/msgs"));
    Cli.Result r = Cli.run("prepare", store.toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("replay   $G > ORDERS: 0 message(s) and 0 delete(s) not replayed: the purge at log#"), r.out());
    assertTrue(r.out().contains(" purges up to seq 40, beyond the stream's last sequence 20: the server moves the stream's next "
        + "sequence there, which js-recover does not"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store.resolve("jetstream/$G/streams/ORDERS/msgs")), "a refused replay wrote");
  }

  static JsonNode manifest(Path store) throws Exception {
    try (var runs = Files.list(store.resolve("js-recover-backup"))) {
      Path run = runs.filter(Files::isDirectory).sorted().reduce((a, b) -> b).orElseThrow();
      return new ObjectMapper().readTree(Files.readAllBytes(run.resolve("manifest.json")));
    }
  }

  static JsonNode samples(String stream) throws Exception {
    for (JsonNode s : new ObjectMapper().readTree(Files.readAllBytes(FIXTURE.resolve("TRUTH.json"))).path("streams")) {
      if (s.path("name").asText().equals(stream)) return s.path("samples");
    }
    throw new AssertionError(stream + " not in TRUTH.json");
  }

  static byte[] deleteMsg(String stream, long seq) {
    return op(GroupLog.DELETE_MSG, "{\"stream\":\"" + stream + "\",\"seq\":" + seq + ",\"no_erase\":true}\n");
  }

  /** A streamMsgOp: {@code lseq | ts | u16 subject | u16 reply | u16 headers | u32 payload}. */
  static byte[] streamMsg(long lseq, long ts, String subject, String headers, String payload) {
    byte[] subj = subject.getBytes(StandardCharsets.UTF_8), hdr = headers == null ? new byte[0] : headers.getBytes(StandardCharsets.UTF_8);
    byte[] msg = payload.getBytes(StandardCharsets.UTF_8);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 + 16 + 2 + subj.length + 2 + 2 + hdr.length + 4 + msg.length)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put((byte) GroupLog.STREAM_MSG).putLong(lseq).putLong(ts).putShort((short) subj.length).put(subj).putShort((short) 0)
        .putShort((short) hdr.length).put(hdr).putInt(msg.length).put(msg);
    return b.array();
  }

  /** updateAcksOp: uvarint consumer sequence, uvarint stream sequence (both below 128 here: one byte each). */
  static byte[] ackUpdate(long dseq, long sseq) {
    return new byte[] {(byte) GroupLog.UPDATE_ACKS, (byte) dseq, (byte) sseq};
  }

  static byte[] purge(String stream) { return purge(stream, null); }

  /** A purgeStreamOp as the leader proposes it, its last_seq the stream's 20; {@code request} (JSON) or none. */
  static byte[] purge(String stream, String request) {
    return op(GroupLog.PURGE, "{\"stream\":\"" + stream + "\",\"last_seq\":20" + (request == null ? "" : ",\"request\":" + request) + "}\n");
  }

  static byte[] op(int op, String json) {
    byte[] j = json.getBytes(StandardCharsets.UTF_8), d = new byte[1 + j.length];
    d[0] = (byte) op;
    System.arraycopy(j, 0, d, 1, j.length);
    return d;
  }

  /**
   * Appends one append entry holding {@code entry} (a normal entry) to the stream's Raft log, as storeToWAL
   * stores it: the record of the next Raft index, its commit field one below (not yet known committed).
   */
  static void appendToStreamLog(Path store, String stream, byte[] entry) throws Exception {
    appendToLog(store, ClusterInventory.key("$G", stream), entry);
  }

  /** {@code asset}: a stream's or a consumer's inventory key. */
  static void appendToLog(Path store, String asset, byte[] entry) throws Exception {
    appendToLog(store, asset, List.of(entry));
  }

  /** The entries one after the other, each in an append entry of the next Raft index. */
  static void appendToLog(Path store, String asset, List<byte[]> entries) throws Exception {
    Path raft = store.resolve("jetstream/$SYS/_js_");
    ClusterInventory inv = ClusterInventory.of(Raft.read(raft.resolve("_meta_"), null));
    String group = (inv.streams.containsKey(asset) ? inv.streams : inv.consumers).get(asset).group();
    Path dir = raft.resolve(group);
    Raft.Group g = Raft.read(dir, null);
    long index = g.lastIndex() + 1, term = g.log().isEmpty() ? 1 : g.log().get(g.log().size() - 1).term();
    Path blk = dir.resolve("msgs/1.blk");
    BlockWriter w = new BlockWriter(group, 1);
    for (byte[] entry : entries) {
      java.nio.ByteBuffer ae = java.nio.ByteBuffer.allocate(42 + 4 + 1 + entry.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      ae.put("n1leader".getBytes(StandardCharsets.ISO_8859_1)).putLong(term).putLong(index - 1).putLong(term).putLong(index - 1)
          .putShort((short) 1).putInt(1 + entry.length).put((byte) Raft.NORMAL).put(entry);
      w.message(index++, System.currentTimeMillis() * 1_000_000L, "", null, ae.array());
    }
    Files.write(blk, w.files(blk.getParent(), null, null, null).get(0).bytes(), java.nio.file.StandardOpenOption.APPEND);
  }
}
