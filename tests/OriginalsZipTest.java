import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * originals.zip, written by StoredZip in memory that does not grow with its entries, is the zip ZipOutputStream wrote
 * before, byte for byte: undo (java.util.zip.ZipFile), unzip and zipinfo read names, bytes, CRC-32 and times as they
 * did, past 65,535 entries and past 4 GiB too.
 */
class OriginalsZipTest {
  @TempDir Path tmp;

  record Entry(String name, byte[] bytes, FileTime modified) {}

  /** originals.zip as prepare wrote it with ZipOutputStream: STORED, sizes and CRC given, the file's time set. */
  static void zipOutputStream(OutputStream sink, List<Entry> entries) throws IOException {
    ZipOutputStream out = new ZipOutputStream(sink);
    out.setMethod(ZipOutputStream.STORED);
    for (Entry e : entries) {
      ZipEntry z = new ZipEntry(e.name());
      java.util.zip.CRC32 crc = new java.util.zip.CRC32();
      crc.update(e.bytes());
      z.setSize(e.bytes().length);
      z.setCompressedSize(e.bytes().length);
      z.setCrc(crc.getValue());
      z.setLastModifiedTime(e.modified());
      out.putNextEntry(z);
      out.write(e.bytes());
      out.closeEntry();
    }
    out.finish();
  }

  void storedZip(OutputStream sink, List<Entry> entries) throws IOException {
    try (StoredZip out = new StoredZip(sink, tmp.resolve("spill"))) {
      for (Entry e : entries) out.add(e.name(), e.bytes(), e.modified());
      out.finish();
    }
  }

  static FileTime at(String instant) { return FileTime.from(Instant.parse(instant)); }

  /** Each entry as ZipFile reads it: bytes, CRC, size and time. */
  static Map<String, String> read(Path zip) throws IOException {
    Map<String, String> entries = new TreeMap<>();
    try (ZipFile z = new ZipFile(zip.toFile())) {
      for (ZipEntry e : Collections.list(z.entries())) {
        byte[] bytes;
        try (var in = z.getInputStream(e)) {
          bytes = in.readAllBytes();
        }
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(bytes);
        assertEquals(crc.getValue(), e.getCrc(), e.getName());
        entries.put(e.getName(), StoreBuilder.sha256(bytes) + " " + e.getSize() + " " + e.getLastModifiedTime());
      }
    }
    return entries;
  }

  @Test
  void everyNameBytesCrcAndTimeReadBackAsFromTheZipOutputStreamZip() throws Exception {
    List<Entry> entries = List.of(
        new Entry("jetstream/$G/streams/ORDERS/meta.inf", "{\"name\":\"ORDERS\"}".getBytes(StandardCharsets.UTF_8), at("2024-05-06T07:08:09.123456789Z")),
        new Entry("jetstream/$G/streams/ORDERS/meta.sum", new byte[0], at("2024-05-06T07:08:10Z")),
        new Entry("jetstream/Ünïcødé/streams/流 ストリーム 🚀/meta.inf", "{}".getBytes(StandardCharsets.UTF_8), at("1999-12-31T23:59:59Z")),
        new Entry("jetstream/$G/streams/OLD/meta.key", new byte[] {0, 1, 2, (byte) 0xff}, at("1975-01-02T03:04:05Z")), // before DOS time
        new Entry("jetstream/$G/streams/OLDER/meta.inf", "x".getBytes(StandardCharsets.UTF_8), at("1960-01-02T03:04:05Z")), // before 1970
        new Entry("jetstream/$G/streams/LATE/meta.inf", "y".getBytes(StandardCharsets.UTF_8), at("2038-01-19T03:14:07Z")), // last 32-bit second
        new Entry("jetstream/$G/streams/FUTURE/meta.inf", "z".getBytes(StandardCharsets.UTF_8), at("2200-03-04T05:06:07.5Z"))); // NTFS time
    ByteArrayOutputStream expected = new ByteArrayOutputStream(), actual = new ByteArrayOutputStream();
    java.util.TimeZone zone = java.util.TimeZone.getDefault();
    java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("Australia/Adelaide")); // DOS time is local: not UTC
    try {
      zipOutputStream(expected, entries);

      storedZip(actual, entries);
    } finally {
      java.util.TimeZone.setDefault(zone);
    }

