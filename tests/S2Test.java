import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The s2 decoder on hand-made blocks and streams: every element kind, the overlapping copies and repeat offsets
 * s2 adds beyond snappy, the framed stream's chunk kinds and checksums, and damage reported with its offset
 * instead of thrown. Blocks real 2.10 and 2.15 servers compressed are read in BlockReaderTest.
 */
class S2Test {
  static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) b[i] = (byte) values[i];
    return b;
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) out.writeBytes(p);
    return out.toByteArray();
  }

  static byte[] uvarint(long v) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (v >= 0x80) {
      out.write((int) (v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.write((int) v);
    return out.toByteArray();
  }

  static byte[] decode(byte[] block) {
    Outcome<byte[]> o = S2.decodeBlock(block, 0, block.length, 1 << 20);
    assertTrue(o.ok(), String.valueOf(o.damage()));
    return o.value();
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @Test void literalsOfEveryLengthForm() {
    assertArrayEquals(ascii("hello"), decode(concat(uvarint(5), bytes(4 << 2), ascii("hello"))));
    byte[] hundred = ascii("x".repeat(100)), three = ascii("y".repeat(300));
    assertArrayEquals(hundred, decode(concat(uvarint(100), bytes(60 << 2, 99), hundred)));
    assertArrayEquals(three, decode(concat(uvarint(300), bytes(61 << 2, 299 & 0xff, 299 >> 8), three)));
    assertArrayEquals(three, decode(concat(uvarint(300), bytes(62 << 2, 299 & 0xff, 299 >> 8, 0), three)));
    assertArrayEquals(three, decode(concat(uvarint(300), bytes(63 << 2, 299 & 0xff, 299 >> 8, 0, 0), three)));
  }

  @Test void overlappingCopiesRepeatTheLastBytes() {
    // "ab", then 10 bytes copied from 2 back: the copy reads what it writes.
    assertArrayEquals(ascii("abababababab"), decode(concat(uvarint(12), bytes(1 << 2), ascii("ab"), bytes(6 << 2 | 1, 2))));
    // A run of one byte: offset 1.
    assertArrayEquals(ascii("z".repeat(64)), decode(concat(uvarint(64), bytes(0), ascii("z"), bytes((63 - 1) << 2 | 2, 1, 0))));
  }

  @Test void copiesWithTwoAndFourByteOffsets() {
    byte[] ten = ascii("0123456789");
    byte[] thrice = concat(ten, ten, ten);
    assertArrayEquals(thrice, decode(concat(uvarint(30), bytes(9 << 2), ten, bytes(19 << 2 | 2, 10, 0))));
    assertArrayEquals(thrice, decode(concat(uvarint(30), bytes(9 << 2), ten, bytes(19 << 2 | 3, 10, 0, 0, 0))));
    // A long copy: 64 bytes (the most one copy2 carries) from far back.
    byte[] far = new byte[70_000];
    for (int i = 0; i < far.length; i++) far[i] = (byte) (i * 31 + i / 256);
    byte[] block = concat(uvarint(70_064), bytes(63 << 2, (70_000 - 1) & 0xff, (70_000 - 1) >> 8 & 0xff, (70_000 - 1) >> 16, 0), far,
        bytes(63 << 2 | 3, 70_000 & 0xff, 70_000 >> 8 & 0xff, 70_000 >> 16, 0));
    byte[] out = decode(block);
    assertEquals(70_064, out.length);
    assertArrayEquals(java.util.Arrays.copyOf(far, 64), java.util.Arrays.copyOfRange(out, 70_000, 70_064));
  }

  @Test void repeatOffsetsReuseThePreviousOffsetWithEveryLengthCode() {
    // "ab" + copy(offset 2, 10), then repeats (copy1 with offset 0) of 6, 4+4+3, 4+256+0 and 4+65536+1 bytes.
    byte[] block = concat(uvarint(2 + 10 + 6 + 11 + 260 + 65541), bytes(1 << 2), ascii("ab"), bytes(6 << 2 | 1, 2),
        bytes(2 << 2 | 1, 0), bytes(5 << 2 | 1, 0, 3), bytes(6 << 2 | 1, 0, 0, 0), bytes(7 << 2 | 1, 0, 1, 0, 0));
    byte[] out = decode(block);
    assertEquals(65830, out.length);
    for (int i = 0; i < out.length; i++) assertEquals(i % 2 == 0 ? 'a' : 'b', out[i], "byte " + i);
  }

  @Test void damageIsReportedWithItsOffsetNotThrown() {
    assertDamage(concat(uvarint(6), bytes(0), ascii("a"), bytes(4 << 2 | 2, 5, 0)), 3, "out of range"); // copy before the start
    assertDamage(concat(uvarint(9), bytes(0), ascii("a"), bytes(1 << 2 | 1, 0)), 3, "out of range"); // repeat with no offset yet
    assertDamage(concat(uvarint(9), bytes(4 << 2), ascii("hello")), 7, "the block claims 9"); // shorter than declared
    assertDamage(concat(uvarint(5), bytes(9 << 2), ascii("hello")), 1, "runs past the end"); // literal past the input
    assertDamage(concat(uvarint(5), bytes(0 << 2 | 2, 1)), 1, "truncated copy");
    assertDamage(concat(uvarint(1 << 21), bytes(0)), 0, "more than"); // a length beyond the limit is not allocated
    assertDamage(bytes(0x80, 0x80), 0, "varint");
  }

  static void assertDamage(byte[] block, long at, String why) {
    Outcome<byte[]> o = S2.decodeBlock(block, 0, block.length, 1 << 20);
    assertFalse(o.ok());
    assertEquals(at, o.damage().offset(), o.damage().why());
    assertTrue(o.damage().why().contains(why), o.damage().why());
  }

  // ---- framed stream

  static final byte[] ID = concat(bytes(0xff, 6, 0, 0), ascii("S2sTwO"));

  static byte[] chunk(int type, byte[] body) {
    return concat(bytes(type, body.length & 0xff, body.length >> 8 & 0xff, body.length >> 16), body);
  }

  static byte[] crc(byte[] data) {
    int c = S2.maskedCrc32c(data, 0, data.length);
    return bytes(c, c >> 8, c >> 16, c >>> 24);
  }

  static byte[] compressedChunk(byte[] block, byte[] decoded) {
    return chunk(0x00, concat(crc(decoded), block));
  }

  @Test void maskedChecksumIsTheSnappyFramingOne() {
    // CRC-32C("123456789") = 0xe3069283; masked: rotate right 15, add 0xa282ead8.
    int c = 0xe3069283;
    assertEquals(((c >>> 15) | (c << 17)) + 0xa282ead8, S2.maskedCrc32c(ascii("123456789"), 0, 9));
  }

  @Test void streamOfEveryChunkKind() {
    byte[] hello = ascii("hello"), abab = ascii("abababababab"), raw = ascii("raw bytes");
    byte[] stream = concat(ID,
        compressedChunk(concat(uvarint(5), bytes(4 << 2), hello), hello),
        chunk(0xfe, new byte[7]), // padding
        chunk(0x01, concat(crc(raw), raw)),
        chunk(0x99, ascii("s2 index, skipped")),
        ID, // a second stream appended to the first
        compressedChunk(concat(uvarint(12), bytes(1 << 2), ascii("ab"), bytes(6 << 2 | 1, 2)), abab));
    Outcome<byte[]> o = S2.decodeStream(stream, 0, stream.length, 1 << 20);
    assertTrue(o.ok(), String.valueOf(o.damage()));
    assertArrayEquals(concat(hello, raw, abab), o.value());
    byte[] snappy = concat(bytes(0xff, 6, 0, 0), ascii("sNaPpY"), chunk(0x01, concat(crc(raw), raw)));
    assertArrayEquals(raw, S2.decodeStream(snappy, 0, snappy.length, 100).value());
  }

  @Test void streamDamageIsLocatedAtItsChunk() {
    byte[] hello = ascii("hello");
    byte[] good = compressedChunk(concat(uvarint(5), bytes(4 << 2), hello), hello);
    byte[] badCrc = good.clone();
    badCrc[5] ^= 1;
    assertStreamDamage(concat(ID, good, badCrc), ID.length + good.length, "checksum mismatch");
    byte[] badBody = good.clone();
    badBody[good.length - 6] = 9 << 2; // the literal now claims 10 bytes
    assertStreamDamage(concat(ID, good, badBody), ID.length + good.length, "compressed chunk of");
    assertStreamDamage(concat(ID, chunk(0x02, new byte[3])), ID.length, "reserved unskippable chunk type 0x02");
    assertStreamDamage(good, 0, "no stream identifier");
    assertStreamDamage(concat(ID, good, bytes(0, 9)), ID.length + good.length, "truncated chunk header");
    assertStreamDamage(concat(ID, bytes(0, 100, 0, 0, 1, 2)), ID.length, "runs past the end");
    assertStreamDamage(concat(ID, good, good, good), ID.length + 2 * good.length, "claims 5 decoded bytes, more than 0");
  }

  static void assertStreamDamage(byte[] stream, long at, String why) {
    Outcome<byte[]> o = S2.decodeStream(stream, 0, stream.length, 10);
    assertFalse(o.ok());
    assertEquals(at, o.damage().offset(), o.damage().why());
    assertTrue(o.damage().why().contains(why), o.damage().why());
  }
}
