import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.PurgeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.CompressionOption;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamState;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The block and state readers on stores real servers wrote, once per server generation: a standalone server
 * stores streams with known contents (a limits stream with erased and kept deletes, a head purge and a consumer
 * in the middle of its work, a work queue with acks, an s2-compressed stream on 2.10+; the same in chacha- and
 * aes-encrypted stores), reports its numbers through jnats, and stops. The readers must find the same numbers in
 * the files, and locate flipped bytes.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class BlockReaderTest {
  static final String KEY = "block reader key";
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  /** What one server stored and what it said about it before it stopped. */
  record Written(Path store, NatsConfig config, Map<String, StreamState> streams, Map<String, ConsumerInfo> consumers) {
    Path streamDir(String stream) {
      return store.resolve("jetstream/$G/streams").resolve(stream);
    }
  }

  Written plain, chacha, aes;

  @BeforeParameterizedClassInvocation void writeStores() throws Exception {
    generation.binary();
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    plain = write(work.resolve("plain"), NatsConfig.defaults());
    chacha = write(work.resolve("chacha"), NatsConfig.defaults().withEncryption(KEY, "chacha"));
    aes = write(work.resolve("aes"), NatsConfig.defaults().withEncryption(KEY, "aes"));
  }

  Written write(Path dir, NatsConfig config) throws Exception {
    Path store = dir.resolve("store");
    Map<String, StreamState> streams = new TreeMap<>();
    Map<String, ConsumerInfo> consumers = new TreeMap<>();
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, config, store, dir.resolve("server"))) {
      try (Connection nc = server.connect("$G")) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        JetStream js = nc.jetStream();
        jsm.addStream(StreamConfiguration.builder().name("LIM").subjects("lim.>").build());
        for (int i = 1; i <= 40; i++) {
          Headers h = i % 3 == 0 ? new Headers().add("n", Integer.toString(i)) : null;
          js.publish(NatsMessage.builder().subject(i % 2 == 0 ? "lim.even" : "lim.odd").headers(h)
              .data(("message " + i).getBytes(StandardCharsets.UTF_8)).build());
        }
        jsm.deleteMessage("LIM", 20, true);
        jsm.deleteMessage("LIM", 21, false);
        jsm.purgeStream("LIM", PurgeOptions.builder().sequence(3).build());
        consume(nc, "LIM", "C", 10, 4, true);

        jsm.addStream(StreamConfiguration.builder().name("WQ").subjects("wq.>").retentionPolicy(RetentionPolicy.WorkQueue).build());
        jsm.addOrUpdateConsumer("WQ", pull("W"));
        for (int i = 1; i <= 20; i++) js.publish("wq.job", ("job " + i).getBytes(StandardCharsets.UTF_8));
        consume(nc, "WQ", "W", 10, 7, false);

        if (generation.atLeast(10)) {
          jsm.addStream(StreamConfiguration.builder().name("CMP").subjects("cmp.>").compressionOption(CompressionOption.S2).build());
          for (int i = 1; i <= COMPRESSED_MESSAGES; i++) js.publish("cmp.x", compressible(i));
        }
        for (String s : jsm.getStreamNames()) {
          streams.put(s, jsm.getStreamInfo(s).getStreamState());
          for (String c : jsm.getConsumerNames(s)) consumers.put(s + "/" + c, jsm.getConsumerInfo(s, c));
        }
      }
      server.stop();
    }
    return new Written(store, config, streams, consumers);
  }

  static final int COMPRESSED_MESSAGES = 1200;

  /** 10 KB that s2 shrinks a lot, different per message. */
  static byte[] compressible(int i) {
    return ("payload " + i + " ").repeat(1000).substring(0, 10_000).getBytes(StandardCharsets.UTF_8);
  }

  static ConsumerConfiguration pull(String name) {
    return ConsumerConfiguration.builder().durable(name).ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofMinutes(10)).build();
  }

  /** Fetches {@code fetch}, acks the first {@code ack}; with {@code redeliver}, naks the next one and fetches it again. */
  static void consume(Connection nc, String stream, String consumer, int fetch, int ack, boolean redeliver) throws Exception {
    consume(nc, stream, pull(consumer), fetch, ack, redeliver);
  }

  /** The same through a consumer of this config (a filtered one, say). */
  static void consume(Connection nc, String stream, ConsumerConfiguration consumer, int fetch, int ack, boolean redeliver)
      throws Exception {
    nc.jetStreamManagement().addOrUpdateConsumer(stream, consumer);
    JetStreamSubscription sub = nc.jetStream().subscribe(null, PullSubscribeOptions.bind(stream, consumer.getDurable()));
    List<Message> got = sub.fetch(fetch, Duration.ofSeconds(5));
    assertEquals(fetch, got.size());
    for (int i = 0; i < ack; i++) got.get(i).ackSync(Duration.ofSeconds(5));
    if (redeliver) {
      got.get(ack).nak();
      nc.flush(Duration.ofSeconds(5));
      assertEquals(1, sub.fetch(1, Duration.ofSeconds(5)).size());
    }
    nc.flush(Duration.ofSeconds(5));
  }

  /** A stream as the readers see it: the live messages after the index's deletes and the tombstones. */
  record Read(TreeMap<Long, MsgBlock.Record> live, long bytes, List<MsgBlock.Scan> scans, StreamIndex index,
      List<BlockIndex29> idx) {
    long first() { return live.isEmpty() ? 0 : live.firstKey(); }
    long last() { return live.isEmpty() ? 0 : live.lastKey(); }
  }

  Read read(Written w, String stream) throws Exception {
    Path dir = w.streamDir(stream), msgs = dir.resolve("msgs");
    MetaCrypto.Opened streamKey = null;
    byte[] jsKey = KEY.getBytes(StandardCharsets.UTF_8);
    if (Files.exists(dir.resolve("meta.key"))) {
      streamKey = MetaCrypto.openMeta(jsKey, "$G", stream, Files.readAllBytes(dir.resolve("meta.key")),
          Files.readAllBytes(dir.resolve("meta.inf")), null);
    }
    TreeMap<Long, MsgBlock.Record> live = new TreeMap<>();
    TreeSet<Long> gone = new TreeSet<>();
    List<MsgBlock.Scan> scans = new ArrayList<>();
    List<BlockIndex29> idx = new ArrayList<>();
    for (int n : blocks(msgs)) {
      BlockKey key = null;
      if (streamKey != null) {
        Outcome<BlockKey> k = BlockKey.open(jsKey, "$G", stream, n, Files.readAllBytes(msgs.resolve(n + ".key")), streamKey.cipher());
        assertTrue(k.ok(), String.valueOf(k.damage()));
        key = k.value();
        assertEquals(streamKey.cipher(), key.cipher());
      }
      byte[] file = Files.readAllBytes(msgs.resolve(n + ".blk"));
      MsgBlock.Scan scan = MsgBlock.scan(stream, n, file, key, true, r -> {
        if (r.kind() == MsgBlock.Kind.MESSAGE) live.put(r.seq(), r);
        else if (r.kind() == MsgBlock.Kind.TOMBSTONE) gone.add(r.seq());
      });
      assertEquals(List.of(), scan.damage(), stream + " block " + n);
      assertEquals(scan.lastChecksum(), MsgBlock.lastChecksum(java.util.Arrays.copyOfRange(file, file.length - 8, file.length), file.length, key),
          "the last checksum from the file's last 8 bytes alone");
      scans.add(scan);
      Path idxFile = msgs.resolve(n + ".idx");
      if (Files.exists(idxFile)) {
        Outcome<BlockIndex29> i = BlockIndex29.read(Files.readAllBytes(idxFile), key);
        assertTrue(i.ok(), String.valueOf(i.damage()));
        assertEquals(scan.lastChecksum(), i.value().lastChecksum(), "the .idx is current: its lchk is the block's");
        idx.add(i.value());
        live.headMap(i.value().firstSeq()).clear();
        for (long d : i.value().deleted()) gone.add(d);
      }
    }
    StreamIndex index = null;
    if (Files.exists(msgs.resolve("index.db"))) {
      Outcome<StreamIndex> i = StreamIndex.read(stream, Files.readAllBytes(msgs.resolve("index.db")), streamKey);
      assertTrue(i.ok(), String.valueOf(i.damage()));
      index = i.value();
      // A head purge leaves its records in the block on 2.10: only index.db's first sequence says they are gone.
      live.headMap(index.firstSeq()).clear();
      for (StreamIndex.Block b : index.blocks()) for (long d : b.deleted()) gone.add(d);
    }
    gone.forEach(live::remove);
    long bytes = live.values().stream().mapToLong(MsgBlock.Record::length).sum();
    return new Read(live, bytes, scans, index, idx);
  }

  static List<Integer> blocks(Path msgs) throws Exception {
    try (var files = Files.list(msgs)) {
      return files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".blk"))
          .map(f -> Integer.parseInt(f.substring(0, f.length() - 4))).sorted().toList();
    }
  }

  void assertSameAsServer(Written w, String stream) throws Exception {
    StreamState server = w.streams().get(stream);
    Read r = read(w, stream);
    assertEquals(server.getMsgCount(), r.live().size(), stream + ": messages");
    assertEquals(server.getByteCount(), r.bytes(), stream + ": bytes");
    assertEquals(server.getFirstSequence(), r.first(), stream + ": first");
    assertEquals(server.getLastSequence(), Math.max(r.last(), r.scans().stream().mapToLong(MsgBlock.Scan::highestSeq).max().orElse(0)), stream + ": last");
    assertEquals(server.getFirstTime().toInstant().toEpochMilli(), r.live().firstEntry().getValue().ts() / 1_000_000, stream + ": first time");
    if (generation.atLeast(10)) {
      assertNotNull(r.index(), stream + ": 2.10+ writes index.db at stop");
      assertEquals(server.getMsgCount(), r.index().messages());
      assertEquals(server.getByteCount(), r.index().bytes());
      assertEquals(server.getFirstSequence(), r.index().firstSeq());
      assertEquals(server.getLastSequence(), r.index().lastSeq());
      MsgBlock.Scan last = r.scans().get(r.scans().size() - 1);
      assertNull(r.index().whyNotTrusted(last.lastChecksum(), last.index()), "a cleanly stopped server's index.db is trusted");
      assertTrue(r.idx().isEmpty());
    } else {
      assertNull(r.index());
      assertEquals(server.getMsgCount(), r.idx().stream().mapToLong(BlockIndex29::messages).sum(), stream + ": .idx messages");
      assertEquals(server.getByteCount(), r.idx().stream().mapToLong(BlockIndex29::bytes).sum(), stream + ": .idx bytes");
    }
  }

  @Test void limitsStreamWithDeletesAndPurgeReadsAsTheServerReported() throws Exception {
    assertSameAsServer(plain, "LIM");
    Read r = read(plain, "LIM");
    assertFalse(r.live().containsKey(20L), "erased");
    assertFalse(r.live().containsKey(21L), "deleted without erase");
    assertFalse(r.live().containsKey(2L), "purged");
    MsgBlock.Record m9 = r.live().get(9L);
    assertEquals("lim.odd", m9.subject());
    assertEquals("message 9".length(), m9.payloadLength());
    assertTrue(m9.headerLength() > 0, "every third message has headers");
    assertEquals(0, r.live().get(10L).headerLength());
    assertTrue(r.live().values().stream().allMatch(m -> m.hash() == MsgBlock.Hash.OK));
  }

  @Test void workQueueAcksReadAsTheServerReported() throws Exception {
    assertSameAsServer(plain, "WQ");
    Read r = read(plain, "WQ");
    assertEquals(8, r.first(), "7 acked jobs are gone");
    MsgBlock.Scan block = r.scans().get(0);
    assertEquals(20, block.messages(), "acks do not touch the records");
    if (generation.atLeast(10)) {
      assertEquals(7, block.tombstones(), "2.10+ writes a tombstone per acked job");
    } else {
      assertEquals(0, block.tombstones());
      assertEquals(8, r.idx().get(0).firstSeq(), "2.9 remembers the acks only in N.idx");
    }
  }

  @Test void compressedStreamReadsAsTheServerReported() throws Exception {
    if (!generation.atLeast(10)) return; // s2 block compression arrived in 2.10
    assertSameAsServer(plain, "CMP");
    Read r = read(plain, "CMP");
    assertTrue(r.scans().stream().anyMatch(MsgBlock.Scan::compressed), "sealed blocks are s2-compressed on disk");
    MsgBlock.Scan first = r.scans().get(0);
    assertTrue(first.fileBytes() * 2 < first.dataBytes(), first.fileBytes() + " bytes on disk hold " + first.dataBytes());
    assertEquals(COMPRESSED_MESSAGES, r.live().size());
    assertEquals(compressible(777).length, r.live().get(777L).payloadLength());
  }

  @Test void chachaStoreReadsAsTheServerReported() throws Exception {
    encrypted(chacha, MetaCrypto.Cipher.CHACHA);
  }

  @Test void aesStoreReadsAsTheServerReported() throws Exception {
    encrypted(aes, MetaCrypto.Cipher.AES);
  }

  void encrypted(Written w, MetaCrypto.Cipher cipher) throws Exception {
    assertSameAsServer(w, "LIM");
    assertSameAsServer(w, "WQ");
    assertTrue(read(w, "LIM").scans().stream().allMatch(MsgBlock.Scan::encrypted));
    if (generation.atLeast(10)) {
      // Compressed, then encrypted over the whole file, cmp prefix included.
      assertSameAsServer(w, "CMP");
      assertTrue(read(w, "CMP").scans().get(0).compressed());
    }
    consumerStateAsTheServerReported(w, "LIM", "C");
    consumerStateAsTheServerReported(w, "WQ", "W");

    // A keystream carries a flipped byte to the same place in the plaintext: found at its record.
    Path msgs = w.streamDir("LIM").resolve("msgs");
    BlockKey key = BlockKey.open(KEY.getBytes(StandardCharsets.UTF_8), "$G", "LIM", 1, Files.readAllBytes(msgs.resolve("1.key")), cipher).value();
    byte[] file = Files.readAllBytes(msgs.resolve("1.blk"));
    MsgBlock.Record m30 = read(w, "LIM").live().get(30L);
    file[(int) m30.offset() + m30.length() - 9] ^= 0x01;
    assertEquals(List.of(new Damage(m30.offset(), "record seq 30: checksum mismatch")), MsgBlock.scan("LIM", 1, file, key, true, null).damage());
  }

  @Test void consumerStateReadsAsTheServerReported() throws Exception {
    consumerStateAsTheServerReported(plain, "LIM", "C");
    consumerStateAsTheServerReported(plain, "WQ", "W");
  }

  void consumerStateAsTheServerReported(Written w, String stream, String consumer) throws Exception {
    Path dir = w.streamDir(stream).resolve("obs").resolve(consumer);
    MetaCrypto.Opened key = null;
    if (Files.exists(dir.resolve("meta.key"))) {
      key = MetaCrypto.openMeta(KEY.getBytes(StandardCharsets.UTF_8), "$G", stream + "." + consumer,
          Files.readAllBytes(dir.resolve("meta.key")), Files.readAllBytes(dir.resolve("meta.inf")), null);
    }
    Outcome<ConsumerState> o = ConsumerState.decode(Files.readAllBytes(dir.resolve("o.dat")), key);
    assertTrue(o.ok(), String.valueOf(o.damage()));
    ConsumerState state = o.value();
    ConsumerInfo info = w.consumers().get(stream + "/" + consumer);
    assertEquals(info.getDelivered().getConsumerSequence(), state.delivered().consumerSeq(), "delivered consumer seq");
    assertEquals(info.getDelivered().getStreamSequence(), state.delivered().streamSeq(), "delivered stream seq");
    assertEquals(info.getAckFloor().getConsumerSequence(), state.ackFloor().consumerSeq(), "ack floor consumer seq");
    assertEquals(info.getAckFloor().getStreamSequence(), state.ackFloor().streamSeq(), "ack floor stream seq");
    assertEquals(info.getNumAckPending(), state.pending().size(), "pending acks");
    assertEquals(info.getRedelivered(), state.redelivered().size(), "redelivered");
  }

  @Test void aFlippedPayloadByteIsFoundAtItsRecord() throws Exception {
    Path blk = plain.streamDir("LIM").resolve("msgs/1.blk");
    byte[] file = Files.readAllBytes(blk);
    Map<Long, MsgBlock.Record> records = new HashMap<>();
    MsgBlock.Scan clean = MsgBlock.scan("LIM", 1, file, null, true, r -> {
      if (r.kind() == MsgBlock.Kind.MESSAGE) records.put(r.seq(), r);
    });
    MsgBlock.Record m12 = records.get(12L);
    byte[] damaged = file.clone();
    damaged[(int) m12.offset() + m12.length() - 9] ^= 0x20; // the payload's last byte

    List<MsgBlock.Record> seen = new ArrayList<>();
    MsgBlock.Scan scan = MsgBlock.scan("LIM", 1, damaged, null, true, seen::add);

    assertEquals(List.of(new Damage(m12.offset(), "record seq 12: checksum mismatch")), scan.damage());
    assertEquals(clean.records(), seen.size(), "the records after it are still read");
    assertEquals(1, seen.stream().filter(r -> r.hash() == MsgBlock.Hash.MISMATCH).count());
    assertTrue(MsgBlock.scan("LIM", 1, damaged, null, false, null).damage().isEmpty(), "without --verify-data no hash is checked");
    assertTrue(java.util.Arrays.equals(file, Files.readAllBytes(blk)), "the block on disk is unchanged");
  }

  @Test void aBlockReadUnderAnotherStreamNameFailsEveryHash() throws Exception {
    byte[] file = Files.readAllBytes(plain.streamDir("WQ").resolve("msgs/1.blk"));
    MsgBlock.Scan scan = MsgBlock.scan("WQ2", 1, file, null, true, null);
    assertEquals(scan.records(), scan.damage().size(), "the hash key is sha256(\"<stream>-<block>\")");
  }

  @Test void aBrokenRecordLengthStopsTheScanThereAndSaysSo() throws Exception {
    byte[] file = Files.readAllBytes(plain.streamDir("LIM").resolve("msgs/1.blk"));
    Map<Long, MsgBlock.Record> records = new HashMap<>();
    MsgBlock.scan("LIM", 1, file, null, true, r -> records.put(r.seq(), r));
    MsgBlock.Record m30 = records.get(30L);
    byte[] damaged = file.clone();
    damaged[(int) m30.offset() + 2] = 0x7f; // total_len becomes ~8 MB

    List<Long> seen = new ArrayList<>();
    MsgBlock.Scan scan = MsgBlock.scan("LIM", 1, damaged, null, true, r -> seen.add(r.seq()));

    assertEquals(1, scan.damage().size());
    assertEquals(m30.offset(), scan.damage().get(0).offset());
    assertTrue(scan.damage().get(0).why().contains("cannot be read"), scan.damage().get(0).why());
    assertEquals(29L, seen.get(seen.size() - 1), "every record before it is read");
  }

  @Test void aFlippedByteInACompressedBlockIsFoundInTheFile() throws Exception {
    if (!generation.atLeast(10)) return;
    byte[] file = Files.readAllBytes(plain.streamDir("CMP").resolve("msgs/1.blk"));
    byte[] damaged = file.clone();
    damaged[file.length / 2] ^= 0x01;
    MsgBlock.Scan scan = MsgBlock.scan("CMP", 1, damaged, null, true, null);
    assertNotNull(scan.unreadable(), "a damaged s2 chunk makes the block unreadable");
    long at = scan.damage().get(0).offset();
    assertTrue(at <= file.length / 2 && at + S2.MAX_CHUNK + 8 > file.length / 2, "located at the chunk holding the byte: " + at);
    assertTrue(scan.damage().get(0).why().startsWith("s2: "), scan.damage().get(0).why());
  }

  @Test void aFlippedByteInIndexDbIsAChecksumMismatch() throws Exception {
    if (!generation.atLeast(10)) return;
    byte[] file = Files.readAllBytes(plain.streamDir("LIM").resolve("msgs/index.db"));
    file[10] ^= 0x01;
    Outcome<StreamIndex> o = StreamIndex.read("LIM", file, null);
    assertFalse(o.ok());
    assertTrue(o.damage().why().startsWith("checksum mismatch"), o.damage().why());
  }

  @Test void anIndexDbOfAnOlderLastBlockIsNotTrusted() throws Exception {
    if (!generation.atLeast(10)) return;
    StreamIndex index = StreamIndex.read("LIM", Files.readAllBytes(plain.streamDir("LIM").resolve("msgs/index.db")), null).value();
    assertTrue(index.whyNotTrusted(index.lastChecksum() + 1, index.lastBlock()).contains("has changed since"));
    assertTrue(index.whyNotTrusted(null, index.lastBlock()).contains("missing"));
    assertTrue(index.whyNotTrusted(index.lastChecksum(), index.lastBlock() + 1).contains("written after it"));
  }
}