    assertArrayEquals(expected.toByteArray(), actual.toByteArray(), "the bytes ZipOutputStream wrote");
    Path zip = tmp.resolve("originals.zip");
    Files.write(zip, actual.toByteArray());
    Map<String, String> read = read(zip);
    for (Entry e : entries) {
      // undo restores the time to the second (to 100 ns past 2038, where ZipOutputStream writes the NTFS time)
      FileTime time = e.modified().toInstant().getEpochSecond() > Integer.MAX_VALUE ? e.modified()
          : FileTime.from(e.modified().toInstant().getEpochSecond(), java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(StoreBuilder.sha256(e.bytes()) + " " + e.bytes().length + " " + time, read.get(e.name()), e.name());
    }
    assertEquals(entries.size(), read.size());
    assertUnzipLists(zip, entries.size());
  }

  @Test
  void moreThan65535EntriesGetTheZip64EndRecordsAndEveryEntryReadsBack() throws Exception {
    List<Entry> entries = new ArrayList<>();
    FileTime time = at("2025-01-01T00:00:01Z");
    for (int i = 0; i < 70_000; i++) {
      entries.add(new Entry("jetstream/$G/streams/S" + i + "/meta.inf", ("{\"name\":\"S" + i + "\"}").getBytes(StandardCharsets.UTF_8), time));
    }
    ByteArrayOutputStream expected = new ByteArrayOutputStream(), actual = new ByteArrayOutputStream();
    zipOutputStream(expected, entries);

    storedZip(actual, entries);

    byte[] zip = actual.toByteArray();
    assertArrayEquals(expected.toByteArray(), zip, "the bytes ZipOutputStream wrote");
    ByteBuffer end = ByteBuffer.wrap(zip).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int zip64End = zip.length - 56 - 20 - 22; // then its locator, then the end record
    assertEquals(0x06064b50, end.getInt(zip64End), "a zip64 end of central directory record");
    assertEquals(70_000, end.getLong(zip64End + 32), "its entry count");
    assertEquals(0x07064b50, end.getInt(zip64End + 56), "and its locator");
    assertEquals(0xFFFF, end.getShort(zip.length - 12) & 0xFFFF, "the end record's count says: see zip64");
    Path file = tmp.resolve("originals.zip");
    Files.write(file, zip);
    Map<String, String> read = read(file);
    assertEquals(70_000, read.size());
    for (Entry e : entries) {
      assertEquals(StoreBuilder.sha256(e.bytes()) + " " + e.bytes().length + " " + time, read.get(e.name()), e.name());
    }
    assertUnzipLists(file, 70_000);
  }

  /**
   * Writes a zip into a sparse file: each write of {@code zeros} (an entry's bytes) leaves a hole, which reads as
   * zeros, so a zip past 4 GiB costs no disk and no more memory than one entry; a digest of everything else written
   * (holes as their length) compares two such zips.
   */
  static final class Sparse extends OutputStream {
    final byte[] zeros;
    final FileChannel file;
    final MessageDigest digest = MessageDigest.getInstance("SHA-256");

    Sparse(byte[] zeros, FileChannel file) throws Exception {
      this.zeros = zeros;
      this.file = file;
    }

    @Override public void write(int b) throws IOException { write(new byte[] {(byte) b}, 0, 1); }

    @Override public void write(byte[] b, int off, int len) throws IOException {
      if (b == zeros && off == 0 && len == zeros.length) {
        digest.update(ByteBuffer.allocate(8).putLong(len).array());
        if (file != null) file.position(file.position() + len);
        return;
      }
      digest.update(b, off, len);
      if (file != null) file.write(ByteBuffer.wrap(b, off, len));
    }
  }

