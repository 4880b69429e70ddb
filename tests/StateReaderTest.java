import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The block and state readers on hand-made files: the layouts byte by byte (the o.dat example of the reference),
 * and every kind of damage reported as data with its offset. Stores real servers wrote are read in
 * BlockReaderTest.
 */
class StateReaderTest {
  static final class Bytes {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Bytes b(int... values) {
      for (int v : values) out.write(v);
      return this;
    }

    Bytes uv(long v) {
      while ((v & ~0x7fL) != 0) {
        out.write((int) (v & 0x7f) | 0x80);
        v >>>= 7;
      }
      out.write((int) v);
      return this;
    }

    Bytes v(long v) {
      return uv((v << 1) ^ (v >> 63));
    }

    Bytes le(long v, int size) {
      for (int i = 0; i < size; i++) out.write((int) (v >>> (8 * i)));
      return this;
    }

    Bytes raw(byte[] b) {
      out.writeBytes(b);
      return this;
    }

    byte[] get() {
      return out.toByteArray();
    }
  }

  // ---- o.dat

  @Test void consumerStateOfTheReferenceExample() {
    byte[] odat = java.util.HexFormat.of().parseHex("160202030405" + "02c4b192b00d" + "010102" + "020202" + "00");
    ConsumerState s = ConsumerState.decode(odat, null).value();
    assertEquals(new ConsumerState.SeqPair(4, 5), s.delivered());
    assertEquals(new ConsumerState.SeqPair(2, 3), s.ackFloor());
    assertEquals(List.of(4L, 5L), s.pending().stream().map(ConsumerState.Pending::streamSeq).toList());
    assertEquals(List.of(3L, 4L), s.pending().stream().map(ConsumerState.Pending::consumerSeq).toList());
    assertTrue(s.redelivered().isEmpty());
  }

  @Test void consumerStateRedeliveriesAndVersion1() {
    byte[] v2 = new Bytes().b(22, 2).uv(10).uv(10).uv(15).uv(15).uv(0).uv(2).uv(3).uv(2).uv(5).uv(1).get();
    assertEquals(Map.of(13L, 2L, 15L, 1L), ConsumerState.decode(v2, null).value().redelivered());
    // Version 1 stored delivered as the next to deliver, relative to the ack floor.
    byte[] v1 = new Bytes().b(22, 1).uv(10).uv(20).uv(3).uv(4).uv(0).uv(0).get();
    assertEquals(new ConsumerState.SeqPair(12, 23), ConsumerState.decode(v1, null).value().delivered());
  }

  @Test void damagedConsumerStateIsReportedNotThrown() {
    assertBad(ConsumerState.decode(new byte[0], null), 0, "unknown magic and version");
    assertBad(ConsumerState.decode(new Bytes().b(22, 3).get(), null), 0, "unknown magic and version");
    assertBad(ConsumerState.decode(new Bytes().b(22, 2).uv(1).uv(1).get(), null), 4, "ends inside the delivered");
    assertBad(ConsumerState.decode(new Bytes().b(22, 2).uv(1).uv(1).uv(1).uv(1L << 63).get(), null), 2, "bit 63");
    assertBad(ConsumerState.decode(new Bytes().b(22, 2).uv(1).uv(1).uv(2).uv(2).uv(3).v(100).uv(1).get(), null), 10, "pending list");
    byte[] sealed = MetaCrypto.seal(MetaCrypto.Cipher.CHACHA, new byte[32], new Bytes().b(22, 2).uv(0).uv(0).uv(0).uv(0).uv(0).uv(0).get());
    MetaCrypto.Opened other = new MetaCrypto.Opened(MetaCrypto.Cipher.CHACHA, filled(32, 1), new byte[0]);
    assertBad(ConsumerState.decode(sealed, other), 0, "does not open with the consumer's key");
    MetaCrypto.Opened right = new MetaCrypto.Opened(MetaCrypto.Cipher.CHACHA, new byte[32], new byte[0]);
    assertTrue(ConsumerState.decode(sealed, right).ok());
  }

  // ---- 2.9 N.idx

  static Bytes idx(long msgs, long first, long last, long... deletedOffsets) {
    Bytes b = new Bytes().b(22, 1).uv(msgs).uv(100).uv(first).v(1000).uv(last).v(2000).uv(deletedOffsets.length).le(0x1122334455667788L, 8);
    for (long d : deletedOffsets) b.uv(d);
    return b;
  }

