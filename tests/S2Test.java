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

  @Test void shortLiteralsAndCopiesAtTheWordMovesEdgesDecodeAsByteByByte() {
    byte[] abc = ascii("abcdefgh");
    // An 8-byte literal ending the block exactly, and ending its input exactly: a word move with no room past it.
    assertArrayEquals(abc, decode(concat(uvarint(8), bytes(7 << 2), abc)));
    assertArrayEquals(concat(abc, abc), decode(concat(uvarint(16), bytes(7 << 2), abc, bytes(7 << 2), abc)));
    // A 9-byte literal, one past the word.
    assertArrayEquals(ascii("abcdefghi"), decode(concat(uvarint(9), bytes(8 << 2), ascii("abcdefghi"))));
    // Copies overlapping what they write: offset 8 and 9 by words (16 bytes, the most the word move takes), offset 7
    // byte by byte, 17 bytes past the word move; then 3 bytes of literal after the copy's overshoot.
    for (int offset : new int[] {7, 8, 9, 15, 16}) {
      for (int length : new int[] {4, 8, 16, 17}) {
        byte[] lit = ascii("0123456789abcdef".substring(0, offset));
        byte[] expected = new byte[offset + length + 3];
        System.arraycopy(lit, 0, expected, 0, offset);
        for (int i = 0; i < length; i++) expected[offset + i] = expected[i];
        System.arraycopy(ascii("xyz"), 0, expected, offset + length, 3);
        byte[] block = concat(uvarint(expected.length), bytes((offset - 1) << 2), lit, bytes((length - 1) << 2 | 2, offset, 0),
            bytes(2 << 2), ascii("xyz"));
        assertArrayEquals(expected, decode(block), "offset " + offset + ", length " + length);
      }
    }
  }

  @Test void randomShortElementsDecodeAsAByteByByteModelInBlocksAndStreams() {
    java.util.Random random = new java.util.Random(10);
    for (int round = 0; round < 2000; round++) {
      ByteArrayOutputStream expected = new ByteArrayOutputStream(), block = new ByteArrayOutputStream();
      int ops = 1 + random.nextInt(60);
      for (int op = 0; op < ops; op++) {
        int have = expected.size();
        if (have == 0 || random.nextInt(3) == 0) {
          int length = 1 + random.nextInt(random.nextBoolean() ? 9 : 70);
          byte[] lit = new byte[length];
          random.nextBytes(lit);
          block.writeBytes(length <= 60 ? bytes((length - 1) << 2) : bytes(60 << 2, length - 1));
          block.writeBytes(lit);
          expected.writeBytes(lit);
        } else {
          int offset = 1 + random.nextInt(Math.min(have, random.nextBoolean() ? 20 : 2000));
          boolean copy1 = offset < 2048 && random.nextBoolean();
          int length = copy1 ? 4 + random.nextInt(8) : 1 + random.nextInt(random.nextBoolean() ? 20 : 64);
          block.writeBytes(copy1 ? bytes((offset >> 8) << 5 | (length - 4) << 2 | 1, offset & 0xff)
              : bytes((length - 1) << 2 | 2, offset & 0xff, offset >> 8));
          byte[] now = expected.toByteArray();
          byte[] copied = new byte[length];
          for (int i = 0; i < length; i++) copied[i] = i < offset ? now[have - offset + i] : copied[i - offset];
          expected.writeBytes(copied);
        }
      }
      byte[] want = expected.toByteArray(), body = concat(uvarint(want.length), block.toByteArray());
      assertArrayEquals(want, decode(body), "round " + round);
      // In a stream, twice, then the raw tail a message block keeps: what a word move wrote past one chunk's end is
      // overwritten by the next chunk and by the tail.
      byte[] stream = concat(ID, compressedChunk(body, want), compressedChunk(body, want), bytes(1, 2, 3, 4, 5, 6, 7, 8));
      Outcome<byte[]> o = S2.decodeStream(stream, 0, stream.length - 8, 1 << 20, 2L * want.length + 8, 8);
      assertTrue(o.ok(), String.valueOf(o.damage()));
      assertArrayEquals(concat(want, want, bytes(1, 2, 3, 4, 5, 6, 7, 8)), o.value(), "round " + round);
    }
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