  @Test
  void entriesPast4GiBGetTheirOffsetInTheZip64ExtraField() throws Exception {
    byte[] zeros = new byte[64 << 20];
    List<Entry> entries = new ArrayList<>();
    FileTime time = at("2025-01-01T00:00:01Z");
    for (int i = 0; i < 65; i++) entries.add(new Entry("jetstream/$G/streams/BIG/msgs/" + (i + 1) + ".blk", zeros, time));
    byte[] after = "past 4 GiB".getBytes(StandardCharsets.UTF_8);
    entries.add(new Entry("jetstream/$G/streams/BIG/meta.inf", after, time));
    Sparse expected = new Sparse(zeros, null);
    zipOutputStream(expected, entries);
    Path zip = tmp.resolve("originals.zip");

    Sparse actual;
    try (FileChannel file = FileChannel.open(zip, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      actual = new Sparse(zeros, file);
      storedZip(actual, entries);
    }

    assertArrayEquals(expected.digest.digest(), actual.digest.digest(), "the bytes ZipOutputStream wrote");
    assertTrue(Files.size(zip) > 4L << 30, "the zip is past 4 GiB: " + Files.size(zip));
    try (ZipFile z = new ZipFile(zip.toFile())) {
      assertEquals(66, z.size());
      ZipEntry last = z.getEntry("jetstream/$G/streams/BIG/meta.inf");
      try (var in = z.getInputStream(last)) {
        assertArrayEquals(after, in.readAllBytes(), "read from its offset past 4 GiB, which only the zip64 field holds");
      }
      assertEquals(time, last.getLastModifiedTime());
      assertEquals(zeros.length, z.getEntry("jetstream/$G/streams/BIG/msgs/65.blk").getSize());
    }
    assertUnzipLists(zip, 66);
  }

  @Test
  void theRoomPrepareReservesIsWhatTheZipAndItsSpillFileTake() throws Exception {
    List<Entry> entries = List.of(
        new Entry("jetstream/$G/streams/ORDERS/meta.inf", "{\"name\":\"ORDERS\"}".getBytes(StandardCharsets.UTF_8), at("2024-05-06T07:08:09Z")),
        new Entry("jetstream/Ünïcødé/streams/流 ストリーム/meta.sum", "0123456789abcdef".getBytes(StandardCharsets.UTF_8), at("2024-05-06T07:08:09Z")));
    ByteArrayOutputStream zip = new ByteArrayOutputStream();

    storedZip(zip, entries);

    long room = 0;
    for (Entry e : entries) room += StoredZip.room(e.name()) + e.bytes().length;
    ByteBuffer end = ByteBuffer.wrap(zip.toByteArray()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    long centralSize = end.getInt(zip.size() - 22 + 12); // the spill file held the central directory
    assertEquals(zip.size() - 22 + centralSize, room, "the entries in the zip and their central records in the spill file");
  }

  /** unzip -l and zipinfo (where installed) list every entry without a warning. */
  static void assertUnzipLists(Path zip, int entries) throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/unzip"))) {
      System.out.println("unzip is not installed: " + zip.getFileName() + " checked with ZipFile only");
      return;
    }
    for (List<String> command : List.of(List.of("unzip", "-l", zip.toString()), List.of("zipinfo", "-t", zip.toString()))) {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.waitFor(), command + ":\n" + out);
      assertTrue(out.contains(entries + " file"), command + " lists " + entries + " entries:\n" + out.lines().skip(Math.max(0, out.lines().count() - 3)).toList());
    }
  }

  @Test
  void theSpillFileIsNeverInTheFolderWhileTheZipIsWrittenNorAfter() throws Exception {
    Path folder = Files.createDirectory(tmp.resolve("run"));
    ByteArrayOutputStream zip = new ByteArrayOutputStream();
    try (StoredZip out = new StoredZip(zip, folder.resolve("originals.zip.central.js-recover-tmp"))) {
      out.add("jetstream/$G/streams/S/meta.inf", "{}".getBytes(StandardCharsets.UTF_8), at("2025-01-01T00:00:00Z"));
      assertEquals(List.of(), list(folder), "what a kill now would leave");
      out.finish();
    }
    assertEquals(List.of(), list(folder), "what a finished zip leaves");
    assertEquals(1, StoreBuilder.zipEntries(zip.toByteArray()).size());
  }

  static List<String> list(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(p -> p.getFileName().toString()).toList();
    }
  }

  /** Every file under root: its bytes and its last-modified time. */
  static Map<String, String> filesAndTimes(Path root) throws IOException {
    Map<String, String> all = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        all.put(root.relativize(p).toString(), StoreBuilder.sha256(Files.readAllBytes(p)) + " "
            + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
      }
    }
    return all;
  }

  @Test
  void prepareThenUndoGivesBackEveryByteAndTimeOfAStoreWithUtf8Names() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).raft("$SYS");
    for (String name : List.of("ORDERS", "流-ストリーム", "Ünïcødé")) {
      store.stream("$G", name, StoreBuilder.streamJson(name, 3, "limits", ",\"placement\":{\"cluster\":\"C1\"}"))
          .consumer("$G", name, "C", 3);
    }
    long second = Instant.parse("2023-03-04T05:06:07Z").getEpochSecond(); // odd seconds: DOS time alone would lose them
    try (Stream<Path> walk = Files.walk(store.jetstream())) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(p, FileTime.from(second += 2, java.util.concurrent.TimeUnit.SECONDS));
      }
    }
    Map<String, String> before = filesAndTimes(store.jetstream());
    Cli.Result prepare = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, prepare.exit(), prepare.all());
    assertTrue(!before.equals(filesAndTimes(store.jetstream())), "prepare changed nothing: the test proves nothing");

    Cli.Result undo = Cli.run("undo", store.storeDir.toString());

    assertEquals(0, undo.exit(), undo.all());
    UndoTest.assertSameTree(before, filesAndTimes(store.jetstream()), "every byte and time back");
  }
}