  @Test void blockIndexOf29() {
    BlockIndex29 i = BlockIndex29.read(idx(3, 5, 8, 2).get(), null).value();
    assertEquals(3, i.messages());
    assertEquals(5, i.firstSeq());
    assertEquals(8, i.lastSeq());
    assertArrayEquals(new long[] {7}, i.deleted());
    assertEquals(0x1122334455667788L, i.lastChecksum());
  }

  @Test void damagedBlockIndexIsReportedNotThrown() {
    assertBad(BlockIndex29.read(idx(4, 5, 8, 2).get(), null), 2, "accounting inconsistent: 4 messages in 5..8 with 1 deleted");
    byte[] shortIdx = java.util.Arrays.copyOf(idx(3, 5, 8, 2).get(), 12);
    assertBad(BlockIndex29.read(shortIdx, null), 12, "short index file");
    assertBad(BlockIndex29.read(new Bytes().b(22, 2).get(), null), 0, "not a version 1 block index");
    BlockKey key = new BlockKey(MetaCrypto.Cipher.AES, new byte[32], new byte[16]);
    assertBad(BlockIndex29.read(idx(3, 5, 8, 2).get(), key), 0, "does not open with its block key");
  }

  // ---- 2.10+ index.db

  static byte[] indexDb(String stream, int version, long lchk, Bytes deletedSet) {
    Bytes b = new Bytes().b(11, version).uv(2).uv(60).uv(1).v(1000).uv(3).v(3000).uv(1).uv(5).raw("a.b.c".getBytes()).uv(2).uv(1);
    if (version >= 4) b.uv(1); // last block: always from v4, else only for subjects in more than one message
    else b.uv(1);
    b.uv(1).uv(1).uv(60).uv(1).v(0).uv(3).v(2000).uv(1);
    if (version >= 2) b.uv(0);
    if (version >= 3) b.uv(0);
    b.raw(deletedSet.get()).uv(1).le(lchk, 8);
    return withHash(stream, b.get());
  }

  static byte[] withHash(String stream, byte[] body) {
    long h = HighwayHash64.keyedBy(stream).hashBytes(body);
    return new Bytes().raw(body).le(h, 8).get();
  }

  /** avl.SequenceSet v2 holding only {@code seq}: one node based at its 2048-aligned start. */
  static Bytes setOf(long seq) {
    long base = seq / 2048 * 2048;
    Bytes b = new Bytes().b(22, 2).le(1, 4).le(1, 4).le(base, 8);
    for (int w = 0; w < 32; w++) b.le(w == (seq - base) / 64 ? 1L << ((seq - base) % 64) : 0, 8);
    return b.le(1, 2);
  }

  @Test void indexDbOfEveryVersion() {
    for (int version = 1; version <= 4; version++) {
      StreamIndex i = StreamIndex.read("S", indexDb("S", version, 42, setOf(2)), null).value();
      assertEquals(version, i.version());
      assertEquals(2, i.messages());
      assertEquals(1, i.subjects());
      assertEquals(1, i.blocks().size());
      StreamIndex.Block b = i.blocks().get(0);
      assertArrayEquals(new long[] {2}, b.deleted());
      assertEquals(2, b.messages());
      assertEquals(3000, b.lastTs(), "block times are relative to the stream's first time");
      assertEquals(42, i.lastChecksum());
      assertNull(i.whyNotTrusted(42L, 1));
    }
  }

  @Test void damagedIndexDbIsReportedNotThrown() {
    byte[] good = indexDb("S", 1, 42, setOf(2));
    assertBad(StreamIndex.read("T", good, null), good.length - 8, "checksum mismatch (keyed with stream name 'T')");
    byte[] flipped = good.clone();
    flipped[3] ^= 1;
    assertBad(StreamIndex.read("S", flipped, null), good.length - 8, "checksum mismatch");
    byte[] v5 = good.clone();
    v5[1] = 5;
    assertBad(StreamIndex.read("S", withHash("S", java.util.Arrays.copyOf(v5, v5.length - 8)), null), 0, "unknown magic and version 11,5");
    byte[] badSet = indexDb("S", 1, 42, new Bytes().b(22, 2).le(1, 4).le(2, 4).le(0, 8).raw(new byte[256]).le(1, 2));
    assertBad(StreamIndex.read("S", badSet, null), 29, "deleted set of block 1: declares 2 sequences, holds 0");
    assertBad(StreamIndex.read("S", new byte[10], null), 0, "too short");
    byte[] sealed = withHash("S", MetaCrypto.seal(MetaCrypto.Cipher.AES, new byte[32], java.util.Arrays.copyOf(good, good.length - 8)));
    assertBad(StreamIndex.read("S", sealed, new MetaCrypto.Opened(MetaCrypto.Cipher.AES, filled(32, 7), new byte[0])), 0, "does not open");
    assertEquals(2, StreamIndex.read("S", sealed, new MetaCrypto.Opened(MetaCrypto.Cipher.AES, new byte[32], new byte[0])).value().messages());
  }

  @Test void indexDbWhoseTotalsDisagreeIsNotTrusted() {
    byte[] body = new Bytes().b(11, 1).uv(5).uv(60).uv(1).v(1000).uv(3).v(3000).uv(0)
        .uv(1).uv(1).uv(60).uv(1).v(0).uv(3).v(2000).uv(0).uv(1).le(42, 8).get();
    StreamIndex i = StreamIndex.read("S", withHash("S", body), null).value();
    assertTrue(i.whyNotTrusted(42L, 1).contains("block totals (3 messages, 1..3) disagree with its stream totals (5 messages"),
        i.whyNotTrusted(42L, 1));
  }

  // ---- message blocks

  /** A record as writeMsgRecord writes it, hashed with the block's key. */
  static byte[] record(String stream, int block, long seqField, long ts, String subject, byte[] hdr, byte[] msg) {
    byte[] subj = subject.getBytes(StandardCharsets.UTF_8);
    int rl = 22 + subj.length + (hdr != null ? 4 + hdr.length : 0) + msg.length + 8;
    ByteBuffer b = ByteBuffer.allocate(rl).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(hdr != null ? rl | 1 << 31 : rl).putLong(seqField).putLong(ts).putShort((short) subj.length).put(subj);
    if (hdr != null) b.putInt(hdr.length).put(hdr);
    b.put(msg);
    byte[] hashed = new Bytes().le(seqField, 8).le(ts, 8).raw(subj).raw(hdr != null ? hdr : new byte[0]).raw(msg).get();
    b.putLong(MsgBlock.hasher(stream, block).hashBytes(hashed));
    return b.array();
  }

  @Test void recordsOfEveryKind() {
    byte[] block = new Bytes()
        .raw(record("S", 3, 1, 100, "a", "NATS/1.0\r\nk: v\r\n\r\n".getBytes(), "one".getBytes()))
        .raw(record("S", 3, 2 | 1L << 63, 0, "", null, new byte[5]))          // erased
        .raw(record("S", 3, 3, 300, "b", null, "three".getBytes()))
        .raw(record("S", 3, 2 | 1L << 62, 400, "", null, new byte[0]))      // tombstone
        .get();
    List<MsgBlock.Record> seen = new ArrayList<>();
    MsgBlock.Scan scan = MsgBlock.scan("S", 3, block, null, true, seen::add);
    assertEquals(List.of(MsgBlock.Kind.MESSAGE, MsgBlock.Kind.DELETED, MsgBlock.Kind.MESSAGE, MsgBlock.Kind.TOMBSTONE),
        seen.stream().map(MsgBlock.Record::kind).toList());
    assertEquals(List.of(1L, 2L, 3L, 2L), seen.stream().map(MsgBlock.Record::seq).toList());
    assertEquals(18, seen.get(0).headerLength());
    assertEquals(3, seen.get(0).payloadLength());
    assertEquals(5, seen.get(2).payloadLength());
    assertTrue(seen.stream().allMatch(r -> r.hash() == MsgBlock.Hash.OK));
    assertEquals(2, scan.messages());
    assertEquals(1, scan.firstSeq());
    assertEquals(3, scan.lastSeq());
    assertEquals(1, scan.deleted());
    assertEquals(1, scan.tombstones());
    assertEquals(List.of(), scan.damage());
  }

  @Test void damagedBlocksAreReportedNotThrown() {
    byte[] one = record("S", 1, 1, 100, "a", null, "x".getBytes());
    byte[] truncated = new Bytes().raw(one).raw(java.util.Arrays.copyOf(one, 10)).get();
    MsgBlock.Scan t = MsgBlock.scan("S", 1, truncated, null, true, null);
    assertEquals(List.of(new Damage(one.length, "truncated record: 10 bytes left, a record header needs 22")), t.damage());
    assertEquals(1, t.messages());

    byte[] badHeaderLen = record("S", 1, 1, 100, "a", "h".getBytes(), "x".getBytes());
    badHeaderLen[23] = 100; // hdr_len (after the 1-byte subject) claims more than the record holds
    assertTrue(MsgBlock.scan("S", 1, badHeaderLen, null, true, null).damage().get(0).why().startsWith("header length 100 does not fit"));

    byte[] unknownAlg = new Bytes().raw("cmp".getBytes()).b(7).uv(100).raw(new byte[20]).get();
    MsgBlock.Scan u = MsgBlock.scan("S", 1, unknownAlg, null, true, null);
    assertEquals("unknown compression algorithm 7 at file offset 3", u.unreadable());
    assertEquals(0, u.records());

    MsgBlock.Scan empty = MsgBlock.scan("S", 1, new byte[0], null, true, null);
    assertEquals(0, empty.records());
    assertEquals(List.of(), empty.damage());
  }

  @Test void encryptedBlockOpensWithItsKeyFile() throws Exception {
    byte[] jsKey = "k".getBytes(StandardCharsets.UTF_8), seed = filled(32, 9);
    for (MetaCrypto.Cipher cipher : MetaCrypto.Cipher.values()) {
      byte[] keyFile = MetaCrypto.seal(cipher, MetaCrypto.prf(jsKey, "ACC", "S:4"), seed);
      BlockKey key = BlockKey.open(jsKey, "ACC", "S", 4, keyFile, null).value();
      assertEquals(cipher, key.cipher(), "the other cipher is tried when the first does not open it");
      byte[] plain = record("S", 4, 7, 700, "s", null, "secret".getBytes());
      byte[] sealed = key.decrypt(plain); // a keystream: the same operation both ways
      assertFalse(java.util.Arrays.equals(plain, sealed));
      List<MsgBlock.Record> seen = new ArrayList<>();
      MsgBlock.Scan scan = MsgBlock.scan("S", 4, sealed, key, true, seen::add);
      assertEquals(7, seen.get(0).seq());
      assertEquals(MsgBlock.Hash.OK, seen.get(0).hash());
      assertTrue(scan.encrypted());
      assertFalse(key.toString().contains(java.util.HexFormat.of().formatHex(seed)));
      assertBad(BlockKey.open("wrong".getBytes(), "ACC", "S", 4, keyFile, null), 0, "opens with neither chacha nor aes");
      assertBad(BlockKey.open(jsKey, "ACC", "S", 5, keyFile, null), 0, "opens with neither"); // another block's context
    }
    assertBad(BlockKey.open(jsKey, "ACC", "S", 4, new byte[40], null), 0, "4.key has 40 bytes, fewer than 64");
  }

  @Test void keystreamStartsAtAnyOffsetOfTheBlock() {
    byte[] file = new byte[1000];
    new java.util.Random(3).nextBytes(file);
    for (BlockKey key : List.of(new BlockKey(MetaCrypto.Cipher.CHACHA, filled(32, 5), filled(24, 6)),
        new BlockKey(MetaCrypto.Cipher.AES, filled(32, 5), filled(16, 6)), new BlockKey(MetaCrypto.Cipher.AES, filled(32, 5), filled(16, 0xff)))) { // the last: AES-CTR's counter wraps
      byte[] whole = key.decrypt(file);
      for (int at : new int[] {0, 1, 15, 16, 17, 63, 64, 65, 500, 992}) {
        byte[] part = java.util.Arrays.copyOfRange(file, at, Math.min(at + 8, file.length));
        assertArrayEquals(java.util.Arrays.copyOfRange(whole, at, at + part.length), key.decryptAt(part, at), key + " at " + at);
      }
      assertEquals(le64(whole, 992), MsgBlock.lastChecksum(java.util.Arrays.copyOfRange(file, 992, 1000), 1000, key));
    }
    assertEquals(0, MsgBlock.lastChecksum(new byte[0], 0, null), "an empty block has no checksum");
  }

  static long le64(byte[] b, int at) {
    return ByteBuffer.wrap(b, at, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }

  static void assertBad(Outcome<?> o, long offset, String why) {
    assertFalse(o.ok(), "expected damage: " + why);
    assertTrue(o.damage().why().contains(why), o.damage().why());
    assertEquals(offset, o.damage().offset(), o.damage().why());
  }
}
