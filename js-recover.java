///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//DEPS net.openhft:zero-allocation-hashing:2026.0
//COMPILE_OPTIONS -encoding UTF-8
// One thread of serial GC: a store's meta files are many and small, and G1's regions and threads doubled the
// peak RSS (10,000 streams: 720 -> 350 MB) for no gain in wall time. A small first heap: the default is 1/64 of the
// machine's memory (376 MB on 24 GB), all of it touched by the young generation although what is kept is far less
// (10,000 streams: about 70 MB); it grows as needed. No -Xmx: a large store must not fail. The old generation keeps
// 25 to 35% of itself free (the default 40 to 70% doubled what is kept at 50,000 streams; 10 to 20% grew it in so
// many steps that it took 23 full collections, not 9, for 3 MB less) and the young one stays at most 32 MB (a third
// of the heap by default) though the old grows: inspect at 50,000 streams 597 -> 468 MB.
// C1 only (-XX:TieredStopAtLevel=1): a run is short and touches many methods a few thousand times each, so C2 spent
// more CPU compiling them than they ran (10,000 streams: 4.4 of inspect's 8.5 s of CPU); without it inspect takes
// 5.5 -> 3.9 s and prepare half the CPU. Plain and s2 blocks scan as fast; encrypted ones 3 to 4 times slower (no
// AES-CTR intrinsic in C1): for --verify-data on a large encrypted store, run jbang -R-XX:TieredStopAtLevel=4 ...
//JAVA_OPTIONS -XX:+UseSerialGC -Xms32m -XX:MinHeapFreeRatio=25 -XX:MaxHeapFreeRatio=35 -XX:MaxNewSize=32m -XX:TieredStopAtLevel=1
//DEPS io.nats:jnats:2.26.2

/*
 * js-recover: bring a NATS JetStream store back after its cluster lost Raft quorum.
 *
 * When two of three nodes are gone, the survivor still holds every replicated stream on disk,
 * but no leader can be elected, so nothing can reach it. The way out:
 *
 *   1. Stop the survivor (or take the disk of a dead node). Never work on a store that a
 *      nats-server still holds: js-recover refuses one another process has open, or that changes
 *      while it reads it.
 *   2. Copy its store_dir and work on the copy only:   cp -a /var/lib/nats /recovery/store
 *   3. js-recover inspect /recovery/store              read-only: what is there, what is broken
 *   4. js-recover prepare --dry-run /recovery/store    the exact plan, nothing written
 *   5. js-recover prepare /recovery/store
 *        streams: num_replicas -> 1, placement removed; consumers: num_replicas > 1 -> 0
 *        (inherit the stream's); meta.sum recomputed (meta.inf resealed when encrypted);
 *        consumers the cluster's records list without a folder here (R1 on a lost node, memory)
 *        recreated with a position that loses nothing;
 *        <account>/_js_ Raft state moved, with the original bytes of every rewritten file and
 *        a manifest, into <store>/js-recover-backup/<run>/; what the stream Raft logs hold beyond the
 *        blocks replayed: messages into new blocks, deletes as 2.10+ tombstones or in 2.9's N.idx.
 *        Nothing is deleted. Writes
 *        <store>/recovery.conf, a loopback-only standalone server config for this store.
 *   6. js-recover verify /recovery/store
 *        starts nats-server on recovery.conf, proves every stream and consumer loaded, stops it
 *   7. js-recover restore --to <new cluster> /recovery/store
 *        starts the recovery server as verify does, carries every stream with its consumers and
 *        original replica count, checks both ends, stops it (--from URL: a server already running)
 *      (or js-recover backup to files first; or the nats CLI, as prepare prints it).
 *   To go back: js-recover undo /recovery/store puts jetstream/ back as it was before the first prepare.
 *
 * Sections, in the order data flows:
 *   1. Model of a store     accounts, streams, consumers, their meta files, Raft folders
 *   2. Walker               reads a store from disk into the model and finds every problem; what
 *                           each stream holds (StreamContents, for inspect, its blocks read ahead
 *                           on every core by ReadAhead); the lock that keeps other runs and live
 *                           servers off a store
 *   3. Checksum             HighwayHash-64, what meta.sum holds
 *   4. Crypto               opening and resealing encrypted meta.inf; the ChaCha20 keystream of
 *                           encrypted message blocks
 *   5. Compression          s2 blocks and framed streams (compressed message blocks)
 *   6. Block and state readers  message blocks, block keys, 2.9 N.idx, 2.10+ index.db,
 *                           consumer o.dat: bytes in, records and damage out (and o.dat's
 *                           encoding, for the consumers prepare recreates)
 *   7. Cluster records      the Raft folders under <system account>/_js_: the meta group's inventory
 *                           of every stream and consumer, each group's log entries and commit index
 *   8. Rewriter             the byte-exact edit of one meta.inf
 *   9. Prepare              the plan, the consumers recreated from the cluster records, the replay
 *                           of the Raft logs into new message blocks and o.dat, the backup, atomic
 *                           replacement, the manifest, undo, recovery.conf, and the load check
 *                           behind verify
 *  10. Transfer             snapshot and restore over the JetStream API, server to server or to a
 *                           backup folder, each stream checked at both ends
 *  11. Reports              inspect table and JSON, several survivors compared, next steps,
 *                           transfer outcomes
 *  12. Commands             picocli: inspect, prepare, verify, undo, restore, backup,
 *                           version, help
 */

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

// =================================================================================================
// 1. Model of a store
//
// <store_dir>/jetstream/<account>/streams/<stream>/meta.inf|meta.sum|meta.key, msgs/, obs/<consumer>/
// <store_dir>/jetstream/<account>/_js_/   Raft state (only directly under an account folder)
// =================================================================================================

enum AssetKind { STREAM, CONSUMER }

/** A stream's or a consumer's stored config: meta.inf, meta.sum and, when encrypted, meta.key. */
final class MetaAsset {
  static final String META_INF = "meta.inf", META_SUM = "meta.sum", META_KEY = "meta.key";

  final AssetKind kind;
  final String account, stream, consumer; // consumer is null for a stream
  // The folder is named from these, not kept: a Path apiece was 50 MB of the heap at 50,000 streams.
  final Path streamsDir;         // <account>/streams, one for every asset of the account
  private final Path listedDir;  // the folder as listed, kept only when its name does not read back as its bytes (not UTF-8)

  String metaSum;            // as stored
  byte[] metaKey;            // null when the asset is not encrypted
  String computedSum;        // what meta.sum should hold for meta.inf as read
  // meta.inf as on disk (sealed when metaKey is present): as read, or as prepare rewrote it. Its length (-1: absent or
  // unreadable) and checksum identify the bytes, which are not kept (75 MB of the heap at 50,000 streams).
  int metaInfLength = -1;
  String metaInfSum;
  boolean sumFromInterruptedRun; // meta.inf is what an interrupted prepare wrote; its meta.sum is still old
  MetaCrypto.Opened opened;  // set when a key opened a sealed meta.inf: its plaintext is the config
  long stamp;                // FileStamp of meta.inf, meta.sum, meta.key and newestBlock as read, for the settle check
  String newestBlock;        // a stream's newest message block in msgs/ (it grows while a server writes), or null
  boolean readable;          // json decodes as nats-server decodes it (see GoJson): not unreadable, torn, refused or unopened
  Integer replicas;          // num_replicas as decoded, kept: the one field every step reads

  MetaAsset(AssetKind kind, String account, Path streamsDir, String stream, String consumer, Path dir) {
    this.kind = kind;
    this.account = account;
    this.streamsDir = streamsDir;
    this.stream = stream;
    this.consumer = consumer;
    this.listedDir = dir.equals(named()) ? null : dir;
  }

  /** The asset's folder: streams/<stream>, or streams/<stream>/obs/<consumer>. */
  Path dir() { return listedDir != null ? listedDir : named(); }

  private Path named() {
    Path streamDir = streamsDir.resolve(stream);
    return consumer == null ? streamDir : streamDir.resolve(StoreWalker.CONSUMERS).resolve(consumer);
  }

  Path metaInfPath() { return dir().resolve(META_INF); }
  Path metaSumPath() { return dir().resolve(META_SUM); }
  Path metaKeyPath() { return dir().resolve(META_KEY); }

  /** The server keys meta.sum's HighwayHash with sha256 of this name. */
  String checksumKey() { return kind == AssetKind.STREAM ? stream : stream + "/" + consumer; }

  /** The server derives the meta.key encryption key from this context (a dot, not a slash). */
  String cryptoContext() { return kind == AssetKind.STREAM ? stream : stream + "." + consumer; }

  /** What {@link #stamp} holds when the meta files and the newest block are as the walker read them. */
  long stampNow() {
    long blockNow = newestBlock == null ? 0 : FileStamp.of(dir().resolve(StoreWalker.MSGS).resolve(newestBlock));
    return FileStamp.of(metaInfPath()) + FileStamp.of(metaSumPath()) + FileStamp.of(metaKeyPath()) + blockNow;
  }

  boolean sealed() { return metaKey != null; }
  boolean hasMetaInf() { return metaInfLength >= 0; }

  /**
   * meta.inf's bytes, read again and checked: bytes that are not those js-recover read or wrote (another length or
   * checksum) mean a process still writes the store.
   */
  byte[] metaInf() {
    byte[] now;
    try {
      now = Files.readAllBytes(metaInfPath());
    } catch (IOException e) {
      throw new UncheckedIOException(new ChangedWhileRead(metaInfPath(), "no longer readable: " + Failure.describe(e)));
    }
    if (!isKnown(now)) throw new UncheckedIOException(new ChangedWhileRead(metaInfPath(), "other bytes than were read"));
    return now;
  }

  /** Whether {@code bytes} are meta.inf as js-recover read or wrote it (a keyed 64-bit hash and the length: no accident matches). */
  boolean isKnown(byte[] bytes) {
    return bytes.length == metaInfLength && HighwayHash64.metaSum(checksumKey(), bytes).equals(metaInfSum);
  }

  /** meta.inf holds bytes of this length and checksum (read, or written by js-recover): what a later read must find. */
  void onDisk(int length, String sum) {
    metaInfLength = length;
    metaInfSum = sum;
  }

  /**
   * The config's bytes: meta.inf itself, or the plaintext of a sealed one as read (prepare reseals an edit of it;
   * what the config says beyond the fields prepare changes is the same).
   */
  byte[] json() { return sealed() ? opened.plaintext() : metaInf(); }
  boolean sumOk() { return metaSum != null && metaSum.equals(computedSum); }

  /** Right, or the one an interrupted prepare had yet to write: not a problem either way. */
  boolean sumAccountedFor() { return sumOk() || sumFromInterruptedRun; }

  /**
   * The config as nats-server decodes it (see GoJson), or null when it could not be read, parsed or opened. Parsed
   * anew from json on each call, not kept: a tree per asset was most of the memory at 50,000 streams (600 MB).
   */
  JsonNode config() { return readable ? GoJson.decode(json()).config() : null; }

  /** num_replicas as stored, or null when unknown (unreadable, sealed without a key, absent). */
  Integer replicas() { return replicas; }

  static Integer replicas(JsonNode config) {
    JsonNode n = config.get("num_replicas");
    return n != null && n.canConvertToInt() && n.isIntegralNumber() ? n.intValue() : null;
  }

  String text(String field) { return text(config(), field); }

  static String text(JsonNode config, String field) {
    JsonNode n = config == null ? null : config.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }

  String label() {
    return account + " > " + stream + (consumer == null ? "" : " > " + consumer);
  }
}

/** A stream folder: its meta files and its consumers. */
record StoredStream(MetaAsset meta, List<MetaAsset> consumers) {
  long consumersAboveOneReplica() {
    return consumers.stream().filter(c -> c.replicas() != null && c.replicas() > 1).count();
  }
}

/** Something that stops prepare: what is wrong, what to do, and what --force would do with it. */
record Problem(Path path, String what, String todo, String ifForced) {}

/** Something the operator should know that does not stop prepare. */
record Warning(Path path, String what) {}

/** A store as read from disk. Lists are sorted; problems and warnings in path order. */
final class Store {
  final Path storeDir, jetstreamDir;
  final List<StoredStream> streams = new ArrayList<>();
  final List<Path> raftDirs = new ArrayList<>();
  final List<Path> leftoverTemps = Collections.synchronizedList(new ArrayList<>());
  final List<Problem> problems = Collections.synchronizedList(new ArrayList<>());
  final List<Warning> warnings = Collections.synchronizedList(new ArrayList<>());
  /** Files that have other hard links (a cp -al copy): a server's writes here reach them too. */
  final List<Path> hardLinked = Collections.synchronizedList(new ArrayList<>());
  final TreeSet<String> accounts = new TreeSet<>();
  /**
   * Each <account>/_js_ folder with the FileStamp of every file in it (walked for prepare's settle check only): a
   * live node that cannot elect a leader still rewrites its term and vote. The meta files and each stream's newest
   * block are in MetaAsset.stamp.
   */
  final Map<Path, Long> raftStamps = new ConcurrentHashMap<>();
  /** What the earlier prepare runs on this store left for this one. */
  Backups.Earlier earlier = new Backups.Earlier(Map.of(), Map.of());

  Store(Path storeDir, Path jetstreamDir) {
    this.storeDir = storeDir;
    this.jetstreamDir = jetstreamDir;
  }

  List<MetaAsset> assets() {
    List<MetaAsset> all = new ArrayList<>();
    for (StoredStream s : streams) {
      all.add(s.meta());
      all.addAll(s.consumers());
    }
    return all;
  }

  long consumerCount() { return streams.stream().mapToLong(s -> s.consumers().size()).sum(); }

  boolean encrypted() { return assets().stream().anyMatch(MetaAsset::sealed); }

  /** Paths as the operator should read them: relative to the store dir. */
  String rel(Path p) { return storeDir.relativize(p).toString(); }

  void sort() {
    streams.sort(Comparator.comparing((StoredStream s) -> s.meta().account).thenComparing(s -> s.meta().stream));
    streams.forEach(s -> s.consumers().sort(Comparator.comparing(c -> c.consumer)));
    Collections.sort(raftDirs);
    Collections.sort(leftoverTemps);
    problems.sort(Comparator.comparing(p -> p.path().toString()));
    warnings.sort(Comparator.comparing(w -> w.path().toString()));
  }
}

/** Mode bits and numeric owner and group of a file (numbers: a name lookup reads the user database). */
record FileOwnership(int mode, int uid, int gid) {
  static FileOwnership of(Path p) throws IOException {
    Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
    return new FileOwnership((Integer) a.get("mode") & 0777, (Integer) a.get("uid"), (Integer) a.get("gid"));
  }

  java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions() {
    java.nio.file.attribute.PosixFilePermission[] bits = java.nio.file.attribute.PosixFilePermission.values();
    java.util.Set<java.nio.file.attribute.PosixFilePermission> set =
        java.util.EnumSet.noneOf(java.nio.file.attribute.PosixFilePermission.class);
    for (int i = 0; i < bits.length; i++) if ((mode & (0400 >> i)) != 0) set.add(bits[i]); // OWNER_READ .. OTHERS_EXECUTE
    return set;
  }

  /** The effective user and groups of this process (Linux: /proc/self/status); null when unknown. */
  record Identity(int uid, int gid, java.util.Set<Integer> groups) {
    static Identity current() {
      try {
        Map<String, String[]> fields = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
          int colon = line.indexOf(':');
          if (colon > 0) fields.put(line.substring(0, colon), line.substring(colon + 1).trim().split("\\s+"));
        }
        java.util.Set<Integer> groups = new java.util.HashSet<>();
        for (String g : fields.getOrDefault("Groups", new String[0])) if (!g.isEmpty()) groups.add(Integer.parseInt(g));
        return new Identity(Integer.parseInt(fields.get("Uid")[1]), Integer.parseInt(fields.get("Gid")[1]), groups);
      } catch (IOException | RuntimeException e) {
        return null;
      }
    }

    /** Whether a file of this process may be given group {@code gid} (chgrp by a non-root owner). */
    boolean inGroup(int g) { return g == gid || groups.contains(g); }
  }

  /** Gives {@code p} this mode, owner and group, changing only what differs (chown needs root). */
  void applyTo(Path p) throws IOException {
    FileOwnership now = of(p);
    if (now.mode != mode) Files.setPosixFilePermissions(p, permissions());
    if (now.uid != uid) Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    if (now.gid != gid) Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
  }
}

/**
 * Path, size and modification time of files folded into one number, which the settle check compares a moment later:
 * a store of 50,000 streams holds over a million files, too many to keep a record each. A sum of one mixed term per
 * file, so the order files are listed in does not matter; absent files, links and folders add nothing.
 */
final class FileStamp {
  private FileStamp() {}

  static long term(Path file, long size, FileTime modified) {
    return mix(mix(mix(file.hashCode()) + size) + modified.to(java.util.concurrent.TimeUnit.NANOSECONDS));
  }

  /** One file's term, or 0 when it is absent, unreadable or not a regular file. */
  static long of(Path file) {
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      return a.isRegularFile() ? term(file, a.size(), a.lastModifiedTime()) : 0;
    } catch (IOException absent) {
      return 0;
    }
  }

  /**
   * Every regular file at or under {@code root}; those with other hard links go into {@code hardLinked} when given.
   * One stat per entry (Files.walkFileTree stats each file again for its link count): a store has a Raft group
   * folder per stream and consumer.
   */
  static long ofTree(Path root, List<Path> hardLinked) {
    try {
      if (hardLinked == null) {
        BasicFileAttributes a = Files.readAttributes(root, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (a.isRegularFile()) return term(root, a.size(), a.lastModifiedTime());
        if (!a.isDirectory()) return 0;
      } else {
        Map<String, Object> a = Files.readAttributes(root, "unix:isRegularFile,isDirectory,size,lastModifiedTime,nlink",
            LinkOption.NOFOLLOW_LINKS);
        if ((Boolean) a.get("isRegularFile")) {
          if ((Integer) a.get("nlink") > 1) hardLinked.add(root);
          return term(root, (Long) a.get("size"), (FileTime) a.get("lastModifiedTime"));
        }
        if (!(Boolean) a.get("isDirectory")) return 0;
      }
      long sum = 0;
      for (Path entry : Folder.entries(root)) sum += ofTree(entry, hardLinked);
      return sum;
    } catch (IOException vanishedOrUnreadable) {
      return 0; // removed meanwhile (a live server compacting: the settle check sees it gone), or unreadable: prepare
                // moves the folder as a whole
    }
  }

  /** Every regular file at or under each of {@code entries}, stamped in parallel ({@code step} after each). */
  static long ofEntries(List<Path> entries, Runnable step) {
    java.util.concurrent.atomic.LongAdder sum = new java.util.concurrent.atomic.LongAdder();
    StoreWalker.parallel(entries, entry -> {
      sum.add(ofTree(entry, null));
      step.run();
    });
    return sum.sum();
  }

  private static long mix(long z) { // MurmurHash3's finaliser
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }
}

/**
 * A folder's entries. java.io lists with opendir and readdir, half the system calls of a DirectoryStream (which
 * duplicates the descriptor and sets its flags): a store has a folder per stream, consumer, msgs/ and Raft group.
 * A folder java.io cannot list, or one with a name that would not read back as the bytes on disk (not UTF-8), is
 * listed by a DirectoryStream, which keeps a name's bytes and says why a listing failed.
 */
final class Folder {
  private Folder() {}

  /** The folder's entries in no particular order; what java.io's listing cannot do is left to a DirectoryStream. */
  static List<Path> entries(Path dir) throws IOException {
    String[] names = Utf8Launch.decodesUtf8() ? dir.toFile().list() : null;
    List<Path> entries = new ArrayList<>();
    if (names != null && java.util.Arrays.stream(names).noneMatch(n -> n.indexOf('\uFFFD') >= 0)) {
      for (String n : names) entries.add(dir.resolve(n));
      return entries;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(entries::add);
    }
    return entries;
  }
}

/**
 * A message block's bytes. Files.readAllBytes reads a file in one read through a direct buffer of its size, which the
 * JDK keeps for the thread: every thread that read a block would hold one as large as the largest it read (8 MiB for
 * a full block) for as long as it lives. Read in pieces, a thread holds one piece.
 */
final class BlockFile {
  private static final int PIECE = 1 << 18;

  private BlockFile() {}

  static byte[] read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE - 8) throw new IOException(file + " holds " + size + " bytes, more than a block can");
      java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate((int) size);
      while (bytes.hasRemaining()) {
        int end = bytes.position() + Math.min(PIECE, bytes.remaining());
        if (ch.read(bytes.limit(end)) < 0) break; // shorter than it was: what is there
        bytes.limit(bytes.capacity());
      }
      return bytes.position() == size ? bytes.array() : java.util.Arrays.copyOf(bytes.array(), bytes.position());
    }
  }
}

/** A file of the store is no longer what js-recover read: a process still writes the store. */
final class ChangedWhileRead extends IOException {
  private static final long serialVersionUID = 1L;

  ChangedWhileRead(Path file, String how) { super(file + " changed since js-recover read it (" + how + ")"); }
}

/** A refusal or failure the operator must act on: printed as is, exit code 1. */
final class Refusal extends Exception {
  private static final long serialVersionUID = 1L;

  Refusal(String message) { super(message); }

  /** What went wrong, as an operator reads it: the system's words, not an exception's class name. */
  static String reason(IOException e) {
    return e instanceof AccessDeniedException ? "permission denied"
        : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}

// =================================================================================================
// 2. Walker
//
// Reads every stream and consumer meta file (in parallel: stores hold tens of thousands of
// streams), checks every checksum, and records every problem with its path and what to do.
// It never follows a symbolic link and never writes.
// =================================================================================================

final class StoreWalker {
  static final String JETSTREAM = "jetstream", STREAMS = "streams", CONSUMERS = "obs", MSGS = "msgs",
      RAFT = "_js_", TEMP_SUFFIX = ".js-recover-tmp";

  private final KeyRing keys;
  private final Map<String, String> interruptedSums;
  private final boolean forSettleCheck;

  private StoreWalker(KeyRing keys, Map<String, String> interruptedSums, boolean forSettleCheck) {
    this.keys = keys;
    this.interruptedSums = interruptedSums;
    this.forSettleCheck = forSettleCheck;
  }

  /** Reads the store at {@code given}: a nats-server store_dir or its jetstream/ folder. */
  static Store walk(Path given, KeyRing keys) throws Refusal, IOException {
    return walk(locate(given), keys);
  }

  /** Reads a store {@link #locate} found: commands that lock the store lock it in between. */
  static Store walk(Store located, KeyRing keys) throws Refusal {
    return walk(located, keys, false);
  }

  /**
   * {@code forSettleCheck}: also stamps every Raft file, for the {@link SettleCheck} that follows (a group per stream
   * and consumer: at 10,000 streams a third of inspect's CPU time, for a check only prepare makes).
   */
  static Store walk(Store located, KeyRing keys, boolean forSettleCheck) throws Refusal {
    located.earlier = Backups.earlier(located);
    new StoreWalker(keys, located.earlier.interruptedSums(), forSettleCheck).read(located);
    return located;
  }

  static Store locate(Path given) throws Refusal, IOException {
    Path dir = refuseLinks(given);
    if (!Files.exists(dir)) {
      throw new Refusal("store dir " + dir + " does not exist. Pass the copied nats-server store_dir "
          + "(the folder holding jetstream/) or its jetstream/ folder." + (dir.toString().contains("?")
          ? " If its name is not ASCII, a launcher under a non-UTF-8 locale may have misread it: run with LC_ALL=C.UTF-8."
          : ""));
    }
    if (!Files.isDirectory(dir)) {
      throw new Refusal(dir + " is a file, not a store dir. Pass the copied nats-server store_dir "
          + "(the folder holding jetstream/) or its jetstream/ folder.");
    }
    if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
      throw new Refusal("permission denied reading " + dir + ". Run js-recover as a user who can read the "
          + "store (the nats user, or root).");
    }
    dir = dir.toRealPath(); // links above the store (a mount reached through /data, say) are fine: none at or in it
    Path inner = dir.resolve(JETSTREAM);
    if (Files.isSymbolicLink(inner)) throw linkRefusal(inner, "");
    if (Files.isDirectory(inner)) return new Store(dir, inner);
    if (dir.getFileName() != null && dir.getFileName().toString().equals(JETSTREAM)) {
      return new Store(dir.getParent(), dir);
    }
    throw new Refusal(dir + " is not a JetStream store: it has no jetstream/ folder. Pass the nats-server "
        + "store_dir (the folder holding jetstream/) or the jetstream/ folder itself.");
  }

  /**
   * The argument as the operator wrote it, made absolute but not resolved, once no part of it reaches the store
   * through a link: cp -a copies a linked jetstream/ (or store dir) as a link, so a "copy" can be the original.
   * Checked before anything is resolved, on each part as written: a ".." after a link climbs out of the link's
   * target, where a lexical reading would climb out of the link.
   */
  private static Path refuseLinks(Path given) throws Refusal {
    Path abs = given.isAbsolute() ? given : workingDir().resolve(given);
    Path at = abs.getRoot();
    for (Path part : abs) {
      if (part.toString().equals("..") && Files.isSymbolicLink(at)) {
        throw linkRefusal(at, " and the path climbs out of it (..)");
      }
      at = at.resolve(part);
    }
    Path dir = abs.normalize();
    if (Files.isSymbolicLink(dir)) throw linkRefusal(dir, "");
    Path parent = dir.getParent();
    if (dir.getFileName() != null && name(dir).equals(JETSTREAM) && parent != null && Files.isSymbolicLink(parent)) {
      throw linkRefusal(parent, " (the store dir holding " + dir + ")");
    }
    return dir;
  }

  /** The shell's working dir ($PWD) as the operator typed it, when it is ours: getcwd() has resolved its links. */
  private static Path workingDir() {
    Path cwd = Path.of(System.getProperty("user.dir"));
    String pwd = System.getenv("PWD");
    try {
      if (pwd != null && Path.of(pwd).isAbsolute() && Files.isSameFile(Path.of(pwd), cwd)) return Path.of(pwd);
    } catch (IOException | java.nio.file.InvalidPathException notOurs) {
      // a stale or foreign PWD: the resolved working dir is all there is
    }
    return cwd;
  }

  private static Refusal linkRefusal(Path link, String how) {
    String target;
    try {
      target = " (to " + Files.readSymbolicLink(link) + ")";
    } catch (IOException e) {
      target = "";
    }
    return new Refusal(link + " is a symbolic link" + target + how + ". js-recover does not follow links out of the "
        + "store: a copy made with cp -a keeps a link as a link, so this may be the original store. Copy the real "
        + "folder in its place (cp -a), or pass the real path of a copy; nothing was changed.");
  }

  private record StreamDir(String account, Path streamsDir, Path dir) {}

  private void read(Store store) throws Refusal {
    List<StreamDir> streamDirs = new ArrayList<>();
    for (Path accountDir : list(store, store.jetstreamDir)) {
      if (!isRealDir(store, accountDir)) continue;
      String account = name(accountDir);
      for (Path entry : list(store, accountDir)) {
        switch (name(entry)) {
          case RAFT -> {
            // Raft state lives only here, directly under an account folder: a stream or consumer
            // named _js_ sits under streams/ and is data like any other.
            if (isRealDir(store, entry)) store.raftDirs.add(entry);
          }
          case STREAMS -> {
            if (!isRealDir(store, entry)) continue;
            for (Path streamDir : list(store, entry)) {
              if (name(streamDir).startsWith(".")) {
                store.warnings.add(new Warning(streamDir, "a stream the server was deleting (folder name "
                    + "starts with '.'): left as is; the server removes it at start"));
              } else if (isRealDir(store, streamDir)) {
                streamDirs.add(new StreamDir(account, entry, streamDir));
              }
            }
          }
          default -> store.warnings.add(new Warning(entry, "not a JetStream folder js-recover knows; left as is"));
        }
      }
    }
    if (streamDirs.isEmpty() && store.problems.isEmpty()) {
      throw new Refusal("no streams found under " + store.jetstreamDir + " (expected <account>/streams/<stream>/"
          + "meta.inf). Is this the copy of the right node's store_dir?");
    }
    // A live node that cannot elect a leader still rewrites its term and vote: every Raft file is stamped, one
    // group per task (a store holds a group per stream and consumer, too many to stat one by one). Their hard links
    // are not looked for: prepare moves _js_ aside, so no server started on the store writes a Raft file.
    if (forSettleCheck) {
      Map<Path, List<Path>> groups = new java.util.LinkedHashMap<>();
      for (Path raft : store.raftDirs) groups.put(raft, list(store, raft));
      try (StepProgress progress = new StepProgress("reading Raft state", groups.values().stream().mapToInt(List::size).sum(), "groups")) {
        groups.forEach((raft, entries) -> store.raftStamps.put(raft, FileStamp.ofEntries(entries, progress::step)));
      }
    }
    List<StoredStream> streams = Collections.synchronizedList(new ArrayList<>());
    try (StepProgress progress = new StepProgress("reading", streamDirs.size(), "streams")) {
      parallel(streamDirs, sd -> {
        StoredStream s = readStream(store, sd);
        if (s != null) streams.add(s);
        progress.step();
      });
    }
    store.streams.addAll(streams);
    streams.forEach(s -> store.accounts.add(s.meta().account)); // accounts that hold streams: the ones a server must serve
    store.sort();
    if (!store.hardLinked.isEmpty()) store.problems.add(hardLinks(store));
  }

  /**
   * A copy made with cp -al shares every file with what it was copied from. prepare replaces the
   * files it rewrites (a rename breaks the link), but a server started on the copy appends to the
   * shared message blocks and consumer state in place: the original changes under it. A problem,
   * not a warning: the original may be the only other copy, and refusing prepare keeps verify
   * (which needs recovery.conf) from starting a server on it.
   */
  private static Problem hardLinks(Store store) {
    Collections.sort(store.hardLinked);
    return new Problem(store.hardLinked.get(0), store.hardLinked.size() + " file(s) of this store have other hard links, "
        + "e.g. this one (a copy made with cp -al): a nats-server started on this store (verify, the recovery server) "
        + "writes its message blocks and consumer state in place, so the files they share change too",
        "make a real copy of the survivor's store_dir (cp -a, without -l) and work on that",
        "prepared anyway: prepare replaces the files it rewrites (their links are broken, the other copy keeps its "
            + "bytes), but any server started on this store writes through to the other copy");
  }

  /** A stream folder, or null for one with no file in it at all (no config, no message: nothing to recover). */
  private StoredStream readStream(Store store, StreamDir sd) {
    String stream = name(sd.dir());
    List<Path> entries = list(store, sd.dir());
    MetaAsset meta = new MetaAsset(AssetKind.STREAM, sd.account(), sd.streamsDir(), stream, null, sd.dir());
    if (!entries.contains(meta.metaInfPath()) && holdsNoFile(sd.dir())) {
      store.warnings.add(new Warning(sd.dir(), "an empty stream folder (no meta.inf, no message): nothing to recover; "
          + "the server skips it (\"Missing stream metafile\"), so it is not counted as a stream; left as is"));
      return null;
    }
    JsonNode config = readAsset(store, meta, entries);
    List<MetaAsset> consumers = new ArrayList<>();
    List<Path> blocks = List.of(); // message blocks, oldest first
    for (Path entry : entries) {
      String n = name(entry);
      if (n.endsWith(TEMP_SUFFIX)) {
        store.leftoverTemps.add(entry);
      } else if (n.equals(CONSUMERS) && isRealDir(store, entry)) {
        for (Path consumerDir : list(store, entry)) {
          if (isRealDir(store, consumerDir)) {
            MetaAsset c = new MetaAsset(AssetKind.CONSUMER, sd.account(), sd.streamsDir(), stream, name(consumerDir), consumerDir);
            List<Path> files = list(store, consumerDir);
            files.stream().filter(e -> name(e).endsWith(TEMP_SUFFIX)).forEach(store.leftoverTemps::add);
            refuseMisnamed(store, c, MetaAsset.text(readAsset(store, c, files), "durable_name"));
            consumers.add(c);
          }
        }
      } else if (n.equals(MSGS) && isRealDir(store, entry)) {
        blocks = blocks(store, entry);
        if (!blocks.isEmpty()) { // the newest block grows while a server writes
          Path newest = blocks.get(blocks.size() - 1);
          meta.newestBlock = name(newest);
          meta.stamp += FileStamp.ofTree(newest, store.hardLinked);
        }
      }
    }
    if (config != null) advise(store, meta, config, blocks);
    return new StoredStream(meta, consumers);
  }

  /** A consumer whose config names another consumer (durable_name; an ephemeral's is its folder's name). */
  private static void refuseMisnamed(Store store, MetaAsset c, String configName) {
    if (configName != null && !configName.isEmpty() && !configName.equals(c.consumer)) {
      store.problems.add(new Problem(c.dir(), "consumer folder " + c.consumer + " holds the config of consumer " + configName
          + ": the server loads it as " + configName + " with a new, empty state in obs/" + configName + "/ (its "
          + "position is lost) and leaves this folder's state unread",
          "give the folder its consumer's name (mv obs/" + c.consumer + " obs/" + configName + ", when no folder has "
              + "that name yet) and run again, or copy this consumer's folder again from the survivor's disk",
          "left as is: the server starts " + configName + " from the beginning of its stream"));
    }
  }

  private static boolean holdsNoFile(Path dir) {
    try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
      return all.noneMatch(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS));
    } catch (IOException | UncheckedIOException e) {
      return false; // unreadable: reported as the stream's problem
    }
  }

  /** What a stream's config means for this recovery: said once, where the operator reads it. */
  private static void advise(Store store, MetaAsset meta, JsonNode cfg, List<Path> blocks) {
    long maxAge = cfg.path("max_age").asLong(0);
    if (maxAge > 0 && !blocks.isEmpty()) store.warnings.add(new Warning(meta.dir(), expiry(maxAge, blocks)));
    String retention = MetaAsset.text(cfg, "retention");
    if ("interest".equals(retention)) {
      store.warnings.add(new Warning(meta.dir(), "interest retention: at start the server removes messages no loaded "
          + "consumer is interested in, so every consumer must load (prepare makes them loadable); check consumers "
          + "before the backup"));
    } else if ("workqueue".equals(retention)) {
      store.warnings.add(new Warning(meta.dir(), "work-queue retention: acknowledged messages are gone by design; "
          + "what was not yet acknowledged is recovered"));
    }
    if (cfg.path("sealed").asBoolean(false)) {
      store.warnings.add(new Warning(meta.dir(), "sealed stream: it loads read-only and is restored sealed"));
    }
    long firstSeq = cfg.path("first_seq").asLong(0);
    if (firstSeq > 0) store.warnings.add(new Warning(meta.dir(), "first_seq " + firstSeq + ": " + LoadCheck.FIRST_SEQ_PURGE));
    List<JsonNode> origins = new ArrayList<>();
    if (cfg.hasNonNull("mirror")) origins.add(cfg.get("mirror"));
    cfg.path("sources").forEach(origins::add);
    for (JsonNode origin : origins) {
      // Another domain or account is reached through an external API prefix ($JS.<domain>.API).
      String kind = origin == cfg.get("mirror") ? "mirror of " : "source ";
      if (origin.hasNonNull("external")) {
        store.warnings.add(new Warning(meta.dir(), kind + origin.path("name").asText() + " through external API "
            + origin.get("external").path("api").asText() + ": the standalone server cannot reach it; what was "
            + "already copied is served, and the new cluster must be given a reachable origin"));
      }
    }
  }

  /**
   * A stream's max_age keeps running while the cluster is down: the first standalone start removes
   * every message older than it (expireMsgsOnRecover). Estimated from the blocks' modification
   * times (cp -a keeps them): a block is last written with its newest message.
   */
  private static String expiry(long maxAgeNanos, List<Path> blocks) {
    java.time.Duration maxAge = java.time.Duration.ofNanos(maxAgeNanos);
    Instant cutoff = Instant.now().minus(maxAge);
    String how;
    try {
      Instant oldest = Files.getLastModifiedTime(blocks.get(0), LinkOption.NOFOLLOW_LINKS).toInstant();
      Instant newest = Files.getLastModifiedTime(blocks.get(blocks.size() - 1), LinkOption.NOFOLLOW_LINKS).toInstant();
      how = newest.isBefore(cutoff) ? "ALL of its messages are older (its newest message block was last written "
          + ago(newest) + " ago)"
          : oldest.isBefore(cutoff) ? "some of its messages are older (its oldest message block was last written "
              + ago(oldest) + " ago)"
          : "none is older yet (its oldest message block was last written " + ago(oldest) + " ago), but they age on";
    } catch (IOException e) {
      how = "how many are older is unknown (" + e.getMessage() + ")";
    }
    return "max_age " + human(maxAge) + ": a server started on this store removes every message older than that, at start "
        + "and while it runs, and " + how + ". To keep them, keep the untouched copy of this stream's folder from the "
        + "survivor before verify or the recovery server starts";
  }

  private static String ago(Instant t) { return human(java.time.Duration.between(t, Instant.now())); }

  /** A duration as the server's config writes it: 1h30m, 45s, 7d. */
  static String human(java.time.Duration d) {
    if (d.isNegative() || d.isZero()) return "0s";
    StringBuilder b = new StringBuilder();
    if (d.toDays() > 0) b.append(d.toDays()).append('d');
    if (d.toHoursPart() > 0) b.append(d.toHoursPart()).append('h');
    if (d.toMinutesPart() > 0) b.append(d.toMinutesPart()).append('m');
    if (d.toSecondsPart() > 0 || b.length() == 0) b.append(d.toSecondsPart()).append('s');
    return b.toString();
  }

  /** The message blocks in msgs/ (N.blk), oldest first. */
  private static List<Path> blocks(Store store, Path msgs) {
    java.util.TreeMap<Long, Path> byIndex = new java.util.TreeMap<>();
    for (Path blk : list(store, msgs)) {
      String n = name(blk);
      if (!n.endsWith(".blk")) continue;
      try {
        byIndex.put(Long.parseLong(n.substring(0, n.length() - 4)), blk);
      } catch (NumberFormatException ignored) {
        // not a message block the server wrote
      }
    }
    return List.copyOf(byIndex.values());
  }

  /**
   * Reads the asset's meta files into it; returns its config as decoded, to look at now (it is not kept), or null.
   * {@code listed}: its folder's entries, which say whether it has a meta.key (most assets have none: a failed probe
   * apiece is a stat and an exception per asset); an empty listing (the folder could not be listed) says nothing.
   */
  private JsonNode readAsset(Store store, MetaAsset a, List<Path> listed) {
    String what = a.kind == AssetKind.STREAM ? "stream" : "consumer";
    String lost = a.kind == AssetKind.STREAM
        ? "the standalone server will not load this stream"
        : "the standalone server will not load this consumer (its position is lost; for an interest or "
            + "work-queue stream, messages only it kept may be removed)";
    String fromSurvivor = "copy this " + what + "'s folder again from the survivor's disk, or restore it from a backup";

    byte[] metaInf = readFile(store, a, a.metaInfPath(), lost);
    byte[] sum = readFile(store, a, a.metaSumPath(), "meta.sum is rewritten from meta.inf as found");
    if (listed.isEmpty() || listed.contains(a.metaKeyPath())) a.metaKey = readFile(store, a, a.metaKeyPath(), lost);
    if (metaInf == null) {
      if (!Files.exists(a.metaInfPath(), LinkOption.NOFOLLOW_LINKS)) {
        store.problems.add(new Problem(a.metaInfPath(), what + " " + a.label() + " has no meta.inf",
            fromSurvivor, "left as is: " + lost));
      }
      return null;
    }
    a.computedSum = HighwayHash64.metaSum(a.checksumKey(), metaInf);
    a.onDisk(metaInf.length, a.computedSum); // the one string for both
    if (sum == null) {
      if (!Files.exists(a.metaSumPath(), LinkOption.NOFOLLOW_LINKS)) {
        store.problems.add(new Problem(a.metaSumPath(), what + " " + a.label() + " has no meta.sum",
            fromSurvivor + "; if meta.inf reads right (js-recover inspect), --force writes meta.sum from it",
            "meta.sum written from meta.inf as found"));
      }
    } else {
      a.metaSum = new String(sum, StandardCharsets.ISO_8859_1);
      if (a.sumOk()) {
        a.metaSum = a.computedSum; // one string for both, not two per asset (400,000 at 50,000 streams)
      } else if (a.computedSum.equals(interruptedSums.get(store.rel(a.metaInfPath())))) {
        a.sumFromInterruptedRun = true; // our own half-done rewrite: prepare completes it
      } else {
        store.problems.add(new Problem(a.metaSumPath(), "meta.sum of " + what + " " + a.label()
            + " does not match meta.inf (stored " + printable(a.metaSum) + ", computed " + a.computedSum
            + "): meta.inf changed or was torn after the server wrote it",
            fromSurvivor + "; if meta.inf reads right (js-recover inspect), --force recomputes meta.sum",
            "meta.sum recomputed over meta.inf as found (the original is kept in the backup)"));
      }
    }
    if (a.sealed()) {
      if (keys == null) {
        store.problems.add(new Problem(a.metaInfPath(), what + " " + a.label()
            + " is encrypted (meta.key present): its config cannot be read or rewritten without the JetStream key",
            "pass the cluster's JetStream key with --key-file FILE (or --key, or JS_RECOVER_KEY)",
            "left as is: " + (a.kind == AssetKind.STREAM ? "a replicated stream will not load standalone" : lost)));
        return null;
      }
      try {
        a.opened = MetaCrypto.openMeta(keys.key(), a.account, a.cryptoContext(), a.metaKey, metaInf, keys.forcedCipher());
        if (keys.forcedCipher() != null && a.opened.cipher() != keys.forcedCipher()) {
          throw new java.security.GeneralSecurityException("it opens only with " + a.opened.cipher().name().toLowerCase()
              + ", not with the forced cipher " + keys.forcedCipher().name().toLowerCase());
        }
      } catch (java.security.GeneralSecurityException e) {
        a.opened = null;
        store.problems.add(new Problem(a.metaInfPath(), "the key does not open " + what + " " + a.label()
            + " (" + e.getMessage() + ")",
            "check that the key is the one the cluster ran with (jetstream { key } in its config); "
                + "every encrypted asset must open before prepare changes anything",
            "left as is: " + lost));
        return null;
      }
    }
    byte[] json = a.sealed() ? a.opened.plaintext() : metaInf;
    GoJson.Decoded decoded = GoJson.decode(json);
    if (decoded.unreadable() != null) {
      store.problems.add(new Problem(a.metaInfPath(), "meta.inf of " + what + " " + a.label() + " " + decoded.unreadable(),
          fromSurvivor, "left as is: " + lost));
      return null;
    }
    String refused = GoJson.whyRefused(json, a.kind);
    if (refused == null) {
      a.readable = true;
      a.replicas = MetaAsset.replicas(decoded.config());
      return decoded.config();
    } else { // what the server cannot decode is neither read nor rewritten
      store.problems.add(new Problem(a.metaInfPath(), "meta.inf of " + what + " " + a.label() + ": " + refused
          + ", so nats-server refuses to load it", fromSurvivor + ", or correct that member by hand and run prepare "
          + "--force (it recomputes meta.sum)", "left as is: " + lost));
      return null;
    }
  }

  /** The file's bytes, or null when absent or unreadable (the latter recorded as a problem); stamped into the asset's. */
  private byte[] readFile(Store store, MetaAsset asset, Path file, String ifForced) {
    try {
      Map<String, Object> attrs = Files.readAttributes(file, "unix:isSymbolicLink,isRegularFile,size,lastModifiedTime,nlink",
          LinkOption.NOFOLLOW_LINKS);
      if ((Boolean) attrs.get("isSymbolicLink")) {
        store.problems.add(symlink(file, ifForced));
        return null;
      }
      if ((Boolean) attrs.get("isRegularFile")) {
        asset.stamp += FileStamp.term(file, (Long) attrs.get("size"), (FileTime) attrs.get("lastModifiedTime"));
      }
      byte[] bytes = Files.readAllBytes(file);
      if ((Integer) attrs.get("nlink") > 1) store.hardLinked.add(file);
      return bytes;
    } catch (NoSuchFileException e) {
      return null;
    } catch (AccessDeniedException e) {
      store.problems.add(new Problem(file, "permission denied reading " + file.getFileName(),
          "run js-recover as a user who can read the whole store (the nats user, or root)", "left as is: " + ifForced));
    } catch (IOException e) {
      store.problems.add(new Problem(file, "cannot read " + file.getFileName() + ": " + e.getMessage(),
          "check the disk and the copy; copy the file again from the survivor", "left as is: " + ifForced));
    }
    return null;
  }

  private static Problem symlink(Path p, String ifForced) {
    return new Problem(p, "a symbolic link: js-recover never follows links out of the store",
        "replace the link with a copy of what it points to (cp -aL) and run again", "left as is: " + ifForced);
  }

  /** A folder to descend into; a link is a problem, a plain file a stray. */
  private static boolean isRealDir(Store store, Path p) {
    try {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (a.isSymbolicLink()) {
        store.problems.add(symlink(p, "left as is, not followed: the standalone server may not load what is behind it"));
        return false;
      }
      if (!a.isDirectory()) {
        store.warnings.add(new Warning(p, "a stray file where a folder was expected; left as is"));
        return false;
      }
      return true;
    } catch (IOException e) {
      store.problems.add(new Problem(p, "cannot read " + p.getFileName() + ": " + e.getMessage(),
          "check the disk and the copy", "left as is"));
      return false;
    }
  }

  private static List<Path> list(Store store, Path dir) {
    List<Path> entries = new ArrayList<>();
    try {
      entries = Folder.entries(dir);
    } catch (AccessDeniedException e) {
      store.problems.add(new Problem(dir, "permission denied listing " + dir.getFileName(),
          "run js-recover as a user who can read the whole store (the nats user, or root)", "left as is"));
    } catch (IOException e) {
      store.problems.add(new Problem(dir, "cannot list " + dir.getFileName() + ": " + e.getMessage(),
          "check the disk and the copy", "left as is"));
    }
    entries.sort(null);
    return entries;
  }

  static String name(Path p) { return p.getFileName().toString(); }

  static String printable(String s) {
    return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f) ? "\"" + s + "\"" : "(" + s.length() + " bytes, not text)";
  }

  static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return s == null ? "" : nl < 0 ? s : s.substring(0, nl);
  }

  /** Runs {@code work} over {@code items} on a pool sized for disk I/O, not for CPU. */
  static <T> void parallel(List<T> items, Consumer<T> work) {
    ForkJoinPool pool = new ForkJoinPool(64);
    try {
      pool.submit(() -> items.parallelStream().forEach(work)).join();
    } finally {
      pool.shutdown();
    }
  }
}

/**
 * Work that runs ahead of its reader on one pool for the process, taken back in the items' order: a stream's blocks
 * are read, decrypted, decompressed and hashed on every core while its reader applies them one after another, so the
 * results are those of a block-by-block read. At most two items per core are in flight across every reader of the
 * process (submitted and not yet taken back), however many streams are read at once: memory is bounded by the
 * cores, not by the walker's threads or the store. The pool has a thread per slot, so a block read from a cold disk
 * leaves the cores to the others.
 */
final class ReadAhead<T, R> implements AutoCloseable {
  interface Work<T, R> {
    R apply(T item) throws IOException;
  }

  /** Items in flight at most, across the process. */
  static final int SLOTS = 2 * Runtime.getRuntime().availableProcessors();
  private static final java.util.concurrent.ExecutorService POOL = java.util.concurrent.Executors.newFixedThreadPool(SLOTS, r -> {
    Thread t = new Thread(r, "read-ahead");
    t.setDaemon(true);
    return t;
  });
  private static final java.util.concurrent.Semaphore IN_FLIGHT = new java.util.concurrent.Semaphore(SLOTS);

  private final java.util.Iterator<T> items;
  private final Work<T, R> work;
  private final java.util.ArrayDeque<java.util.concurrent.Future<R>> ahead = new java.util.ArrayDeque<>();
  private boolean holding; // the result last taken counts as in flight until the next is asked for

  ReadAhead(List<T> items, Work<T, R> work) {
    this.items = items.iterator();
    this.work = work;
  }

  /** The next item's result, in the items' order; its exception if it failed. */
  R next() throws IOException {
    releaseTaken();
    // A reader holding nothing waits for a slot; one holding some only takes free ones, so readers never wait on
    // each other while holding slots (no deadlock) and the pool's threads never wait at all.
    while (items.hasNext() && (ahead.isEmpty() ? acquire() : IN_FLIGHT.tryAcquire())) {
      T item = items.next();
      if (ahead.isEmpty() && !items.hasNext()) {
        // The last item with nothing ahead of it (a stream of one block): done here, in its slot, without a hand-off.
        holding = true;
        return work.apply(item);
      }
      ahead.add(POOL.submit(() -> work.apply(item)));
    }
    java.util.concurrent.Future<R> head = ahead.remove();
    holding = true;
    try {
      return head.get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof IOException io) throw io;
      if (e.getCause() instanceof RuntimeException re) throw re;
      if (e.getCause() instanceof Error err) throw err;
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while reading ahead");
    }
  }

  /** Waits for the items still in flight (a reader that stopped early) and frees their slots. */
  @Override public void close() {
    releaseTaken();
    boolean interrupted = false;
    for (java.util.concurrent.Future<R> f : ahead) {
      while (true) {
        try {
          f.get();
          break;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException ignored) {
          break; // the reader already stopped on an earlier failure
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      IN_FLIGHT.release();
    }
    ahead.clear();
    if (interrupted) Thread.currentThread().interrupt();
  }

  private void releaseTaken() {
    if (holding) IN_FLIGHT.release();
    holding = false;
  }

  private static boolean acquire() {
    IN_FLIGHT.acquireUninterruptibly();
    return true;
  }
}

/**
 * What one stream holds, read from its message blocks and its consumers' o.dat as a standalone server
 * of the store's version loads them (after prepare, before any limit runs): the counts /jsz reports,
 * the damage, where each consumer stood, and what the first start will remove. Reads only. The index
 * the server would trust (2.10+ index.db, 2.9 N.idx whose last checksum matches its block) gives the
 * numbers; blocks are scanned where no such index exists, with --verify-data, or when a consumer's
 * filter, max_age or interest retention needs each message. Its blocks are read ahead on
 * every core, a few at a time (ReadAhead), and applied in order.
 */
final class StreamContents {
  /**
   * Damage in block {@code block} at {@code offset} of its records (-1: the block as a whole). {@code dropped}: the
   * messages after it that the first start drops as it rebuilds the block (cut at its first bad record); -1 when the
   * start does not rebuild the block (an index it trusts: the damage stays, and reading that record fails).
   */
  record Damaged(int block, long offset, String why, long dropped) {
    Damaged(int block, long offset, String why) { this(block, offset, why, -1); }
  }

  /**
   * Where a consumer's o.dat says it stands, or why it cannot be read ({@code delivered} and {@code ackFloor} null).
   * Its pending and redelivered messages are counted, not kept: inspect keeps every consumer's Position to the end.
   */
  record Position(MetaAsset consumer, ConsumerState.SeqPair delivered, ConsumerState.SeqPair ackFloor, int pending,
      int redelivered, long numPending, String unreadable) {
    static Position of(MetaAsset consumer, ConsumerState st, String unreadable) {
      return st == null ? new Position(consumer, null, null, 0, 0, 0, unreadable)
          : new Position(consumer, st.delivered(), st.ackFloor(), st.pending().size(), st.redelivered().size(), 0, null);
    }

    Position withNumPending(long n) { return new Position(consumer, delivered, ackFloor, pending, redelivered, n, unreadable); }
  }

  /**
   * What the first server start removes, in the order it removes them, each counting only what the ones before
   * left: the records after a bad one in a block it rebuilds, then max_msgs, max_bytes, max_age,
   * max_msgs_per_subject, interest retention. Zero when nothing.
   */
  record AtStart(long damage, long maxMsgs, long maxBytes, long maxAge, long maxMsgsPerSubject, long interest) {
    static final AtStart NONE = new AtStart(0, 0, 0, 0, 0, 0);
  }

  /**
   * What the first start removes from a stream, in the server's order (filestore.go newFileStore, 2.9 to 2.15:
   * enforceMsgLimit, enforceBytesLimit, expireMsgsOnRecover, enforceMsgPerSubjectLimit; then the interest check as the
   * stream's consumers load): each limit counts only what the ones before it left. Fed, oldest first, the messages
   * the blocks' rebuild keeps; max_msgs and max_bytes are judged only once the totals they see are known.
   */
  static final class FirstStart {
    /**
     * A stream's limits as the server applies them at load. max_msgs and max_bytes trim a discard-old stream (2.9: a
     * discard-new one too); max_age removes from the head while messages are at least that old. Interest retention
     * (stream.go checkForOrphanMsgs, consumer.go checkStateForInterestStream): 2.9 purges up to the lowest ack floor
     * of its consumers when that floor is past the first message; 2.10+ removes a message once every consumer whose
     * filter takes it has acknowledged it (at or below its ack floor, or delivered and no longer pending). Without
     * consumers neither removes anything.
     */
    record Rules(long maxMsgs, long maxBytes, long maxAge, long cutoff, long perSubject, boolean v29, boolean interest,
        List<ConsumerState> states, List<List<String[]>> filters, List<java.util.Set<Long>> pending, long lowestFloor) {
      static Rules of(JsonNode cfg, boolean v29, boolean interest, List<ConsumerState> states,
          List<List<String[]>> filters, long nowNanos) {
        JsonNode c = cfg == null ? JsonNodeFactory.instance.objectNode() : cfg;
        boolean trims = v29 || !"new".equals(c.path("discard").asText("old"));
        long maxAge = c.path("max_age").asLong(0);
        List<java.util.Set<Long>> pending = new ArrayList<>();
        for (ConsumerState st : states) {
          pending.add(st == null ? java.util.Set.of()
              : st.pending().stream().map(ConsumerState.Pending::streamSeq).collect(Collectors.toSet()));
        }
        long lowest = states.stream().mapToLong(st -> st == null ? 0 : st.ackFloor().streamSeq()).min().orElse(0);
        return new Rules(trims ? c.path("max_msgs").asLong(-1) : -1, trims ? c.path("max_bytes").asLong(-1) : -1, maxAge,
            maxAge > 0 ? nowNanos - maxAge : Long.MIN_VALUE, c.path("max_msgs_per_subject").asLong(-1), v29, interest,
            states, filters, pending, lowest);
      }

      /** Whether these totals exceed max_msgs or max_bytes as the server enforces them. */
      boolean over(long msgs, long bytes) { return maxMsgs > 0 && msgs > maxMsgs || maxBytes > 0 && bytes > maxBytes; }

      /** Whether the interest check can remove anything: some consumer on disk got a message. */
      boolean interestCanRemove() {
        return interest && states.stream().anyMatch(st -> st != null && st.delivered().streamSeq() > 0);
      }

      /** Whether the interest check removes this message (2.9: before its first-sequence condition, see removed). */
      boolean acknowledged(long seq, String subject) {
        if (!interest) return false;
        if (v29) return seq <= lowestFloor;
        boolean taken = false;
        for (int k = 0; k < states.size(); k++) {
          if (!matches(filters.get(k), subject)) continue;
          taken = true;
          ConsumerState st = states.get(k);
          if (st == null) return false; // no position: the consumer starts from its config and still wants it
          boolean acked = seq <= st.ackFloor().streamSeq()
              || !pending.get(k).isEmpty() && seq <= st.delivered().streamSeq() && !pending.get(k).contains(seq);
          if (!acked) return false;
        }
        return taken;
      }
    }

    private final Rules rules;
    private final long msgs, bytes; // what the count and byte limits see; -1: not known
    private final Map<String, long[]> subjects; // per subject: messages left, of them acknowledged; null: not counted
    private long byMsgs, byBytes, byAge, bytesGone, acknowledged, firstLeft = -1;
    private boolean young;

    FirstStart(Rules rules, long[] known, boolean perSubject) {
      this.rules = rules;
      this.msgs = known == null ? -1 : known[0];
      this.bytes = known == null ? -1 : known[1];
      this.subjects = perSubject ? new HashMap<>() : null;
    }

    void accept(long seq, long ts, long length, String subject) {
      if (msgs >= 0 && rules.maxMsgs() > 0 && msgs - byMsgs > rules.maxMsgs()) {
        byMsgs++;
        bytesGone += length;
        return;
      }
      if (bytes >= 0 && rules.maxBytes() > 0 && bytes - bytesGone > rules.maxBytes()) {
        byBytes++;
        bytesGone += length;
        return;
      }
      if (!young && ts <= rules.cutoff()) {
        byAge++;
        return;
      }
      young = true;
      if (firstLeft < 0) firstLeft = seq;
      boolean acked = rules.acknowledged(seq, subject);
      if (subjects != null) {
        long[] n = subjects.computeIfAbsent(subject, k -> new long[2]);
        n[0]++;
        if (acked) n[1]++;
      } else if (acked) {
        acknowledged++;
      }
    }

    /** Whether this pass judged the count and byte limits as these totals have them: with them, or both within. */
    boolean knew(long msgs, long bytes) {
      boolean judgedWithin = this.msgs < 0 || !rules.over(this.msgs, this.bytes);
      return this.msgs == msgs && this.bytes == bytes || judgedWithin && !rules.over(msgs, bytes);
    }

    /** {@code damage}: messages the blocks' rebuild drops, before any limit runs. */
    AtStart removed(long damage) {
      long overSubject = 0, acked = acknowledged;
      if (subjects != null) {
        // Per subject the limit removes the oldest; the interest check then removes those of the acknowledged left.
        for (long[] n : subjects.values()) {
          long over = Math.max(0, n[0] - rules.perSubject());
          overSubject += over;
          acked += Math.max(0, n[1] - over);
        }
      }
      if (rules.v29() && rules.lowestFloor() <= firstLeft) acked = 0; // 2.9 purges only past the first message
      AtStart removed = new AtStart(damage, byMsgs, byBytes, byAge, overSubject, acked);
      return removed.equals(AtStart.NONE) ? AtStart.NONE : removed; // inspect keeps one per stream, most remove nothing
    }
  }

  final MetaAsset stream;
  int blocks;
  long blockBytes;
  /** Why the records cannot be read (sealed without a key); the counts below are then unknown. */
  String sealed;
  /** Where the numbers come from: index.db, N.idx, or the records themselves. */
  String source;
  /** Why the index on disk is not used, as the server would not trust it either; null when none or trusted. */
  String indexNote;
  long messages, bytes, firstSeq, lastSeq, firstTs, lastTs;
  final List<Damaged> damaged = new ArrayList<>();
  final List<Position> consumers = new ArrayList<>();
  AtStart atStart = AtStart.NONE;
  /** What the first start does to an interest stream that no consumer on disk reads; null otherwise. */
  String interestNote;

  private StreamContents(MetaAsset stream) { this.stream = stream; }

  /** A block's scan with its records, read ahead of the pass that applies them. */
  private record Scanned(MsgBlock.Scan scan, List<MsgBlock.Record> records) {}

  long deleted() { return sealed != null || messages == 0 ? 0 : lastSeq - firstSeq + 1 - messages; }

  static final String INDEX_DB = "index.db";

  /**
   * Whether 2.9's rules apply to the stream (deletes kept in each block's N.idx, 2.9's consumer and purge semantics):
   * a 2.9 server ran it last. Its msgs/ says so first: only 2.10+ write index.db, and 2.10+ delete every N.idx as
   * they load a stream. With neither, its config does: 2.10+ write "compression" in every config they write. The
   * config alone is not enough: a cluster upgraded from 2.9 keeps a stream's config as 2.9 wrote it until it is
   * updated, while 2.10+ write its blocks and index.db.
   */
  static boolean writtenBy29(MetaAsset stream) {
    boolean indexDb = false, blockIdx = false;
    try {
      for (Path f : Folder.entries(stream.dir().resolve("msgs"))) {
        String n = f.getFileName().toString();
        indexDb |= n.equals(INDEX_DB);
        blockIdx |= n.matches("[0-9]+\\.idx");
      }
    } catch (IOException noMsgsFolder) {
      // nothing on disk says: the config does
    }
    return writtenBy29(stream::config, indexDb, blockIdx);
  }

  /**
   * {@link #writtenBy29(MetaAsset)} for a caller that has looked at msgs/ already; {@code config} (null when it does
   * not read) is asked for only when msgs/ does not say.
   */
  static boolean writtenBy29(java.util.function.Supplier<JsonNode> config, boolean indexDb, boolean blockIdx) {
    if (indexDb || blockIdx) return !indexDb;
    JsonNode cfg = config.get();
    return cfg != null && !cfg.has("compression");
  }

  static StreamContents read(StoredStream s, KeyRing keys, boolean verify) {
    StreamContents c = new StreamContents(s.meta());
    try {
      c.readBlocks(s, keys, verify, System.currentTimeMillis() * 1_000_000L);
    } catch (IOException | UncheckedIOException e) {
      c.damaged.add(new Damaged(-1, -1, "cannot read the stream's files: " + e.getMessage()));
    }
    return c;
  }

  /** A consumer's filter: NATS subjects with * and >; empty for all. */
  private static List<String[]> filters(MetaAsset c) {
    List<String[]> f = new ArrayList<>();
    JsonNode cfg = c.config();
    if (cfg == null) return f;
    String one = MetaAsset.text(cfg, "filter_subject");
    if (one != null && !one.isEmpty()) f.add(one.split("\\.", -1));
    cfg.path("filter_subjects").forEach(n -> f.add(n.asText().split("\\.", -1)));
    return f;
  }

  static boolean matches(List<String[]> filters, String subject) {
    if (filters.isEmpty()) return true;
    String[] tokens = subject.split("\\.", -1);
    for (String[] f : filters) {
      int i = 0;
      for (; i < f.length && i < tokens.length; i++) {
        if (f[i].equals(">")) return true;
        if (!f[i].equals("*") && !f[i].equals(tokens[i])) break;
      }
      if (i == f.length && i == tokens.length) return true;
    }
    return false;
  }

  private void readBlocks(StoredStream s, KeyRing keys, boolean verify, long nowNanos) throws IOException {
    MetaAsset m = stream;
    Path msgs = m.dir().resolve(StoreWalker.MSGS);
    List<Path> listed = MsgBlock.listing(msgs);
    // what msgs/ holds, looked up by name: a stat per index file looked for threw an exception per absent one
    java.util.Set<String> names = listed.stream().map(StoreWalker::name).collect(Collectors.toSet());
    java.util.TreeMap<Integer, Path> files = MsgBlock.files(listed);
    blocks = files.size();
    for (Path p : files.values()) blockBytes += Files.size(p);
    if (m.sealed() && m.opened == null) {
      sealed = "encrypted: give the JetStream key to read its messages and consumer positions";
      for (MetaAsset c : s.consumers()) consumers.add(Position.of(c, null, "encrypted: give the JetStream key"));
      return;
    }
    // Block keys once: needed for the index checksums and the scan.
    Map<Integer, BlockKey> blockKeys = new HashMap<>();
    if (m.sealed()) {
      for (int n : files.keySet()) {
        Path keyFile = msgs.resolve(n + ".key");
        Outcome<BlockKey> k = Files.exists(keyFile)
            ? BlockKey.open(keys.key(), m.account, m.stream, n, Files.readAllBytes(keyFile), m.opened.cipher())
            : Outcome.bad(0, n + ".key is missing");
        if (k.ok()) blockKeys.put(n, k.value());
        else damaged.add(new Damaged(n, -1, "cannot be decrypted: " + k.damage().why()));
      }
    }
    java.util.function.IntFunction<Long> lastChecksum = n -> {
      Path f = files.get(n);
      if (f == null || (m.sealed() && !blockKeys.containsKey(n))) return null;
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        long size = ch.size();
        java.nio.ByteBuffer tail = java.nio.ByteBuffer.allocate((int) Math.min(size, MsgBlock.HASH));
        ch.read(tail, Math.max(0, size - MsgBlock.HASH));
        return MsgBlock.lastChecksum(tail.array(), size, blockKeys.get(n));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };

    // What the server trusts: index.db (2.10+), else each block's N.idx (2.9), else the records.
    StreamIndex index = null;
    Path db = msgs.resolve(INDEX_DB);
    boolean hasDb = names.contains(INDEX_DB);
    if (hasDb) {
      Outcome<StreamIndex> r = StreamIndex.read(m.stream, Files.readAllBytes(db), m.opened);
      int last = r.ok() ? r.value().lastBlock() : 0;
      String why = !r.ok() ? r.damage().why()
          : files.containsKey(last) && m.sealed() && !blockKeys.containsKey(last) ? "block " + last + " cannot be decrypted"
          : r.value().whyNotTrusted(lastChecksum.apply(last), files.isEmpty() ? 0 : files.lastKey());
      if (why == null) index = r.value();
      else indexNote = "index.db not used (" + why + "): numbers from the records, as the server rebuilds them; a purge "
          + "of the stream's head that left no tombstone (2.10) is known only to index.db and is not seen";
    }
    java.util.Set<Long> gone = new java.util.HashSet<>();
    Map<Integer, Long> floors = new HashMap<>(); // per block: records below were removed (2.9 N.idx)
    List<long[]> ranges = new ArrayList<>(); // per block as its index has it: first and last sequence
    boolean allIdx = index == null && !files.isEmpty();
    long idxMsgs = 0, idxBytes = 0, idxFirst = 0, idxFirstTs = 0, idxLast = 0, idxLastTs = 0;
    if (index != null) {
      for (StreamIndex.Block b : index.blocks()) {
        for (long d : b.deleted()) gone.add(d);
        ranges.add(new long[] {b.firstSeq(), b.lastSeq()});
      }
    } else {
      for (int n : files.keySet()) {
        Path idxFile = msgs.resolve(n + ".idx");
        BlockIndex29 idx = null;
        if (names.contains(n + ".idx") && (!m.sealed() || blockKeys.containsKey(n))) {
          Outcome<BlockIndex29> r = BlockIndex29.read(Files.readAllBytes(idxFile), blockKeys.get(n));
          Long lchk = lastChecksum.apply(n);
          if (r.ok() && lchk != null && lchk == r.value().lastChecksum()) idx = r.value();
        }
        if (idx == null) {
          allIdx = false;
          continue;
        }
        floors.put(n, idx.firstSeq());
        for (long d : idx.deleted()) gone.add(d);
        ranges.add(new long[] {idx.firstSeq(), idx.lastSeq()});
        if (idx.messages() > 0) {
          if (idxMsgs == 0) {
            idxFirst = idx.firstSeq();
            idxFirstTs = idx.firstTs();
          }
          idxMsgs += idx.messages();
          idxBytes += idx.bytes();
          idxLastTs = idx.lastTs();
        }
        idxLast = Math.max(idxLast, idx.lastSeq());
      }
    }

    JsonNode cfg = m.config();
    boolean v29 = writtenBy29(() -> cfg, hasDb, !hasDb
        && files.keySet().stream().anyMatch(n -> names.contains(n + ".idx")));
    List<List<String[]>> filters = new ArrayList<>();
    List<ConsumerState> states = new ArrayList<>();
    for (MetaAsset c : s.consumers()) {
      Path odat = c.dir().resolve(ConsumerState.FILE);
      String why = null;
      ConsumerState st = null;
      if (c.sealed() && c.opened == null) why = "encrypted: give the JetStream key";
      else if (!Files.exists(odat, LinkOption.NOFOLLOW_LINKS)) why = "no o.dat: the server starts it from its config";
      else {
        Outcome<ConsumerState> r = ConsumerState.decode(Files.readAllBytes(odat), c.sealed() ? c.opened : null);
        if (r.ok()) st = r.value();
        else why = "o.dat damaged at offset " + r.damage().offset() + ": " + r.damage().why();
      }
      states.add(st);
      filters.add(filters(c));
      consumers.add(Position.of(c, st, why));
    }
    boolean interest = "interest".equals(MetaAsset.text(cfg, "retention"));
    FirstStart.Rules rules = FirstStart.Rules.of(cfg, v29, interest, states, filters, nowNanos);
    boolean filtered = filters.stream().anyMatch(f -> !f.isEmpty());
    boolean maybeExpired = rules.maxAge() > 0 && (index != null ? index.messages() > 0 && index.firstTs() <= rules.cutoff() : true);
    // The totals the count and byte limits see, when an index gives them before any record is read.
    long[] known = index != null ? new long[] {index.messages(), index.bytes()} : allIdx ? new long[] {idxMsgs, idxBytes} : null;
    // Without an index the server rebuilds from the records, where deletes it kept only in memory or in the lost
    // index are back: it then applies the per-subject limit and interest retention again at load.
    boolean scan = verify || filtered || maybeExpired || rules.interestCanRemove() || (index == null && !allIdx)
        || (known != null && rules.over(known[0], known[1]));
    boolean perSubjectCounted = rules.perSubject() > 0 && index == null;

    long[] pending = new long[states.size()];
    // A trusted index gives the counts the server loads (a record whose hash fails is counted: it is read from no record).
    if (index != null) {
      set(index.messages(), index.bytes(), index.firstSeq(), index.firstTs(), index.lastSeq(), index.lastTs(), "index.db");
    } else if (allIdx) {
      set(idxMsgs, idxBytes, idxMsgs == 0 ? idxLast + 1 : idxFirst, idxFirstTs, idxLast, idxLastTs, "N.idx");
    }
    if (!scan) {
      // Unfiltered consumers only here: what each block holds above the consumer's delivered sequence.
      for (int k = 0; k < states.size(); k++) {
        if (states.get(k) == null) continue;
        long from = Math.max(states.get(k).delivered().streamSeq() + 1, firstSeq);
        for (long[] range : ranges) {
          long lo = Math.max(range[0], from), hi = range[1];
          if (hi >= lo) pending[k] += hi - lo + 1 - gone.stream().filter(d -> d >= lo && d <= hi).count();
        }
      }
    } else {
      // 2.10+ rebuilding from records removes what its tombstones name, wherever they are. A tombstone comes after
      // the record it removes: a pass that meets one it did not apply yet is run again with it (no trusted index only).
      // A pass whose limits did not know the totals they turned out to exceed is run again with them.
      boolean tombstonesCount = index == null && floors.isEmpty();
      java.util.Set<Long> tombstoned = new java.util.HashSet<>(), seen = new java.util.HashSet<>();
      long indexFloor = index == null ? 0 : index.firstSeq();
      long[] acc = new long[6]; // messages, bytes, first, firstTs, lastTs, highest
      List<Damaged> found = new ArrayList<>();
      List<Integer> readable = files.keySet().stream().filter(n -> !m.sealed() || blockKeys.containsKey(n)).toList();
      // A block no index vouches for is rebuilt from its records, hashed, and cut at the first bad one (2.9 does not
      // hash the records it already knows deleted).
      java.util.Set<Integer> rebuilt = index != null ? java.util.Set.of()
          : readable.stream().filter(n -> !floors.containsKey(n)).collect(Collectors.toSet());
      FirstStart start;
      long droppedMsgs, droppedBytes;
      while (true) {
        java.util.Arrays.fill(acc, 0);
        java.util.Arrays.fill(pending, 0);
        droppedMsgs = droppedBytes = 0;
        found.clear();
        seen.clear();
        start = new FirstStart(rules, known, perSubjectCounted);
        // Blocks are read and hashed ahead on every core; their records are taken here in block order.
        try (ReadAhead<Integer, Scanned> ahead = new ReadAhead<>(readable, n -> {
          List<MsgBlock.Record> records = new ArrayList<>();
          MsgBlock.Scan sc = MsgBlock.scan(m.stream, n, BlockFile.read(files.get(n)), blockKeys.get(n),
              verify || rebuilt.contains(n), records::add);
          return new Scanned(sc, records);
        })) {
          for (int n : readable) {
            Scanned scanned = ahead.next();
            long floor = Math.max(indexFloor, floors.getOrDefault(n, 0L));
            boolean rebuiltHere = rebuilt.contains(n);
            long cutAt = -1, cutMsgs = 0, cutBytes = 0; // the first bad record's offset (-1: none yet), what follows it
            for (MsgBlock.Record r : scanned.records()) {
              boolean bad = r.hash() == MsgBlock.Hash.MISMATCH && !(v29 && r.kind() == MsgBlock.Kind.DELETED);
              if (rebuiltHere && bad && cutAt < 0) cutAt = r.offset();
              boolean dropped = cutAt >= 0;
              if (tombstonesCount && r.kind() == MsgBlock.Kind.TOMBSTONE && !dropped) seen.add(r.seq());
              if (r.kind() != MsgBlock.Kind.MESSAGE || r.hash() == MsgBlock.Hash.MISMATCH || r.seq() < floor
                  || gone.contains(r.seq()) || tombstoned.contains(r.seq())) continue;
              if (acc[0]++ == 0) {
                acc[2] = r.seq();
                acc[3] = r.ts();
              }
              acc[1] += r.length();
              acc[4] = r.ts();
              for (int k = 0; k < pending.length; k++) {
                ConsumerState st = states.get(k);
                if (st != null && r.seq() > st.delivered().streamSeq() && matches(filters.get(k), r.subject())) pending[k]++;
              }
              if (dropped) {
                cutMsgs++;
                cutBytes += r.length();
              } else {
                start.accept(r.seq(), r.ts(), r.length(), r.subject());
              }
            }
            MsgBlock.Scan sc = scanned.scan();
            acc[5] = Math.max(acc[5], sc.highestSeq());
            droppedMsgs += cutMsgs;
            droppedBytes += cutBytes;
            for (Damage d : sc.damage()) {
              long dropped = !rebuiltHere ? -1 : d.offset() == cutAt ? cutMsgs : 0;
              found.add(new Damaged(n, sc.unreadable() == null ? d.offset() : -1, d.why(), dropped));
            }
          }
        }
        long liveMsgs = acc[0] - droppedMsgs, liveBytes = acc[1] - droppedBytes;
        if (tombstoned.containsAll(seen) && start.knew(liveMsgs, liveBytes)) break;
        tombstoned.addAll(seen);
        known = new long[] {liveMsgs, liveBytes};
      }
      damaged.addAll(found);
      if (index == null && !allIdx) {
        long last = Math.max(acc[5], idxLast);
        set(acc[0], acc[1], acc[0] == 0 ? last + 1 : acc[2], acc[3], last, acc[4], "records");
      }
      atStart = start.removed(droppedMsgs);
    }
    for (int k = 0; k < consumers.size(); k++) {
      if (states.get(k) != null) consumers.set(k, consumers.get(k).withNumPending(pending[k]));
    }
    if (interest && s.consumers().isEmpty() && messages > 0) {
      interestNote = "interest retention and no consumer on disk: the first start removes none of its " + messages
          + " message(s) (only a consumer's acknowledgement removes one); they stay until consumers are created again";
    }
  }

  private void set(long msgs, long bytes, long first, long firstTs, long last, long lastTs, String source) {
    this.messages = msgs;
    this.bytes = bytes;
    this.firstSeq = msgs == 0 && last == 0 ? 0 : first; // a stream never written to is 0..0, as the server has it
    this.firstTs = msgs == 0 ? 0 : firstTs;
    this.lastSeq = last;
    this.lastTs = msgs == 0 ? 0 : lastTs;
    this.source = source;
  }
}

/**
 * Counts and rate on stderr while a long run reads or writes a store (tens of thousands of streams take a while),
 * never on stdout: --json output stays clean. Nothing for a run shorter than about two seconds. On a terminal one
 * line redrawn in place, like the nats CLI's bars; otherwise (a log, a pipe) a plain line every few seconds.
 */
final class StepProgress implements AutoCloseable {
  /** Milliseconds before the first line (default 2000): tests set it low. */
  static final String AFTER_ENV = "JS_RECOVER_PROGRESS_AFTER_MS";
  private static final long REDRAW_MILLIS = 250, LOG_MILLIS = 5000;
  private static volatile PrintWriter err; // null: silent (--no-progress)

  /** Set by each command that reads a store, before it reads: where progress goes, or nowhere. */
  static void configure(PrintWriter to, boolean enabled) { err = enabled ? to : null; }

  private final String label, unit;
  private final long total, started = System.nanoTime();
  private final java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
  private final PrintWriter to = err;
  private final boolean terminal = to != null && stderrIsTerminal();
  private final Thread ticker;
  private volatile boolean shown;

  /** "reading: 1,234 of 10,000 streams (2,345/s)": {@code label}, {@code total} {@code unit}. */
  StepProgress(String label, long total, String unit) {
    this.label = label;
    this.total = total;
    this.unit = unit;
    ticker = to == null ? null : new Thread(this::tick, "progress");
    if (ticker != null) {
      ticker.setDaemon(true);
      ticker.start();
    }
  }

  void step() { done.incrementAndGet(); }

  private void tick() {
    long after = 2000;
    try {
      String env = System.getenv(AFTER_ENV);
      if (env != null) after = Long.parseLong(env);
      Thread.sleep(after);
      while (true) {
        print(false);
        Thread.sleep(terminal ? REDRAW_MILLIS : LOG_MILLIS);
      }
    } catch (InterruptedException | NumberFormatException stop) {
      // the run ended (or the variable is not a number: no progress rather than a failure)
    }
  }

  private synchronized void print(boolean last) {
    double secs = Math.max((System.nanoTime() - started) / 1e9, 1e-3);
    long n = done.get();
    String line = String.format(java.util.Locale.ROOT, "js-recover: %s: %,d of %,d %s (%,.0f/s)%s", label, n, total,
        unit, n / secs, last ? String.format(java.util.Locale.ROOT, " in %.1f s", secs) : "");
    to.print(terminal ? "\r" + line + (last ? "\n" : "   ") : line + "\n");
    to.flush();
    shown = true;
  }

  @Override public void close() {
    if (ticker == null) return;
    ticker.interrupt();
    try {
      ticker.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (shown) print(true);
  }

  /** Whether fd 2 is a terminal (Linux: /proc/self/fd/2 names a tty); Java has no isatty for stderr. */
  static boolean stderrIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }
}

/** Reads a store twice, a moment apart: a store a server still writes must not be prepared. */
final class SettleCheck {
  static final long SETTLE_MILLIS = 1000;

  static List<Path> changedSince(Store store, long walkStartedNanos) {
    long waited = (System.nanoTime() - walkStartedNanos) / 1_000_000;
    if (waited < SETTLE_MILLIS) {
      try {
        Thread.sleep(SETTLE_MILLIS - waited);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    List<Path> changed = Collections.synchronizedList(new ArrayList<>());
    store.raftStamps.forEach((raft, stamp) -> {
      List<Path> groups;
      try {
        groups = Folder.entries(raft);
      } catch (IOException unlisted) {
        groups = List.of(); // stamped as nothing, as the walker stamped a folder it could not list
      }
      if (FileStamp.ofEntries(groups, () -> {}) != stamp) changed.add(raft);
    });
    StoreWalker.parallel(store.assets(), a -> {
      if (a.stampNow() != a.stamp) changed.add(a.dir());
    });
    Collections.sort(changed);
    return changed;
  }
}

/**
 * One js-recover at a time on a store, and none while another process uses it. prepare, verify and every
 * command that writes or starts a server hold this from before they read the store until they end:
 * {@code try (StoreLock lock = StoreLock.acquire(located.storeDir, "prepare")) { ... }}. The lock is an
 * exclusive lock on {@code <store_dir>/js-recover.lock}, which says who holds it and is removed on release.
 */
final class StoreLock implements AutoCloseable {
  static final String FILE = "js-recover.lock";

  private final Path file;
  private final FileChannel channel;

  private StoreLock(Path file, FileChannel channel) {
    this.file = file;
    this.channel = channel;
  }

  /**
   * Locks the store for {@code command}, or refuses, naming the js-recover or the process that has it. A store
   * this user cannot write in at all gets no lock file: nothing of ours can change it, and the command's own
   * checks say what it cannot write.
   */
  static StoreLock acquire(Path storeDir, String command) throws Refusal {
    Path file = storeDir.resolve(FILE);
    byte[] holder = holder(command);
    for (;;) {
      FileChannel ch = null;
      try {
        ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);
        if (tryLock(ch, false) == null) throw heldBy(file);
        ch.truncate(0).write(java.nio.ByteBuffer.wrap(holder));
        ch.force(true);
        if (!stillTheLockFile(file)) {
          ch.close();
          continue;
        }
        StoreLock lock = new StoreLock(file, ch);
        try {
          refuseOtherUsers(storeDir);
        } catch (Refusal inUse) {
          lock.close();
          throw inUse;
        }
        return lock;
      } catch (Refusal r) {
        closeQuietly(ch);
        throw r;
      } catch (IOException e) {
        closeQuietly(ch);
        if (!Files.isWritable(storeDir)) {
          // Nothing can be written here by this user (read-only file system, another owner): no run of ours
          // changes the store, and the command's own checks say what it cannot write and why.
          refuseOtherUsers(storeDir);
          return new StoreLock(null, null);
        }
        throw new Refusal("cannot lock the store: " + file + ": " + Refusal.reason(e) + ". js-recover " + command
            + " must be able to write in " + storeDir + ": run it as the store's owner (the nats user) or root; nothing "
            + "was changed.");
      }
    }
  }

  /** For what writes nothing (a dry run): refuses as {@link #acquire} would, creating no lock file. */
  static void refuseIfInUse(Path storeDir) throws Refusal {
    Path file = storeDir.resolve(FILE);
    if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        if (tryLock(ch, true) == null) throw heldBy(file);
      } catch (IOException e) {
        // unreadable or gone: no run of ours holds it that we could name
      }
    }
    refuseOtherUsers(storeDir);
  }

  /** Refuses when a process other than this one (a nats-server, say) has files open in the store. */
  static void refuseOtherUsers(Path storeDir) throws Refusal {
    List<StoreUser> users = StoreUser.of(storeDir);
    if (users.isEmpty()) return;
    throw new Refusal("the store " + storeDir + " is in use by another process:\n  "
        + users.stream().map(StoreUser::describe).collect(Collectors.joining("\n  "))
        + "\nA nats-server must be stopped before its store is prepared or verified (a survivor that lost quorum "
        + "takes no writes, so its store looks still). Stop it (or leave the folder, for a shell) and run again; "
        + "nothing was changed.");
  }

  /**
   * The previous holder removes the file as it lets go: a lock taken on that removed file is no lock. The path
   * must name the file this process has open, compared by stat alone: opening and closing the file again would
   * drop the lock (POSIX releases a process's locks on a file when it closes any descriptor of it).
   */
  private static boolean stillTheLockFile(Path file) {
    Object current;
    try {
      current = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    } catch (IOException removed) {
      return false;
    }
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      for (Path fd : fds) {
        try {
          if (current.equals(Files.readAttributes(fd, BasicFileAttributes.class).fileKey())) return true;
        } catch (IOException closedMeanwhile) {
          // the stream's own descriptor, say
        }
      }
      return false;
    } catch (IOException notLinux) {
      return true; // no /proc: the race it guards against needs a removal within this very call
    }
  }

  private static java.nio.channels.FileLock tryLock(FileChannel ch, boolean shared) throws IOException {
    try {
      return ch.tryLock(0, Long.MAX_VALUE, shared);
    } catch (java.nio.channels.OverlappingFileLockException heldInThisProcess) {
      return null;
    }
  }

  private static byte[] holder(String command) {
    ObjectNode h = Json.NODES.objectNode().put("pid", ProcessHandle.current().pid()).put("command", command)
        .put("started", Instant.now().toString()).put("run", java.util.UUID.randomUUID().toString());
    try {
      return Json.MAPPER.writeValueAsBytes(h);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Refusal heldBy(Path file) {
    JsonNode h = null;
    // The holder writes its name just after it takes the lock: a file read empty or half-written is read again for
    // up to a second, so the refusal names the holder.
    for (int attempt = 0; attempt < 20 && (h == null || !h.has("pid")); attempt++) {
      if (attempt > 0) sleepQuietly(50);
      try {
        h = Json.MAPPER.readTree(readQuietly(file));
      } catch (IOException | RuntimeException beingWritten) {
        h = null;
      }
    }
    String who = h == null || !h.has("pid") ? "another js-recover (see " + file + ")"
        : "another js-recover " + h.path("command").asText() + " (pid " + h.path("pid").asText() + ", started "
            + h.path("started").asText() + ")";
    return new Refusal(who + " holds the store " + file.getParent() + "; wait for it to finish and run again. "
        + "Nothing was changed.");
  }

  private static byte[] readQuietly(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      if (ch != null) ch.close();
    } catch (IOException ignored) {
      // closing releases the lock either way
    }
  }

  /** Removes the file, then lets go: whoever locks the removed file sees it is no longer the lock file. */
  @Override public void close() {
    if (file == null) return;
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // a stale lock file is harmless: the lock is the kernel's, released below
    }
    closeQuietly(channel);
  }
}

/**
 * A process using the store, read from /proc (Linux). A nats-server shows by a file it has open there (message
 * blocks and Raft logs while it writes), by its working directory, or, idle (then it holds no file open), by what
 * it was started on: a path in the store on its command line ({@code -c <store>/recovery.conf},
 * {@code --store_dir <store>}) or the store_dir of the config file it was given. This process, its ancestors
 * (the operator's shell, sudo, a launcher waiting for it) and other js-recover runs (the lock keeps those apart)
 * do not count. Other users' files and working directories are seen only by root, their command lines by anyone.
 */
record StoreUser(long pid, String commandLine, String how) {
  String describe() { return "pid " + pid + " (" + commandLine + ") " + how; }

  private static final java.util.regex.Pattern STORE_DIR =
      java.util.regex.Pattern.compile("(?i)(?:^|[\\s{,;])store_?dir\\s*[:=]?\\s*(?:\"([^\"]*)\"|'([^']*)'|([^\\s#;,}]+))");

  static List<StoreUser> of(Path storeDir) {
    java.util.Set<Long> notOthers = new java.util.HashSet<>();
    for (var p = java.util.Optional.of(ProcessHandle.current()); p.isPresent(); p = p.get().parent()) notOthers.add(p.get().pid());
    List<StoreUser> users = new ArrayList<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), e -> e.getFileName().toString().matches("\\d+"))) {
      for (Path proc : procs) {
        long pid = Long.parseLong(proc.getFileName().toString());
        if (notOthers.contains(pid)) continue;
        List<String> args = args(proc);
        if (args.contains(JsRecover.class.getName())) continue; // another js-recover: the lock keeps runs apart
        String how = using(storeDir, proc, args);
        if (how != null) users.add(new StoreUser(pid, args.isEmpty() ? "?" : String.join(" ", args), how));
      }
    } catch (IOException noProc) {
      // not Linux: the settle check is all there is
    }
    return users;
  }

  private static String using(Path storeDir, Path proc, List<String> args) {
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
      for (Path fd : fds) {
        Path open = linkTarget(fd);
        if (open != null && open.startsWith(storeDir) && !open.equals(storeDir.resolve(StoreLock.FILE))) {
          return "has " + open + " open";
        }
      }
    } catch (IOException | SecurityException goneOrNotOurs) {
      // exited meanwhile, or another user's: its command line still tells
    }
    Path cwd = linkTarget(proc.resolve("cwd"));
    if (cwd != null && cwd.startsWith(storeDir)) return "works in " + cwd;
    Path base = cwd != null ? cwd : Path.of("/"); // relative arguments are relative to its working dir
    boolean natsServer = !args.isEmpty() && args.get(0).contains("nats-server");
    for (int i = 1; i < args.size(); i++) {
      String arg = args.get(i), value = arg.substring(arg.indexOf('=') + 1);
      Path p = path(base, value);
      if (p != null && p.startsWith(storeDir)) return "was started on it (" + arg + ")";
      boolean config = arg.startsWith("--config=") || (i > 1 && List.of("-c", "--config").contains(args.get(i - 1)));
      Path dir = natsServer && config && p != null ? configuredStoreDir(p, base) : null;
      if (dir != null && dir.startsWith(storeDir)) return "serves it (store_dir " + dir + " in " + p + ")";
    }
    return null;
  }

  private static Path configuredStoreDir(Path config, Path base) {
    try {
      var m = STORE_DIR.matcher(Files.readString(config));
      if (!m.find()) return null;
      return path(base, m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3));
    } catch (IOException | RuntimeException unreadable) {
      return null;
    }
  }

  /** {@code value} as a path seen from {@code base}, its links resolved when it exists; null when not a path. */
  private static Path path(Path base, String value) {
    try {
      Path p = base.resolve(value).normalize();
      return Files.exists(p) ? p.toRealPath() : p;
    } catch (IOException | java.nio.file.InvalidPathException | SecurityException notAPath) {
      return null;
    }
  }

  private static Path linkTarget(Path link) {
    try {
      return Files.readSymbolicLink(link);
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return null;
    }
  }

  private static List<String> args(Path proc) {
    try {
      String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8);
      return cmdline.isEmpty() ? List.of() : List.of(cmdline.split("\0"));
    } catch (IOException gone) {
      return List.of();
    }
  }
}

final class Json {
  /** Numbers exactly as stored: uint64 limits above Long.MAX_VALUE stay BigInteger. */
  static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

  static final JsonNodeFactory NODES = JsonNodeFactory.instance;
}

/**
 * meta.inf read the way nats-server reads it, with Go's encoding/json, where that differs from
 * Jackson: no byte order mark, nothing after the object, invalid UTF-8 in strings read as U+FFFD,
 * and members matched to fields by name case-insensitively when no field has the exact name, the
 * last of several matching members winning (a null one only where it resets a pointer or slice).
 * Only the fields js-recover reads are folded here (a consumer's "Name" and "name" are two
 * fields; none of these has such a twin).
 */
final class GoJson {
  static final List<String> FIELDS = List.of("num_replicas", "placement", "retention", "storage", "sealed", "mirror", "sources");
  private static final com.fasterxml.jackson.databind.ObjectReader STRICT =
      Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** A meta.inf decoded: its config as the server reads it, or why the server cannot read it. */
  record Decoded(ObjectNode config, String unreadable) {}

  static Decoded decode(byte[] json) {
    if (json.length >= 3 && (json[0] & 0xff) == 0xef && (json[1] & 0xff) == 0xbb && (json[2] & 0xff) == 0xbf) {
      return new Decoded(null, "starts with a UTF-8 byte order mark, which nats-server's JSON decoder refuses");
    }
    String text = new String(json, StandardCharsets.UTF_8);
    try {
      JsonNode parsed = STRICT.readTree(text);
      return parsed != null && parsed.isObject() ? new Decoded(fold((ObjectNode) parsed, json), null)
          : new Decoded(null, "is not a JSON object");
    } catch (IOException e) {
      try {
        if (Json.MAPPER.readTree(text) != null) {
          return new Decoded(null, "has data after the end of its JSON object, which nats-server before 2.11.9 refuses "
              + "(later ones ignore it)");
        }
      } catch (IOException torn) {
        // torn or not JSON at all: said below
      }
      return new Decoded(null, "is torn or not JSON (" + StoreWalker.firstLine(e.getMessage()) + ")");
    }
  }

  /** The config with each field in FIELDS holding the value the server decodes for it. */
  private static ObjectNode fold(ObjectNode config, byte[] json) throws IOException {
    List<MetaRewriter.Member> members = MetaRewriter.members(json);
    for (String field : FIELDS) {
      MetaRewriter.Member kept = kept(json, members, field), jacksons = null;
      for (MetaRewriter.Member m : members) if (m.name().equals(field)) jacksons = m; // Jackson keeps the last exact name
      if (kept != null && kept != jacksons) config.set(field, Json.MAPPER.readTree(kept.value(json)));
    }
    return config;
  }

  /**
   * Whether Go's decoder puts this member into the field (an ASCII name in lower case): ASCII letters
   * in any case, and the two runes whose case folding reaches ASCII, long s and the Kelvin sign (Java's
   * equalsIgnoreCase would also take a dotless i, which Go does not).
   */
  static boolean matches(MetaRewriter.Member m, String field) {
    String name = m.name();
    if (name.length() != field.length()) return false;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i), f = field.charAt(i);
      boolean same = c < 0x80 ? (c >= 'A' && c <= 'Z' ? (char) (c + 32) : c) == f
          : c == '\u017f' && f == 's' || c == '\u212a' && f == 'k';
      if (!same) return false;
    }
    return true;
  }

  /** Fields Go decodes into a pointer or slice, which a null member resets; into any other type null does nothing. */
  private static final java.util.Set<String> NULLABLE = java.util.Set.of("placement", "mirror", "sources");

  /**
   * The member whose value the server's decoder keeps for this field: the last that matches it,
   * passing over a null for a field that null leaves as it was.
   */
  static MetaRewriter.Member kept(byte[] json, List<MetaRewriter.Member> members, String field) {
    MetaRewriter.Member last = null;
    for (MetaRewriter.Member m : members) {
      if (matches(m, field) && (NULLABLE.contains(field) || !m.value(json).equals("null"))) last = m;
    }
    return last;
  }

  /**
   * A member the server fails to decode into its field (Go reports the first type error and the
   * server skips the asset, whichever duplicate it was in), or null.
   */
  static String whyRefused(byte[] json, AssetKind kind) {
    for (MetaRewriter.Member m : MetaRewriter.members(json)) {
      String v = m.value(json);
      if (matches(m, "num_replicas") && !v.equals("null") && !isInt64(v)) {
        return "\"" + m.name() + "\" is " + v + ", not a whole number the server reads as an int";
      }
      if (kind == AssetKind.STREAM && matches(m, "placement") && !v.equals("null") && !v.startsWith("{")) { // consumers have none
        return "\"" + m.name() + "\" is " + v + ", not an object";
      }
    }
    return null;
  }

  private static final java.util.regex.Pattern INTEGER = java.util.regex.Pattern.compile("-?(0|[1-9][0-9]*)");

  private static boolean isInt64(String v) {
    if (!INTEGER.matcher(v).matches()) return false;
    BigInteger n = new BigInteger(v);
    return n.bitLength() < 64;
  }
}

// =================================================================================================
// 3. Checksum
// =================================================================================================

/**
 * HighwayHash-64 (Google's reference algorithm, as minio/highwayhash implements it for Go) with a
 * 256-bit key. nats-server checksums meta.inf with it (meta.sum); the JDK and
 * zero-allocation-hashing have no HighwayHash, so it is written here against the library's
 * {@link net.openhft.hashing.Access} so that byte arrays, ByteBuffers and native memory all work.
 *
 * <p>Primitive overloads (hashLong, hashInt, ...) follow the library's contract: the value's bytes
 * in native order, which is little-endian on every platform this tool runs on (x86-64, aarch64).
 */
final class HighwayHash64 extends net.openhft.hashing.LongHashFunction {
  private static final long serialVersionUID = 1L;

  private static final long INIT0_0 = 0xdbe6d5d5fe4cce2fL, INIT0_1 = 0xa4093822299f31d0L,
      INIT0_2 = 0x13198a2e03707344L, INIT0_3 = 0x243f6a8885a308d3L;
  private static final long INIT1_0 = 0x3bd39e10cb0ef593L, INIT1_1 = 0xc0acf169b5f18a8cL,
      INIT1_2 = 0xbe5466cf34e90c6cL, INIT1_3 = 0x452821e638d01377L;
  private static final boolean NATIVE_LE =
      java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN;

  private final long key0, key1, key2, key3;
  private final long voidHash;

  HighwayHash64(byte[] key32) {
    if (key32 == null || key32.length != 32) {
      throw new IllegalArgumentException("HighwayHash needs a 32-byte key");
    }
    java.nio.ByteBuffer key = java.nio.ByteBuffer.wrap(key32).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    key0 = key.getLong(0);
    key1 = key.getLong(8);
    key2 = key.getLong(16);
    key3 = key.getLong(24);
    voidHash = newState().finish();
  }

  /**
   * The content of meta.sum for a meta.inf: the hex of the 8 digest bytes, which Go's
   * highwayhash Sum appends little-endian. The key is SHA-256 of the stream name for a stream,
   * of {@code <stream>/<consumer>} for a consumer.
   */
  static String metaSum(String checksumKeyName, byte[] metaInf) {
    long hash = keyedBy(checksumKeyName).hashBytes(metaInf);
    return java.util.HexFormat.of().toHexDigits(Long.reverseBytes(hash));
  }

  /**
   * The hash the server keys with SHA-256 of a name: meta.sum ({@code <stream>}, {@code <stream>/<consumer>}),
   * index.db ({@code <stream>}), message records ({@code <stream>-<block>}).
   */
  static HighwayHash64 keyedBy(String name) {
    try {
      return new HighwayHash64(java.security.MessageDigest.getInstance("SHA-256")
          .digest(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  @Override
  public <T> long hash(T input, net.openhft.hashing.Access<T> access, long off, long len) {
    net.openhft.hashing.Access<T> in = access.byteOrder(input, java.nio.ByteOrder.LITTLE_ENDIAN);
    State s = newState();
    long end = off + (len & ~31L);
    for (long p = off; p < end; p += 32) {
      s.update(in.i64(input, p), in.i64(input, p + 8), in.i64(input, p + 16), in.i64(input, p + 24));
    }
    int size = (int) (len & 31);
    if (size == 0) return s.finish();

    // The final packet: whole 4-byte groups in place, then the "length padding" of the
    // reference (Load3 / last4), which is part of the hash definition.
    int whole = size & ~3;
    long p0 = lane(input, in, end, whole, 0), p1 = lane(input, in, end, whole, 8);
    long p2 = lane(input, in, end, whole, 16), p3 = lane(input, in, end, whole, 24);
    if ((size & 16) != 0) {
      p3 |= in.u32(input, end + size - 4) << 32;
    } else {
      int mod4 = size & 3;
      if (mod4 != 0) {
        long rem = end + whole;
        p2 = in.u8(input, rem) | (long) in.u8(input, rem + (mod4 >> 1)) << 8
            | (long) in.u8(input, rem + mod4 - 1) << 16;
      }
    }
    s.remainder(size, p0, p1, p2, p3);
    return s.finish();
  }

  @Override
  public long hashBytes(java.nio.ByteBuffer input) {
    return hashBytes(input, input.position(), input.remaining());
  }

  /**
   * The library reads direct and read-only buffers through sun.nio.ch.DirectBuffer, which Java 17
   * exports only with --add-exports (IllegalAccessError otherwise); the buffer's own accessors need
   * no flag. They stop at the limit, where the library's contract stops at the capacity.
   */
  @Override
  public long hashBytes(java.nio.ByteBuffer input, int off, int len) {
    if (input.hasArray()) return super.hashBytes(input, off, len);
    java.util.Objects.checkFromIndexSize(off, len, input.capacity());
    java.nio.ByteBuffer whole = input.limit() == input.capacity() ? input : input.duplicate().clear();
    return hash(whole, net.openhft.hashing.Access.toByteBuffer(), off, len);
  }

  /** Lane bytes [at, at+8) of the final packet, of which only the first {@code whole} are data. */
  private static <T> long lane(T input, net.openhft.hashing.Access<T> in, long base, int whole, int at) {
    if (whole >= at + 8) return in.i64(input, base + at);
    if (whole >= at + 4) return in.u32(input, base + at);
    return 0;
  }

  @Override
  public long hashLong(long input) {
    State s = newState();
    s.remainder(8, NATIVE_LE ? input : Long.reverseBytes(input), 0, 0, 0);
    return s.finish();
  }

  @Override
  public long hashInt(int input) {
    State s = newState();
    s.remainder(4, Integer.toUnsignedLong(NATIVE_LE ? input : Integer.reverseBytes(input)), 0, 0, 0);
    return s.finish();
  }

  @Override
  public long hashShort(short input) {
    int v = NATIVE_LE ? input : Short.reverseBytes(input);
    long b0 = v & 0xff, b1 = (v >>> 8) & 0xff;
    State s = newState();
    s.remainder(2, 0, 0, b0 | b1 << 8 | b1 << 16, 0);
    return s.finish();
  }

  @Override
  public long hashChar(char input) {
    return hashShort((short) input);
  }

  @Override
  public long hashByte(byte input) {
    long b = input & 0xff;
    State s = newState();
    s.remainder(1, 0, 0, b | b << 8 | b << 16, 0);
    return s.finish();
  }

  @Override
  public long hashVoid() {
    return voidHash;
  }

  private State newState() {
    return new State(key0, key1, key2, key3);
  }

  /** The four 4-lane vectors of the reference's portable implementation, one field per lane. */
  private static final class State {
    long v0_0, v0_1, v0_2, v0_3, v1_0, v1_1, v1_2, v1_3;
    long mul0_0 = INIT0_0, mul0_1 = INIT0_1, mul0_2 = INIT0_2, mul0_3 = INIT0_3;
    long mul1_0 = INIT1_0, mul1_1 = INIT1_1, mul1_2 = INIT1_2, mul1_3 = INIT1_3;

    State(long k0, long k1, long k2, long k3) {
      v0_0 = INIT0_0 ^ k0;
      v0_1 = INIT0_1 ^ k1;
      v0_2 = INIT0_2 ^ k2;
      v0_3 = INIT0_3 ^ k3;
      v1_0 = INIT1_0 ^ rot32(k0);
      v1_1 = INIT1_1 ^ rot32(k1);
      v1_2 = INIT1_2 ^ rot32(k2);
      v1_3 = INIT1_3 ^ rot32(k3);
    }

    // update is split in two so that each part stays under HotSpot's inlining limit for hot code
    // (FreqInlineSize, 325 bytes of bytecode): the packet loop then runs without calls, about 15%
    // faster, as fast as the same loop written with local variables.
    void update(long a0, long a1, long a2, long a3) {
      multiply(a0, a1, a2, a3);
      zipperMerge();
    }

    private void multiply(long a0, long a1, long a2, long a3) {
      v1_0 += mul0_0 + a0;
      v1_1 += mul0_1 + a1;
      v1_2 += mul0_2 + a2;
      v1_3 += mul0_3 + a3;
      mul0_0 ^= (v1_0 & 0xffffffffL) * (v0_0 >>> 32);
      mul0_1 ^= (v1_1 & 0xffffffffL) * (v0_1 >>> 32);
      mul0_2 ^= (v1_2 & 0xffffffffL) * (v0_2 >>> 32);
      mul0_3 ^= (v1_3 & 0xffffffffL) * (v0_3 >>> 32);
      v0_0 += mul1_0;
      v0_1 += mul1_1;
      v0_2 += mul1_2;
      v0_3 += mul1_3;
      mul1_0 ^= (v0_0 & 0xffffffffL) * (v1_0 >>> 32);
      mul1_1 ^= (v0_1 & 0xffffffffL) * (v1_1 >>> 32);
      mul1_2 ^= (v0_2 & 0xffffffffL) * (v1_2 >>> 32);
      mul1_3 ^= (v0_3 & 0xffffffffL) * (v1_3 >>> 32);
    }

    private void zipperMerge() {
      v0_0 += zipperLow(v1_1, v1_0);
      v0_1 += zipperHigh(v1_1, v1_0);
      v0_2 += zipperLow(v1_3, v1_2);
      v0_3 += zipperHigh(v1_3, v1_2);
      v1_0 += zipperLow(v0_1, v0_0);
      v1_1 += zipperHigh(v0_1, v0_0);
      v1_2 += zipperLow(v0_3, v0_2);
      v1_3 += zipperHigh(v0_3, v0_2);
    }

    /** Length padding for the last 1..31 bytes, then their packet. */
    void remainder(int size, long p0, long p1, long p2, long p3) {
      long pair = ((long) size << 32) + size;
      v0_0 += pair;
      v0_1 += pair;
      v0_2 += pair;
      v0_3 += pair;
      v1_0 = rotateHalves(v1_0, size);
      v1_1 = rotateHalves(v1_1, size);
      v1_2 = rotateHalves(v1_2, size);
      v1_3 = rotateHalves(v1_3, size);
      update(p0, p1, p2, p3);
    }

    long finish() {
      for (int i = 0; i < 4; i++) {
        update(rot32(v0_2), rot32(v0_3), rot32(v0_0), rot32(v0_1));
      }
      return v0_0 + v1_0 + mul0_0 + mul1_0;
    }

    /** The reference's ZipperMergeAndAdd byte shuffle of (hi, lo), the part added to the low lane. */
    private static long zipperLow(long hi, long lo) {
      return (((lo & 0xff000000L) + (hi & 0xff00000000L)) >>> 24)
          + (((lo & 0xff0000000000L) + (hi & 0xff000000000000L)) >>> 16)
          + (lo & 0xff0000L) + ((lo & 0xff00L) << 32) + ((hi & 0xff00000000000000L) >>> 8) + (lo << 56);
    }

    /** As {@link #zipperLow}, the part added to the high lane. */
    private static long zipperHigh(long hi, long lo) {
      return (((hi & 0xff000000L) + (lo & 0xff00000000L)) >>> 24) + (hi & 0xff0000L)
          + ((hi & 0xff0000000000L) >>> 16) + ((hi & 0xff00L) << 24) + ((lo & 0xff000000000000L) >>> 8)
          + ((hi & 0xffL) << 48) + (lo & 0xff00000000000000L);
    }

    private static long rot32(long x) {
      return (x >>> 32) | (x << 32);
    }

    private static long rotateHalves(long x, int count) {
      long lo = Integer.rotateLeft((int) x, count) & 0xffffffffL;
      long hi = Integer.rotateLeft((int) (x >>> 32), count);
      return hi << 32 | lo;
    }
  }
}

// =================================================================================================
// 4. Crypto
// =================================================================================================

/**
 * The cluster's JetStream key (the bytes of jetstream { key } exactly as configured) and, when the
 * operator forces one, the only cipher to accept; otherwise each asset is tried with chacha and
 * aes, as the server does. Never printed, logged or written.
 */
record KeyRing(byte[] key, MetaCrypto.Cipher forcedCipher) {
  static final String ENV = "JS_RECOVER_KEY";

  /**
   * The shell line that exports the key for recovery.conf's {@code key: $JS_RECOVER_KEY}. nats-server
   * parses a variable's value as a config value, so the key must be quoted as a config string (an
   * unquoted "my key" or "1234" is refused, "a,b" silently becomes another key). The shell drops the file's
   * trailing newlines and tr its carriage returns: the key js-recover reads from the same file (keyFromFile).
   */
  static final String EXPORT_LINE = "export " + ENV + "=\"\\\"$(tr -d '\\r' < /path/to/key-file | sed 's/[\\\\\"]/\\\\&/g')\\\"\"";

  /** The key as the server must find it in $JS_RECOVER_KEY: a quoted config string. */
  String forServerEnvironment() { return RecoveryConfig.quote(new String(key, StandardCharsets.UTF_8)); }

  /** Our own reading of $JS_RECOVER_KEY accepts that quoted form too, so one export serves both. */
  static String fromEnvironment(String value) {
    if (value == null || value.length() < 2 || !value.startsWith("\"") || !value.endsWith("\"")) return value;
    return RecoveryConfig.unquote(value);
  }

  @Override public String toString() { return "KeyRing[key hidden]"; }
}

/**
 * JetStream store encryption of meta.inf, as nats-server does it (filestore.go genEncryptionKey /
 * genEncryptionKeys, jetstream.go jsKeyGen / decryptMeta; the same in 2.9.10 and current main):
 *
 * <pre>
 * kek  = AEAD(cipher, HMAC-SHA256(key = configured key string bytes, msg = account || context))
 * seed = kek.open(meta.key)           meta.key  = nonce || seal(32-byte random seed)
 * aek  = AEAD(cipher, seed)
 * json = aek.open(meta.inf)           meta.inf  = nonce || seal(JSON)
 * </pre>
 *
 * chacha is XChaCha20-Poly1305 (24-byte nonce), aes is AES-256-GCM with a 16-byte nonce; the 16-byte
 * tag follows the ciphertext in both, and no associated data is used.
 */
final class MetaCrypto {
  enum Cipher {
    CHACHA(24), AES(16);

    final int nonceSize;

    Cipher(int nonceSize) {
      this.nonceSize = nonceSize;
    }

    /** The {@code jetstream { cipher: ... }} value, case-insensitive as the server reads it. */
    static Cipher fromConfig(String name) {
      return switch (name.toLowerCase(java.util.Locale.ROOT)) {
        case "chacha", "chachapoly" -> CHACHA;
        case "aes" -> AES;
        default -> throw new IllegalArgumentException("unknown JetStream cipher '" + name + "': chacha or aes");
      };
    }

    Cipher other() {
      return this == CHACHA ? AES : CHACHA;
    }
  }

  /** An opened meta.inf: the cipher that opened it, its asset key (the seed in meta.key) and the JSON. */
  record Opened(Cipher cipher, byte[] assetKey, byte[] plaintext) {}

  private static final int KEY_SIZE = 32, TAG_SIZE = 16;
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private MetaCrypto() {}

  /**
   * The server's key-encryption-key for an asset. {@code jsKey} is the configured
   * {@code jetstream.key} string as UTF-8 bytes, used as the HMAC key as it is (not hashed or
   * decoded). Contexts: stream meta = stream name, consumer meta = {@code <stream>.<consumer>},
   * message block N = {@code <stream>:<N>}.
   */
  static byte[] prf(byte[] jsKey, String account, String context) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(jsKey, "HmacSHA256"));
      mac.update(account.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return mac.doFinal(context.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has HmacSHA256", e);
    }
  }

  /**
   * Opens the meta.key / meta.inf pair of one stream or consumer, trying {@code preferredOrNull}
   * (the configured cipher; chacha when null, the server's default) and then the other, as the
   * server does.
   */
  static Opened openMeta(byte[] jsKey, String account, String context, byte[] metaKey, byte[] metaInf,
      Cipher preferredOrNull) throws java.security.GeneralSecurityException {
    Opened key = openMetaKey(jsKey, account, context, metaKey, preferredOrNull);
    try {
      return new Opened(key.cipher(), key.assetKey(), open(key.cipher(), key.assetKey(), metaInf));
    } catch (javax.crypto.AEADBadTagException e) {
      // meta.key authenticated, so key, account, context and cipher are right: meta.inf is not.
      throw new java.security.GeneralSecurityException("meta.key of '" + context + "' opens with "
          + key.cipher().name().toLowerCase(java.util.Locale.ROOT) + " but meta.inf does not: meta.inf is damaged"
          + " or belongs to another meta.key", e);
    }
  }

  /** Opens meta.key alone: its cipher and the asset key (plaintext null). */
  static Opened openMetaKey(byte[] jsKey, String account, String context, byte[] metaKey, Cipher preferredOrNull)
      throws java.security.GeneralSecurityException {
    byte[] kek = prf(jsKey, account, context);
    Cipher first = preferredOrNull == null ? Cipher.CHACHA : preferredOrNull;
    for (Cipher c : new Cipher[] {first, first.other()}) {
      try {
        return new Opened(c, open(c, kek, metaKey), null);
      } catch (javax.crypto.AEADBadTagException wrongCipherOrKey) {
        // try the other
      }
    }
    throw new java.security.GeneralSecurityException("meta.key of '" + context + "' (account '" + account
        + "', " + metaKey.length + " bytes) opens with neither chacha nor aes: wrong JetStream key,"
        + " account or context, or a damaged meta.key");
  }

  /**
   * meta.inf bytes for new JSON under the same asset key, so that meta.key stays valid, and with it
   * what its seed also encrypts: a consumer's o.dat, a 2.10+ stream's msgs/index.db.
   */
  static byte[] resealMeta(Opened o, byte[] newPlaintext) {
    return seal(o.cipher(), o.assetKey(), newPlaintext);
  }

  /** Opens {@code nonce || ciphertext || tag}. */
  static byte[] open(Cipher c, byte[] key32, byte[] sealed) throws java.security.GeneralSecurityException {
    return open(c, key32, sealed, null);
  }

  /** {@code aad} is for published test vectors; the server authenticates no associated data. */
  static byte[] open(Cipher c, byte[] key32, byte[] sealed, byte[] aad) throws java.security.GeneralSecurityException {
    if (sealed.length < c.nonceSize + TAG_SIZE) {
      throw new javax.crypto.AEADBadTagException(sealed.length + " bytes is shorter than a "
          + c.name().toLowerCase(java.util.Locale.ROOT) + " nonce and tag");
    }
    byte[] nonce = java.util.Arrays.copyOf(sealed, c.nonceSize);
    return aead(c, javax.crypto.Cipher.DECRYPT_MODE, key32, nonce, aad)
        .doFinal(sealed, c.nonceSize, sealed.length - c.nonceSize);
  }

  /** Seals with a fresh random nonce, as the server does for every write. */
  static byte[] seal(Cipher c, byte[] key32, byte[] plaintext) {
    byte[] nonce = new byte[c.nonceSize];
    RANDOM.nextBytes(nonce);
    return seal(c, key32, plaintext, nonce);
  }

  /** {@code nonce || ciphertext || tag}. */
  static byte[] seal(Cipher c, byte[] key32, byte[] plaintext, byte[] nonce) {
    return seal(c, key32, plaintext, nonce, null);
  }

  static byte[] seal(Cipher c, byte[] key32, byte[] plaintext, byte[] nonce, byte[] aad) {
    if (nonce.length != c.nonceSize) {
      throw new IllegalArgumentException(c + " needs a " + c.nonceSize + "-byte nonce, not " + nonce.length);
    }
    byte[] out = java.util.Arrays.copyOf(nonce, c.nonceSize + plaintext.length + TAG_SIZE);
    try {
      aead(c, javax.crypto.Cipher.ENCRYPT_MODE, key32, nonce, aad)
          .doFinal(plaintext, 0, plaintext.length, out, c.nonceSize);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("sealing with valid key and nonce sizes cannot fail", e);
    }
    return out;
  }

  private static javax.crypto.Cipher aead(Cipher c, int mode, byte[] key32, byte[] nonce, byte[] aad)
      throws java.security.GeneralSecurityException {
    if (key32.length != KEY_SIZE) {
      throw new IllegalArgumentException(c + " needs a 32-byte key, not " + key32.length);
    }
    javax.crypto.Cipher jce;
    if (c == Cipher.CHACHA) {
      // XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): HChaCha20 subkey from the first 16 nonce bytes,
      // then RFC 8439 ChaCha20-Poly1305 with nonce 0x00000000 || last 8 nonce bytes.
      byte[] subNonce = new byte[12];
      System.arraycopy(nonce, 16, subNonce, 4, 8);
      jce = javax.crypto.Cipher.getInstance("ChaCha20-Poly1305");
      byte[] subKey = hChaCha20(key32, java.util.Arrays.copyOf(nonce, 16));
      jce.init(mode, new javax.crypto.spec.SecretKeySpec(subKey, "ChaCha20"),
          new javax.crypto.spec.IvParameterSpec(subNonce));
    } else {
      // Go's NewGCMWithNonceSize(16) and the JDK both derive the counter block from a non-96-bit
      // IV with GHASH, as GCM specifies.
      jce = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
      jce.init(mode, new javax.crypto.spec.SecretKeySpec(key32, "AES"),
          new javax.crypto.spec.GCMParameterSpec(TAG_SIZE * 8, nonce));
    }
    if (aad != null) jce.updateAAD(aad);
    return jce;
  }

  /**
   * HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): 20 ChaCha rounds over the key and the 16 nonce bytes (in the
   * counter and nonce words), no feed-forward, words 0-3 and 12-15. That is one ChaCha20 keystream block with the
   * input words subtracted back out, so it runs on {@link ChaCha20}'s rounds.
   */
  static byte[] hChaCha20(byte[] key32, byte[] nonce16) {
    ChaCha20 chacha = new ChaCha20(key32, java.util.Arrays.copyOfRange(nonce16, 4, 16));
    byte[] block = new byte[64];
    chacha.xor(64 * Integer.toUnsignedLong(LittleEndian.int32(nonce16, 0)), block, 0, block, 0, 64);
    java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(KEY_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int w = 0; w < 4; w++) out.putInt(LittleEndian.int32(block, 4 * w) - ChaCha20.SIGMA[w]);
    for (int w = 0; w < 4; w++) out.putInt(LittleEndian.int32(block, 48 + 4 * w) - LittleEndian.int32(nonce16, 4 * w));
    return out.array();
  }
}

/**
 * The ChaCha20 keystream (RFC 8439 section 2.3-2.4) XORed over bytes: what decrypts a chacha message block.
 * JDK 17's ChaCha20 Cipher has no intrinsic and runs at about 400 MB/s a core, slower than hashing the records.
 * Here {@link #LANES} 64-byte blocks are computed at once, each of the 16 state words an array of their values
 * (word w of lane j at {@code x[w * LANES + j]}), so that a double round is one loop over the lanes that the JIT
 * turns into vector instructions: about 1.6 GB/s a core.
 */
final class ChaCha20 {
  static final int[] SIGMA = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  /** 256 lanes: 16 KB of keystream a round trip, the state 16 KB (in L1); fewer lanes ran measurably slower. */
  private static final int LANES = 256;

  private final int[] input = new int[16];
  private final int[] x = new int[16 * LANES];

  ChaCha20(byte[] key32, byte[] nonce12) {
    System.arraycopy(SIGMA, 0, input, 0, 4);
    for (int i = 0; i < 8; i++) input[4 + i] = LittleEndian.int32(key32, 4 * i);
    for (int i = 0; i < 3; i++) input[13 + i] = LittleEndian.int32(nonce12, 4 * i);
  }

  /**
   * XORs the keystream from byte {@code position} of the stream (block counter {@code position / 64}, 32 bits
   * as RFC 8439 has it) over {@code in[inOff, inOff + len)} into {@code out} at {@code outOff}; in place when
   * they are the same.
   */
  void xor(long position, byte[] in, int inOff, byte[] out, int outOff, int len) {
    long block = position >>> 6;
    int skip = (int) (position & 63), done = 0;
    while (done < len) {
      int lanes = (int) Math.min(LANES, (skip + (long) (len - done) + 63) >>> 6);
      keystream((int) block, lanes);
      for (int j = 0; j < lanes; j++) {
        if (skip == 0 && len - done >= 64) {
          for (int w = 0, i = inOff + done, o = outOff + done; w < 16; w += 2) {
            long ks = x[w * LANES + j] & 0xffffffffL | (long) x[(w + 1) * LANES + j] << 32;
            LittleEndian.setInt64(out, o + 4 * w, LittleEndian.int64(in, i + 4 * w) ^ ks);
          }
          done += 64;
        } else { // the first or last block of the range, partly
          for (int b = skip; b < 64 && done < len; b++, done++) {
            out[outOff + done] = (byte) (in[inOff + done] ^ (x[(b >>> 2) * LANES + j] >>> (8 * (b & 3))));
          }
          skip = 0;
        }
      }
      block += lanes;
    }
  }

  /** The keystream of blocks {@code counter .. counter + lanes - 1} into x. */
  private void keystream(int counter, int lanes) {
    for (int w = 0; w < 16; w++) java.util.Arrays.fill(x, w * LANES, w * LANES + lanes, input[w]);
    for (int j = 0; j < lanes; j++) x[12 * LANES + j] = counter + j;
    for (int round = 0; round < 10; round++) doubleRound(x, lanes);
    for (int w = 0; w < 16; w++) {
      // the feed-forward: the input added back (word 12 is each lane's own counter)
      int v = w == 12 ? counter : input[w], step = w == 12 ? 1 : 0;
      for (int j = 0, at = w * LANES; j < lanes; j++) x[at + j] += v + step * j;
    }
  }

  /**
   * Two rounds (a column round, then a diagonal round: RFC 8439 section 2.3) of every lane. One loop over the
   * lanes with the 16 words in locals: its offsets are constants, so the JIT vectorizes it however it inlines.
   */
  private static void doubleRound(int[] x, int lanes) {
    for (int j = 0; j < lanes; j++) {
      int x0 = x[0 * LANES + j], x1 = x[1 * LANES + j], x2 = x[2 * LANES + j], x3 = x[3 * LANES + j];
      int x4 = x[4 * LANES + j], x5 = x[5 * LANES + j], x6 = x[6 * LANES + j], x7 = x[7 * LANES + j];
      int x8 = x[8 * LANES + j], x9 = x[9 * LANES + j], x10 = x[10 * LANES + j], x11 = x[11 * LANES + j];
      int x12 = x[12 * LANES + j], x13 = x[13 * LANES + j], x14 = x[14 * LANES + j], x15 = x[15 * LANES + j];
      // columns
      x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16);
      x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
      x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8);
      x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
      x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16);
      x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
      x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8);
      x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
      x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16);
      x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
      x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8);
      x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
      x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16);
      x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
      x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8);
      x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);
      // diagonals
      x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16);
      x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
      x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8);
      x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
      x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16);
      x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
      x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8);
      x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
      x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16);
      x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
      x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8);
      x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
      x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16);
      x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
      x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8);
      x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
      x[0 * LANES + j] = x0; x[1 * LANES + j] = x1; x[2 * LANES + j] = x2; x[3 * LANES + j] = x3;
      x[4 * LANES + j] = x4; x[5 * LANES + j] = x5; x[6 * LANES + j] = x6; x[7 * LANES + j] = x7;
      x[8 * LANES + j] = x8; x[9 * LANES + j] = x9; x[10 * LANES + j] = x10; x[11 * LANES + j] = x11;
      x[12 * LANES + j] = x12; x[13 * LANES + j] = x13; x[14 * LANES + j] = x14; x[15 * LANES + j] = x15;
    }
  }
}

// =================================================================================================
// 5. Compression
//
// s2 (klauspost/compress), the compression of 2.10+ message blocks with "compression": "s2". No
// maintained Java decoder exists, so the block format (snappy plus repeat offsets) and the framed
// stream format (chunks with masked CRC-32C) are decoded here. Bad input is reported, never thrown.
// =================================================================================================

/** What a reader got: a value, or where the bytes stopped making sense and why. */
record Outcome<T>(T value, Damage damage) {
  static <T> Outcome<T> ok(T value) { return new Outcome<>(value, null); }

  static <T> Outcome<T> bad(long offset, String why) { return new Outcome<>(null, new Damage(offset, why)); }

  boolean ok() { return damage == null; }
}

/**
 * Damaged bytes: the offset in the file (in the decrypted content for a sealed index.db or o.dat, in
 * the decoded records for a compressed block) and what is wrong there.
 */
record Damage(long offset, String why) {}

/** The server's integers on disk are little-endian. */
final class LittleEndian {
  private static final java.lang.invoke.VarHandle INT32 =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.invoke.VarHandle INT64 =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  private LittleEndian() {}

  static int int32(byte[] b, int at) { return (int) INT32.get(b, at); }

  static long int64(byte[] b, int at) { return (long) INT64.get(b, at); }

  static void setInt64(byte[] b, int at, long v) { INT64.set(b, at, v); }
}

final class S2 {
  /** The largest chunk body a framed stream may carry, and the most a chunk may decode to (s2's maxBlockSize). */
  static final int MAX_CHUNK = 4 << 20;
  private static final byte[] STREAM_ID = "S2sTwO".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SNAPPY_ID = "sNaPpY".getBytes(StandardCharsets.US_ASCII);

  private S2() {}

  /** Thrown inside the decoder only, to unwind to the public entry points; no stack trace is filled in. */
  private static final class Corrupt extends Exception {
    final long at;

    Corrupt(long at, String why) {
      super(why, null, false, false);
      this.at = at;
    }
  }

  /** Decoded bytes so far; chunks decode straight into it, so a block is not copied chunk by chunk. */
  private static final class Out {
    byte[] buf;
    int size;

    Out(int capacity) {
      buf = new byte[capacity];
    }

    /** Room for {@code n} more bytes, without going past {@code max} in all. */
    void reserve(long n, long max, long at) throws Corrupt {
      if (size + n > max) throw new Corrupt(at, "decodes to more than the " + max + " bytes expected");
      if (size + n > buf.length) buf = java.util.Arrays.copyOf(buf, (int) Math.min(max, Math.max(size + n, 2L * buf.length)));
    }

    byte[] exact() {
      return size == buf.length ? buf : java.util.Arrays.copyOf(buf, size);
    }
  }

  /**
   * One s2 (or snappy) block: uvarint decoded length, then literals and copies. Refuses to decode to
   * more than {@code maxDecoded} bytes, so a damaged length cannot exhaust memory.
   */
  static Outcome<byte[]> decodeBlock(byte[] src, int off, int len, int maxDecoded) {
    try {
      Out out = new Out(0);
      block(src, off, len, maxDecoded, out);
      return Outcome.ok(out.exact());
    } catch (Corrupt c) {
      return Outcome.bad(c.at, c.getMessage());
    }
  }

  /**
   * A framed stream as s2.NewWriter writes it: a stream identifier chunk, then compressed (0x00) and
   * uncompressed (0x01) chunks each with the masked CRC-32C of its decoded bytes, padding (0xfe) and
   * skippable (0x80-0xfd) chunks. Concatenated streams (a repeated identifier) are accepted, as
   * s2.Reader accepts them. Offsets of damage are in the stream.
   */
  static Outcome<byte[]> decodeStream(byte[] src, int off, int len, long maxDecoded) {
    return decodeStream(src, off, len, maxDecoded, 0, 0);
  }

  /**
   * As {@link #decodeStream(byte[], int, int, long)}, for a compressed message block: the
   * {@code rawTail} bytes that follow the stream in {@code src} (the last record's hash, which the
   * server leaves uncompressed) are appended to the result, and {@code expectedSize} (the size the
   * block's header records, tail included) sizes the buffer, so a block is decoded without copies.
   */
  static Outcome<byte[]> decodeStream(byte[] src, int off, int len, long maxDecoded, long expectedSize, int rawTail) {
    try {
      Out out = new Out((int) Math.min(Math.max(expectedSize, 0), Math.min(maxDecoded + rawTail, Integer.MAX_VALUE - 8)));
      stream(src, off, len, maxDecoded, out);
      out.reserve(rawTail, Long.MAX_VALUE, len);
      System.arraycopy(src, off + len, out.buf, out.size, rawTail);
      out.size += rawTail;
      return Outcome.ok(out.exact());
    } catch (Corrupt c) {
      return Outcome.bad(c.at, c.getMessage());
    }
  }

  private static void stream(byte[] src, int off, int len, long maxDecoded, Out out) throws Corrupt {
    int end = off + len, p = off;
    boolean sawId = false;
    while (p < end) {
      if (end - p < 4) throw new Corrupt(p - off, "truncated chunk header (" + (end - p) + " bytes left)");
      int type = src[p] & 0xff;
      int size = (src[p + 1] & 0xff) | (src[p + 2] & 0xff) << 8 | (src[p + 3] & 0xff) << 16;
      int body = p + 4;
      if (size > end - body) throw new Corrupt(p - off, "chunk of " + size + " bytes runs past the end of the stream");
      if (type == 0xff) {
        if (size != 6 || !(java.util.Arrays.equals(src, body, body + 6, STREAM_ID, 0, 6)
            || java.util.Arrays.equals(src, body, body + 6, SNAPPY_ID, 0, 6))) {
          throw new Corrupt(p - off, "bad stream identifier");
        }
        sawId = true;
      } else if (!sawId) {
        throw new Corrupt(p - off, "no stream identifier before the first chunk (not an s2 stream)");
      } else if (type == 0x00 || type == 0x01) {
        if (size < 4) throw new Corrupt(p - off, "data chunk shorter than its checksum");
        int want = LittleEndian.int32(src, body), from = out.size;
        if (type == 0x00) {
          try {
            block(src, body + 4, size - 4, (int) Math.min(MAX_CHUNK, maxDecoded - out.size), out);
          } catch (Corrupt c) {
            // Located at its chunk: a damaged byte can derail decoding anywhere after it, the chunk bounds it.
            throw new Corrupt(p - off, "compressed chunk of " + size + " bytes: " + c.getMessage() + " (at byte " + c.at + " of it)");
          }
        } else {
          if (size - 4 > MAX_CHUNK) throw new Corrupt(p - off, "uncompressed chunk of " + (size - 4) + " bytes exceeds 4 MiB");
          out.reserve(size - 4, maxDecoded, p - off);
          System.arraycopy(src, body + 4, out.buf, out.size, size - 4);
          out.size += size - 4;
        }
        int got = maskedCrc32c(out.buf, from, out.size - from);
        if (got != want) {
          throw new Corrupt(p - off, String.format("chunk checksum mismatch (stored %08x, computed %08x)", want, got));
        }
      } else if (type < 0x80) {
        throw new Corrupt(p - off, String.format("reserved unskippable chunk type 0x%02x", type));
      } // 0x80-0xfe: skippable (padding, s2's seek index)
      p = body + size;
    }
    if (!sawId) throw new Corrupt(0, "empty input (not an s2 stream)");
  }

  /** Decodes one block onto the end of {@code out}; offsets of damage are in the block. */
  private static void block(byte[] src, int off, int len, int maxDecoded, Out out) throws Corrupt {
    int end = off + len, s = off;
    long n = 0;
    for (int shift = 0; ; shift += 7) {
      if (s >= end || shift > 28) throw new Corrupt(0, "bad decoded-length varint");
      int b = src[s++] & 0xff;
      n |= (long) (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (n > maxDecoded) throw new Corrupt(0, "block claims " + n + " decoded bytes, more than " + maxDecoded);
    out.reserve(n, Long.MAX_VALUE, 0);
    byte[] dst = out.buf;
    // Copies reach back within this block only: positions are relative to its start.
    int base = out.size, dEnd = base + (int) n, d = base, offset = 0;
    // Most literals (1.5 bytes on average in message blocks) and copies (9 bytes) are short: they are moved in 8-byte
    // words, which may write up to 15 bytes past their end while the buffer has room. Those bytes are past what is
    // decoded so far, so the next element, the next chunk or the block's raw tail overwrites them before anything
    // reads them. Literals are tested first, then the copies by frequency (an if chain: a switch measured slower).
    while (s < end) {
      int at = s, tag = src[s] & 0xff, length;
      if ((tag & 3) == 0) { // literal
        int x = tag >>> 2;
        if (x < 60) {
          s++;
        } else {
          int extra = x - 59; // 1..4 length bytes follow
          if (end - s <= extra) throw new Corrupt(at - off, "truncated literal length");
          x = 0;
          for (int i = 0; i < extra; i++) x |= (src[s + 1 + i] & 0xff) << (8 * i);
          s += 1 + extra;
        }
        length = x + 1;
        if (length <= 0 || length > dEnd - d || length > end - s) {
          throw new Corrupt(at - off, "literal of " + Integer.toUnsignedString(x + 1) + " bytes runs past the end");
        }
        if (length <= 8 && s <= src.length - 8 && d <= dst.length - 8) {
          LittleEndian.setInt64(dst, d, LittleEndian.int64(src, s));
        } else {
          System.arraycopy(src, s, dst, d, length);
        }
        d += length;
        s += length;
        continue;
      }
      if ((tag & 3) == 2) { // copy with 2-byte offset
        if (end - s < 3) throw new Corrupt(at - off, "truncated copy");
        length = 1 + (tag >>> 2);
        offset = (src[s + 1] & 0xff) | (src[s + 2] & 0xff) << 8;
        s += 3;
      } else if ((tag & 3) == 1) { // copy with 1-byte offset; offset 0 is s2's repeat of the previous offset
        if (end - s < 2) throw new Corrupt(at - off, "truncated copy");
        int toffset = (tag & 0xe0) << 3 | (src[s + 1] & 0xff);
        length = (tag >>> 2) & 7;
        s += 2;
        if (toffset == 0) {
          int extra = length - 4; // codes 5, 6, 7 carry 1, 2, 3 length bytes
          if (extra > 0) {
            if (end - s < extra) throw new Corrupt(at - off, "truncated repeat length");
            int x = 0;
            for (int i = 0; i < extra; i++) x |= (src[s + i] & 0xff) << (8 * i);
            s += extra;
            length = x + (extra == 1 ? 4 : extra == 2 ? 1 << 8 : 1 << 16);
          }
        } else {
          offset = toffset;
        }
        length += 4;
      } else { // copy with 4-byte offset
        if (end - s < 5) throw new Corrupt(at - off, "truncated copy");
        length = 1 + (tag >>> 2);
        offset = LittleEndian.int32(src, s + 1);
        s += 5;
      }
      if (offset <= 0 || d - base < offset || length > dEnd - d) {
        throw new Corrupt(at - off, "copy of " + length + " bytes from offset " + Integer.toUnsignedString(offset)
            + " at decoded position " + (d - base) + " is out of range");
      }
      if (offset >= 8 && length <= 16 && d <= dst.length - 16) {
        // A copy may overlap what it writes (it repeats the last `offset` bytes, forwards): with offset >= 8 each
        // word reads only bytes written before it, the second word included.
        LittleEndian.setInt64(dst, d, LittleEndian.int64(dst, d - offset));
        LittleEndian.setInt64(dst, d + 8, LittleEndian.int64(dst, d + 8 - offset));
      } else if (offset >= length) {
        System.arraycopy(dst, d - offset, dst, d, length);
      } else {
        // Overlapping: the copy repeats the last `offset` bytes, so it runs forwards byte by byte.
        for (int i = 0; i < length; i++) dst[d + i] = dst[d - offset + i];
      }
      d += length;
    }
    if (d != dEnd) throw new Corrupt(len, "decoded " + (d - base) + " bytes, the block claims " + n);
    out.size = dEnd;
  }

  /** The checksum snappy and s2 frames carry: CRC-32C, rotated right by 15 and offset by 0xa282ead8. */
  static int maskedCrc32c(byte[] b, int off, int len) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(b, off, len);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }
}

// =================================================================================================
// 6. Block and state readers
//
// msgs/N.blk (records), msgs/N.key (block key), 2.9 msgs/N.idx, 2.10+ msgs/index.db and a
// consumer's o.dat, read as the server reads them (filestore.go: rebuildStateLocked,
// readIndexInfo, recoverFullState, decodeConsumerState). Bytes in, records out: nothing is
// written, and damage comes back as data with its offset, never as an exception. ConsumerStateWriter
// turns a consumer state back into o.dat's bytes (encodeConsumerState) for prepare to write.
// =================================================================================================

/** Go's encoding/binary varints over a byte array; {@link #failed()} once a read ran off the end or overflowed. */
final class VarintReader {
  final byte[] buf;
  final int end;
  int pos;

  VarintReader(byte[] buf, int from, int end) {
    this.buf = buf;
    this.pos = from;
    this.end = end;
  }

  boolean failed() { return pos < 0; }

  /** binary.Uvarint: at most 10 bytes, the 10th no more than 1. */
  long uvarint() {
    if (pos < 0) return 0;
    long v = 0;
    for (int shift = 0, i = pos; i < end && shift < 70; shift += 7, i++) {
      int b = buf[i] & 0xff;
      if (b < 0x80) {
        if (shift == 63 && b > 1) break;
        pos = i + 1;
        return v | (long) b << shift;
      }
      v |= (long) (b & 0x7f) << shift;
    }
    pos = -1;
    return 0;
  }

  /** binary.Varint: zig-zag. */
  long varint() {
    long u = uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Skips {@code n} bytes and returns where they start, or -1 (and failed) when fewer are left. */
  int take(int n) {
    if (pos < 0 || n < 0 || n > end - pos) {
      pos = -1;
      return -1;
    }
    int at = pos;
    pos += n;
    return at;
  }
}

/**
 * The key of one encrypted message block: {@code msgs/N.key} is {@code nonce || seal(kek, seed)} with
 * kek from the JetStream key, the account and context {@code <stream>:<N>}. The block is a keystream
 * (XChaCha20 or AES-256-CTR) of (seed, nonce) from offset 0; a 2.9 {@code N.idx} is sealed with
 * AEAD(seed) and the same nonce, without a nonce prefix.
 */
record BlockKey(MetaCrypto.Cipher cipher, byte[] seed, byte[] nonce) {
  /** {@code N.key} shorter than this is refused by the server (minBlkKeySize). */
  static final int MIN_KEY_FILE = 64;

  /** Opens {@code keyFile} trying {@code preferredOrNull} (the stream's cipher) first, then the other cipher. */
  static Outcome<BlockKey> open(byte[] jsKey, String account, String stream, int index, byte[] keyFile,
      MetaCrypto.Cipher preferredOrNull) {
    if (keyFile.length < MIN_KEY_FILE) return Outcome.bad(0, index + ".key has " + keyFile.length + " bytes, fewer than " + MIN_KEY_FILE);
    byte[] kek = MetaCrypto.prf(jsKey, account, stream + ":" + index);
    MetaCrypto.Cipher first = preferredOrNull == null ? MetaCrypto.Cipher.CHACHA : preferredOrNull;
    for (MetaCrypto.Cipher c : new MetaCrypto.Cipher[] {first, first.other()}) {
      try {
        byte[] seed = MetaCrypto.open(c, kek, keyFile);
        return Outcome.ok(new BlockKey(c, seed, java.util.Arrays.copyOf(keyFile, c.nonceSize)));
      } catch (java.security.GeneralSecurityException wrongCipherOrKey) {
        // try the other cipher
      }
    }
    return Outcome.bad(0, index + ".key opens with neither chacha nor aes: wrong JetStream key or account, or a damaged key file");
  }

  private static final int KEYSTREAM_SLICE = 16 << 10;

  /** The plaintext of an encrypted block file (same length: a keystream XOR). */
  byte[] decrypt(byte[] file) {
    return decryptAt(file, 0);
  }

  /**
   * The plaintext of {@code bytes} found at {@code fileOffset} of the block file: the keystream is
   * started at that position, so the last 8 bytes (the checksum index files record) are read without
   * decrypting the whole block.
   */
  byte[] decryptAt(byte[] bytes, long fileOffset) {
    byte[] out = new byte[bytes.length];
    if (cipher == MetaCrypto.Cipher.CHACHA) {
      // XChaCha20: HChaCha20 subkey from nonce[0:16], then ChaCha20 with 0x00000000 || nonce[16:24]; 64-byte blocks.
      byte[] n12 = new byte[12];
      System.arraycopy(nonce, 16, n12, 4, 8);
      ChaCha20 keystream = new ChaCha20(MetaCrypto.hChaCha20(seed, java.util.Arrays.copyOf(nonce, 16)), n12);
      keystream.xor(fileOffset, bytes, 0, out, 0, bytes.length);
      return out;
    }
    try {
      // AES-CTR: the 16-byte nonce is a big-endian counter, one step per 16-byte block.
      BigInteger counter = new BigInteger(1, nonce).add(BigInteger.valueOf(fileOffset / 16));
      byte[] iv = new byte[16], c = counter.toByteArray();
      int n = Math.min(c.length, 16);
      System.arraycopy(c, c.length - n, iv, 16 - n, n); // mod 2^128
      javax.crypto.Cipher ks = javax.crypto.Cipher.getInstance("AES/CTR/NoPadding");
      ks.init(javax.crypto.Cipher.DECRYPT_MODE, new javax.crypto.spec.SecretKeySpec(seed, "AES"),
          new javax.crypto.spec.IvParameterSpec(iv));
      int skip = (int) (fileOffset % 16);
      if (skip != 0) ks.update(new byte[skip]);
      // In slices: a block is a few MB, and one call per block is too few calls for the JIT to compile the
      // cipher's loop into its AES-CTR intrinsic (3x slower without).
      for (int at = 0; at < bytes.length; at += KEYSTREAM_SLICE) {
        ks.update(bytes, at, Math.min(KEYSTREAM_SLICE, bytes.length - at), out, at);
      }
      return out;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("a keystream with valid key and nonce sizes cannot fail", e);
    }
  }

  /** Opens a 2.9 {@code N.idx}: AEAD(seed) with the block's nonce, which the file does not repeat. */
  Outcome<byte[]> openIndex(byte[] file) {
    byte[] sealed = java.util.Arrays.copyOf(nonce, nonce.length + file.length);
    System.arraycopy(file, 0, sealed, nonce.length, file.length);
    try {
      return Outcome.ok(MetaCrypto.open(cipher, seed, sealed));
    } catch (java.security.GeneralSecurityException e) {
      return Outcome.bad(0, "does not open with its block key: damaged, or not this block's index");
    }
  }

  /** Seals a 2.9 {@code N.idx} as writeIndexInfo does: AEAD(seed) with the block's nonce, not repeated in the file. */
  byte[] sealIndex(byte[] plain) {
    byte[] sealed = MetaCrypto.seal(cipher, seed, plain, nonce);
    return java.util.Arrays.copyOfRange(sealed, nonce.length, sealed.length);
  }

  @Override public String toString() { return "BlockKey[" + cipher + ", key hidden]"; }
}

/**
 * One message block, {@code msgs/N.blk}. Records (little-endian):
 * {@code total_len u32 | seq u64 | ts i64 | subj_len u16 | subj | [hdr_len u32 | hdr] | msg | hash[8]},
 * bit 31 of total_len = has headers, bit 63 of seq = erased or skipped, bit 62 = delete tombstone
 * (2.10+). hash = HighwayHash-64 keyed sha256("<stream>-<N>") over seq and ts as written, subject,
 * headers and message. 2.10+ may prefix the block with {@code cmp <alg> uvarint(size)} and s2-frame
 * all but its last 8 bytes; encryption covers the whole file, prefix included.
 */
final class MsgBlock {
  static final int HEADER = 22, HASH = 8;
  /** The server treats a longer record as garbage (rlBadThresh). */
  static final int MAX_RECORD = 32 << 20;
  /** No block decodes to more: the server seals a block at 8 MiB, after a record of up to MAX_RECORD. */
  static final int MAX_DECODED = (8 << 20) + MAX_RECORD;
  static final int HBIT = 1 << 31;
  static final long EBIT = 1L << 63, TBIT = 1L << 62;

  enum Kind { MESSAGE, DELETED, TOMBSTONE }

  enum Hash { OK, MISMATCH, NOT_CHECKED }

  /**
   * The blocks of a msgs/ folder by index, as the server names them (N.blk); other names are no block the server
   * reads. Empty when the folder is absent.
   */
  static java.util.TreeMap<Integer, Path> files(Path msgs) throws IOException {
    return files(listing(msgs));
  }

  /** The entries of a stream's msgs/ folder; none when it is not a folder. */
  static List<Path> listing(Path msgs) throws IOException {
    return Files.isDirectory(msgs, LinkOption.NOFOLLOW_LINKS) ? Folder.entries(msgs) : List.of();
  }

  static java.util.TreeMap<Integer, Path> files(List<Path> msgsEntries) {
    java.util.TreeMap<Integer, Path> found = new java.util.TreeMap<>();
    for (Path b : msgsEntries) {
      String n = b.getFileName().toString();
      if (!n.endsWith(".blk")) continue;
      try {
        found.put(Integer.parseInt(n.substring(0, n.length() - 4)), b);
      } catch (NumberFormatException notABlock) {
        // not a block the server wrote
      }
    }
    return found;
  }

  /**
   * One record: where it is in the (decrypted, decompressed) block, its sequence (flags removed) and
   * time, subject, and the lengths of headers and payload; not the payload itself.
   */
  record Record(long offset, int length, Kind kind, long seq, long ts, String subject, int headerLength,
      int payloadLength, Hash hash) {
    /** The payload's bytes in the plaintext {@code data} the record was scanned from. */
    byte[] payload(byte[] data) {
      int end = (int) offset + length - HASH;
      return java.util.Arrays.copyOfRange(data, end - payloadLength, end);
    }
  }

  /**
   * What one pass over a block found. {@code messages}/{@code bytes} count live records with a good (or
   * unchecked) hash, {@code bytes} as the server counts them (whole records); first/last are live
   * sequences ({@code firstSeq} = lastSeq + 1 when none is live); {@code highestSeq} also counts erased
   * records. {@code lastChecksum} is the file's last 8 bytes, decrypted, as index files record it.
   * {@code unreadable} says why the records could not be read at all (then the counts are zero).
   */
  record Scan(int index, long fileBytes, long dataBytes, boolean compressed, boolean encrypted, long records,
      long messages, long bytes, long firstSeq, long firstTs, long lastSeq, long lastTs, long highestSeq,
      long deleted, long tombstones, long lastChecksum, List<Damage> damage, String unreadable) {}

  /** The plaintext records of a block file: decrypted when a key is given, decompressed when it carries a cmp prefix. */
  record Plain(byte[] data, boolean compressed, long lastChecksum) {}

  private MsgBlock() {}

  /** The record hash of block {@code index} of {@code stream}: keyed sha256("<stream>-<index>"). */
  static HighwayHash64 hasher(String stream, int index) {
    return HighwayHash64.keyedBy(stream + "-" + index);
  }

  /**
   * A block's last checksum (what .idx and index.db record, the last 8 bytes of the decrypted file)
   * from the file's last 8 bytes and its length alone; 0 for a file shorter than 8 bytes, as the server.
   */
  static long lastChecksum(byte[] last8, long fileLength, BlockKey key) {
    if (fileLength < HASH || last8.length != HASH) return 0;
    return LittleEndian.int64(key == null ? last8 : key.decryptAt(last8, fileLength - HASH), 0);
  }

  /** Decrypts ({@code key} null for a plain store) and decompresses a block file. */
  static Outcome<Plain> open(byte[] file, BlockKey key) {
    byte[] buf = key == null ? file : key.decrypt(file);
    long lchk = buf.length >= HASH ? LittleEndian.int64(buf, buf.length - HASH) : 0;
    if (buf.length < 5 || buf[0] != 'c' || buf[1] != 'm' || buf[2] != 'p') return Outcome.ok(new Plain(buf, false, lchk));
    VarintReader meta = new VarintReader(buf, 4, buf.length);
    long size = meta.uvarint();
    if (meta.failed()) return Outcome.bad(4, "compression header has no complete original size");
    int alg = buf[3] & 0xff, body = meta.pos;
    if (alg == 0) return Outcome.ok(new Plain(java.util.Arrays.copyOfRange(buf, body, buf.length), false, lchk));
    if (alg != 1) return Outcome.bad(3, "unknown compression algorithm " + alg);
    if (buf.length - body < HASH) return Outcome.bad(body, "compressed block shorter than its trailing checksum");
    Outcome<byte[]> s2 = S2.decodeStream(buf, body, buf.length - body - HASH, MAX_DECODED, size, HASH);
    if (!s2.ok()) return Outcome.bad(body + s2.damage().offset(), "s2: " + s2.damage().why());
    return Outcome.ok(new Plain(s2.value(), true, lchk));
  }

  /**
   * Reads block {@code index} of {@code stream}: every record goes to {@code each} in file order
   * (null to only count), and the summary comes back. With {@code verify} each record's hash is
   * checked. A record whose length makes no sense ends the scan (nothing after it can be located);
   * a hash mismatch is reported and the scan goes on.
   */
  static Scan scan(String stream, int index, byte[] file, BlockKey key, boolean verify, Consumer<Record> each) {
    return scan(stream, index, file.length, key != null, open(file, key), verify, each);
  }

  /** As above, over a block already {@link #open opened}: a reader that needs the payloads keeps the plaintext. */
  static Scan scan(String stream, int index, long fileLength, boolean encrypted, Outcome<Plain> plain, boolean verify,
      Consumer<Record> each) {
    if (!plain.ok()) {
      return new Scan(index, fileLength, 0, false, encrypted, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          List.of(plain.damage()), plain.damage().why() + " at file offset " + plain.damage().offset());
    }
    byte[] b = plain.value().data();
    HighwayHash64 hh = verify ? hasher(stream, index) : null;
    byte[] scratch = verify ? new byte[4096] : null;
    List<Damage> damage = new ArrayList<>();
    long records = 0, messages = 0, bytes = 0, firstSeq = 0, firstTs = 0, lastSeq = 0, lastTs = 0, highest = 0;
    long tombstones = 0;
    int n = b.length, i = 0;
    while (i < n) {
      if (n - i < HEADER) {
        damage.add(new Damage(i, "truncated record: " + (n - i) + " bytes left, a record header needs " + HEADER));
        break;
      }
      int raw = LittleEndian.int32(b, i);
      boolean hasHeaders = (raw & HBIT) != 0;
      int rl = raw & ~HBIT, slen = (b[i + 20] & 0xff) | (b[i + 21] & 0xff) << 8, dlen = rl - HEADER;
      if (dlen < 0 || slen > dlen - HASH || rl > n - i || rl > MAX_RECORD) {
        damage.add(new Damage(i, "record length " + rl + " (subject " + slen + ") does not fit: the rest of the block ("
            + (n - i) + " bytes) cannot be read"));
        break;
      }
      int subj = i + HEADER, body = subj + slen, end = i + rl - HASH, hdrLen = 0;
      if (hasHeaders) {
        hdrLen = end - body >= 4 ? LittleEndian.int32(b, body) : -1;
        if (hdrLen < 0 || hdrLen > end - body - 4) {
          damage.add(new Damage(i, "header length " + hdrLen + " does not fit its record: the rest of the block cannot be read"));
          break;
        }
        body += 4;
      }
      long seqRaw = LittleEndian.int64(b, i + 4), ts = LittleEndian.int64(b, i + 12);
      Hash hash = Hash.NOT_CHECKED;
      if (verify) {
        int len = 16 + slen + (end - body);
        if (scratch.length < len) scratch = new byte[Math.max(len, scratch.length * 2)];
        System.arraycopy(b, i + 4, scratch, 0, 16);
        System.arraycopy(b, subj, scratch, 16, slen);
        System.arraycopy(b, body, scratch, 16 + slen, end - body);
        hash = hh.hashBytes(scratch, 0, len) == LittleEndian.int64(b, end) ? Hash.OK : Hash.MISMATCH;
      }
      // As the server: the tombstone bit first, then erased (or skipped) records.
      Kind kind = (seqRaw & TBIT) != 0 ? Kind.TOMBSTONE : (seqRaw & EBIT) != 0 || seqRaw == 0 ? Kind.DELETED : Kind.MESSAGE;
      long seq = seqRaw & ~(EBIT | TBIT);
      records++;
      if (hash == Hash.MISMATCH) {
        damage.add(new Damage(i, "record seq " + seq + ": checksum mismatch"));
      } else if (kind == Kind.TOMBSTONE) {
        tombstones++;
      } else {
        if (seq > highest) highest = seq;
        if (kind == Kind.MESSAGE) {
          if (messages++ == 0) {
            firstSeq = seq;
            firstTs = ts;
          }
          bytes += rl;
          lastSeq = seq;
          lastTs = ts;
        }
      }
      if (each != null) {
        each.accept(new Record(i, rl, kind, seq, ts, new String(b, subj, slen, StandardCharsets.UTF_8),
            hasHeaders ? hdrLen : 0, end - body - hdrLen, hash));
      }
      i += rl;
    }
    if (messages == 0) firstSeq = highest + 1;
    long deleted = messages == 0 ? 0 : lastSeq - firstSeq + 1 - messages;
    Plain p = plain.value();
    return new Scan(index, fileLength, n, p.compressed(), encrypted, records, messages, bytes, firstSeq, firstTs,
        lastSeq, lastTs, Math.max(highest, lastSeq), deleted, tombstones, p.lastChecksum(), List.copyOf(damage), null);
  }
}

/**
 * A 2.9 {@code msgs/N.idx}: the block's state as the server last saved it. In 2.9 it is the only place
 * that remembers non-erasing deletes (acks on work-queue and interest streams, no_erase deletes,
 * every delete on an encrypted store). Layout: {@code 22, 1}, uvarint msgs, bytes, first seq, varint
 * first ts, uvarint last seq, varint last ts, uvarint num deleted, lchk[8], then each deleted seq as
 * uvarint (seq - first). {@code deleted} is sorted.
 */
record BlockIndex29(long messages, long bytes, long firstSeq, long firstTs, long lastSeq, long lastTs,
    long[] deleted, long lastChecksum) {
  static final int MAGIC = 22;

  /** Reads an {@code N.idx} ({@code key} null on a plain store); the server's own accounting check included. */
  static Outcome<BlockIndex29> read(byte[] file, BlockKey key) {
    byte[] buf = file;
    if (key != null) {
      Outcome<byte[]> opened = key.openIndex(file);
      if (!opened.ok()) return Outcome.bad(0, opened.damage().why());
      buf = opened.value();
    }
    if (buf.length < 2 || buf[0] != MAGIC || buf[1] != 1) return Outcome.bad(0, "not a version 1 block index (magic and version)");
    VarintReader r = new VarintReader(buf, 2, buf.length);
    long ebitOff = ~(1L << 63);
    long msgs = r.uvarint() & ebitOff, bytes = r.uvarint() & ebitOff, first = r.uvarint() & ebitOff, firstTs = r.varint();
    long last = r.uvarint() & ebitOff, lastTs = r.varint(), ndel = r.uvarint() & ebitOff;
    int lchkAt = r.take(MsgBlock.HASH);
    if (r.failed()) return Outcome.bad(buf.length, "short index file");
    if (msgs != last - first + 1 - ndel) {
      return Outcome.bad(2, "accounting inconsistent: " + msgs + " messages in " + first + ".." + last + " with " + ndel + " deleted");
    }
    long[] deleted = new long[(int) Math.min(ndel, buf.length)];
    int k = 0;
    while (k < deleted.length) {
      long d = r.uvarint() & ebitOff;
      if (r.failed()) return Outcome.bad(buf.length, "deleted list ends after " + k + " of " + ndel + " entries");
      if (d == 0) break; // as the server: a zero ends the list
      deleted[k++] = first + d;
    }
    deleted = java.util.Arrays.copyOf(deleted, k);
    java.util.Arrays.sort(deleted);
    return Outcome.ok(new BlockIndex29(msgs, bytes, first, firstTs, last, lastTs, deleted, LittleEndian.int64(buf, lchkAt)));
  }

  /**
   * The file as writeIndexInfoLocked writes it ({@code key} null on a plain store). The server writes its delete
   * map in Go's map order; this writes it ascending, which its reader takes the same.
   */
  byte[] encode(BlockKey key) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write(MAGIC);
    out.write(1);
    ConsumerStateWriter.uvarint(out, messages);
    ConsumerStateWriter.uvarint(out, bytes);
    ConsumerStateWriter.uvarint(out, firstSeq);
    ConsumerStateWriter.varint(out, firstTs);
    ConsumerStateWriter.uvarint(out, lastSeq);
    ConsumerStateWriter.varint(out, lastTs);
    ConsumerStateWriter.uvarint(out, deleted.length);
    out.writeBytes(java.nio.ByteBuffer.allocate(MsgBlock.HASH).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(lastChecksum).array());
    for (long d : deleted) ConsumerStateWriter.uvarint(out, d - firstSeq);
    return key == null ? out.toByteArray() : key.sealIndex(out.toByteArray());
  }
}

/**
 * A 2.10+ {@code msgs/index.db}: the whole stream's state as the server last saved it. Layout (inside
 * the optional seal with the stream's meta.key seed and a nonce prefix): {@code 11, version} (1 2.10,
 * 2 2.11, 3 2.12, 4 2.14+), uvarint msgs, bytes, first seq, varint first ts, uvarint last seq, varint
 * last ts, the subjects, the blocks (index, bytes, first seq, first ts and last ts relative to the
 * stream's first ts, last seq, num deleted, [v2+ ttls], [v3+ schedules], [avl set of deleted]), then
 * uvarint last block index and that block's lchk[8]. 8 bytes of HighwayHash-64 keyed sha256(stream)
 * over everything before them end the file.
 */
record StreamIndex(int version, long messages, long bytes, long firstSeq, long firstTs, long lastSeq, long lastTs,
    long subjects, List<StreamIndex.Block> blocks, int lastBlock, long lastChecksum) {
  static final int MAGIC = 11, NEWEST_VERSION = 4;

  /** One block as index.db has it; {@code messages} = last - first + 1 - deleted, as the server computes it. */
  record Block(int index, long bytes, long firstSeq, long firstTs, long lastSeq, long lastTs, long messages,
      long[] deleted) {}

  /** Reads index.db of {@code stream}; {@code streamKey} is the opened meta.key of an encrypted stream, else null. */
  static Outcome<StreamIndex> read(String stream, byte[] file, MetaCrypto.Opened streamKey) {
    if (file.length < 32) return Outcome.bad(0, "too short (" + file.length + " bytes)");
    int bodyLen = file.length - MsgBlock.HASH;
    long stored = LittleEndian.int64(file, bodyLen);
    if (HighwayHash64.keyedBy(stream).hashBytes(file, 0, bodyLen) != stored) {
      return Outcome.bad(bodyLen, "checksum mismatch (keyed with stream name '" + stream + "')");
    }
    byte[] buf = java.util.Arrays.copyOf(file, bodyLen);
    if (streamKey != null) {
      try {
        buf = MetaCrypto.open(streamKey.cipher(), streamKey.assetKey(), buf);
      } catch (java.security.GeneralSecurityException e) {
        return Outcome.bad(0, "does not open with the stream's key");
      }
    }
    if (buf.length < 2 || buf[0] != MAGIC || buf[1] < 1 || buf[1] > NEWEST_VERSION) {
      return Outcome.bad(0, "unknown magic and version " + (buf.length < 2 ? "" : buf[0] + "," + buf[1]));
    }
    int version = buf[1];
    VarintReader r = new VarintReader(buf, 2, buf.length);
    long msgs = r.uvarint(), bytes = r.uvarint(), first = r.uvarint(), firstTs = r.varint();
    long last = r.uvarint(), lastTs = r.varint(), numSubjects = r.uvarint();
    for (long s = 0; s < numSubjects && !r.failed(); s++) {
      int len = (int) Math.min(r.uvarint(), Integer.MAX_VALUE);
      if (len == 0) continue;
      r.take(len);
      long total = r.uvarint();
      r.uvarint(); // first block
      if (total > 1 || version >= 4) r.uvarint(); // last block
    }
    if (r.failed()) return Outcome.bad(buf.length, "subject list runs past the end");
    long numBlocks = r.uvarint();
    List<Block> blocks = new ArrayList<>();
    for (long k = 0; k < numBlocks && !r.failed(); k++) {
      int at = r.pos;
      int index = (int) r.uvarint();
      long bBytes = r.uvarint(), fseq = r.uvarint(), fts = r.varint(), lseq = r.uvarint(), lts = r.varint(), ndel = r.uvarint();
      if (version >= 2) r.uvarint(); // ttls
      if (version >= 3) r.uvarint(); // schedules
      if (r.failed()) return Outcome.bad(at, "block entry " + k + " runs past the end");
      long[] deleted = new long[0];
      if (ndel > 0) {
        Outcome<SequenceSet> set = SequenceSet.decode(buf, r.pos);
        if (!set.ok()) return Outcome.bad(r.pos, "deleted set of block " + index + ": " + set.damage().why());
        deleted = set.value().seqs();
        r.pos += set.value().encodedLength();
      }
      long bMsgs = lseq - fseq + 1;
      bMsgs = bMsgs > ndel ? bMsgs - ndel : 0;
      blocks.add(new Block(index, bBytes, fseq, fts + firstTs, lseq, lts + firstTs, bMsgs, deleted));
    }
    int lastBlock = (int) r.uvarint();
    int lchkAt = r.take(MsgBlock.HASH);
    if (r.failed()) return Outcome.bad(buf.length, "ends before the last block's checksum");
    return Outcome.ok(new StreamIndex(version, msgs, bytes, first, firstTs, last, lastTs, numSubjects,
        List.copyOf(blocks), lastBlock, LittleEndian.int64(buf, lchkAt)));
  }

  /**
   * Why the server would not trust this index.db and would rebuild from the blocks instead, or null
   * when it would: the last block must be the one index.db names, must exist with the same last 8
   * bytes ({@code lastChecksumOnDisk}, null when the block file is missing), no higher block may
   * exist, and the per-block totals must add up to the stream's.
   */
  String whyNotTrusted(Long lastChecksumOnDisk, int highestBlockOnDisk) {
    List<Block> kept = new ArrayList<>();
    for (int k = 0; k < blocks.size(); k++) {
      if (blocks.get(k).messages() > 0 || k == blocks.size() - 1) kept.add(blocks.get(k));
    }
    if (kept.isEmpty() || kept.get(kept.size() - 1).index() != lastBlock) {
      return "it names block " + lastBlock + " as the last, its block list does not end there";
    }
    if (lastChecksumOnDisk == null) return "block " + lastBlock + " it ends with is missing";
    if (lastChecksumOnDisk != lastChecksum) return "block " + lastBlock + " has changed since (more records were written)";
    if (highestBlockOnDisk > lastBlock) return "block " + highestBlockOnDisk + " was written after it";
    long tMsgs = 0, tBytes = 0, tFirst = 0, tLast = 0;
    for (Block b : kept) {
      if (tFirst == 0 || b.firstSeq() < tFirst) tFirst = b.firstSeq();
      tLast = Math.max(tLast, b.lastSeq());
      tMsgs += b.messages();
      tBytes += b.bytes();
    }
    boolean firstCounts = (firstSeq > 1 && tFirst > 1) || tFirst > 1; // as trackingStatesEqual
    if (tMsgs != messages || tBytes != bytes || tLast != lastSeq || (firstCounts && tFirst != firstSeq)) {
      return "its block totals (" + tMsgs + " messages, " + tFirst + ".." + tLast + ") disagree with its stream totals ("
          + messages + " messages, " + firstSeq + ".." + lastSeq + ")";
    }
    return null;
  }
}

/**
 * The server's avl.SequenceSet encoding (index.db's deleted sequences): {@code 22, version}, u32 node
 * count, u32 size, then per node u64 base, bitmap words (32 in version 2, 64 in version 1) and u16
 * height; bit b of word w is sequence base + 64w + b. {@code seqs} is sorted.
 */
record SequenceSet(long[] seqs, int encodedLength) {
  static Outcome<SequenceSet> decode(byte[] buf, int at) {
    if (buf.length - at < 10 || buf[at] != 22 || (buf[at + 1] != 1 && buf[at + 1] != 2)) {
      return Outcome.bad(at, "not a sequence set (magic and version)");
    }
    int words = buf[at + 1] == 2 ? 32 : 64, nodeLen = 8 + 8 * words + 2;
    long nodes = LittleEndian.int32(buf, at + 2) & 0xffffffffL, size = LittleEndian.int32(buf, at + 6) & 0xffffffffL;
    if (nodes > (buf.length - at - 10) / nodeLen) return Outcome.bad(at, nodes + " nodes do not fit in the rest of the file");
    long[] seqs = new long[(int) Math.min(size, nodes * words * 64)];
    int n = 0, p = at + 10;
    for (long k = 0; k < nodes; k++, p += nodeLen) {
      long base = LittleEndian.int64(buf, p);
      for (int w = 0; w < words; w++) {
        for (long bits = LittleEndian.int64(buf, p + 8 + 8 * w); bits != 0; bits &= bits - 1) {
          if (n == seqs.length) return Outcome.bad(at, "more sequences than the " + size + " it declares");
          seqs[n++] = base + 64L * w + Long.numberOfTrailingZeros(bits);
        }
      }
    }
    if (n != size) return Outcome.bad(at, "declares " + size + " sequences, holds " + n);
    java.util.Arrays.sort(seqs);
    return Outcome.ok(new SequenceSet(seqs, p - at));
  }
}

/**
 * A consumer's {@code obs/<name>/o.dat}: {@code 22, version} (1 or 2), uvarint ack floor (consumer,
 * stream), delivered (consumer, stream), then pending acks (stream seq, consumer seq, time, relative
 * to the ack floor and a base time in seconds) and redelivery counts. Sealed with the consumer's
 * meta.key seed (nonce prefix) on an encrypted store. Version 1 stored delivered as "next".
 */
record ConsumerState(SeqPair delivered, SeqPair ackFloor, List<ConsumerState.Pending> pending,
    java.util.SortedMap<Long, Long> redelivered) {
  /** A position as the server's JSON has it: {@code consumer_seq}, {@code stream_seq}. */
  record SeqPair(long consumerSeq, long streamSeq) {}

  /** A delivered, unacknowledged message: stream and consumer sequence, delivery time in ns (second precision). */
  record Pending(long streamSeq, long consumerSeq, long ts) {}

  /** A consumer that has delivered nothing: where a Raft log applied from its first entry starts. */
  static final ConsumerState NONE = new ConsumerState(new SeqPair(0, 0), new SeqPair(0, 0), List.of(), Collections.emptySortedMap());

  static final int MAGIC = 22;
  static final String FILE = "o.dat";

  /** Decodes o.dat; {@code consumerKey} is the opened consumer meta.key on an encrypted store, else null. */
  static Outcome<ConsumerState> decode(byte[] file, MetaCrypto.Opened consumerKey) {
    byte[] buf = file;
    if (consumerKey != null) {
      try {
        buf = MetaCrypto.open(consumerKey.cipher(), consumerKey.assetKey(), file);
      } catch (java.security.GeneralSecurityException e) {
        return Outcome.bad(0, "does not open with the consumer's key");
      }
    }
    if (buf.length < 2 || buf[0] != MAGIC || (buf[1] != 1 && buf[1] != 2)) return Outcome.bad(0, "unknown magic and version");
    int version = buf[1];
    VarintReader r = new VarintReader(buf, 2, buf.length);
    long afC = r.uvarint(), afS = r.uvarint(), dC = r.uvarint(), dS = r.uvarint();
    if (r.failed()) return Outcome.bad(buf.length, "ends inside the delivered and ack floor positions");
    if (version == 1) {
      if (afC > 1) dC += afC - 1;
      if (afS > 1) dS += afS - 1;
    }
    if (afS < 0 || dS < 0) return Outcome.bad(2, "stream sequence with bit 63 set (state rolled backwards)");
    List<Pending> pending = new ArrayList<>();
    long numPending = r.uvarint();
    if (numPending > 0) {
      long mints = r.varint();
      for (long k = 0; k < numPending && !r.failed(); k++) {
        long sseq = r.uvarint() + afS, dseq = version == 2 ? r.uvarint() + afC : 0, ts = r.varint();
        if (r.failed()) break;
        if (sseq == 0) return Outcome.bad(r.pos, "pending entry " + k + " has stream sequence 0");
        pending.add(new Pending(sseq, dseq, (version == 1 ? ts + mints : mints - ts) * 1_000_000_000L));
      }
    }
    if (r.failed()) return Outcome.bad(buf.length, "pending list runs past the end");
    java.util.SortedMap<Long, Long> redelivered = new java.util.TreeMap<>();
    long numRedelivered = r.uvarint();
    for (long k = 0; k < numRedelivered && !r.failed(); k++) {
      long seq = r.uvarint(), count = r.uvarint();
      if (!r.failed() && seq > 0 && count > 0) redelivered.put(seq + afS, count);
    }
    if (r.failed()) return Outcome.bad(buf.length, "redelivered list runs past the end");
    pending.sort(Comparator.comparingLong(Pending::streamSeq));
    return Outcome.ok(new ConsumerState(new SeqPair(dC, dS), new SeqPair(afC, afS), List.copyOf(pending),
        java.util.Collections.unmodifiableSortedMap(redelivered)));
  }
}

/**
 * o.dat as encodeConsumerState writes it (the same in 2.9.10, 2.10 and main): {@code 22, 2}, uvarint ack floor
 * (consumer, stream), delivered (consumer, stream), the pending count, then, when any, a base time in seconds and
 * each pending message relative to the ack floor and that base, then the redelivery counts. Sealed with the
 * consumer's asset key (MetaCrypto.seal) on an encrypted store. What {@link ConsumerState#decode} reads back.
 */
final class ConsumerStateWriter {
  private ConsumerStateWriter() {}

  /** {@code nowSeconds} is the base time the server takes (now, rounded to the second). */
  static byte[] encode(ConsumerState s, long nowSeconds) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write(ConsumerState.MAGIC);
    out.write(2);
    long afC = s.ackFloor().consumerSeq(), afS = s.ackFloor().streamSeq();
    for (long v : new long[] {afC, afS, s.delivered().consumerSeq(), s.delivered().streamSeq(), s.pending().size()}) uvarint(out, v);
    if (!s.pending().isEmpty()) {
      varint(out, nowSeconds);
      for (ConsumerState.Pending p : s.pending()) {
        uvarint(out, p.streamSeq() - afS);
        uvarint(out, p.consumerSeq() - afC);
        varint(out, nowSeconds - p.ts() / 1_000_000_000L);
      }
    }
    uvarint(out, s.redelivered().size());
    s.redelivered().forEach((seq, count) -> {
      uvarint(out, seq - afS);
      uvarint(out, count);
    });
    return out.toByteArray();
  }

  /** o.dat's bytes: sealed when {@code consumerKey} (the opened consumer meta.key) is given. */
  static byte[] file(ConsumerState st, MetaCrypto.Opened consumerKey) {
    byte[] plain = encode(st, Instant.now().plusMillis(500).getEpochSecond()); // time.Now().Round(time.Second)
    return consumerKey == null ? plain : MetaCrypto.seal(consumerKey.cipher(), consumerKey.assetKey(), plain);
  }

  static void uvarint(java.io.ByteArrayOutputStream out, long v) {
    while (Long.compareUnsigned(v, 0x80) >= 0) {
      out.write((int) (v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.write((int) v);
  }

  static void varint(java.io.ByteArrayOutputStream out, long v) { uvarint(out, (v << 1) ^ (v >> 63)); }
}

// =================================================================================================
// 7. Cluster records
//
// <system account>/_js_/_meta_ (the meta group: every stream and consumer the cluster knew, wherever
// it lived) and _js_/S-…, C-… (one folder per replicated stream or consumer group), as raft.go and
// jetstream_cluster.go write them: peers.idx, tav.idx, 2.15's commit.idx, the latest
// snapshots/snap.<term>.<index> and the log, a file store whose record N is the append entry of Raft
// index N. Read as the server reads them at restart; nothing is written, damage comes back as data.
// =================================================================================================

/** The Raft files of one group folder and their decoders (layouts in the reference RAFT-RECORDS.md). */
final class Raft {
  static final String META_GROUP = "_meta_", SNAPSHOTS = "snapshots", PEERS = "peers.idx", COMMIT = "commit.idx";
  /** EntryType values. */
  static final int NORMAL = 0, OLD_SNAPSHOT = 1, PEER_STATE = 2, ADD_PEER = 3, REMOVE_PEER = 4, SNAPSHOT = 6;
  private static final int ID_LEN = 8, AE_HEADER = ID_LEN + 4 * 8 + 2;
  private static final String DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  /** One entry of an append entry: its EntryType and data (for NORMAL, an entryOp byte and its payload). */
  record Entry(int type, byte[] data) {}

  /** One append entry, as (*appendEntry).encode writes it; {@code index} is its Raft index (its record's sequence). */
  record AppendEntry(long index, String leader, long term, long commit, long pterm, long pindex, List<Entry> entries) {}

  /** peers.idx, and the peer state in snapshots and PeerState entries. */
  record Peers(long clusterSize, List<String> ids) {}

  record Snapshot(String file, long term, long index, Peers peers, byte[] data) {}

  /** What one group folder holds. Fields are null when their file is absent; {@code damage} names what could not be read. */
  record Group(String name, Path dir, Snapshot snapshot, Peers peers, Long commitFile, List<AppendEntry> log,
      List<String> damage, boolean sealedWithoutKey) {
    /** The highest index this node knew committed: commit.idx, the entries' own commit fields, the snapshot. */
    long knownCommit() {
      long c = commitFile == null ? 0 : commitFile;
      if (snapshot != null) c = Math.max(c, snapshot.index());
      for (AppendEntry ae : log) c = Math.max(c, ae.commit());
      return c;
    }

    long lastIndex() { return log.isEmpty() ? (snapshot == null ? 0 : snapshot.index()) : log.get(log.size() - 1).index(); }

    /** No snapshot, and the log from its first entry on: the log alone holds the group's whole state. */
    boolean wholeLog() { return snapshot == null && !log.isEmpty() && log.get(0).index() == 1; }

    /** This group with its snapshot's data left out: what is kept to report once the data has been applied. */
    Group withoutSnapshotData() {
      return snapshot == null ? this : new Group(name, dir, new Snapshot(snapshot.file(), snapshot.term(), snapshot.index(),
          snapshot.peers(), new byte[0]), peers, commitFile, log, damage, sealedWithoutKey);
    }
  }

  private Raft() {}

  /** A server's node id as Raft stores it: getHash(server name), sha256 mapped to base 62, 8 characters. */
  static String nodeId(String serverName) {
    try {
      byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(serverName.getBytes(StandardCharsets.UTF_8));
      StringBuilder id = new StringBuilder(ID_LEN);
      for (int i = 0; i < ID_LEN; i++) id.append(DIGITS.charAt((sha[i] & 0xff) % DIGITS.length()));
      return id.toString();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** {@code u32 clusterSize | u32 n | n x id[8] | u16 domainExt}. */
  static Outcome<Peers> peers(byte[] b, int off, int len) {
    if (len < 8) return Outcome.bad(off, "peer state of " + len + " bytes, fewer than 8");
    long size = LittleEndian.int32(b, off) & 0xffffffffL, n = LittleEndian.int32(b, off + 4) & 0xffffffffL;
    if (n > (len - 8) / ID_LEN) return Outcome.bad(off + 4, "peer state names " + n + " peers, its " + len + " bytes hold fewer");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) ids.add(new String(b, off + 8 + i * ID_LEN, ID_LEN, StandardCharsets.ISO_8859_1));
    return Outcome.ok(new Peers(size, List.copyOf(ids)));
  }

  /** {@code u64 lastTerm | u64 lastIndex | u32 len | peer state | data | hash[8]}, hash keyed sha256(group). */
  static Outcome<Snapshot> snapshot(String group, String file, byte[] b) {
    if (b.length < 20 + MsgBlock.HASH) return Outcome.bad(0, file + " has " + b.length + " bytes, too few for a snapshot");
    int end = b.length - MsgBlock.HASH;
    if (HighwayHash64.keyedBy(group).hashBytes(b, 0, end) != LittleEndian.int64(b, end)) {
      return Outcome.bad(end, file + ": checksum mismatch (the server deletes such a snapshot)");
    }
    long plen = LittleEndian.int32(b, 16) & 0xffffffffL;
    if (plen > end - 20) return Outcome.bad(16, file + ": peer state length " + plen + " runs past the data");
    Outcome<Peers> peers = peers(b, 20, (int) plen);
    if (!peers.ok()) return Outcome.bad(peers.damage().offset(), file + ": " + peers.damage().why());
    return Outcome.ok(new Snapshot(file, LittleEndian.int64(b, 0), LittleEndian.int64(b, 8), peers.value(),
        java.util.Arrays.copyOfRange(b, 20 + (int) plen, end)));
  }

  /** 2.15's commit.idx: {@code u64 commit | hash[8]} keyed sha256(group). */
  static Outcome<Long> commitIndex(String group, byte[] b) {
    if (b.length != 16) return Outcome.bad(0, COMMIT + " has " + b.length + " bytes, not 16");
    if (HighwayHash64.keyedBy(group).hashBytes(b, 0, 8) != LittleEndian.int64(b, 8)) return Outcome.bad(8, COMMIT + ": checksum mismatch");
    return Outcome.ok(LittleEndian.int64(b, 0));
  }

  /** {@code leader[8] | term | commit | pterm | pindex (u64) | u16 n | n x (u32 len | type | data)} [| uvarint lterm]. */
  static Outcome<AppendEntry> appendEntry(long index, byte[] b) {
    if (b.length < AE_HEADER) return Outcome.bad(0, "append entry of " + b.length + " bytes, fewer than " + AE_HEADER);
    int n = (b[40] & 0xff) | (b[41] & 0xff) << 8, at = AE_HEADER;
    List<Entry> entries = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      long len = at + 4 <= b.length ? LittleEndian.int32(b, at) & 0xffffffffL : -1;
      if (len < 1 || len > b.length - at - 4) return Outcome.bad(at, "entry " + i + " of " + n + " does not fit its append entry");
      entries.add(new Entry(b[at + 4] & 0xff, java.util.Arrays.copyOfRange(b, at + 5, at + 4 + (int) len)));
      at += 4 + (int) len;
    }
    return Outcome.ok(new AppendEntry(index, new String(b, 0, ID_LEN, StandardCharsets.ISO_8859_1), LittleEndian.int64(b, 8),
        LittleEndian.int64(b, 16), LittleEndian.int64(b, 24), LittleEndian.int64(b, 32), List.copyOf(entries)));
  }

  /**
   * Reads a group folder ({@code jsKey} null when none is known). The log is the group's file store: its
   * blocks are sealed like a stream's, with the group's name as account and stream. Without the key a sealed
   * log is skipped ({@code sealedWithoutKey}); the snapshot and the .idx files are never encrypted.
   */
  static Group read(Path dir, byte[] jsKey) {
    String name = dir.getFileName().toString();
    List<String> damage = new ArrayList<>();
    Peers peers = null;
    Long commit = null;
    Snapshot snap = null;
    byte[] b = readIfPresent(dir.resolve(PEERS), damage);
    if (b != null) peers = keep(peers(b, 0, b.length), PEERS, damage);
    b = readIfPresent(dir.resolve(COMMIT), damage);
    if (b != null) commit = keep(commitIndex(name, b), COMMIT, damage);
    Path latest = latestSnapshot(dir.resolve(SNAPSHOTS));
    if (latest != null && (b = readIfPresent(latest, damage)) != null) {
      snap = keep(snapshot(name, latest.getFileName().toString(), b), SNAPSHOTS, damage);
    }
    List<AppendEntry> log = new ArrayList<>();
    boolean sealed = false;
    for (Map.Entry<Integer, Path> blk : blocks(dir.resolve("msgs")).entrySet()) {
      int index = blk.getKey();
      byte[] file = readIfPresent(blk.getValue(), damage);
      if (file == null) continue;
      BlockKey key = null;
      byte[] keyFile = readIfPresent(blk.getValue().resolveSibling(index + ".key"), damage);
      if (keyFile != null) {
        if (jsKey == null) {
          sealed = true;
          continue;
        }
        Outcome<BlockKey> k = BlockKey.open(jsKey, name, name, index, keyFile, null);
        if (!k.ok()) {
          damage.add("msgs/" + k.damage().why());
          continue;
        }
        key = k.value();
      }
      Outcome<MsgBlock.Plain> plain = MsgBlock.open(file, key);
      byte[] data = plain.ok() ? plain.value().data() : null;
      MsgBlock.Scan scan = MsgBlock.scan(name, index, file.length, key != null, plain, true, r -> {
        if (r.kind() != MsgBlock.Kind.MESSAGE || r.hash() == MsgBlock.Hash.MISMATCH) return;
        Outcome<AppendEntry> ae = appendEntry(r.seq(), r.payload(data));
        if (ae.ok()) log.add(ae.value());
        else damage.add("msgs/" + index + ".blk record " + r.seq() + ": " + ae.damage().why());
      });
      scan.damage().forEach(d -> damage.add("msgs/" + index + ".blk at " + d.offset() + ": " + d.why()));
    }
    log.sort(Comparator.comparingLong(AppendEntry::index));
    // What the server replays: the entries after the snapshot it installs.
    long after = snap == null ? 0 : snap.index();
    log.removeIf(ae -> ae.index() <= after);
    return new Group(name, dir, snap, peers, commit, List.copyOf(log), List.copyOf(damage), sealed);
  }

  /** setupLastSnapshot's choice: the highest term, then the highest index, of the snap.<term>.<index> files. */
  static Path latestSnapshot(Path snapshots) {
    Path best = null;
    long bt = -1, bi = -1;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(snapshots)) {
      for (Path f : files) {
        String[] p = f.getFileName().toString().split("\\.");
        if (p.length != 3 || !p[0].equals("snap")) continue;
        try {
          long t = Long.parseUnsignedLong(p[1]), i = Long.parseUnsignedLong(p[2]);
          if (t > bt || (t == bt && i > bi)) {
            best = f;
            bt = t;
            bi = i;
          }
        } catch (NumberFormatException notASnapshot) {
          // the server skips it too
        }
      }
    } catch (IOException noSnapshots) {
      return null;
    }
    return best;
  }

  private static java.util.TreeMap<Integer, Path> blocks(Path msgs) {
    try {
      return MsgBlock.files(msgs);
    } catch (IOException noLog) {
      return new java.util.TreeMap<>(); // what cannot be listed holds no log to read
    }
  }

  private static byte[] readIfPresent(Path f, List<String> damage) {
    try {
      return BlockFile.read(f); // a log block or snapshot, as large as a message block
    } catch (NoSuchFileException absent) {
      return null;
    } catch (IOException e) {
      damage.add(f.getFileName() + ": cannot read: " + e.getMessage());
      return null;
    }
  }

  private static <T> T keep(Outcome<T> o, String what, List<String> damage) {
    if (!o.ok()) damage.add(what + ": " + o.damage().why());
    return o.value();
  }

  /** The normal entries of a log with their Raft index, in log order: (index, op byte, payload after the op). */
  record Op(long index, int op, byte[] data, int from) {}

  static List<Op> ops(List<AppendEntry> log) {
    List<Op> ops = new ArrayList<>();
    for (AppendEntry ae : log) {
      for (Entry e : ae.entries()) {
        if (e.type() == NORMAL && e.data().length > 0) ops.add(new Op(ae.index(), e.data()[0] & 0xff, e.data(), 1));
      }
    }
    return ops;
  }
}

/** A stream or consumer as the meta group assigned it. {@code from} says which record last set it. */
record ClusterAsset(String account, String stream, String consumer, byte[] configJson, String group, List<String> peers,
    String storage, boolean memStorage, String from, String created) {
  /**
   * The config the assignment holds (null when it holds none), decoded again on each call: an inventory keeps a
   * config per stream and consumer, and as trees (every number a BigInteger node) they outweighed the rest of a store.
   */
  JsonNode config() {
    try {
      return configJson == null ? null : Json.MAPPER.readTree(configJson);
    } catch (IOException e) {
      throw new UncheckedIOException("js-recover wrote these bytes from a decoded config", e);
    }
  }

  boolean memory() { return "memory".equals(storage) || memStorage; }
}

/**
 * The cluster's inventory as this node last knew it: the meta snapshot, then every meta log entry after it in
 * order, as applyMetaSnapshot and applyMetaEntries apply them on restart (an update keeps the stream's consumers,
 * a stream removal drops them, a snapshot entry replaces everything).
 */
final class ClusterInventory {
  /** The decoded snapshot may not exceed this: a damaged length must not exhaust memory. */
  static final int MAX_SNAPSHOT = 256 << 20;
  static final int ASSIGN_STREAM = 0, ASSIGN_CONSUMER = 1, REMOVE_STREAM = 2, REMOVE_CONSUMER = 3,
      ASSIGN_COMPRESSED_CONSUMER = 9, UPDATE_STREAM = 11;

  final Raft.Group meta;
  /** Keyed {@code account \0 stream} and {@code account \0 stream \0 consumer}, so a stream's consumers sort after it. */
  final java.util.TreeMap<String, ClusterAsset> streams = new java.util.TreeMap<>(), consumers = new java.util.TreeMap<>();
  /** Node ids the meta group lists, and the group size it expects. */
  List<String> peers = List.of();
  long expectedPeers;
  /** Server names by node id, from the assignments' client.server (only servers that handled a request). */
  final java.util.TreeMap<String, String> names = new java.util.TreeMap<>();
  /** What limits this inventory, in plain words. */
  final List<String> notes = new ArrayList<>();

  /**
   * One instance of each name, peer list and origin the assignments repeat (the account, the stream in each of its
   * consumers' assignments, the peers of every group, "file"): an inventory holds a set per stream and consumer.
   */
  private final Map<Object, Object> shared = new HashMap<>();

  private ClusterInventory(Raft.Group meta) { this.meta = meta; }

  @SuppressWarnings("unchecked")
  private <T> T shared(T value) { return value == null ? null : (T) shared.computeIfAbsent(value, v -> v); }

  static String key(String account, String stream) { return account + '\0' + stream; }

  static ClusterInventory of(Raft.Group meta) {
    // the meta snapshot's data (50,000 streams: about 100 MB) is applied below and not kept
    ClusterInventory inv = new ClusterInventory(meta.withoutSnapshotData());
    meta.damage().forEach(d -> inv.notes.add("_meta_/" + d));
    if (meta.peers() != null) inv.setPeers(meta.peers());
    if (meta.snapshot() != null) {
      inv.setPeers(meta.snapshot().peers());
      inv.applySnapshot(meta.snapshot().data(), meta.snapshot().file());
    } else {
      inv.notes.add("no meta snapshot: the inventory holds only what the log after it still has");
    }
    if (meta.sealedWithoutKey()) {
      inv.notes.add("the meta log is encrypted and no key was given: the inventory is as of the snapshot"
          + (meta.snapshot() == null ? "" : " " + meta.snapshot().file()) + "; give the cluster's JetStream key for the later changes");
    }
    for (Raft.AppendEntry ae : meta.log()) {
      for (Raft.Entry e : ae.entries()) inv.apply(ae.index(), e);
    }
    return inv;
  }

  private void setPeers(Raft.Peers p) {
    peers = p.ids();
    expectedPeers = Math.max(p.clusterSize(), p.ids().size());
  }

  private void apply(long index, Raft.Entry e) {
    String from = "log#" + index;
    byte[] d = e.data();
    switch (e.type()) {
      case Raft.PEER_STATE -> {
        Outcome<Raft.Peers> p = Raft.peers(d, 0, d.length);
        if (p.ok()) setPeers(p.value());
        else notes.add(from + ": peer state: " + p.damage().why());
      }
      case Raft.ADD_PEER -> {
        String id = new String(d, StandardCharsets.ISO_8859_1);
        if (!peers.contains(id)) {
          List<String> more = new ArrayList<>(peers);
          more.add(id);
          peers = List.copyOf(more);
          expectedPeers = Math.max(expectedPeers, peers.size());
        }
      }
      case Raft.REMOVE_PEER -> {
        String id = new String(d, StandardCharsets.ISO_8859_1);
        peers = peers.stream().filter(p -> !p.equals(id)).toList();
      }
      case Raft.SNAPSHOT, Raft.OLD_SNAPSHOT -> {
        streams.clear();
        consumers.clear();
        applySnapshot(d, from);
      }
      case Raft.NORMAL -> { if (d.length > 0) applyOp(d[0] & 0xff, d, from); }
      default -> { }
    }
  }

  private void applySnapshot(byte[] data, String from) {
    if (data.length == 0) return; // a cluster without streams snapshots nothing
    Outcome<byte[]> json = S2.decodeBlock(data, 0, data.length, MAX_SNAPSHOT);
    if (!json.ok()) {
      notes.add(from + ": snapshot data does not decode (s2: " + json.damage().why() + ")");
      return;
    }
    // Assignment by assignment: a tree of the whole snapshot (50,000 streams: about 100 MB of JSON) would be held at
    // once. Applied only once all of it parsed, as before.
    List<ClusterAsset> read = new ArrayList<>();
    try (com.fasterxml.jackson.core.JsonParser p = Json.MAPPER.createParser(json.value())) {
      com.fasterxml.jackson.core.JsonToken first = p.nextToken();
      if (first == null) return;
      if (first != com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
        notes.add(from + ": snapshot JSON is not a list of stream assignments");
        return;
      }
      while (p.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
        JsonNode sa = Json.MAPPER.readTree(p);
        read.add(stream(sa, "snapshot " + from));
        for (JsonNode ca : sa.path("Consumers")) read.add(consumer(ca, "snapshot " + from));
      }
    } catch (IOException e) {
      notes.add(from + ": snapshot JSON does not parse: " + e.getMessage());
      return;
    }
    for (ClusterAsset a : read) {
      if (a.consumer() == null) streams.put(key(a.account(), a.stream()), a);
      else putConsumer(a);
    }
  }

  private void applyOp(int op, byte[] d, String from) {
    byte[] json = java.util.Arrays.copyOfRange(d, 1, d.length);
    if (op == ASSIGN_COMPRESSED_CONSUMER) {
      Outcome<byte[]> plain = S2.decodeStream(d, 1, d.length - 1, MAX_SNAPSHOT);
      if (!plain.ok()) {
        notes.add(from + ": compressed consumer assignment does not decode (s2: " + plain.damage().why() + ")");
        return;
      }
      json = plain.value();
      op = ASSIGN_CONSUMER;
    }
    if (op != ASSIGN_STREAM && op != UPDATE_STREAM && op != REMOVE_STREAM && op != ASSIGN_CONSUMER && op != REMOVE_CONSUMER) return;
    JsonNode a;
    try {
      a = Json.MAPPER.readTree(json);
    } catch (IOException e) {
      notes.add(from + ": assignment JSON does not parse: " + e.getMessage());
      return;
    }
    switch (op) {
      case ASSIGN_STREAM, UPDATE_STREAM -> {
        ClusterAsset s = stream(a, from);
        streams.put(key(s.account(), s.stream()), s);
      }
      case REMOVE_STREAM -> {
        ClusterAsset s = stream(a, from);
        String k = key(s.account(), s.stream());
        streams.remove(k);
        consumers.subMap(k + '\0', k + '\1').clear();
      }
      case ASSIGN_CONSUMER -> putConsumer(consumer(a, from));
      default -> {
        ClusterAsset c = consumer(a, from);
        String k = key(key(c.account(), c.stream()), c.consumer());
        ClusterAsset had = consumers.get(k);
        // processConsumerRemoval removes only the assignment of the same group.
        if (had != null && (c.group() == null || c.group().equals(had.group()))) consumers.remove(k);
      }
    }
  }

  private void putConsumer(ClusterAsset c) { consumers.put(key(key(c.account(), c.stream()), c.consumer()), c); }

  /** client.svc when set, else client.acc (ClientInfo.serviceAccount); the server that took the request is named. */
  private String account(JsonNode a) {
    JsonNode client = a.path("client");
    String server = client.path("server").asText("");
    if (!server.isEmpty()) names.put(Raft.nodeId(server), server);
    String svc = client.path("svc").asText("");
    return svc.isEmpty() ? client.path("acc").asText("") : svc;
  }

  private ClusterAsset stream(JsonNode sa, String from) {
    JsonNode g = sa.path("group");
    return new ClusterAsset(shared(account(sa)), shared(sa.path("stream").path("name").asText("")), null, compact(sa.get("stream")),
        g.path("name").asText(null), ids(g.path("peers")), shared(g.path("store").asText(sa.path("stream").path("storage").asText(""))),
        sa.path("stream").path("mem_storage").asBoolean(false), shared(from), sa.path("created").asText(null));
  }

  private ClusterAsset consumer(JsonNode ca, String from) {
    JsonNode g = ca.path("group");
    String name = ca.path("name").asText("");
    if (name.isEmpty()) name = ca.path("consumer").path("durable_name").asText("");
    boolean memStorage = ca.path("consumer").path("mem_storage").asBoolean(false);
    return new ClusterAsset(shared(account(ca)), shared(ca.path("stream").asText("")), shared(name), compact(ca.get("consumer")),
        g.path("name").asText(null), ids(g.path("peers")), shared(g.path("store").asText(memStorage ? "memory" : "file")), memStorage,
        shared(from), ca.path("created").asText(null));
  }

  private static final com.fasterxml.jackson.databind.ObjectWriter COMPACT = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT);

  /** A config as the compact JSON ClusterAsset keeps. */
  private static byte[] compact(JsonNode config) {
    try {
      return config == null ? null : COMPACT.writeValueAsBytes(config);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private List<String> ids(JsonNode peers) {
    List<String> ids = new ArrayList<>();
    peers.forEach(p -> ids.add(shared(p.asText())));
    return shared(List.copyOf(ids));
  }

  /** Streams and consumers together, by their keys. */
  Map<String, ClusterAsset> assets() {
    Map<String, ClusterAsset> all = new HashMap<>(streams);
    all.putAll(consumers);
    return all;
  }

  /** A node id with its server name when one is known: {@code 44jzkV9D (n2)}. */
  String named(String id) { return names.containsKey(id) ? id + " (" + names.get(id) + ")" : id; }

  List<ClusterAsset> consumersOf(ClusterAsset stream) {
    String k = key(stream.account(), stream.stream());
    return List.copyOf(consumers.subMap(k + '\0', k + '\1').values());
  }
}

/**
 * What a stream's or consumer's Raft log holds after its snapshot: stream messages (with sequence, time,
 * subject, headers and payload), deletes, purges; consumer acks and deliveries. Decoded as
 * applyStreamEntries and applyConsumerEntries read them.
 */
final class GroupLog {
  static final int STREAM_MSG = 4, PURGE = 5, DELETE_MSG = 6, UPDATE_DELIVERED = 7, UPDATE_ACKS = 8,
      COMPRESSED_STREAM_MSG = 14, DELETE_RANGE = 15, BATCH_MSG = 16, BATCH_COMMIT_MSG = 17;

  /** One message as the leader proposed it; {@code seq} is the stream sequence it gets, {@code index} its Raft index. */
  record StreamMsg(long index, long seq, long ts, String subject, String reply, byte[] headers, byte[] payload) {}

  record Ack(long index, long consumerSeq, long streamSeq) {}

  /** A purgeStreamOp ({@code streamPurge}: last_seq, optional request with filter, seq, keep) at Raft index {@code index}. */
  record Purge(long index, JsonNode entry) {}

  /** A consumer's updateDelivered (with its delivery count and time in ns) or updateAcks (dc 0), in log order. */
  record ConsumerUpdate(long index, boolean ack, long consumerSeq, long streamSeq, long dc, long ts) {}

  final Raft.Group group;
  final List<StreamMsg> messages = new ArrayList<>();
  /** Deleted stream sequence -> the Raft index of its deleteMsgOp (work-queue and interest removals on 2.11+, API deletes). */
  final java.util.TreeMap<Long, Long> deletes = new java.util.TreeMap<>();
  final List<Purge> purges = new ArrayList<>();
  final List<JsonNode> deleteRanges = new ArrayList<>();
  final List<Ack> acks = new ArrayList<>();
  final List<ConsumerUpdate> consumerUpdates = new ArrayList<>();
  long deliveredStreamSeq;
  /** The count of failed proposals the snapshot records (clfs): stream sequence = lseq + 1 - clfs. */
  long clfs;
  final List<String> damage = new ArrayList<>();

  private GroupLog(Raft.Group group) { this.group = group; }

  static GroupLog of(Raft.Group group) {
    GroupLog g = new GroupLog(group);
    g.damage.addAll(group.damage());
    if (group.snapshot() != null) g.clfs = clfsOf(group.snapshot().data());
    for (Raft.Op op : Raft.ops(group.log())) g.apply(op.index(), op.op(), op.data(), op.from());
    return g;
  }

  /** 2.9 stream snapshots are JSON with "clfs"; 2.10+ are EncodedStreamState (magic 42, version 1, uvarint msgs, bytes, first, last, failed...). */
  static long clfsOf(byte[] snap) {
    if (snap.length > 0 && snap[0] == '{') {
      try {
        return Json.MAPPER.readTree(snap).path("clfs").asLong(0);
      } catch (IOException notAStreamSnapshot) {
        return 0;
      }
    }
    if (snap.length < 2 || snap[0] != 42) return 0; // a consumer's snapshot
    VarintReader r = new VarintReader(snap, 2, snap.length);
    for (int i = 0; i < 4; i++) r.uvarint();
    long failed = r.uvarint();
    return r.failed() ? 0 : failed;
  }

  private void apply(long index, int op, byte[] d, int at) {
    switch (op) {
      case STREAM_MSG -> streamMsg(index, d, at, d.length);
      case COMPRESSED_STREAM_MSG -> {
        Outcome<byte[]> plain = S2.decodeBlock(d, at, d.length - at, MsgBlock.MAX_RECORD);
        if (plain.ok()) streamMsg(index, plain.value(), 0, plain.value().length);
        else damage.add("log#" + index + ": compressed message does not decode (s2: " + plain.damage().why() + ")");
      }
      case BATCH_MSG, BATCH_COMMIT_MSG -> {
        VarintReader r = new VarintReader(d, at, d.length);
        int idAt = r.take(2);
        if (!r.failed()) r.take((d[idAt] & 0xff) | (d[idAt + 1] & 0xff) << 8);
        r.uvarint();
        if (r.failed() || r.pos >= d.length) damage.add("log#" + index + ": batch entry does not fit");
        else apply(index, d[r.pos] & 0xff, d, r.pos + 1);
      }
      case DELETE_MSG -> json(index, d, at).ifPresent(j -> deletes.putIfAbsent(j.path("seq").asLong(), index));
      case PURGE -> json(index, d, at).ifPresent(j -> purges.add(new Purge(index, j)));
      case DELETE_RANGE -> json(index, d, at).ifPresent(deleteRanges::add);
      case UPDATE_ACKS -> {
        VarintReader r = new VarintReader(d, at, d.length);
        long dseq = r.uvarint(), sseq = r.uvarint();
        if (r.failed()) damage.add("log#" + index + ": ack update does not fit");
        else {
          acks.add(new Ack(index, dseq, sseq));
          consumerUpdates.add(new ConsumerUpdate(index, true, dseq, sseq, 0, 0));
        }
      }
      case UPDATE_DELIVERED -> {
        VarintReader r = new VarintReader(d, at, d.length);
        long dseq = r.uvarint(), sseq = r.uvarint(), dc = r.uvarint(), ts = r.varint();
        if (r.failed()) damage.add("log#" + index + ": delivered update does not fit");
        else {
          deliveredStreamSeq = Math.max(deliveredStreamSeq, sseq);
          consumerUpdates.add(new ConsumerUpdate(index, false, dseq, sseq, dc, ts));
        }
      }
      default -> { }
    }
  }

  /** {@code lseq u64 | ts i64 | u16 subj | u16 reply | u16 hdr | u32 msg} [| uvarint flags]. */
  private void streamMsg(long index, byte[] b, int at, int end) {
    int p = at + 16;
    String[] texts = new String[2];
    byte[] hdr = null, msg = null;
    for (int part = 0; part < 4 && p >= 0; part++) {
      int w = part == 3 ? 4 : 2;
      if (end - p < w) {
        p = -1;
        break;
      }
      long len = w == 4 ? LittleEndian.int32(b, p) & 0xffffffffL : (b[p] & 0xff) | (b[p + 1] & 0xff) << 8;
      p += w;
      if (len > end - p) {
        p = -1;
        break;
      }
      if (part < 2) texts[part] = new String(b, p, (int) len, StandardCharsets.UTF_8);
      else if (part == 2) hdr = java.util.Arrays.copyOfRange(b, p, p + (int) len);
      else msg = java.util.Arrays.copyOfRange(b, p, p + (int) len);
      p += (int) len;
    }
    if (p < 0 || end - at < 16) {
      damage.add("log#" + index + ": stream message does not fit its entry");
      return;
    }
    messages.add(new StreamMsg(index, LittleEndian.int64(b, at) + 1 - clfs, LittleEndian.int64(b, at + 8), texts[0], texts[1], hdr, msg));
  }

  private java.util.Optional<JsonNode> json(long index, byte[] d, int at) {
    try {
      return java.util.Optional.of(Json.MAPPER.readTree(d, at, d.length - at));
    } catch (IOException e) {
      damage.add("log#" + index + ": JSON does not parse: " + e.getMessage());
      return java.util.Optional.empty();
    }
  }

  /** Messages the log holds above {@code storedLastSeq}. */
  List<StreamMsg> messagesAfter(long storedLastSeq) { return messages.stream().filter(m -> m.seq() > storedLastSeq).toList(); }

  /** Acks the log holds above the stored ack floor (stream sequence). */
  List<Ack> acksAbove(long storedAckFloor) { return acks.stream().filter(a -> a.streamSeq() > storedAckFloor).toList(); }

  /** Entries above the highest commit index this node knew: a publisher may have seen a timeout for them. */
  long beyondKnownCommit(List<Long> indexes) {
    long commit = group.knownCommit();
    return indexes.stream().filter(i -> i > commit).count();
  }
}

/**
 * The survivor's cluster records set against its store: where the system account's {@code _js_} is (in place,
 * or in the backup of the first prepare), the inventory, which assets are on this disk and why the others are
 * not, and per stream and consumer what its Raft log holds beyond the store (messages above the store's last
 * sequence, acks above the stored ack floor). Reads only.
 */
final class ClusterRecords {
  /** One asset of the inventory as this survivor has it. {@code notHere} says why it is not on this disk (null when it is). */
  record Placement(ClusterAsset asset, boolean onDisk, Path raftFolder, String notHere, long storedLast, GroupLog log,
      long raftOnly, long beyondCommit) {}

  final Path raftDir;
  final ClusterInventory inventory;
  /** This node's id when the groups on its disk name exactly one common peer, else null. */
  final String self;
  final List<Placement> placements = new ArrayList<>();
  /** Each stream's consumers' placements, by its ClusterInventory.key: a scan of every placement per stream was quadratic. */
  private final Map<String, List<Placement>> consumerPlacements = new HashMap<>();

  private ClusterRecords(Path raftDir, ClusterInventory inventory, String self) {
    this.raftDir = raftDir;
    this.inventory = inventory;
    this.self = self;
  }

  /** The {@code _js_} folder holding {@code _meta_}: in place, else moved by the first prepare that moved it. */
  static Path locate(Store store) {
    for (Path r : store.raftDirs) if (Files.isDirectory(r.resolve(Raft.META_GROUP))) return r;
    try {
      for (Backups.Run run : Backups.runHeads(store)) {
        for (JsonNode moved : run.manifest().path("raft_dirs")) {
          Path r = run.dir().resolve(moved.path("to").asText());
          if (Files.isDirectory(r.resolve(Raft.META_GROUP))) return r;
        }
      }
    } catch (IOException unreadableBackup) {
      // the walker reports the backup's damage; without it there are no records to read
    }
    return null;
  }

  /** null when the store holds no meta group (a standalone server's store). */
  static ClusterRecords read(Store store, KeyRing keys) {
    Path raftDir = locate(store);
    if (raftDir == null) return null;
    byte[] jsKey = keys == null ? null : keys.key();
    ClusterInventory inv = ClusterInventory.of(Raft.read(raftDir.resolve(Raft.META_GROUP), jsKey));
    Map<String, StoredStream> onDisk = new HashMap<>();
    java.util.Set<String> here = new java.util.HashSet<>();
    for (StoredStream s : store.streams) {
      String k = ClusterInventory.key(s.meta().account, s.meta().stream);
      onDisk.put(k, s);
      here.add(k);
      s.consumers().forEach(c -> here.add(ClusterInventory.key(k, c.consumer)));
    }
    ClusterRecords cr = new ClusterRecords(raftDir, inv, self(inv, here));
    record OnDisk(ClusterAsset asset, MetaAsset meta) {} // meta: the stream's or consumer's on this disk, else null
    List<OnDisk> assets = new ArrayList<>();
    for (ClusterAsset s : inv.streams.values()) {
      StoredStream stored = onDisk.get(ClusterInventory.key(s.account(), s.stream()));
      assets.add(new OnDisk(s, stored == null ? null : stored.meta()));
      for (ClusterAsset c : inv.consumersOf(s)) {
        assets.add(new OnDisk(c, stored == null ? null
            : stored.consumers().stream().filter(m -> m.consumer.equals(c.consumer())).findFirst().orElse(null)));
      }
    }
    // Each asset's Raft log (and last block or o.dat) is read on its own: a survivor holds a group per stream and
    // consumer.
    Placement[] placed = new Placement[assets.size()];
    StoreWalker.parallel(java.util.stream.IntStream.range(0, placed.length).boxed().toList(), i -> {
      OnDisk a = assets.get(i);
      long stored = a.meta() == null ? 0 : a.asset().consumer() == null ? lastSeq(a.meta(), jsKey) : ackFloor(a.meta());
      placed[i] = cr.place(a.asset(), a.meta() != null, stored, jsKey);
    });
    cr.placements.addAll(List.of(placed));
    for (Placement p : placed) {
      ClusterAsset a = p.asset();
      if (a.consumer() != null) cr.consumerPlacements.computeIfAbsent(ClusterInventory.key(a.account(), a.stream()), k -> new ArrayList<>()).add(p);
    }
    return cr;
  }

  private Placement place(ClusterAsset a, boolean onDisk, long stored, byte[] jsKey) {
    // a group name is the server's own (S-R3F-…): anything else is not followed out of _js_
    Path folder = a.group() == null || !a.group().matches("[A-Za-z0-9_-]+") ? null : raftDir.resolve(a.group());
    if (folder != null && !Files.isDirectory(folder)) folder = null;
    GroupLog log = folder == null || !onDisk ? null : GroupLog.of(Raft.read(folder, jsKey));
    long raftOnly = 0, beyond = 0;
    if (log != null) {
      List<Long> indexes = a.consumer() == null
          ? log.messagesAfter(stored).stream().map(GroupLog.StreamMsg::index).toList()
          : log.acksAbove(stored).stream().map(GroupLog.Ack::index).toList();
      raftOnly = indexes.size();
      beyond = log.beyondKnownCommit(indexes);
    }
    return new Placement(a, onDisk, folder, onDisk ? null : notHere(a), stored, log, raftOnly, beyond);
  }

  private String notHere(ClusterAsset a) {
    if (a.memory()) return "held in memory only";
    List<String> elsewhere = a.peers().stream().filter(p -> !p.equals(self)).map(inventory::named).toList();
    if (self != null && !a.peers().contains(self)) return "only on the lost peers " + String.join(", ", elsewhere);
    return "not on this disk (its peers: " + String.join(", ", a.peers().stream().map(inventory::named).toList()) + ")";
  }

  /**
   * This node: the one meta peer that every file-storage stream on this disk lists and no file-storage asset
   * absent from this disk does (its peers would have its folder). null when that leaves more than one.
   */
  private static String self(ClusterInventory inv, java.util.Set<String> onDisk) {
    java.util.Set<String> candidates = new java.util.HashSet<>(inv.peers);
    for (Map.Entry<String, ClusterAsset> a : inv.assets().entrySet()) {
      if (a.getValue().memory()) continue;
      if (onDisk.contains(a.getKey())) candidates.retainAll(a.getValue().peers());
      else candidates.removeAll(a.getValue().peers());
    }
    return candidates.size() == 1 ? candidates.iterator().next() : null;
  }

  /**
   * The highest sequence the stream's last block (any record, erased included) or its index.db holds: blocks
   * are written in sequence order, so the last one alone is read, however large the stream.
   */
  static long lastSeq(MetaAsset stream, byte[] jsKey) {
    long last = 0;
    Path msgs = stream.dir().resolve("msgs");
    try {
      Path index = msgs.resolve("index.db");
      if (Files.isRegularFile(index)) {
        Outcome<StreamIndex> si = StreamIndex.read(stream.stream, Files.readAllBytes(index), stream.opened);
        if (si.ok()) last = si.value().lastSeq();
      }
      java.util.TreeMap<Integer, Path> blocks = MsgBlock.files(msgs);
      if (blocks.isEmpty()) return last;
      int lastBlock = blocks.lastKey();
      BlockKey key = null;
      Path keyFile = msgs.resolve(lastBlock + ".key");
      if (Files.isRegularFile(keyFile)) {
        if (jsKey == null) return last;
        Outcome<BlockKey> k = BlockKey.open(jsKey, stream.account, stream.stream, lastBlock, Files.readAllBytes(keyFile),
            stream.opened == null ? null : stream.opened.cipher());
        if (!k.ok()) return last;
        key = k.value();
      }
      byte[] file = BlockFile.read(blocks.lastEntry().getValue());
      return Math.max(last, MsgBlock.scan(stream.stream, lastBlock, file, key, false, null).highestSeq());
    } catch (IOException unreadable) {
      return last; // what could be read counts; the walker reports the rest
    }
  }

  /** The stored ack floor (stream sequence) of a consumer's o.dat, 0 when it has none or it does not read. */
  static long ackFloor(MetaAsset consumer) {
    try {
      Path odat = consumer.dir().resolve(ConsumerState.FILE);
      if (!Files.isRegularFile(odat)) return 0;
      Outcome<ConsumerState> st = ConsumerState.decode(Files.readAllBytes(odat), consumer.opened);
      return st.ok() ? st.value().ackFloor().streamSeq() : 0;
    } catch (IOException unreadable) {
      return 0;
    }
  }

  /** Peers the meta group lists other than this node. */
  List<String> lostPeers() { return inventory.peers.stream().filter(p -> !p.equals(self)).toList(); }

  int quorum() { return (int) (inventory.expectedPeers / 2 + 1); }

  /** The acks a stream's consumers' logs hold beyond their stored ack floors. */
  long raftOnlyAcks(ClusterAsset stream) {
    return consumerPlacementsOf(stream).stream().mapToLong(Placement::raftOnly).sum();
  }

  /** The placements of a stream's consumers in the inventory. */
  List<Placement> consumerPlacementsOf(ClusterAsset stream) {
    return consumerPlacements.getOrDefault(ClusterInventory.key(stream.account(), stream.stream()), List.of());
  }
}

// =================================================================================================
// 8. Rewriter
//
// meta.inf is edited as bytes, not re-serialised: every field, its order, its spelling (Go
// escapes '>' as \u003e), unknown fields of newer servers and every number stay exactly as the
// server wrote them. Only the members named below change.
// =================================================================================================

final class MetaRewriter {
  record FieldChange(String field, JsonNode from, JsonNode to) {
    String describe() {
      return to == null ? field + " " + from + " removed" : field + " " + from + " -> " + to;
    }
  }

  record Edit(byte[] json, List<FieldChange> changes) {}

  /** A top-level member: bytes [start, valueEnd) hold `"name":value`. */
  record Member(String name, int start, int valueStart, int valueEnd) {
    String value(byte[] json) { return new String(json, valueStart, valueEnd - valueStart, StandardCharsets.UTF_8); }
  }

  private static final BigInteger ONE = BigInteger.ONE;

  /** What a standalone server needs: R1 streams without placement, consumers that inherit. */
  static Edit forStandalone(AssetKind kind, byte[] json) {
    List<FieldChange> changes = new ArrayList<>();
    List<Member> members = members(json);
    List<Cut> cuts = new ArrayList<>();
    // The member the server keeps: the last one matching, in any case, that is not null (GoJson).
    Member replicas = GoJson.kept(json, members, "num_replicas");
    if (replicas != null) {
      String value = replicas.value(json);
      if (isInteger(value) && new BigInteger(value).compareTo(ONE) > 0) {
        String to = kind == AssetKind.STREAM ? "1" : "0"; // a consumer at 0 inherits its stream's 1
        cuts.add(new Cut(replicas.valueStart(), replicas.valueEnd(), to.getBytes(StandardCharsets.US_ASCII)));
        BigInteger from = new BigInteger(value); // a small one as Jackson's shared node: a plan holds one per asset
        changes.add(new FieldChange(replicas.name(), from.bitLength() < 32 ? Json.NODES.numberNode(from.intValue())
            : Json.NODES.numberNode(from), Json.NODES.numberNode(Integer.parseInt(to))));
      }
    }
    // Every placement goes: Go decodes duplicates of an object member into the same value, merging them.
    List<Member> placements = kind == AssetKind.STREAM ? members.stream()
        .filter(m -> GoJson.matches(m, "placement") && !m.value(json).equals("null")).toList() : List.of();
    for (Member m : placements) {
      cuts.add(withComma(members, m, placements));
      try {
        changes.add(new FieldChange(m.name(), Json.MAPPER.readTree(m.value(json)), null));
      } catch (IOException e) {
        throw new UncheckedIOException("parsed once already", e);
      }
    }
    return new Edit(changes.isEmpty() ? json : splice(json, cuts), changes);
  }

  /** Bytes [start, end) of the JSON give way to {@code with}. */
  private record Cut(int start, int end, byte[] with) {}

  private static boolean isInteger(String v) { return v.matches("-?[0-9]+"); }

  /**
   * The member's span plus one neighbouring comma, so the object stays valid JSON: the comma before
   * it when a member that stays comes earlier, else the one after it. Cuts of several removed
   * members then meet without overlapping.
   */
  private static Cut withComma(List<Member> members, Member m, List<Member> removed) {
    int i = members.indexOf(m);
    byte[] nothing = new byte[0];
    boolean keptBefore = members.subList(0, i).stream().anyMatch(o -> !removed.contains(o));
    if (keptBefore) return new Cut(members.get(i - 1).valueEnd(), m.valueEnd(), nothing); // ",<ws>"name":v"
    if (i + 1 < members.size()) return new Cut(m.start(), members.get(i + 1).start(), nothing); // ""name":v,<ws>"
    return new Cut(m.start(), m.valueEnd(), nothing);
  }

  private static byte[] splice(byte[] json, List<Cut> cuts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(json.length);
    int at = 0;
    cuts.sort(Comparator.comparingInt(Cut::start));
    for (Cut cut : cuts) {
      out.write(json, at, cut.start() - at);
      out.writeBytes(cut.with());
      at = cut.end();
    }
    out.write(json, at, json.length - at);
    return out.toByteArray();
  }

  /** The top-level members of a JSON object, with their byte spans. The JSON was parsed already. */
  static List<Member> members(byte[] json) {
    List<Member> members = new ArrayList<>();
    int i = skipSpace(json, 0);
    if (i >= json.length || json[i] != '{') throw new IllegalArgumentException("not a JSON object");
    i = skipSpace(json, i + 1);
    while (i < json.length && json[i] != '}') {
      int start = i;
      int nameEnd = skipValue(json, i);
      String name = memberName(json, start, nameEnd);
      i = skipSpace(json, nameEnd) + 1; // ':'
      int valueStart = skipSpace(json, i);
      int valueEnd = skipValue(json, valueStart);
      members.add(new Member(name, start, valueStart, valueEnd));
      i = skipSpace(json, valueEnd);
      if (i < json.length && json[i] == ',') i = skipSpace(json, i + 1);
    }
    return members;
  }

  private static String memberName(byte[] json, int start, int end) {
    String quoted = new String(json, start, end - start, StandardCharsets.UTF_8);
    if (quoted.indexOf('\\') < 0) return quoted.substring(1, quoted.length() - 1);
    try {
      return Json.MAPPER.readValue(quoted, String.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int skipSpace(byte[] b, int i) {
    while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) i++;
    return i;
  }

  /** The index just past the JSON value starting at i. */
  private static int skipValue(byte[] b, int i) {
    if (b[i] == '"') {
      for (i++; b[i] != '"'; i++) if (b[i] == '\\') i++;
      return i + 1;
    }
    if (b[i] == '{' || b[i] == '[') {
      int depth = 0;
      do {
        if (b[i] == '"') {
          i = skipValue(b, i);
          continue;
        }
        if (b[i] == '{' || b[i] == '[') depth++;
        else if (b[i] == '}' || b[i] == ']') depth--;
        i++;
      } while (depth > 0);
      return i;
    }
    while (i < b.length && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t'
        && b[i] != '\n' && b[i] != '\r') i++;
    return i;
  }
}

// =================================================================================================
// 9. Prepare: the plan, the backup, atomic replacement, the manifest, undo, recovery.conf, verify
//
// Order of work, so that a kill at any moment loses nothing and a rerun completes the job:
//   manifest (the whole plan, with every new meta.sum and replayed block) -> copies of the originals -> Raft
//   folders moved -> each meta.inf replaced, then its meta.sum (each fsynced, then renamed) -> replayed
//   blocks written (a key before its block) -> every folder holding a new or replaced file fsynced ->
//   manifest marked complete.
// A rerun recognises a meta.inf whose meta.sum an interrupted run had not yet written (its sum
// is in that run's manifest) and finishes it; everything else it finds already done.
// =================================================================================================

/**
 * One meta.inf/meta.sum pair to write; only meta.sum when {@code fields} is empty. A plain config's new bytes are not
 * kept but made again from the asset's where they are needed (the edit is a pure function of them; a copy of each
 * was 50 MB at 50,000 streams); a sealed one's are kept in {@code resealed}: resealing draws a new nonce.
 */
record AssetChange(MetaAsset asset, List<MetaRewriter.FieldChange> fields, byte[] resealed, int newLength, String newSum,
    String why) {
  /** The meta.inf to write in place of {@code metaInf} (its bytes as read), or null when only meta.sum is written. */
  byte[] newMetaInf(byte[] metaInf) {
    return fields.isEmpty() ? null : resealed != null ? resealed : MetaRewriter.forStandalone(asset.kind, metaInf).json();
  }

  String describe() {
    List<String> parts = fields.stream().map(MetaRewriter.FieldChange::describe).collect(Collectors.toList());
    if (why != null) parts.add(why);
    return String.join(", ", parts);
  }
}

/**
 * Consumers the cluster's inventory lists for a stream on this disk that have no folder here: R1 durables that
 * lived on a lost node, memory-storage durables (no folder on any node). On an interest stream the first
 * standalone start removes every message only they still needed, so prepare writes each back as obs/<name>/:
 * meta.inf from its assignment, changed as prepare changes any consumer (MetaRewriter) and given file storage
 * (a memory consumer's state is neither read at start nor kept: the server would start it by its deliver
 * policy, "new" after the last message), meta.sum, meta.key when the stream is encrypted, and an o.dat that
 * loses nothing: the position its own Raft snapshot on this node records, else delivery from the stream's first
 * message (from its opt_start_seq when it started there). Without o.dat the server would start it by its
 * deliver policy too.
 */
final class ConsumerRecreation {
  /** One consumer to write back; {@code from} says where its position comes from. */
  record Recreated(ClusterRecords.Placement placement, MetaAsset stream, Path dir, byte[] metaInf, String metaSum,
      byte[] metaKey, byte[] state, List<MetaRewriter.FieldChange> fields, ConsumerState position, String from) {
    ClusterAsset asset() { return placement.asset(); }

    String label() { return asset().account() + " > " + asset().stream() + " > " + asset().consumer(); }

    String describe() {
      List<String> parts = new ArrayList<>(List.of("recreated from its assignment (" + asset().from() + "; "
          + placement.notHere() + ")"));
      fields.forEach(f -> parts.add(f.describe()));
      parts.add(from);
      return String.join(", ", parts);
    }
  }

  /** A consumer the inventory lists without a folder here that is not written back, and why. */
  record Skipped(ClusterAsset asset, String why) {
    String label() { return asset.account() + " > " + asset.stream() + " > " + asset.consumer(); }
  }

  static final ConsumerRecreation NONE = new ConsumerRecreation(null);
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /** null when the store holds no cluster records. */
  final ClusterRecords records;
  final List<Recreated> recreated = new ArrayList<>();
  final List<Skipped> skipped = new ArrayList<>();

  private ConsumerRecreation(ClusterRecords records) { this.records = records; }

  static ConsumerRecreation plan(Store store, ClusterRecords records, KeyRing keys) {
    ConsumerRecreation r = new ConsumerRecreation(records);
    if (records == null) return r;
    Map<String, StoredStream> streams = new HashMap<>();
    store.streams.forEach(s -> streams.put(ClusterInventory.key(s.meta().account, s.meta().stream), s));
    long nowSeconds = Math.round(System.currentTimeMillis() / 1000.0); // encodeConsumerState's base: now, rounded
    for (ClusterRecords.Placement p : records.placements) {
      ClusterAsset a = p.asset();
      StoredStream s = a.consumer() == null || p.onDisk() ? null : streams.get(ClusterInventory.key(a.account(), a.stream()));
      if (s == null) continue; // on this disk, or its stream is not: inspect says so
      String why = r.add(store, p, s.meta(), keys, nowSeconds);
      if (why != null) r.skipped.add(new Skipped(a, why));
    }
    return r;
  }

  /** Plans one consumer; returns why it cannot be written back, or null. */
  private String add(Store store, ClusterRecords.Placement p, MetaAsset stream, KeyRing keys, long nowSeconds) {
    ClusterAsset a = p.asset();
    String name = a.consumer();
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.indexOf('\0') >= 0
        || name.endsWith(StoreWalker.TEMP_SUFFIX)) {
      return "its name cannot be a folder name";
    }
    JsonNode config = a.config();
    if (config != null && config.path("durable_name").asText("").isEmpty()) {
      return "an ephemeral consumer (no durable name): the client it served is gone, and a server removes it once it has "
          + "been inactive for its inactive_threshold";
    }
    if (!stream.readable) {
      return stream.sealed() ? "its stream is encrypted and its config did not open: pass the cluster's JetStream key "
          + "(--key-file FILE) to recreate it" : "its stream's config cannot be read";
    }
    if (config == null || !config.isObject()) return "its assignment holds no config";
    Path dir = stream.dir().resolve(StoreWalker.CONSUMERS).resolve(name);
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return store.rel(dir) + " exists but is no consumer folder; left as is";
    // meta.inf is FileConsumerInfo: Created and Name, then the config's own members.
    ObjectNode info = Json.NODES.objectNode();
    info.put("Created", a.created() != null ? a.created() : Instant.now().toString());
    info.put("Name", name);
    info.setAll((ObjectNode) config); // decoded for this call: nothing else holds it
    List<MetaRewriter.FieldChange> fields = new ArrayList<>();
    JsonNode memory = info.remove("mem_storage");
    if (memory != null && !memory.isNull()) fields.add(new MetaRewriter.FieldChange("mem_storage", memory, null));
    MetaAsset consumer = new MetaAsset(AssetKind.CONSUMER, stream.account, stream.streamsDir, stream.stream, name, dir);
    byte[] json;
    try {
      json = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(info);
    } catch (IOException e) {
      throw new UncheckedIOException("a tree of parsed JSON always writes", e);
    }
    String refused = GoJson.whyRefused(json, AssetKind.CONSUMER);
    if (refused != null) return "its assigned config " + refused;
    MetaRewriter.Edit edit = MetaRewriter.forStandalone(AssetKind.CONSUMER, json);
    fields.addAll(edit.changes());
    byte[] jsKey = keys == null ? null : keys.key();
    Position position = position(store, p, ClusterRecords.lastSeq(stream, jsKey), StreamContents.writtenBy29(stream), jsKey);
    byte[] metaInf = edit.json(), state = ConsumerStateWriter.encode(position.state(), nowSeconds), metaKey = null;
    if (stream.sealed()) { // a new asset key, sealed as genEncryptionKeys seals one; meta.inf and o.dat under it
      byte[] seed = new byte[32];
      RANDOM.nextBytes(seed);
      MetaCrypto.Cipher c = stream.opened.cipher();
      metaKey = MetaCrypto.seal(c, MetaCrypto.prf(jsKey, consumer.account, consumer.cryptoContext()), seed);
      metaInf = MetaCrypto.seal(c, seed, metaInf);
      state = MetaCrypto.seal(c, seed, state);
    }
    recreated.add(new Recreated(p, stream, dir, metaInf, HighwayHash64.metaSum(consumer.checksumKey(), metaInf), metaKey,
        state, List.copyOf(fields), position.state(), position.from()));
    return null;
  }

  /** A position to write and where it comes from, in the operator's words. */
  private record Position(ConsumerState state, String from) {}

  /**
   * What the consumer's own Raft group on this node proves: its snapshot, or a log that starts at index 1, with
   * the log's updates at or below its known commit index applied; else delivery from the stream's first message.
   * Nothing lies beyond {@code last}, the stream's last sequence here.
   */
  private static Position position(Store store, ClusterRecords.Placement p, long last, boolean v29, byte[] jsKey) {
    JsonNode config = p.asset().config();
    // Where the server starts a consumer without state (selectStartingSeqNo) when that is not "all": by_start_sequence
    // starts at opt_start_seq, and nothing before it ever mattered to the consumer. The others start from the first.
    long start = "by_start_sequence".equals(config.path("deliver_policy").asText())
        ? Math.max(1, config.path("opt_start_seq").asLong(1)) : 1;
    // Delivered up to just before the start, acknowledged nothing: an ack floor past messages other consumers still
    // want lets a 2.9 server remove them at its first start, depending on the order it loads consumers in (seen:
    // B_FROM's floor 40 took int.a's 30 messages that A_R3 wanted). A floor of 0 removes nothing anywhere.
    ConsumerState fresh = new ConsumerState(new ConsumerState.SeqPair(0, start - 1), new ConsumerState.SeqPair(0, 0),
        List.of(), Collections.emptySortedMap());
    String why = "no record of its position on this node";
    if (p.raftFolder() != null) {
      Raft.Group group = Raft.read(p.raftFolder(), jsKey);
      Raft.Snapshot snap = group.snapshot();
      Outcome<ConsumerState> st = snap == null ? null : ConsumerState.decode(snap.data(), null);
      boolean whole = group.wholeLog();
      if ((st != null && st.ok()) || whole) {
        long commit = group.knownCommit();
        List<GroupLog.ConsumerUpdate> updates = GroupLog.of(group).consumerUpdates;
        List<GroupLog.ConsumerUpdate> committed = updates.stream().filter(u -> u.index() <= commit).toList();
        ConsumerState base = whole ? ConsumerState.NONE : st.value();
        ConsumerState replayed = ConsumerLogReplay.applied(base, committed, config, v29);
        boolean beforeStart = replayed.delivered().streamSeq() < start - 1; // recorded before it was placed
        if (beforeStart) replayed = fresh;
        ConsumerState at = atMost(replayed, last);
        return new Position(at, "position from its Raft " + (whole ? "log " : "snapshot " + snap.file() + " and log ")
            + store.rel(p.raftFolder()) + " (" + committed.size() + " update(s) applied" + (committed.size() == updates.size()
                ? "" : ", " + (updates.size() - committed.size()) + " beyond its known commit index not") + "): ack floor at "
            + "stream sequence " + at.ackFloor().streamSeq() + ", delivered to " + at.delivered().streamSeq() + ", "
            + at.pending().size() + " pending (delivered again)" + (beforeStart ? ", from its opt_start_seq " + start : "")
            + (at.equals(replayed) ? "" : ", cut to the stream's last sequence " + last + " here"));
      }
      why = "its Raft folder " + store.rel(p.raftFolder()) + " holds " + (st != null
          ? "a snapshot that does not decode (" + st.damage().why() + ")" : "no snapshot and no log from index 1");
    }
    return new Position(fresh, "delivery from " + (start > 1 ? "its opt_start_seq " + start : "the stream's first message")
        + " (" + why + ")");
  }

  /** The state with nothing beyond the stream's last sequence here: a lagging survivor must not skip what comes next. */
  private static ConsumerState atMost(ConsumerState s, long last) {
    if (s.delivered().streamSeq() <= last) return s;
    java.util.SortedMap<Long, Long> redelivered = new java.util.TreeMap<>(s.redelivered().headMap(last + 1));
    return new ConsumerState(new ConsumerState.SeqPair(s.delivered().consumerSeq(), last),
        new ConsumerState.SeqPair(s.ackFloor().consumerSeq(), Math.min(s.ackFloor().streamSeq(), last)),
        s.pending().stream().filter(q -> q.streamSeq() <= last).toList(), Collections.unmodifiableSortedMap(redelivered));
  }
}

final class RecoveryPlan {
  /**
   * A stream and the replica count it had before any prepare: what the new cluster restores it with.
   * Null while no run could read its config (unreadable, sealed without a key): unknown, never guessed.
   */
  record OriginalReplicas(String account, String stream, Integer replicas) {}

  final Store store;
  final List<AssetChange> changes = new ArrayList<>();
  final List<OriginalReplicas> originalReplicas = new ArrayList<>();
  final ConsumerRecreation recreation;
  /** What the Raft logs add to the streams and consumers (set by prepare; see RaftReplay). */
  RaftReplay.Result replay = RaftReplay.Result.NONE;

  RecoveryPlan(Store store) { this(store, ConsumerRecreation.NONE); }

  RecoveryPlan(Store store, ConsumerRecreation recreation) {
    this.store = store;
    this.recreation = recreation;
    Map<String, Integer> earlier = store.earlier.originalReplicas();
    for (MetaAsset a : store.assets()) {
      if (!a.readable) continue; // unreadable: a problem prepare refused or --force leaves as is
      MetaRewriter.Edit edit = MetaRewriter.forStandalone(a.kind, a.json());
      if (!edit.changes().isEmpty()) {
        byte[] stored = a.sealed() ? MetaCrypto.resealMeta(a.opened, edit.json()) : edit.json();
        changes.add(new AssetChange(a, List.copyOf(edit.changes()), a.sealed() ? stored : null, stored.length,
            HighwayHash64.metaSum(a.checksumKey(), stored), a.sumAccountedFor() ? null : "meta.sum was wrong"));
      } else if (!a.sumOk()) {
        changes.add(new AssetChange(a, List.of(), null, 0, a.computedSum, a.sumFromInterruptedRun
            ? "meta.sum written (an interrupted prepare had not yet written it)"
            : a.metaSum == null ? "meta.sum was missing, written from meta.inf" : "meta.sum was wrong, recomputed"));
      }
    }
    for (StoredStream s : store.streams) {
      MetaAsset m = s.meta();
      // Unknown while the config cannot be read; without a count (or 0) the server runs it with 1. An earlier run
      // that could not read the config did not change it either: what is read now is the original.
      Integer now = !m.readable ? null : m.replicas() == null ? 1 : Math.max(m.replicas(), 1);
      originalReplicas.add(new OriginalReplicas(m.account, m.stream, earlier.getOrDefault(m.label(), now)));
    }
  }

  boolean nothingToDo() {
    return changes.isEmpty() && store.raftDirs.isEmpty() && store.leftoverTemps.isEmpty() && recreation.recreated.isEmpty()
        && replayedFiles().isEmpty();
  }

  /** The files the replay writes, in the order they are written (a block's key before the block, o.dat last). */
  List<RaftReplay.NewFile> replayedFiles() {
    return java.util.stream.Stream.concat(replay.streams().stream().flatMap(r -> r.files().stream()),
        replay.consumers().stream().map(RaftReplay.ConsumerReplay::file).filter(java.util.Objects::nonNull)).toList();
  }

  /**
   * What stands between this store and a standalone server, one line each: what prepare would still change, Raft
   * folders and temp files it would move, and every problem. Empty for a prepared store.
   */
  List<String> notPrepared() {
    List<String> left = new ArrayList<>();
    java.util.Set<Path> withProblems = new java.util.HashSet<>();
    for (Problem p : store.problems) {
      left.add(store.rel(p.path()) + ": " + p.what());
      withProblems.add(p.path().getParent());
    }
    for (AssetChange c : changes) {
      if (withProblems.contains(c.asset().dir())) continue; // said already
      left.add((c.asset().kind == AssetKind.STREAM ? "stream " : "consumer ") + c.asset().label() + ": " + c.describe());
    }
    for (Path r : store.raftDirs) left.add(store.rel(r) + ": Raft state still in place");
    for (Path t : store.leftoverTemps) left.add(store.rel(t) + ": temp file of an interrupted prepare");
    return left;
  }

  long streamsChanged() { return changes.stream().filter(c -> c.asset().kind == AssetKind.STREAM).count(); }
  long consumersChanged() { return changes.stream().filter(c -> c.asset().kind == AssetKind.CONSUMER).count(); }

  /** The assets whose original meta files go into originals.zip: every one rewritten, and every sealed one. */
  List<MetaAsset> originalsKept() {
    java.util.Set<MetaAsset> changed = changes.stream().map(AssetChange::asset).collect(Collectors.toSet());
    return store.assets().stream().filter(a -> changed.contains(a) || a.sealed()).toList();
  }

  /** What prepare moves into the run folder: leftover temp files, then Raft folders. */
  List<Path> movedAside() {
    List<Path> all = new ArrayList<>(store.leftoverTemps);
    all.addAll(store.raftDirs);
    return all;
  }

  private static String bytes(long n) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB (%d bytes)", n / 1048576.0, n);
  }

  /**
   * Why prepare could not write, found before anything is written: each line says what and what
   * to do. A run that fails half-way is completed by a rerun, but is better never started.
   */
  List<String> writeBlockers() {
    List<String> blockers = new ArrayList<>();
    try {
      Map<java.nio.file.FileStore, Path> fileSystems = new java.util.LinkedHashMap<>();
      for (Path p : List.of(store.storeDir, store.jetstreamDir)) fileSystems.putIfAbsent(Files.getFileStore(p), p);
      fileSystems.forEach((fs, p) -> {
        if (fs.isReadOnly()) {
          blockers.add(p + ": on a read-only file system (" + fs + "); no user can write it: copy the store to a "
              + "writable file system (cp -a) and prepare the copy");
        }
      });
    } catch (IOException e) {
      blockers.add(store.storeDir + ": " + e.getMessage());
    }
    if (!blockers.isEmpty()) return blockers; // every check below would only say the same thing again
    String asOwner = "run js-recover as the store's owner (the nats user) or root";
    Path backups = Backups.root(store);
    if (!Files.isWritable(store.storeDir)) blockers.add(store.storeDir + ": not writable (the backup folder and "
        + RecoveryConfig.FILE + " go here); " + asOwner);
    else if (Files.isDirectory(backups, LinkOption.NOFOLLOW_LINKS) && !Files.isWritable(backups)) {
      blockers.add(backups + ": not writable (this run's backup goes here); " + asOwner);
    }
    TreeSet<Path> dirs = new TreeSet<>();
    changes.forEach(c -> dirs.add(c.asset().dir()));
    store.raftDirs.forEach(r -> dirs.add(r.getParent()));
    dirs.addAll(store.raftDirs); // moving a folder to another parent rewrites its ".." entry
    store.leftoverTemps.forEach(t -> dirs.add(t.getParent()));
    for (ConsumerRecreation.Recreated c : recreation.recreated) { // the folder is built there, then renamed into obs/
      dirs.add(c.stream().dir());
      if (Files.isDirectory(c.dir().getParent())) dirs.add(c.dir().getParent());
    }
    replayedFiles().forEach(f -> dirs.add(f.path().getParent()));
    for (Path d : dirs) if (!Files.isWritable(d)) blockers.add(d + ": not writable; " + asOwner);
    blockers.addAll(ownershipBlockers());
    blockers.addAll(spaceBlockers());
    return blockers;
  }

  /** A file rewritten by someone else than its owner, or outside its group, could not keep its owner or group. */
  private List<String> ownershipBlockers() {
    List<String> blockers = new ArrayList<>();
    FileOwnership.Identity me = FileOwnership.Identity.current();
    if (me == null || me.uid() == 0) return blockers; // root keeps any owner and group
    List<Path> kept = new ArrayList<>(List.of(store.jetstreamDir)); // the backup is owned like jetstream/
    changes.forEach(c -> kept.add(c.asset().metaInfPath()));
    recreation.recreated.forEach(c -> kept.add(c.stream().metaInfPath())); // a recreated consumer's files are owned like it
    for (Path p : kept) {
      try {
        FileOwnership o = FileOwnership.of(p);
        if (o.uid() != me.uid()) {
          String owner = Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName();
          blockers.add(p + ": owned by " + owner + "; what " + System.getProperty("user.name") + " writes in its place "
              + "could not keep that owner (run as " + (o.uid() == 0 ? "root" : owner + " or root") + ")");
        } else if (!me.inGroup(o.gid())) {
          String group = Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
              .group().getName();
          blockers.add(p + ": group " + group + "; " + System.getProperty("user.name") + " is not in it, so what it writes "
              + "in its place could not keep that group (run as a member of " + group + ", or root)");
        }
      } catch (IOException e) {
        blockers.add(p + ": " + e.getMessage());
      }
    }
    return blockers;
  }

  /**
   * Room for what prepare writes, per file system, every file in whole blocks as the file system allocates it:
   * originals.zip and the manifest (twice while it is replaced) in the backup folder, each rewritten meta file's temp
   * copy beside it, and what is moved aside from another file system than the backup's (jetstream/ on its own mount),
   * which is copied: on one file system it moves by rename.
   */
  private List<String> spaceBlockers() {
    final long block = 4096;
    long zip = 22;
    for (MetaAsset a : originalsKept()) {
      for (long length : new long[] {a.metaInfLength, a.metaSum == null ? -1 : a.metaSum.length(), a.metaKey == null ? -1 : a.metaKey.length}) {
        if (length >= 0) zip += StoredZip.room(store.rel(a.metaInfPath())) + length; // meta.sum and meta.key: as long
      }
    }
    long temps = 0;
    for (AssetChange c : changes) {
      temps += block * (c.fields().isEmpty() ? 1 : 1 + blocks(c.newLength(), block));
    }
    for (ConsumerRecreation.Recreated c : recreation.recreated) {
      temps += block * (4 + blocks(c.metaInf().length, block) + blocks(c.state().length, block)); // folder, sum, key
    }
    for (RaftReplay.NewFile f : replayedFiles()) if (f.bytes() != null) temps += block * blocks(f.bytes().length, block);
    List<String> blockers = new ArrayList<>();
    try {
      long backup = block * (2 * blocks(PrepareRun.manifestSize(this), block) + blocks(zip, block) + 2); // + recovery.conf, the run folder
      Path backups = Files.isDirectory(Backups.root(store)) ? Backups.root(store) : store.storeDir;
      java.nio.file.FileStore backupFs = Files.getFileStore(backups);
      Map<java.nio.file.FileStore, Long> need = new java.util.LinkedHashMap<>();
      need.merge(backupFs, backup, Long::sum);
      need.merge(Files.getFileStore(store.jetstreamDir), temps, Long::sum);
      List<String> copied = new ArrayList<>();
      long copy = 0;
      for (Path p : movedAside()) {
        if (Files.getFileStore(p).equals(backupFs)) continue;
        copy += PrepareRun.spaceToCopy(p, backupFs.getBlockSize());
        copied.add(store.rel(p));
      }
      need.merge(backupFs, copy, Long::sum);
      for (Map.Entry<java.nio.file.FileStore, Long> e : need.entrySet()) {
        long free = e.getKey().getUsableSpace(), needed = e.getValue();
        if (free >= needed) continue;
        if (e.getKey().equals(backupFs) && !copied.isEmpty()) {
          blockers.add("moving " + String.join(", ", copied) + " into " + Backups.DIR + "/ crosses file systems ("
              + (backups.equals(store.storeDir) ? "jetstream/" : "the backup folder") + " is on its own mount), so it is "
              + "copied: that needs " + bytes(copy) + ", " + bytes(needed) + " with the backup, on the file system of " + backups
              + " (" + backupFs + "), which has " + bytes(free) + " free. Free at least " + bytes(needed - free) + " there "
              + "and run prepare again; nothing was changed.");
        } else {
          blockers.add(e.getKey() + ": " + free + " bytes free, prepare needs about " + needed + " (originals.zip, "
              + "manifest.json, one temp file per rewritten meta file); free space there, or copy the store to a larger "
              + "file system");
        }
      }
    } catch (IOException e) {
      blockers.add(store.storeDir + ": cannot tell the free space: " + e.getMessage());
    }
    return blockers;
  }

  private static long blocks(long bytes, long block) { return (bytes + block - 1) / block; }
}

/**
 * A consumer's state while its Raft log is applied on top of o.dat, as consumerFileStore.UpdateDelivered and
 * UpdateAcks apply each entry when a clustered server restarts (entries o.dat already holds change nothing).
 * {@code v29}: 2.9's rules (an update to a delivered message also takes its consumer sequence; the ack floor skips
 * ahead only past a first ack), else those of 2.10 and later.
 */
final class ConsumerLogReplay {
  private final boolean v29;
  private final String ackPolicy;
  private final long maxDeliver;
  private long dC, dS, aC, aS;
  private final java.util.TreeMap<Long, long[]> pending = new java.util.TreeMap<>(); // sseq -> {dseq, ts}
  private final java.util.TreeMap<Long, Long> redelivered = new java.util.TreeMap<>();

  ConsumerLogReplay(ConsumerState stored, JsonNode config, boolean v29) {
    this.v29 = v29;
    this.ackPolicy = config.path("ack_policy").asText("none");
    this.maxDeliver = config.path("max_deliver").asLong(-1);
    dC = stored.delivered().consumerSeq();
    dS = stored.delivered().streamSeq();
    aC = stored.ackFloor().consumerSeq();
    aS = stored.ackFloor().streamSeq();
    stored.pending().forEach(p -> pending.put(p.streamSeq(), new long[] {p.consumerSeq(), p.ts()}));
    redelivered.putAll(stored.redelivered());
  }

  /** The state {@code from} reaches by these updates, in log order. */
  static ConsumerState applied(ConsumerState from, List<GroupLog.ConsumerUpdate> updates, JsonNode config, boolean v29) {
    ConsumerLogReplay replay = new ConsumerLogReplay(from, config, v29);
    updates.forEach(replay::apply);
    return replay.state();
  }

  void apply(GroupLog.ConsumerUpdate u) {
    if (u.ack()) ack(u.consumerSeq(), u.streamSeq());
    else delivered(u.consumerSeq(), u.streamSeq(), u.dc(), u.ts());
  }

  private void delivered(long dseq, long sseq, long dc, long ts) {
    boolean none = ackPolicy.equals("none");
    if ((dc != 1 && none) || dseq <= aC) return;
    if (none) {
      if (v29 || dseq > dC) { dC = dseq; aC = dseq; }
      if (v29 || sseq > dS) { dS = sseq; aS = sseq; }
      return;
    }
    if (sseq <= dS) {
      long[] p = pending.get(sseq);
      if (p != null) {
        if (v29) p[0] = dseq;
        p[1] = ts;
      }
    } else {
      pending.put(sseq, new long[] {dseq, ts});
    }
    dC = Math.max(dC, dseq);
    dS = Math.max(dS, sseq);
    if (dc > 1) {
      if (!v29 && maxDeliver > 0 && dc > maxDeliver) pending.remove(sseq);
      redelivered.merge(sseq, dc - 1, v29 ? (old, now) -> now : Math::max);
    }
  }

  private void ack(long dseq, long sseq) {
    if (ackPolicy.equals("none")) return;
    if (v29 ? pending.get(sseq) == null || dseq <= aC : dseq <= aC) return;
    if (!v29) redelivered.remove(sseq);
    long[] p = pending.get(sseq);
    if (p == null) return;
    if (!ackPolicy.equals("explicit")) { // all (and 2.15's flow_control): everything up to sseq
      aC = dseq;
      aS = sseq;
      pending.headMap(sseq, true).clear();
      redelivered.headMap(sseq, true).clear();
      return;
    }
    pending.remove(sseq);
    if (v29 || (dseq > p[0] && p[0] > 0)) dseq = p[0];
    if (v29) redelivered.remove(sseq);
    if (pending.isEmpty()) {
      aC = dC;
      aS = dS;
    } else if (dseq == aC + 1) {
      boolean first = aC == 0;
      aC = dseq;
      aS = sseq;
      if ((!v29 || !first) && dC > dseq) {
        Map.Entry<Long, long[]> next = pending.higherEntry(sseq);
        if (next != null && (v29 ? next.getKey() < dS : next.getKey() <= dS) && next.getValue()[0] > 0) {
          aC = next.getValue()[0] - 1;
          aS = next.getKey() - 1;
        }
      }
    }
  }

  ConsumerState state() {
    List<ConsumerState.Pending> p = new ArrayList<>();
    pending.forEach((sseq, v) -> p.add(new ConsumerState.Pending(sseq, v[0], v[1] / 1_000_000_000L * 1_000_000_000L)));
    return new ConsumerState(new ConsumerState.SeqPair(dC, dS), new ConsumerState.SeqPair(aC, aS), List.copyOf(p),
        java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(redelivered)));
  }
}

/**
 * Records of message blocks prepare adds, as (*msgBlock).writeMsgRecord writes them (layout in {@link MsgBlock}):
 * messages and 2.10+ delete tombstones ({@code seq|tbit}, no subject or body), each with its HighwayHash keyed by
 * the block it goes into. A new block is a keystream over the whole file when the stream is encrypted, with its own
 * {@code N.key} (nonce || seal(kek of "<stream>:<N>", seed)), as genEncryptionKeys makes one; it is never
 * compressed: the server compresses a block only when it seals it.
 */
final class BlockWriter {
  /** The server starts a new block past this size (defaultLargeBlockSize); replayed records fill blocks up to it. */
  static final int BLOCK_SIZE = 8 << 20;
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private final String stream;
  private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
  private final int index;
  private final HighwayHash64 hh;

  BlockWriter(String stream, int index) {
    this.stream = stream;
    this.index = index;
    this.hh = MsgBlock.hasher(stream, index);
  }

  int index() { return index; }

  int size() { return out.size(); }

  void message(long seq, long ts, String subject, byte[] headers, byte[] payload) {
    record(seq, ts, subject, headers, payload);
  }

  void tombstone(long seq, long ts) { record(seq | MsgBlock.TBIT, ts, "", null, null); }

  /** A message written deleted (2.9's erased record): its sequence with the delete bit, nothing else. */
  void erased(long seq, long ts) { record(seq | MsgBlock.EBIT, ts, "", null, null); }

  private void record(long seqRaw, long ts, String subject, byte[] headers, byte[] payload) {
    byte[] subj = subject == null ? new byte[0] : subject.getBytes(StandardCharsets.UTF_8);
    byte[] hdr = headers == null ? new byte[0] : headers, msg = payload == null ? new byte[0] : payload;
    boolean hasHeaders = hdr.length > 0; // as the server: an empty header block is no header
    int len = MsgBlock.HEADER + subj.length + (hasHeaders ? 4 + hdr.length : 0) + msg.length + MsgBlock.HASH;
    java.nio.ByteBuffer r = java.nio.ByteBuffer.allocate(len).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    r.putInt(hasHeaders ? len | MsgBlock.HBIT : len).putLong(seqRaw).putLong(ts).putShort((short) subj.length).put(subj);
    if (hasHeaders) r.putInt(hdr.length).put(hdr);
    r.put(msg);
    // hashed: seq and ts as written, subject, headers without their length, payload
    byte[] hashed = new byte[16 + subj.length + hdr.length + msg.length];
    System.arraycopy(r.array(), 4, hashed, 0, 16);
    System.arraycopy(subj, 0, hashed, 16, subj.length);
    System.arraycopy(hdr, 0, hashed, 16 + subj.length, hdr.length);
    System.arraycopy(msg, 0, hashed, 16 + subj.length + hdr.length, msg.length);
    r.putLong(hh.hashBytes(hashed, 0, hashed.length));
    out.writeBytes(r.array());
  }

  /**
   * The block's files: {@code N.blk}, and before it {@code N.key} when {@code cipher} is not null (then
   * {@code jsKey} and {@code account} derive the key-encryption key).
   */
  List<RaftReplay.NewFile> files(Path msgs, MetaCrypto.Cipher cipher, byte[] jsKey, String account) {
    byte[] plain = out.toByteArray();
    if (cipher == null) return List.of(new RaftReplay.NewFile(msgs.resolve(index + ".blk"), plain));
    byte[] seed = new byte[32];
    RANDOM.nextBytes(seed);
    byte[] keyFile = MetaCrypto.seal(cipher, MetaCrypto.prf(jsKey, account, stream + ":" + index), seed);
    BlockKey key = new BlockKey(cipher, seed, java.util.Arrays.copyOf(keyFile, cipher.nonceSize));
    return List.of(new RaftReplay.NewFile(msgs.resolve(index + ".key"), keyFile),
        new RaftReplay.NewFile(msgs.resolve(index + ".blk"), key.decrypt(plain))); // a keystream: the same XOR seals
  }
}

/**
 * What the stream Raft logs on this disk hold beyond the stream folders, replayed as applyStreamEntries would have
 * applied it: messages above the stored last sequence (same sequence, time, subject, headers and payload), then for
 * each deleteMsgOp (work-queue and interest removals of 2.11+, API deletes) and work-queue ack whose message the
 * blocks still hold, on 2.10+ a tombstone, on 2.9 the block's N.idx as removeMsg records it (see Block29). New
 * records go into new blocks after the last one, so no existing block byte changes; a 2.10+ server then finds
 * blocks index.db does not know and rebuilds its state from the blocks, as after any crash.
 * By default every entry the log holds is replayed (at-least-once: a PubAck'ed message may lie beyond the commit
 * index this node knew), and those beyond it are listed; {@code committedOnly} stops at the known commit.
 * What cannot be replayed faithfully is not written and is said instead.
 */
final class RaftReplay {
  /** A block's files: a new block takes an index above all of them. */
  private static final java.util.regex.Pattern BLOCK_FILE = java.util.regex.Pattern.compile("(\\d+)\\.(blk|key|idx|fss)");

  /**
   * A file the replay writes: {@code bytes} null sets it aside (it is removed, its {@code original} kept in
   * originals.zip); {@code original} null means the replay creates it.
   */
  record NewFile(Path path, byte[] bytes, byte[] original) {
    NewFile(Path path, byte[] bytes) { this(path, bytes, null); }
  }

  /** What prepare replays: per stream, and per consumer whose log moves its o.dat on. */
  record Result(List<StreamReplay> streams, List<ConsumerReplay> consumers) {
    static final Result NONE = new Result(List.of(), List.of());
  }

  /**
   * One consumer's o.dat with its Raft log applied: {@code before} and {@code after} the log's {@code updates}
   * (delivered and ack updates; {@code beyondCommit} of them beyond the known commit). {@code file} is the new
   * o.dat, {@code original} the bytes it replaces (kept in originals.zip); both null when {@code notReplayed} says why.
   */
  record ConsumerReplay(MetaAsset consumer, String group, ConsumerState before, ConsumerState after, int updates,
      int beyondCommit, long knownCommit, String notReplayed, NewFile file, byte[] original, String basis) {}

  /**
   * One stream's replay. {@code storedLast}: the highest sequence its blocks hold; {@code messages} and
   * {@code tombstones} (stream sequences) are what the new {@code files} carry; {@code messagesBeyondCommit} and
   * {@code deletesBeyondCommit} name those whose entry lies beyond the known commit index; {@code notReplayed} says
   * what stays in the log only, and why.
   */
  record StreamReplay(MetaAsset stream, String group, long storedLast, long knownCommit, List<GroupLog.StreamMsg> messages,
      List<Long> tombstones, boolean inIndex, List<Long> messagesBeyondCommit, List<Long> deletesBeyondCommit, List<String> notReplayed,
      List<NewFile> files) {
    /** On 2.9, the deletes of messages this replay writes: they are written erased; the others go into N.idx. */
    List<Long> erased() {
      java.util.Set<Long> written = messages.stream().map(GroupLog.StreamMsg::seq).collect(Collectors.toSet());
      return inIndex ? tombstones.stream().filter(written::contains).toList() : List.of();
    }

    /** The deletes but those written erased: tombstones (2.10+) or the blocks' N.idx (2.9). */
    List<Long> notErased() {
      java.util.Set<Long> erased = new java.util.HashSet<>(erased());
      return tombstones.stream().filter(seq -> !erased.contains(seq)).toList();
    }

    /** What the log holds beyond the known commit index and is replayed, in words. */
    String beyondCommit() {
      List<String> parts = new ArrayList<>();
      if (!messagesBeyondCommit.isEmpty()) parts.add("messages seq " + ranges(messagesBeyondCommit));
      if (!deletesBeyondCommit.isEmpty()) parts.add("deletes of seq " + ranges(deletesBeyondCommit));
      return String.join("; ", parts);
    }
  }

  private RaftReplay() {}

  /**
   * The replay of every stream on this disk whose Raft log holds more than its folder. Empty when the Raft records
   * are not this run's to replay: a prepare that completed replayed them already (and a server may have served
   * the store since).
   */
  static Result plan(Store store, ClusterRecords cr, KeyRing keys, boolean committedOnly) {
    if (cr == null || !pending(store, cr.raftDir)) return Result.NONE;
    Map<String, StoredStream> onDisk = new HashMap<>();
    store.streams.forEach(s -> onDisk.put(ClusterInventory.key(s.meta().account, s.meta().stream), s));
    List<StreamReplay> replays = new ArrayList<>();
    List<ConsumerReplay> consumers = new ArrayList<>();
    Map<MetaAsset, Boolean> v29 = new HashMap<>(); // per stream: its msgs/ is listed once, not once per consumer
    for (ClusterRecords.Placement p : cr.placements) {
      if (p.log() == null) continue;
      StoredStream s = onDisk.get(ClusterInventory.key(p.asset().account(), p.asset().stream()));
      if (s == null || !s.meta().readable) continue; // unreadable: prepare leaves it as it is
      boolean rulesOf29 = v29.computeIfAbsent(s.meta(), StreamContents::writtenBy29);
      if (p.asset().consumer() != null) {
        s.consumers().stream().filter(c -> c.consumer.equals(p.asset().consumer()) && c.readable).findFirst()
            .map(c -> consumer(c, p.log(), rulesOf29, committedOnly)).ifPresent(consumers::add);
        continue;
      }
      Map<Long, Boolean> acked = "workqueue".equals(s.meta().text("retention")) ? workQueueAcks(cr, p.asset()) : Map.of();
      StreamReplay r = stream(s.meta(), p.log(), acked, rulesOf29, keys == null ? null : keys.key(), committedOnly);
      if (!r.messages().isEmpty() || !r.tombstones().isEmpty() || !r.notReplayed().isEmpty()) replays.add(r);
    }
    consumers.removeIf(c -> c.file() == null && c.notReplayed() == null);
    return new Result(List.copyOf(replays), List.copyOf(consumers));
  }

  /** The consumer's o.dat with its log applied, as the server applies it at restart; no file when nothing changes. */
  static ConsumerReplay consumer(MetaAsset consumer, GroupLog log, boolean v29, boolean committedOnly) {
    long commit = log.group.knownCommit();
    String group = log.group.name();
    Path odat = consumer.dir().resolve(ConsumerState.FILE);
    byte[] stored;
    try {
      stored = Files.readAllBytes(odat);
    } catch (IOException absent) {
      return new ConsumerReplay(consumer, group, null, null, 0, 0, commit, null, null, null, null); // no state to move on
    }
    Outcome<ConsumerState> st = ConsumerState.decode(stored, consumer.opened);
    // A torn o.dat (a kill while the server wrote it; 2.9 leaves it empty): the group's snapshot holds the state the
    // log goes on from, or without one a log from its first entry all of it, as a clustered server restarts it.
    Raft.Snapshot snap = log.group.snapshot();
    Outcome<ConsumerState> fromSnap = st.ok() ? null : log.group.wholeLog() ? Outcome.ok(ConsumerState.NONE)
        : snap == null ? null : ConsumerState.decode(snap.data(), null);
    String basis = st.ok() ? "o.dat" : (snap == null ? "the whole Raft log" : "snapshot " + snap.file()) + " (o.dat does not read: "
        + st.damage().why() + ")";
    if (!st.ok() && (fromSnap == null || !fromSnap.ok())) {
      return new ConsumerReplay(consumer, group, null, null, 0, 0, commit, "o.dat not replayed: it does not read ("
          + st.damage().why() + "), and neither a Raft snapshot of the consumer nor its whole log is here", null, null, null);
    }
    ConsumerState base = st.ok() ? st.value() : fromSnap.value();
    ConsumerLogReplay replay = new ConsumerLogReplay(base, consumer.config(), v29);
    int updates = 0, beyond = 0;
    for (GroupLog.ConsumerUpdate u : log.consumerUpdates) {
      if (committedOnly && u.index() > commit) break;
      replay.apply(u);
      updates++;
      if (u.index() > commit) beyond++;
    }
    ConsumerState after = replay.state();
    if (st.ok() && after.equals(base)) return new ConsumerReplay(consumer, group, base, after, updates, beyond, commit, null, null, null, basis);
    return new ConsumerReplay(consumer, group, base, after, updates, beyond, commit, null,
        new NewFile(odat, ConsumerStateWriter.file(after, consumer.opened)), stored, basis);
  }

  /**
   * The stream sequences the logs of a work queue's consumers on this disk acknowledge (an ack removes the message
   * from a work queue), each with whether its entry lies beyond its group's known commit.
   */
  private static Map<Long, Boolean> workQueueAcks(ClusterRecords cr, ClusterAsset stream) {
    Map<Long, Boolean> acked = new HashMap<>();
    for (ClusterRecords.Placement c : cr.consumerPlacementsOf(stream)) {
      if (c.log() == null) continue;
      long commit = c.log().group.knownCommit();
      c.log().acks.forEach(ack -> acked.merge(ack.streamSeq(), ack.index() > commit, Boolean::logicalAnd));
    }
    return acked;
  }

  /** Raft folders still in place, or moved by a run that did not complete (a rerun finishes its replay). */
  private static boolean pending(Store store, Path raftDir) {
    if (store.raftDirs.contains(raftDir)) return true;
    try {
      for (Backups.Run run : Backups.runHeads(store)) {
        if (raftDir.startsWith(run.dir())) return !Backups.COMPLETE.equals(run.manifest().path("status").asText());
      }
    } catch (IOException unreadable) {
      // Backups.earlier refuses the run for it
    }
    return false;
  }

  /** What the stream's newest blocks hold: every sequence's time, the tombstoned ones, the highest of all. */
  private record Tail(long highest, Map<Long, Long> live, java.util.Set<Long> tombstoned, MetaCrypto.Cipher cipher,
      int nextIndex, String unreadable, List<Block29> blocks29, Map<Long, String> subjects, Map<Long, Long> indexDeleted) {
    Tail(long highest, Map<Long, Long> live, java.util.Set<Long> tombstoned, MetaCrypto.Cipher cipher, int nextIndex, String unreadable) {
      this(highest, live, tombstoned, cipher, nextIndex, unreadable, List.of(), Map.of(), Map.of());
    }

    /** Whether the stream holds {@code seq} as a message: not tombstoned, and on 2.9 not deleted in its block's N.idx. */
    boolean holds(long seq, boolean v29) {
      return live.containsKey(seq) && !tombstoned.contains(seq) && (!v29 || blocks29.stream().anyMatch(b -> b.live(seq)));
    }
  }

  /**
   * A block of a 2.9 store as the server loads it: its records ({@code records}: sequence -> time and size of each
   * message), what its {@code N.idx} had removed ({@code stored}: below its first sequence and in its delete map;
   * null without a readable one, when the server takes every record), its last record and checksum.
   */
  private record Block29(int index, Path msgs, BlockKey key, byte[] blkFile, byte[] keyFile, BlockIndex29 stored,
      byte[] idxFile, byte[] fssFile, java.util.TreeMap<Long, long[]> records, long lastSeq, long lastTs, long lastChecksum) {
    boolean live(long seq) {
      return records.containsKey(seq) && (stored == null
          || seq >= stored.firstSeq() && java.util.Arrays.binarySearch(stored.deleted(), seq) < 0);
    }

    /**
     * The block's index with {@code removed} deleted as removeMsg records a delete that writes no byte of the block:
     * an in-order one moves the first sequence, any other joins the delete map. An emptied block is removed
     * (removeMsgBlock; here set aside, the block first), unless it is the stream's {@code last}: that one keeps its
     * last sequence in its index, its first one above. Its {@code N.fss} (per-subject counts, never encrypted) is set
     * aside before the index is written: the server counts the subjects again from the block and the index.
     */
    List<NewFile> files(java.util.Set<Long> removed, boolean last) {
      List<Long> live = records.keySet().stream().filter(s -> live(s) && !removed.contains(s)).toList();
      List<NewFile> files = new ArrayList<>();
      if (live.isEmpty() && !last) {
        files.add(new NewFile(msgs.resolve(index + ".blk"), null, blkFile));
        if (keyFile != null) files.add(new NewFile(msgs.resolve(index + ".key"), null, keyFile));
      }
      if (fssFile != null) files.add(new NewFile(msgs.resolve(index + ".fss"), null, fssFile));
      if (live.isEmpty() && !last) {
        if (idxFile != null) files.add(new NewFile(msgs.resolve(index + ".idx"), null, idxFile));
        return files;
      }
      long first = live.isEmpty() ? lastSeq + 1 : live.get(0), firstTs = live.isEmpty() ? 0 : records.get(first)[0];
      long bytes = live.stream().mapToLong(s -> records.get(s)[1]).sum();
      java.util.Set<Long> liveSet = new java.util.HashSet<>(live);
      long[] deleted = java.util.stream.LongStream.rangeClosed(first + 1, lastSeq).filter(s -> !liveSet.contains(s)).toArray();
      byte[] idx = new BlockIndex29(live.size(), bytes, first, firstTs, lastSeq, lastTs, deleted, lastChecksum).encode(key);
      files.add(new NewFile(msgs.resolve(index + ".idx"), idx, idxFile));
      return files;
    }
  }

  /**
   * {@code acked}: work-queue acks of the stream's consumers (sequence -> beyond its log's known commit), removals
   * as the stream log's own deletes are; {@code v29}: a 2.9 server ran it last (StreamContents.writtenBy29).
   */
  static StreamReplay stream(MetaAsset stream, GroupLog log, Map<Long, Boolean> acked, boolean v29, byte[] jsKey,
      boolean committedOnly) {
    long commit = log.group.knownCommit();
    String group = log.group.name();
    java.util.TreeMap<Long, Boolean> removals = new java.util.TreeMap<>(acked); // sequence -> beyond the known commit
    log.deletes.forEach((seq, index) -> removals.merge(seq, index > commit, Boolean::logicalAnd));
    boolean tombstonesKnown = !v29; // 2.9 keeps deletes in N.idx
    // a purge reaches back to the stream's first message: every block is read, with its subjects
    Tail tail = tail(stream, jsKey, !log.purges.isEmpty() ? 0 : removals.isEmpty() ? Long.MAX_VALUE : removals.firstKey(),
        !tombstonesKnown, !log.purges.isEmpty());
    if (tail.unreadable() != null) {
      return new StreamReplay(stream, group, tail.highest(), commit, List.of(), List.of(), false, List.of(), List.of(),
          List.of("nothing replayed: " + tail.unreadable()), List.of());
    }
    List<String> not = new ArrayList<>();
    List<GroupLog.StreamMsg> take = new ArrayList<>();
    List<Long> beyond = new ArrayList<>(), deletesBeyond = new ArrayList<>();
    List<GroupLog.StreamMsg> after = log.messagesAfter(tail.highest());
    long next = tail.highest() + 1;
    for (GroupLog.StreamMsg m : after) {
      String stop = m.seq() != next ? "the log skips or repeats a sequence there (expected " + next + ")"
          : rollsUp(m) ? "it rolls up its subject (Nats-Rollup), which the server applies by removing older messages and "
              + "js-recover does not" : null;
      if (stop != null) {
        not.add("messages from seq " + m.seq() + " (log#" + m.index() + ") on: not replayed, " + stop);
        break;
      }
      if (committedOnly && m.index() > commit) {
        not.add((after.size() - after.indexOf(m)) + " message(s) beyond the known commit index " + commit
            + ": left in the log (--committed-only)");
        break;
      }
      take.add(m);
      next++;
      if (m.index() > commit) beyond.add(m.seq());
    }
    Map<Long, Long> replayedTs = new HashMap<>();
    take.forEach(m -> replayedTs.put(m.seq(), m.ts()));
    String purgeRefused = purges(log, tail, take, !tombstonesKnown, acked, committedOnly, removals, not);
    long deletesUncommitted = 0;
    Map<Long, Long> tombTs = new java.util.TreeMap<>();
    Map<Block29, java.util.Set<Long>> removed29 = new java.util.TreeMap<>(Comparator.comparingInt(Block29::index));
    for (Map.Entry<Long, Boolean> d : removals.entrySet()) {
      long seq = d.getKey();
      Long ts = tail.tombstoned().contains(seq) ? null : tail.live().containsKey(seq) ? tail.live().get(seq) : replayedTs.get(seq);
      if (ts == null) continue; // applied already, or its message is not here
      Block29 in = tombstonesKnown ? null : tail.blocks29().stream().filter(b -> b.live(seq)).findFirst().orElse(null);
      if (!tombstonesKnown && in == null && !replayedTs.containsKey(seq)) continue; // N.idx has it deleted already
      if (committedOnly && d.getValue()) {
        deletesUncommitted++;
      } else {
        tombTs.put(seq, ts);
        if (in != null) removed29.computeIfAbsent(in, b -> new java.util.HashSet<>()).add(seq);
        if (d.getValue()) deletesBeyond.add(seq);
      }
    }
    if (deletesUncommitted > 0) {
      not.add(deletesUncommitted + " delete(s) beyond the known commit index of their log: left in the log (--committed-only)");
    }
    if (take.isEmpty() && tombTs.isEmpty() && purgeRefused == null) {
      return new StreamReplay(stream, group, tail.highest(), commit, List.of(), List.of(), false, List.of(), List.of(), not, List.of());
    }
    String refused = purgeRefused != null ? purgeRefused : !log.deleteRanges.isEmpty()
        ? "the log also holds " + log.deleteRanges.size() + " delete range(s) (sequences skipped without a message, which "
            + "2.14+ servers propose), which js-recover does not replay"
        : misaligned(log, tail);
    if (refused != null) {
      return new StreamReplay(stream, group, tail.highest(), commit, List.of(), List.of(), false, List.of(), List.of(),
          List.of(take.size() + " message(s) and " + tombTs.size() + " delete(s) not replayed: " + refused), List.of());
    }
    Path msgs = stream.dir().resolve("msgs");
    List<BlockWriter> blocks = new ArrayList<>(List.of(new BlockWriter(stream.stream, tail.nextIndex())));
    for (GroupLog.StreamMsg m : take) {
      BlockWriter b = blocks.get(blocks.size() - 1);
      if (b.size() >= BlockWriter.BLOCK_SIZE) blocks.add(b = new BlockWriter(stream.stream, b.index() + 1));
      if (!tombstonesKnown && tombTs.containsKey(m.seq())) {
        b.erased(m.seq(), m.ts()); // 2.9 knows no tombstone: a message the log deletes is written erased, as removeMsg erases
      } else {
        b.message(m.seq(), m.ts(), m.subject(), m.headers(), m.payload());
      }
    }
    List<NewFile> files = new ArrayList<>();
    if (tombstonesKnown) {
      // a new block outdates index.db, and the server then rebuilds the stream from its blocks: what index.db alone had
      // removed (a purge or rollup below a block's first sequence writes no tombstone) gets one, not to come back
      tail.indexDeleted().forEach(tombTs::putIfAbsent);
      BlockWriter last = blocks.get(blocks.size() - 1); // the server writes tombstones into its last block
      tombTs.forEach(last::tombstone);
    } else {
      removed29.forEach((b, removed) -> files.addAll(b.files(removed, take.isEmpty() && b.index() == tail.nextIndex() - 1)));
    }
    if (!take.isEmpty() || tombstonesKnown) {
      for (BlockWriter b : blocks) files.addAll(b.files(msgs, tail.cipher(), jsKey, stream.account));
    }
    return new StreamReplay(stream, group, tail.highest(), commit, List.copyOf(take), List.copyOf(tombTs.keySet()),
        !tombstonesKnown, List.copyOf(beyond), List.copyOf(deletesBeyond), List.copyOf(not), List.copyOf(files));
  }

  /**
   * Adds to {@code removals} (sequence -> beyond the known commit) what each purge in the log removes, as the server
   * applies it (applyStreamEntries -> mset.purge -> PurgeEx, Purge, Compact) at its place in log order: the messages
   * the blocks hold that the log put before it, and the replayed ones before it, less the log's deletes and the
   * purges before it. A purge the blocks have applied already (they hold a later message) adds nothing new. Returns
   * why a purge cannot be replayed exactly, or null; one left in the log by --committed-only is listed in {@code not}.
   */
  private static String purges(GroupLog log, Tail tail, List<GroupLog.StreamMsg> take, boolean v29, Map<Long, Boolean> acked,
      boolean committedOnly, java.util.TreeMap<Long, Boolean> removals, List<String> not) {
    long commit = log.group.knownCommit();
    java.util.Set<Long> purgedBefore = new java.util.HashSet<>();
    for (GroupLog.Purge p : log.purges) {
      if (committedOnly && p.index() > commit) {
        not.add("the purge at log#" + p.index() + " is beyond the known commit index " + commit + ": left in the log (--committed-only)");
        continue;
      }
      long cut = log.messages.stream().filter(m -> m.index() > p.index()).mapToLong(GroupLog.StreamMsg::seq).min().orElse(Long.MAX_VALUE) - 1;
      if (tail.highest() > cut) continue; // the blocks hold what the log put after the purge: they applied it
      java.util.TreeMap<Long, String> present = new java.util.TreeMap<>();
      tail.subjects().forEach((seq, subject) -> {
        if (seq <= cut && tail.holds(seq, v29)) present.put(seq, subject);
      });
      take.stream().filter(m -> m.index() < p.index()).forEach(m -> present.put(m.seq(), m.subject()));
      log.deletes.forEach((seq, index) -> {
        if (index < p.index()) present.remove(seq);
      });
      present.keySet().removeAll(purgedBefore);
      long last = Math.max(tail.highest(), take.stream().filter(m -> m.index() < p.index()).mapToLong(GroupLog.StreamMsg::seq).max().orElse(0));
      JsonNode req = p.entry().path("request");
      long keep = req.path("keep").asLong(0);
      if (keep > 0 && acked.keySet().stream().anyMatch(present::containsKey)) {
        return "the purge at log#" + p.index() + " keeps the newest " + keep + ", and work-queue acks in the consumers' logs "
            + "(their own Raft logs) may have removed messages before or after it, so which it kept cannot be told";
      }
      Outcome<java.util.SortedSet<Long>> gone = purged(p.entry(), v29, present, last);
      if (!gone.ok()) return "the purge at log#" + p.index() + " " + gone.damage().why();
      purgedBefore.addAll(gone.value());
      gone.value().forEach(seq -> removals.merge(seq, p.index() > commit, Boolean::logicalAnd));
    }
    return null;
  }

  /**
   * The sequences one purge removes from {@code present} (sequence -> subject of each message the stream holds
   * there; {@code last} its last sequence), as {@code PurgeEx(filter, seq, keep)} does: 2.10+ bounds a request
   * without seq or keep by the leader's last_seq; a whole-stream one is Purge or Compact(seq) (2.9 keeps N as
   * Compact(last - N + 1)); a filtered one removes, oldest first, the matching messages below seq, at most all
   * but the newest {@code keep} of them.
   */
  static Outcome<java.util.SortedSet<Long>> purged(JsonNode entry, boolean v29, java.util.SortedMap<Long, String> present, long last) {
    JsonNode req = entry.path("request");
    String filter = req.path("filter").asText("");
    long seq = req.path("seq").asLong(0), keep = req.path("keep").asLong(0);
    if (!v29 && seq == 0 && keep == 0) seq = entry.path("last_seq").asLong(0) + 1;
    java.util.TreeSet<Long> gone = new java.util.TreeSet<>();
    if (v29 && seq > 1 && keep > 0) return Outcome.ok(gone); // ErrPurgeArgMismatch: the 2.9 server purged nothing
    boolean whole = filter.isEmpty() || filter.equals(">");
    if (whole && seq > 1 || whole && v29 && keep > 0) {
      long below = seq > 1 ? seq : keep >= present.size() ? 0 : last - keep + 1;
      if (below > last + 1) {
        return Outcome.bad(0, "purges up to seq " + below + ", beyond the stream's last sequence " + last + ": the server moves "
            + "the stream's next sequence there, which js-recover does not");
      }
      gone.addAll(present.headMap(below).keySet());
      return Outcome.ok(gone);
    }
    List<String[]> match = whole ? List.of() : List.<String[]>of(filter.split("\\.", -1));
    List<Long> matching = present.entrySet().stream().filter(e -> StreamContents.matches(match, e.getValue()))
        .map(Map.Entry::getKey).toList();
    long most = keep > 0 ? matching.size() - keep : Long.MAX_VALUE;
    for (long s : matching) {
      if (gone.size() >= most || seq > 1 && s >= seq) break;
      gone.add(s);
    }
    return Outcome.ok(gone);
  }

  /** A message whose headers ask the server to remove the subject's (or stream's) older messages. */
  private static boolean rollsUp(GroupLog.StreamMsg m) {
    return m.headers() != null && new String(m.headers(), StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT)
        .contains("\r\nnats-rollup:");
  }

  /**
   * Why the log's sequences cannot be trusted against this store, or null: a proposal the server rejected when
   * applying it shifts every later sequence, and then the log's message for a stored sequence is another one.
   */
  private static String misaligned(GroupLog log, Tail tail) {
    for (GroupLog.StreamMsg m : log.messages) {
      Long ts = tail.live().get(m.seq());
      if (ts != null && ts != m.ts()) {
        return "the log's message for seq " + m.seq() + " (log#" + m.index() + ") is not the one the blocks hold, so its "
            + "sequences do not line up with the store";
      }
    }
    return null;
  }

  /**
   * Reads the stream's blocks from the last back until one holds a message at or below {@code from} (the lowest
   * sequence a delete names): every later tombstone is then seen too, as the server writes them into its last
   * block. The highest sequence counts tombstones (the server keeps the last sequence with one when it removes
   * an emptied last block); with no block at all, index.db's last sequence.
   */
  private static Tail tail(MetaAsset stream, byte[] jsKey, long from, boolean v29, boolean withSubjects) {
    Path msgs = stream.dir().resolve("msgs");
    java.util.TreeMap<Integer, Path> blocks = new java.util.TreeMap<>(Comparator.reverseOrder());
    int highestIndex = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(msgs)) {
      for (Path f : files) {
        java.util.regex.Matcher m = BLOCK_FILE.matcher(f.getFileName().toString());
        if (!m.matches()) continue;
        int index = Integer.parseInt(m.group(1));
        highestIndex = Math.max(highestIndex, index);
        if (m.group(2).equals("blk")) blocks.put(index, f);
      }
    } catch (NoSuchFileException noMessages) {
      // a stream that never stored a message
    } catch (IOException | NumberFormatException e) {
      return new Tail(0, Map.of(), java.util.Set.of(), null, 0, msgs + " cannot be read: " + e.getMessage());
    }
    long highest = 0;
    Map<Long, Long> live = new HashMap<>();
    Map<Long, String> subjects = new HashMap<>();
    Map<Long, Long> indexDeleted = new HashMap<>();
    Map<Integer, java.util.function.LongPredicate> removedInIndex = new HashMap<>();
    java.util.Set<Long> tombstoned = new java.util.HashSet<>();
    List<Block29> blocks29 = new ArrayList<>();
    MetaCrypto.Cipher cipher = stream.opened == null ? null : stream.opened.cipher();
    boolean encrypted = stream.sealed();
    try {
      Path index = msgs.resolve("index.db");
      Outcome<StreamIndex> si = !v29 && Files.isRegularFile(index)
          ? StreamIndex.read(stream.stream, Files.readAllBytes(index), stream.opened) : Outcome.bad(0, "none");
      if (blocks.isEmpty() && si.ok()) highest = si.value().lastSeq();
      if (si.ok()) { // what it removed below a block's first sequence or in its delete map (a purge writes no tombstone there)
        for (StreamIndex.Block b : si.value().blocks()) {
          java.util.Set<Long> deleted = java.util.Arrays.stream(b.deleted()).boxed().collect(java.util.stream.Collectors.toSet());
          removedInIndex.put(b.index(), seq -> seq < b.firstSeq() || deleted.contains(seq));
        }
        if (!removedInIndex.isEmpty()) from = 0; // a rebuild would bring them back from every block: see them all
      }
      for (Map.Entry<Integer, Path> blk : blocks.entrySet()) {
        int n = blk.getKey();
        BlockKey key = null;
        Path keyFile = msgs.resolve(n + ".key");
        if (Files.isRegularFile(keyFile)) {
          encrypted = true;
          if (jsKey == null) return new Tail(highest, live, tombstoned, cipher, 0, "block " + n + " is encrypted; give the cluster's JetStream key");
          Outcome<BlockKey> k = BlockKey.open(jsKey, stream.account, stream.stream, n, Files.readAllBytes(keyFile), cipher);
          if (!k.ok()) return new Tail(highest, live, tombstoned, cipher, 0, "msgs/" + k.damage().why());
          key = k.value();
          cipher = key.cipher();
        }
        long[] lowest = {Long.MAX_VALUE}, top = {highest}, lastRecord = {0, 0};
        java.util.TreeMap<Long, long[]> records = new java.util.TreeMap<>();
        byte[] blkFile = BlockFile.read(blk.getValue());
        MsgBlock.Scan scan = MsgBlock.scan(stream.stream, n, blkFile, key, true, r -> {
          if (r.hash() == MsgBlock.Hash.MISMATCH) return;
          top[0] = Math.max(top[0], r.seq());
          lastRecord[0] = r.seq();
          lastRecord[1] = r.ts();
          if (r.kind() == MsgBlock.Kind.TOMBSTONE) {
            tombstoned.add(r.seq());
            return;
          }
          lowest[0] = Math.min(lowest[0], r.seq());
          if (r.kind() == MsgBlock.Kind.MESSAGE && removedInIndex.getOrDefault(n, seq -> false).test(r.seq())) {
            indexDeleted.put(r.seq(), r.ts());
          } else if (r.kind() == MsgBlock.Kind.MESSAGE) {
            live.put(r.seq(), r.ts());
            if (withSubjects) subjects.put(r.seq(), r.subject());
            if (v29) records.put(r.seq(), new long[] {r.ts(), r.length()});
          }
        });
        if (scan.unreadable() != null || !scan.damage().isEmpty()) {
          String why = scan.unreadable() != null ? scan.unreadable() : scan.damage().get(0).why();
          return new Tail(highest, live, tombstoned, cipher, 0, "block " + n + " is damaged (" + why + "); the server "
              + "truncates it there, and js-recover does not add to a stream whose end it cannot tell");
        }
        highest = top[0];
        if (v29) {
          Path idx = msgs.resolve(n + ".idx"), fss = msgs.resolve(n + ".fss");
          byte[] idxFile = Files.isRegularFile(idx) ? Files.readAllBytes(idx) : null;
          Outcome<BlockIndex29> stored = idxFile == null ? null : BlockIndex29.read(idxFile, key);
          blocks29.add(new Block29(n, msgs, key, blkFile, key == null ? null : Files.readAllBytes(keyFile), stored != null && stored.ok() ? stored.value() : null, idxFile,
              Files.isRegularFile(fss) ? Files.readAllBytes(fss) : null, records, lastRecord[0], lastRecord[1], scan.lastChecksum()));
        }
        if (lowest[0] <= from) break;
      }
    } catch (IOException e) {
      return new Tail(highest, live, tombstoned, cipher, 0, msgs + " cannot be read: " + e.getMessage());
    }
    if (encrypted && cipher == null) return new Tail(highest, live, tombstoned, null, 0, "the stream is encrypted and its cipher is unknown");
    return new Tail(highest, live, tombstoned, encrypted ? cipher : null, highestIndex + 1, null, List.copyOf(blocks29), subjects, indexDeleted);
  }

  /** Sequences as short ranges: {@code 5..9, 12}. */
  static String ranges(List<Long> seqs) {
    List<String> parts = new ArrayList<>();
    List<Long> sorted = seqs.stream().sorted().toList();
    for (int i = 0; i < sorted.size(); ) {
      int j = i;
      while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) j++;
      parts.add(i == j ? String.valueOf(sorted.get(i)) : sorted.get(i) + ".." + sorted.get(j));
      i = j + 1;
    }
    return String.join(", ", parts);
  }
}

/** The backup folder: <store_dir>/js-recover-backup/<run>/ with manifest.json, originals.zip, raft/. */
final class Backups {
  static final String DIR = "js-recover-backup", MANIFEST = "manifest.json", ORIGINALS = "originals.zip",
      RAFT = "raft", LEFTOVERS = "leftovers", IN_PROGRESS = "in-progress", COMPLETE = "complete";

  static Path root(Store store) { return store.storeDir.resolve(DIR); }

  /** An earlier prepare run: its folder and its manifest. */
  record Run(Path dir, JsonNode manifest) {
    String name() { return dir.getFileName().toString(); }
  }

  /**
   * What a later run needs of the earlier ones (not undone): {@code interruptedSums}, meta.inf path -> the meta.sum a
   * run that did not complete planned for it; {@code originalReplicas}, stream label -> the replicas it had before the
   * first prepare, from the oldest manifest that knew it (a run that could not read a config recorded null).
   */
  record Earlier(Map<String, String> interruptedSums, Map<String, Integer> originalReplicas) {}

  /**
   * The earlier runs' manifests read member by member for what a later run needs (the tree of a 50,000-stream
   * manifest was 600 MB of the heap of every command run after prepare); a damaged one is a refusal, never skipped.
   */
  static Earlier earlier(Store store) throws Refusal {
    Earlier earlier = new Earlier(new HashMap<>(), new HashMap<>());
    try {
      for (Path dir : runDirs(store)) read(dir.resolve(MANIFEST), earlier);
    } catch (IOException e) {
      throw new Refusal("cannot read the manifests in " + root(store) + ": " + e.getMessage()
          + ". Move that folder aside (do not delete it: it holds the originals) and run again.");
    }
    return earlier;
  }

  private static void read(Path manifest, Earlier into) throws IOException {
    Map<String, String> planned = new HashMap<>();
    Boolean[] complete = {null}; // "status" comes before "changes": a completed run's are skipped, not read
    members(manifest, (member, p) -> {
      if (member.equals("status")) {
        complete[0] = COMPLETE.equals(p.getValueAsString());
      } else if (member.equals("changes") && !Boolean.TRUE.equals(complete[0])) {
        forEachObject(p, c -> planned.put(c.path("meta_inf").asText(), c.path("meta_sum").path("to").asText()));
      } else if (member.equals("streams")) {
        forEachObject(p, st -> {
          JsonNode n = st.path("replicas");
          if (n.isIntegralNumber()) into.originalReplicas().putIfAbsent(st.path("account").asText() + " > " + st.path("stream").asText(), n.intValue());
        });
      } else {
        p.skipChildren();
      }
    });
    if (!Boolean.TRUE.equals(complete[0])) into.interruptedSums().putAll(planned);
  }

  /**
   * The earlier runs, oldest first, with only their manifests' top-level values and raft_dirs: where each moved the
   * Raft state and whether it completed.
   */
  static List<Run> runHeads(Store store) throws IOException {
    List<Run> runs = new ArrayList<>();
    for (Path dir : runDirs(store)) {
      ObjectNode head = Json.NODES.objectNode();
      members(dir.resolve(MANIFEST), (member, p) -> {
        if (p.currentToken().isScalarValue() || member.equals("raft_dirs")) head.set(member, Json.MAPPER.readTree(p));
        else p.skipChildren();
      });
      runs.add(new Run(dir, head));
    }
    return runs;
  }

  private interface MemberReader {
    /** Reads or skips the value the parser is at. */
    void read(String member, com.fasterxml.jackson.core.JsonParser p) throws IOException;
  }

  /** Each top-level member of a manifest, in file order, without building the whole tree. */
  private static void members(Path manifest, MemberReader reader) throws IOException {
    try (com.fasterxml.jackson.core.JsonParser p = Json.MAPPER.createParser(manifest.toFile())) {
      if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) throw new IOException(manifest + " is no JSON object");
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String member = p.currentName();
        p.nextToken();
        reader.read(member, p);
      }
    }
  }

  /** Each object of the array the parser is at, as a tree of its own. */
  private static void forEachObject(com.fasterxml.jackson.core.JsonParser p, Consumer<JsonNode> each) throws IOException {
    if (p.currentToken() != com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) each.accept(Json.MAPPER.readTree(p));
  }

  /**
   * The earlier runs, oldest first, leaving out those an undo marked undone (in its undo.json): a
   * prepare after an undo starts afresh.
   */
  static List<Run> runs(Store store) throws IOException {
    List<Run> runs = new ArrayList<>();
    for (Path dir : runDirs(store)) runs.add(new Run(dir, Json.MAPPER.readTree(dir.resolve(MANIFEST).toFile())));
    return runs;
  }

  /** The folders of {@link #runs}, their manifests not read. */
  private static List<Path> runDirs(Store store) throws IOException {
    Path root = root(store);
    List<Path> runs = new ArrayList<>();
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) return runs;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      List<Path> sorted = new ArrayList<>();
      entries.forEach(sorted::add);
      sorted.sort(null); // run folders are named by their start time
      java.util.Set<String> undone = new java.util.HashSet<>();
      for (Path dir : sorted) {
        Path marker = dir.resolve(Undo.MARKER);
        if (Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
          Json.MAPPER.readTree(marker.toFile()).path("undone_runs").forEach(r -> undone.add(r.asText()));
        }
      }
      for (Path dir : sorted) {
        Path manifest = dir.resolve(MANIFEST);
        if (Files.isRegularFile(manifest, LinkOption.NOFOLLOW_LINKS) && !undone.contains(dir.getFileName().toString())) {
          runs.add(dir);
        }
      }
    }
    return runs;
  }

  /** The backup's folders: mode, owner and group of jetstream/, so that it is no more readable than the store. */
  static FileOwnership folders(Store store) throws IOException { return FileOwnership.of(store.jetstreamDir); }

  /**
   * The backup's files: the folders' mode without execute bits, and no bit that a file whose bytes
   * they hold lacks (a 0600 meta.inf keeps the zip at 0600).
   */
  static FileOwnership files(RecoveryPlan plan, FileOwnership folders) throws IOException {
    int mode = folders.mode() & 0666;
    for (MetaAsset a : plan.originalsKept()) if (a.hasMetaInf()) mode &= FileOwnership.of(a.metaInfPath()).mode();
    return new FileOwnership(mode, folders.uid(), folders.gid());
  }

  /** Creates {@code dir} and any missing parent, each with the backup folders' mode, owner and group. */
  static void mkdirs(Path dir, FileOwnership like) throws IOException {
    if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return;
    mkdirs(dir.getParent(), like);
    Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(like.permissions()));
    like.applyTo(dir);
  }

  static Path newRun(Store store, FileOwnership like) throws IOException, Refusal {
    if (Files.isSymbolicLink(root(store))) {
      throw new Refusal(root(store) + " is a symbolic link; js-recover keeps its backup inside the store only. Replace it "
          + "with a folder (move the link aside) and run again; nothing was changed.");
    }
    try {
      mkdirs(root(store), like);
    } catch (FileAlreadyExistsException notAFolder) {
      throw new Refusal(root(store) + " is a file, not a folder; js-recover keeps its backup in a folder of that name. "
          + "Move the file aside (it may be someone's backup) and run again; nothing was changed.");
    }
    return newFolder(store, "", like);
  }

  /** A new folder in the backup folder, named by the time (then -2, -3... when taken), made like {@code like}. */
  static Path newFolder(Store store, String prefix, FileOwnership like) throws IOException {
    String stamp = prefix + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now());
    for (int n = 1; ; n++) {
      Path run = root(store).resolve(n == 1 ? stamp : stamp + "-" + n);
      try {
        Files.createDirectory(run, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(like.permissions()));
        like.applyTo(run);
        return run;
      } catch (FileAlreadyExistsException taken) {
        // a run started in the same second: take the next name
      }
    }
  }
}

/**
 * originals.zip's writer: STORED entries in the bytes java.util.zip.ZipOutputStream writes for them (UTF-8 names, the
 * last-modified time in DOS form and as an extra field), so Undo, ZipFile and unzip read it as they always did.
 * ZipOutputStream keeps every ZipEntry for the central directory it writes last (85 MB for the 300,000 entries of
 * 50,000 streams); here each central record is written when its entry is, into a spill file beside the zip that
 * finish copies after the entries, so memory stays the same whatever the count (a spill file rather than reading the
 * local headers back from the zip: writeAtomically's channel is write-only, and the spill file reads back in one
 * sequential pass). It is unlinked as soon as it is open (the open channel keeps it): no run, finished, failed or
 * killed, leaves it behind.
 */
final class StoredZip implements java.io.Closeable {
  // Zip64 where ZipOutputStream uses it: from 65,535 entries (a 16-bit count) and from 4 GiB (32-bit offsets). An
  // entry's size is a byte[]'s, under 2 GiB: only offsets need the zip64 extra field.
  private static final long MAGIC = 0xFFFFFFFFL;
  private static final int MAGIC_COUNT = 0xFFFF, VERSION = 10, VERSION_ZIP64 = 45, UTF8_NAMES = 1 << 11;
  private static final int LOCAL = 0x04034b50, CENTRAL = 0x02014b50, ZIP64_END = 0x06064b50, ZIP64_LOCATOR = 0x07064b50,
      END = 0x06054b50; // the records' signatures
  private final java.io.OutputStream out;
  private final FileChannel spill;
  private final java.io.OutputStream central;
  private long written, centralSize, count;

  StoredZip(java.io.OutputStream out, Path spill) throws IOException {
    this.out = out;
    this.spill = FileChannel.open(spill, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      Files.delete(spill);
    } catch (IOException e) {
      this.spill.close();
      throw e;
    }
    central = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(this.spill), 1 << 16);
  }

  void add(String name, byte[] bytes, FileTime modified) throws IOException {
    byte[] n = name.getBytes(StandardCharsets.UTF_8), time = timeField(modified);
    int dosTime = dosTime(modified);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(bytes);
    java.nio.ByteBuffer local = fields(30 + n.length + time.length).putInt(LOCAL).putShort((short) VERSION);
    entry(local, dosTime, crc, bytes.length, n).putShort((short) time.length).put(n).put(time);
    boolean far = written >= MAGIC;
    short version = (short) (far ? VERSION_ZIP64 : VERSION);
    java.nio.ByteBuffer record = fields(46 + n.length + (far ? 12 : 0) + time.length).putInt(CENTRAL)
        .putShort(version).putShort(version);
    entry(record, dosTime, crc, bytes.length, n).putShort((short) ((far ? 12 : 0) + time.length))
        .putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt((int) Math.min(written, MAGIC)).put(n);
    if (far) record.putShort((short) 1).putShort((short) 8).putLong(written);
    record.put(time);
    out.write(local.array());
    out.write(bytes);
    central.write(record.array());
    written += local.capacity() + bytes.length;
    centralSize += record.capacity();
    count++;
  }

  /** The central directory and its end: the zip is whole once this returns (out flushed, not closed). */
  void finish() throws IOException {
    central.flush();
    long start = written;
    java.nio.channels.Channels.newInputStream(spill.position(0)).transferTo(out);
    written += centralSize;
    boolean zip64 = count >= MAGIC_COUNT || centralSize >= MAGIC || start >= MAGIC;
    java.nio.ByteBuffer end = fields((zip64 ? 76 : 0) + 22);
    if (zip64) {
      end.putInt(ZIP64_END).putLong(44).putShort((short) VERSION_ZIP64).putShort((short) VERSION_ZIP64).putInt(0).putInt(0)
          .putLong(count).putLong(count).putLong(centralSize).putLong(start);
      end.putInt(ZIP64_LOCATOR).putInt(0).putLong(written).putInt(1); // the locator: where the zip64 end record is
    }
    short entries = (short) Math.min(count, MAGIC_COUNT);
    end.putInt(END).putShort((short) 0).putShort((short) 0).putShort(entries).putShort(entries)
        .putInt((int) Math.min(centralSize, MAGIC)).putInt((int) Math.min(start, MAGIC)).putShort((short) 0);
    out.write(end.array());
    out.flush();
  }

  @Override public void close() throws IOException { spill.close(); }

  /**
   * The room on disk an entry named {@code name} takes until finish, beside its bytes: its local header and its
   * central record twice (in the spill file, then in the zip), each with the extended timestamp.
   */
  static long room(String name) { return 30 + 2 * 46 + 3 * (name.getBytes(StandardCharsets.UTF_8).length + 9); }

  /** What the local header and the central record share, from the flags to the name's length. */
  private static java.nio.ByteBuffer entry(java.nio.ByteBuffer b, int dosTime, java.util.zip.CRC32 crc, int size, byte[] name) {
    return b.putShort((short) UTF8_NAMES).putShort((short) 0).putInt(dosTime).putInt((int) crc.getValue()).putInt(size)
        .putInt(size).putShort((short) name.length);
  }

  private static java.nio.ByteBuffer fields(int size) {
    return java.nio.ByteBuffer.allocate(size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
  }

  /** Local date and time to 2 seconds, as ZipOutputStream writes it (the first DOS day for older times). */
  private static int dosTime(FileTime t) {
    java.time.LocalDateTime d = java.time.LocalDateTime.ofInstant(Instant.ofEpochMilli(t.toMillis()), java.time.ZoneId.systemDefault());
    if (d.getYear() < 1980) return 1 << 21 | 1 << 16;
    return (d.getYear() - 1980) << 25 | d.getMonthValue() << 21 | d.getDayOfMonth() << 16 | d.getHour() << 11
        | d.getMinute() << 5 | d.getSecond() >> 1;
  }

  /**
   * The extra field ZipFile's getLastModifiedTime reads (so undo restores the time to the second, as before): the
   * extended timestamp's signed Unix seconds, or past 2038, where they overflow, NTFS's 100 ns since 1601 (with
   * access and creation times "not available"), as ZipOutputStream chooses.
   */
  private static byte[] timeField(FileTime t) {
    long seconds = t.to(java.util.concurrent.TimeUnit.SECONDS);
    if (seconds <= Integer.MAX_VALUE) return fields(9).putShort((short) 0x5455).putShort((short) 5).put((byte) 1).putInt((int) seconds).array();
    long ntfs = (t.to(java.util.concurrent.TimeUnit.MICROSECONDS) + 11_644_473_600_000_000L) * 10;
    return fields(36).putShort((short) 0x000a).putShort((short) 32).putInt(0).putShort((short) 1).putShort((short) 24)
        .putLong(ntfs).putLong(Long.MIN_VALUE).putLong(Long.MIN_VALUE).array();
  }
}

final class PrepareRun {
  private final RecoveryPlan plan;
  private final FileOwnership folders, files; // of what the backup holds
  private final Store store;
  private final Path run;
  private final String started = Instant.now().toString();

  private PrepareRun(RecoveryPlan plan, Path run, FileOwnership folders, FileOwnership files) {
    this.plan = plan;
    this.folders = folders;
    this.files = files;
    this.store = plan.store;
    this.run = run;
  }

  /** Carries the plan out; returns the run folder holding the manifest and the originals. */
  static Path apply(RecoveryPlan plan) throws Refusal {
    Path run;
    FileOwnership folders, files;
    try {
      folders = Backups.folders(plan.store);
      files = Backups.files(plan, folders);
      run = Backups.newRun(plan.store, folders);
    } catch (IOException e) {
      throw new Refusal("prepare could not create its backup folder in " + Backups.root(plan.store) + ": "
          + Failure.describe(e) + ". Nothing was changed. " + Failure.remedy(e) + ", then run prepare again.");
    }
    PrepareRun r = new PrepareRun(plan, run, folders, files);
    try {
      r.carryOut();
    } catch (IOException | UncheckedIOException e) {
      throw r.stopped(e instanceof UncheckedIOException u ? u.getCause() : (IOException) e);
    }
    return r.run;
  }

  // What a failed run had done, for a message that tells the truth about the store.
  private boolean touched; // set before jetstream/ is first changed: from then on the backup must stay
  private final List<Path> moved = new ArrayList<>();
  private final java.util.concurrent.atomic.AtomicInteger rewritten = new java.util.concurrent.atomic.AtomicInteger();
  private int recreated;

  /**
   * Writes a recreated consumer's folder whole as a temp folder beside obs/ (a killed run leaves it where the walker
   * finds it as a leftover and the next prepare moves it aside; the server reads every entry of obs/ as a consumer),
   * then renames it into obs/. Files and folders get the mode, owner and group of the stream's own.
   */
  private void recreate(ConsumerRecreation.Recreated c) throws IOException {
    Path obs = c.dir().getParent(), streamDir = obs.getParent();
    FileOwnership folder = FileOwnership.of(streamDir), file = FileOwnership.of(c.stream().metaInfPath());
    Path temp = streamDir.resolve(c.dir().getFileName() + "." + ProcessHandle.current().pid() + StoreWalker.TEMP_SUFFIX);
    Files.createDirectory(temp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(folder.permissions()));
    folder.applyTo(temp);
    writeAtomically(temp.resolve(MetaAsset.META_INF), c.metaInf(), file);
    writeAtomically(temp.resolve(MetaAsset.META_SUM), c.metaSum().getBytes(StandardCharsets.US_ASCII), file);
    if (c.metaKey() != null) writeAtomically(temp.resolve(MetaAsset.META_KEY), c.metaKey(), file);
    writeAtomically(temp.resolve(ConsumerState.FILE), c.state(), file);
    fsync(temp);
    if (!Files.isDirectory(obs, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectory(obs, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(folder.permissions()));
      folder.applyTo(obs);
    }
    Files.move(temp, c.dir(), StandardCopyOption.ATOMIC_MOVE); // fails, changing nothing, if the name is taken meanwhile
    fsync(obs);
    fsync(streamDir);
  }

  private static void fsync(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
  private int replayed;

  private void carryOut() throws IOException, Refusal {
    writeManifest(Backups.IN_PROGRESS, null);
    keepOriginals();
    touched = true;
    for (Path p : plan.movedAside()) {
      moveAside(p, run.resolve(store.leftoverTemps.contains(p) ? Backups.LEFTOVERS : Backups.RAFT), moved);
      moved.add(p);
    }

    List<IOException> failures = Collections.synchronizedList(new ArrayList<>());
    List<Path> changedMeanwhile = Collections.synchronizedList(new ArrayList<>());
    try (StepProgress progress = new StepProgress("rewriting", plan.changes.size(), "configs")) {
      StoreWalker.parallel(plan.changes, c -> {
        try {
          byte[] metaInf = Files.readAllBytes(c.asset().metaInfPath());
          if (!c.asset().isKnown(metaInf)) {
            changedMeanwhile.add(c.asset().metaInfPath()); // never overwrite what we did not read
            return;
          }
          // The walker listed this folder and every temp file of a killed run in it was moved aside above.
          byte[] newMetaInf = c.newMetaInf(metaInf);
          if (newMetaInf != null) {
            replaceAtomically(c.asset().metaInfPath(), newMetaInf, false);
            c.asset().onDisk(newMetaInf.length, c.newSum()); // what the next steps (recovery.conf) read
          }
          replaceAtomically(c.asset().metaSumPath(), c.newSum().getBytes(StandardCharsets.US_ASCII), false);
          rewritten.incrementAndGet();
        } catch (IOException e) {
          failures.add(e);
        }
        progress.step();
      });
    }
    if (!failures.isEmpty()) throw failures.get(0);
    for (RaftReplay.NewFile f : plan.replayedFiles()) { // an o.dat keeps its owner; a new block is owned like its meta.inf
      if (f.bytes() == null) {
        Files.deleteIfExists(f.path()); // set aside: its original is in originals.zip
      } else {
        Path like = Files.exists(f.path(), LinkOption.NOFOLLOW_LINKS) ? f.path() : f.path().getParent().resolveSibling(MetaAsset.META_INF);
        writeAtomically(f.path(), f.bytes(), FileOwnership.of(like));
      }
      replayed++;
    }
    syncFolders();
    if (!changedMeanwhile.isEmpty()) {
      Collections.sort(changedMeanwhile);
      throw new Refusal("these files changed while prepare ran, so they were left as they are:\n  "
          + changedMeanwhile.stream().map(Path::toString).collect(Collectors.joining("\n  "))
          + "\nA nats-server is still writing this store. Stop it (or copy the store from a stopped server) and "
          + "run prepare again; what was done so far is recorded in " + run.resolve(Backups.MANIFEST));
    }
    for (ConsumerRecreation.Recreated c : plan.recreation.recreated) {
      recreate(c);
      recreated++;
    }
    writeManifest(Backups.COMPLETE, Instant.now().toString());
  }

  /**
   * Makes the renames durable before the manifest says complete: each file was fsynced before its rename, and
   * each folder holding a renamed file is fsynced once here (a rerun completes only the runs not marked complete,
   * so a power loss must not leave a new meta.inf beside an old meta.sum under a complete manifest). One fsync
   * per folder, not per file: at 10,000 streams and 30,000 consumers that is 40,000 fsyncs beside the 80,000 of
   * the files.
   */
  private void syncFolders() throws IOException {
    List<Path> dirs = java.util.stream.Stream.concat(plan.changes.stream().map(c -> c.asset().dir()),
        plan.replayedFiles().stream().map(f -> f.path().getParent())).distinct().toList();
    List<IOException> failures = Collections.synchronizedList(new ArrayList<>());
    StoreWalker.parallel(dirs, dir -> {
      try {
        fsync(dir);
      } catch (IOException e) {
        failures.add(e);
      }
    });
    if (!failures.isEmpty()) throw failures.get(0);
  }

  /**
   * The manifest of a run of this plan, written as it is generated: at 50,000 streams a tree of it held 200,000
   * changes. {@code finished} is null until the run is complete.
   */
  static void manifest(RecoveryPlan plan, String started, String status, String finished, JsonGenerator g) throws IOException {
    Store store = plan.store;
    g.writeStartObject();
    g.writeStringField("tool", JsRecover.VERSION);
    g.writeStringField("status", status);
    g.writeStringField("started", started);
    g.writeStringField("finished", finished);
    g.writeStringField("store_dir", store.storeDir.toString());
    g.writeArrayFieldStart("changes");
    for (AssetChange c : plan.changes) {
      MetaAsset a = c.asset();
      g.writeStartObject();
      g.writeStringField("asset", a.kind == AssetKind.STREAM ? "stream" : "consumer");
      g.writeStringField("account", a.account);
      g.writeStringField("stream", a.stream);
      if (a.consumer != null) g.writeStringField("consumer", a.consumer);
      g.writeStringField("meta_inf", store.rel(a.metaInfPath()));
      g.writeArrayFieldStart("fields");
      for (MetaRewriter.FieldChange f : c.fields()) {
        g.writeStartObject();
        g.writeStringField("field", f.field());
        if (a.sealed()) {
          g.writeStringField("values", "not recorded: the config is encrypted"); // the backup must not open what the store seals
        } else {
          g.writeFieldName("from");
          g.writeTree(f.from());
          if (f.to() != null) {
            g.writeFieldName("to");
            g.writeTree(f.to());
          }
        }
        if (f.to() == null) g.writeBooleanField("removed", true);
        g.writeEndObject();
      }
      g.writeEndArray();
      if (c.why() != null) g.writeStringField("note", c.why());
      g.writeObjectFieldStart("meta_sum");
      g.writeStringField("from", a.metaSum);
      g.writeStringField("to", c.newSum());
      g.writeEndObject();
      g.writeBooleanField("resealed", c.resealed() != null);
      g.writeStringField("original", Backups.ORIGINALS + ":" + store.rel(a.metaInfPath()));
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeArrayFieldStart("raft_dirs");
    for (Path r : store.raftDirs) moved(g, store.rel(r), Backups.RAFT + "/" + store.rel(r));
    g.writeEndArray();
    g.writeArrayFieldStart("leftover_temp_files");
    for (Path t : store.leftoverTemps) moved(g, store.rel(t), Backups.LEFTOVERS + "/" + store.rel(t));
    g.writeEndArray();
    clusterRecordsApplied(plan, g);
    g.writeArrayFieldStart("streams");
    for (RecoveryPlan.OriginalReplicas r : plan.originalReplicas) {
      g.writeStartObject();
      g.writeStringField("account", r.account());
      g.writeStringField("stream", r.stream());
      g.writeFieldName("replicas");
      if (r.replicas() == null) g.writeNull();
      else g.writeNumber(r.replicas());
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  /**
   * The consumers recreated and the Raft log entries replayed: few (only what the cluster records add), so built
   * as trees and written whole.
   */
  private static void clusterRecordsApplied(RecoveryPlan plan, JsonGenerator g) throws IOException {
    Store store = plan.store;
    ArrayNode recreated = Json.NODES.arrayNode();
    for (ConsumerRecreation.Recreated c : plan.recreation.recreated) {
      ObjectNode o = recreated.addObject().put("account", c.asset().account()).put("stream", c.asset().stream())
          .put("consumer", c.asset().consumer()).put("folder", store.rel(c.dir())).put("absent_because", c.placement().notHere())
          .put("config_from", c.asset().from()).put("raft_group", c.asset().group()).put("delivery_from", c.from())
          .put("encrypted", c.metaKey() != null).put("meta_sum", c.metaSum());
      ArrayNode fields = o.putArray("fields");
      for (MetaRewriter.FieldChange f : c.fields()) {
        ObjectNode fo = fields.addObject().put("field", f.field());
        if (c.metaKey() != null) fo.put("values", "not recorded: the config is encrypted");
        else fo.set("from", f.from());
        if (c.metaKey() == null && f.to() != null) fo.set("to", f.to());
        if (f.to() == null) fo.put("removed", true);
      }
      o.putObject("position").put("delivered_stream_seq", c.position().delivered().streamSeq())
          .put("ack_floor_stream_seq", c.position().ackFloor().streamSeq()).put("pending", c.position().pending().size());
    }
    ArrayNode replayed = Json.NODES.arrayNode();
    for (RaftReplay.StreamReplay r : plan.replay.streams()) {
      ObjectNode o = replayed.addObject().put("account", r.stream().account).put("stream", r.stream().stream)
          .put("raft_group", r.group()).put("stored_last_seq", r.storedLast()).put("known_commit", r.knownCommit())
          .put("messages", r.messages().size())
          .put("message_seqs", RaftReplay.ranges(r.messages().stream().map(GroupLog.StreamMsg::seq).toList()))
          .put(r.inIndex() ? "index_deletes" : "tombstones", RaftReplay.ranges(r.notErased()))
          .put("erased", RaftReplay.ranges(r.erased()))
          .put("messages_beyond_known_commit", RaftReplay.ranges(r.messagesBeyondCommit()))
          .put("deletes_beyond_known_commit", RaftReplay.ranges(r.deletesBeyondCommit()));
      ArrayNode not = o.putArray("not_replayed");
      r.notReplayed().forEach(not::add);
      ArrayNode created = o.putArray("created"), rewritten = o.putArray("rewritten"), aside = o.putArray("set_aside");
      for (RaftReplay.NewFile f : r.files()) {
        (f.original() == null ? created : f.bytes() == null ? aside : rewritten).add(store.rel(f.path()));
      }
    }
    ArrayNode consumers = Json.NODES.arrayNode();
    for (RaftReplay.ConsumerReplay c : plan.replay.consumers()) {
      ObjectNode o = consumers.addObject().put("account", c.consumer().account).put("stream", c.consumer().stream)
          .put("consumer", c.consumer().consumer).put("raft_group", c.group()).put("known_commit", c.knownCommit())
          .put("updates", c.updates()).put("beyond_known_commit", c.beyondCommit()).put("not_replayed", c.notReplayed())
          .put("from", c.basis());
      if (c.file() != null) {
        o.put("o_dat", store.rel(c.file().path())).put("original", Backups.ORIGINALS + ":" + store.rel(c.file().path()));
        o.putObject("ack_floor").put("from", Reports.position(c.before().ackFloor())).put("to", Reports.position(c.after().ackFloor()));
        o.putObject("delivered").put("from", Reports.position(c.before().delivered())).put("to", Reports.position(c.after().delivered()));
      }
    }
    g.writeFieldName("recreated_consumers");
    g.writeTree(recreated);
    g.writeFieldName("replayed");
    g.writeTree(replayed);
    g.writeFieldName("consumers_replayed");
    g.writeTree(consumers);
  }

  private static void moved(JsonGenerator g, String from, String to) throws IOException {
    g.writeStartObject();
    g.writeStringField("from", from);
    g.writeStringField("to", to);
    g.writeEndObject();
  }

  /** The size of this plan's manifest, counted as it is generated (nothing is held). */
  static long manifestSize(RecoveryPlan plan) throws IOException {
    long[] size = {0};
    java.io.OutputStream counter = new java.io.OutputStream() {
      @Override public void write(int b) { size[0]++; }

      @Override public void write(byte[] b, int off, int len) { size[0] += len; }
    };
    try (JsonGenerator g = Json.MAPPER.createGenerator(counter)) {
      manifest(plan, Instant.now().toString(), Backups.IN_PROGRESS, null, g);
    }
    return size[0];
  }

  private void writeManifest(String status, String finished) throws IOException {
    writeAtomically(run.resolve(Backups.MANIFEST), files, ch -> {
      java.io.OutputStream out = buffered(ch);
      try (JsonGenerator g = Json.MAPPER.createGenerator(out)) { // leaves the channel open: writeAtomically syncs it
        manifest(plan, started, status, finished, g);
      }
      out.flush();
    });
  }

  /** A stream onto the channel in 64 KiB writes: unbuffered, a zip or a JSON generator makes a system call per field. */
  private static java.io.OutputStream buffered(FileChannel ch) {
    return new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16);
  }

  /**
   * The bytes read by the walker of every file prepare rewrites, and every meta.key (nats-server
   * 2.9.10 deletes meta.key when it loads an encrypted stream), in one uncompressed zip named by
   * path relative to the store dir: one file instead of tens of thousands keeps prepare fast.
   */
  private void keepOriginals() throws IOException {
    writeAtomically(run.resolve(Backups.ORIGINALS), files, ch -> { // a killed run leaves no torn zip
      // The stream is not closed: that would close the channel before writeAtomically syncs it.
      try (StoredZip out = new StoredZip(buffered(ch), run.resolve(Backups.ORIGINALS + ".central" + StoreWalker.TEMP_SUFFIX))) {
        for (MetaAsset a : plan.originalsKept()) {
          if (a.hasMetaInf()) addEntry(out, a.metaInfPath(), a.metaInf());
          if (a.metaSum != null) addEntry(out, a.metaSumPath(), a.metaSum.getBytes(StandardCharsets.ISO_8859_1));
          if (a.metaKey != null) addEntry(out, a.metaKeyPath(), a.metaKey);
        }
        for (RaftReplay.ConsumerReplay c : plan.replay.consumers()) if (c.original() != null) addEntry(out, c.file().path(), c.original());
        for (RaftReplay.StreamReplay r : plan.replay.streams()) {
          for (RaftReplay.NewFile f : r.files()) if (f.original() != null) addEntry(out, f.path(), f.original());
        }
        out.finish();
      }
    });
  }

  private void addEntry(StoredZip out, Path file, byte[] bytes) throws IOException {
    out.add(store.rel(file), bytes, Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS)); // unchanged since read: settled
  }

  /**
   * Moves a folder or file into the run folder, at its path relative to the store dir. From another file
   * system it is copied, then removed; a copy that fails is removed again, and the refusal says where the
   * store stands ({@code moved}: what this run moved before).
   */
  private void moveAside(Path from, Path under, List<Path> moved) throws Refusal {
    Path to = under.resolve(store.rel(from));
    try {
      Backups.mkdirs(to.getParent(), folders);
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
      return;
    } catch (AtomicMoveNotSupportedException otherDisk) {
      // jetstream/ on its own mount: copy everything, and only then remove the source
    } catch (IOException e) {
      throw stopped("moving " + from + " to " + to + " failed (" + Refusal.reason(e) + "); " + from
          + " is where it was", moved);
    }
    try {
      copyTree(from, to);
    } catch (IOException e) {
      String cleanup;
      try {
        if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) deleteTree(to);
        for (Path d = to.getParent(); d.startsWith(under) && isEmptyDir(d); d = d.getParent()) Files.delete(d);
        cleanup = "what this run had copied of it was removed";
      } catch (IOException stuck) {
        cleanup = "what this run had copied of it could not all be removed (" + Refusal.reason(stuck) + "): remove "
            + to + " by hand";
      }
      throw stopped("copying " + from + " to " + to + " (another file system) failed (" + Refusal.reason(e) + "); "
          + cleanup + ", and " + from + " is untouched", moved);
    }
    try {
      deleteTree(from);
    } catch (IOException e) {
      moved.add(from);
      throw stopped(from + " was copied whole to " + to + ", but removing it failed (" + Refusal.reason(e)
          + "): what is left of it is a duplicate; remove it (rm -r " + from + ") before starting a server", moved);
    }
  }

  /** Moves a folder or file back where it came from (undo); from another file system copied, then removed. */
  static void move(Path from, Path to, FileOwnership folders) throws IOException {
    Backups.mkdirs(to.getParent(), folders);
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException otherDisk) {
      copyTree(from, to);
      deleteTree(from);
    }
  }

  private static boolean isEmptyDir(Path d) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(d)) {
      return !entries.iterator().hasNext();
    }
  }

  private Refusal stopped(String what, List<Path> moved) {
    return new Refusal("prepare stopped: " + what + ". Where the store stands: no meta file was rewritten; this run "
        + "wrote " + run.resolve(Backups.MANIFEST) + " and " + Backups.ORIGINALS + (moved.isEmpty() ? "" : " and moved "
        + moved.stream().map(store::rel).collect(Collectors.joining(", ")) + " into " + run) + ". Fix the cause and run "
        + "prepare again: it completes the job.");
  }

  /** The room a copy of {@code root} takes: every file and folder in whole blocks. */
  static long spaceToCopy(Path root, long blockSize) throws IOException {
    long[] total = {0};
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        total[0] += blockSize;
        return FileVisitResult.CONTINUE;
      }

      @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        total[0] += (attrs.size() + blockSize - 1) / blockSize * blockSize;
        return FileVisitResult.CONTINUE;
      }
    });
    return total[0];
  }

  private static void copyTree(Path from, Path to) throws IOException {
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        Files.copy(dir, to.resolve(from.relativize(dir)), StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        return FileVisitResult.CONTINUE;
      }

      @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.copy(file, to.resolve(from.relativize(file)), StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static void deleteTree(Path root) throws IOException {
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** Replaces a meta file keeping its mode, owner and group (those of meta.inf for a new meta.sum). */
  static void replaceAtomically(Path target, byte[] bytes) throws IOException { replaceAtomically(target, bytes, true); }

  /**
   * {@code clearStale} false: the target's folder is known to hold no temp file of a killed run (the walker listed it
   * and prepare moved each one aside), so it is not listed again: prepare's rewrite at 10,000 streams and 30,000
   * consumers would list folders 80,000 times.
   */
  static void replaceAtomically(Path target, byte[] bytes, boolean clearStale) throws IOException {
    Path like = Files.exists(target, LinkOption.NOFOLLOW_LINKS) ? target : target.resolveSibling(MetaAsset.META_INF);
    if (clearStale) clearStaleTemps(target);
    writeTemp(target, FileOwnership.of(like), ch -> write(ch, bytes));
  }

  /**
   * Writes a sibling temp file created with the given mode, owner and group (a root-run prepare
   * must leave files the nats user can read; a secret must never be readable by others, not even
   * for a moment), makes it durable, and renames it over the target: readers see the old bytes or
   * the new, never a torn file. {@code like} null means the process's defaults.
   */
  static void writeAtomically(Path target, byte[] bytes, FileOwnership like) throws IOException {
    writeAtomically(target, like, ch -> write(ch, bytes));
  }

  private static void write(FileChannel ch, byte[] bytes) throws IOException {
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
    while (buf.hasRemaining()) ch.write(buf);
  }

  interface ChannelWriter {
    void writeTo(FileChannel ch) throws IOException;
  }

  static void writeAtomically(Path target, FileOwnership like, ChannelWriter body) throws IOException {
    clearStaleTemps(target);
    writeTemp(target, like, body);
  }

  /**
   * Temp files are named by their process, so that runs never write over each other's. Every caller holds the store
   * lock: a temp file of this target that is here already was left by a killed run (recovery.conf's holds passwords).
   */
  private static void clearStaleTemps(Path target) throws IOException {
    String prefix = target.getFileName() + ".";
    try (DirectoryStream<Path> stale = Files.newDirectoryStream(target.getParent(),
        p -> StoreWalker.name(p).startsWith(prefix) && StoreWalker.name(p).substring(prefix.length()).matches("\\d+\\Q" + StoreWalker.TEMP_SUFFIX + "\\E"))) {
      for (Path p : stale) Files.deleteIfExists(p);
    }
  }

  /** writeAtomically, once the target's folder holds no temp file of a killed run. */
  private static void writeTemp(Path target, FileOwnership like, ChannelWriter body) throws IOException {
    Path temp = target.resolveSibling(target.getFileName() + "." + ProcessHandle.current().pid() + StoreWalker.TEMP_SUFFIX);
    java.nio.file.attribute.FileAttribute<?>[] mode = like == null ? new java.nio.file.attribute.FileAttribute<?>[0]
        : new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions.asFileAttribute(like.permissions())};
    try {
      try (FileChannel ch = FileChannel.open(temp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), mode)) {
        body.writeTo(ch);
        ch.force(true);
      }
      if (like != null) like.applyTo(temp);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(temp); // a failed write leaves no half-written temp file behind (a disk full stays full)
      } catch (IOException ignored) {
        // the failure that matters is e
      }
      throw e;
    }
  }

  /**
   * The refusal for a run that failed while writing: what was done, what state the store is in,
   * and how to finish. A run that had not yet touched jetstream/ takes its backup folder away
   * again, so that the store is exactly as it was.
   */
  private Refusal stopped(IOException e) {
    String cause = Failure.describe(e), remedy = Failure.remedy(e);
    String again = "js-recover prepare " + Reports.shellQuote(store.storeDir.toString());
    if (!touched) {
      try {
        deleteTree(run);
        try (java.util.stream.Stream<Path> left = Files.list(Backups.root(store))) {
          if (left.findAny().isEmpty()) Files.delete(Backups.root(store)); // this run made it
        }
      } catch (IOException cleanup) {
        return new Refusal("prepare stopped before changing jetstream/: " + cause + ". jetstream/ is as it was; this "
            + "run's backup folder " + run + " could not be removed (" + Failure.describe(cleanup) + ") and holds nothing "
            + "the store needs. " + remedy + ", then run " + again + " again.");
      }
      return new Refusal("prepare stopped before changing the store: " + cause + ". Nothing was changed (this run's "
          + "backup folder was removed again). " + remedy + ", then run " + again + " again.");
    }
    int toMove = store.raftDirs.size() + store.leftoverTemps.size() - moved.size(), toRewrite = plan.changes.size() - rewritten.get();
    List<String> left = new ArrayList<>();
    if (toMove > 0) left.add(toMove + " Raft folder(s) and leftover temp file(s) to move");
    if (toRewrite > 0) left.add(toRewrite + " config(s) to rewrite (a standalone server would not load those)");
    int toRecreate = plan.recreation.recreated.size() - recreated;
    if (toRecreate > 0) left.add(toRecreate + " consumer(s) to recreate");
    int toReplay = plan.replayedFiles().size() - replayed;
    if (toReplay > 0) left.add(toReplay + " block file(s) replayed from the Raft logs to write");
    left.add("the manifest to mark complete");
    left.add(RecoveryConfig.FILE + " to (re)write");
    return new Refusal("prepare stopped half-way: " + cause + ".\n"
        + "Done before it stopped: the plan (" + run.resolve(Backups.MANIFEST) + ") and the original of every file it "
        + "rewrites (" + run.resolve(Backups.ORIGINALS) + ") were kept; " + moved.size() + " of "
        + (store.raftDirs.size() + store.leftoverTemps.size()) + " Raft folder(s) and leftover temp file(s) were moved "
        + "into " + run + "; " + rewritten.get() + " of " + plan.changes.size() + " stream and consumer config(s) were "
        + "rewritten.\n"
        + "Left to do: " + String.join(", ", left) + ". Nothing is lost.\n"
        + "To finish: " + remedy + ", then run " + again + " again: it completes this run.");
  }
}

/** An I/O failure as an operator reads it: what happened to which file, and what to do about it. */
final class Failure {
  static String describe(IOException e) {
    if (e instanceof java.nio.file.FileSystemException f) {
      String reason = f.getReason() != null ? f.getReason()
          : f instanceof AccessDeniedException ? "Permission denied"
          : f instanceof NoSuchFileException ? "No such file or directory"
          : f instanceof FileAlreadyExistsException ? "File exists"
          : f.getClass().getSimpleName();
      return reason + " (" + f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ")";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  static String remedy(IOException e) {
    if (e instanceof ChangedWhileRead) {
      return "A nats-server (or another process) is still writing this store: stop it, or copy the store again from a "
          + "stopped one";
    }
    String what = describe(e);
    if (what.contains("No space left on device") || what.contains("Disk quota exceeded")) {
      return "Free space on that file system (df -h), or copy the store to a larger one";
    }
    if (what.contains("Read-only file system")) {
      return "The file system is read-only (if it was not mounted so, check the disk: dmesg); copy the store to a "
          + "writable one";
    }
    if (e instanceof AccessDeniedException || what.contains("Operation not permitted") || what.contains("Permission denied")) {
      return "Make that file writable (run as the store's owner or root; lsattr shows an immutable flag, chattr -i "
          + "clears it)";
    }
    return "Fix what the error names";
  }
}

/**
 * undo: jetstream/ back as it was before the first prepare, whatever runs happened. Each file gets
 * its oldest original across every run (a rerun's originals.zip holds what an interrupted run had
 * half-prepared; a meta.sum a run recorded as missing was created by it), each Raft folder goes
 * back where it came from. Nothing is deleted: the prepared bytes each restore replaces, files
 * prepare created, temp files of killed runs and recovery.conf go into js-recover-backup/undo-<time>/,
 * whose undo.json, written last, marks the runs undone so that a later prepare starts afresh.
 * Every step is atomic per file and skipped once done, so a killed undo is completed by a rerun.
 */
final class Undo {
  static final String MARKER = "undo.json", PREFIX = "undo-", REPLACED = "replaced", CREATED = "created";

  /** A file as it was before the first prepare: its bytes and time, or absent (original null). */
  record Original(byte[] bytes, FileTime modified, String from) {}

  record RaftMove(Path from, Path to) {}

  final Store store;
  final List<Backups.Run> runs;
  final Map<Path, Original> restores = new java.util.TreeMap<>(); // only files whose bytes differ now
  final List<Path> createdByPrepare = new ArrayList<>();
  /** Consumer folders prepare recreated from the cluster's records (ConsumerRecreation). */
  final List<Path> recreatedByPrepare = new ArrayList<>();
  final List<Path> temps = new ArrayList<>();
  final List<RaftMove> raftMoves = new ArrayList<>();
  final Path recoveryConf;

  private Undo(Store store, List<Backups.Run> runs, Path recoveryConf) {
    this.store = store;
    this.runs = runs;
    this.recoveryConf = recoveryConf;
  }

  /** What undo must do to this store; refuses, having changed nothing, when it cannot be done. */
  static Undo plan(Store store) throws Refusal, IOException {
    if (Files.isSymbolicLink(Backups.root(store))) {
      throw new Refusal(Backups.root(store) + " is a symbolic link; js-recover does not follow links out of the store. "
          + "Nothing was changed.");
    }
    List<Backups.Run> runs;
    try {
      runs = Backups.runs(store);
    } catch (IOException e) {
      throw new Refusal("undo cannot read the manifests in " + Backups.root(store) + " (" + e.getMessage() + "); nothing "
          + "was changed. It needs every run's manifest: restore the damaged one from a copy of the store if you have "
          + "one. Keep that folder as it is: it holds the originals.");
    }
    Path conf = RecoveryConfig.path(store);
    Undo u = new Undo(store, runs, Files.exists(conf, LinkOption.NOFOLLOW_LINKS) ? conf : null);
    List<String> blockers = new ArrayList<>();
    Map<Path, Original> oldest = new java.util.TreeMap<>();
    java.util.Set<Path> assetDirs = new TreeSet<>();
    for (Backups.Run run : u.runs) u.readRun(run, oldest, assetDirs, blockers);
    for (Map.Entry<Path, Original> e : oldest.entrySet()) u.checkFile(e.getKey(), e.getValue(), blockers);
    oldest.keySet().forEach(f -> assetDirs.add(f.getParent())); // a killed undo leaves its temp files there too
    for (Path dir : assetDirs) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) continue;
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*" + StoreWalker.TEMP_SUFFIX)) {
        entries.forEach(u.temps::add);
      }
    }
    if (!blockers.isEmpty()) {
      throw new Refusal("undo cannot put the store back as it was; nothing was changed:\n  " + String.join("\n  ", blockers)
          + "\nKeep " + Backups.root(store) + " as it is: it holds the originals.");
    }
    return u;
  }

  /** The run's originals where no older run had one, its Raft folders, and its asset folders. */
  private void readRun(Backups.Run run, Map<Path, Original> oldest, java.util.Set<Path> assetDirs, List<String> blockers)
      throws IOException {
    String where = Backups.DIR + "/" + run.name() + "/";
    JsonNode m = run.manifest();
    if (!m.isObject() || !m.path("changes").isArray() || !m.path("raft_dirs").isArray()) {
      blockers.add(where + Backups.MANIFEST + " is damaged (not a js-recover manifest)");
      return;
    }
    Map<Path, Original> own = new HashMap<>();
    for (JsonNode c : m.path("changes")) {
      Path metaInf = inJetstream(c.path("meta_inf").asText(""));
      if (metaInf == null) {
        blockers.add(where + Backups.MANIFEST + " is damaged: a change names no meta.inf inside jetstream/");
        return;
      }
      assetDirs.add(metaInf.getParent());
      if (c.path("meta_sum").path("from").isNull()) {
        own.put(metaInf.resolveSibling(MetaAsset.META_SUM), new Original(null, null, where + Backups.MANIFEST));
      }
    }
    for (JsonNode r : m.path("replayed")) {
      for (JsonNode f : r.path("created")) {
        Path file = inJetstream(f.asText(""));
        if (file == null) {
          blockers.add(where + Backups.MANIFEST + " is damaged: a replayed block lies outside jetstream/");
          return;
        }
        own.put(file, new Original(null, null, where + Backups.MANIFEST)); // the replay created it
      }
    }
    Path zip = run.dir().resolve(Backups.ORIGINALS);
    if (Files.exists(zip, LinkOption.NOFOLLOW_LINKS)) {
      try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(zip.toFile())) {
        for (java.util.zip.ZipEntry e : Collections.list(z.entries())) {
          Path file = inJetstream(e.getName());
          byte[] bytes;
          try (java.io.InputStream in = z.getInputStream(e)) {
            bytes = in.readAllBytes();
          }
          java.util.zip.CRC32 crc = new java.util.zip.CRC32();
          crc.update(bytes);
          if (file == null || crc.getValue() != e.getCrc()) throw new java.util.zip.ZipException("entry " + e.getName() + " is damaged");
          own.put(file, new Original(bytes, e.getLastModifiedTime(), where + Backups.ORIGINALS));
        }
      } catch (IOException e) {
        blockers.add(where + Backups.ORIGINALS + " is damaged (" + e.getMessage() + ")");
        return;
      }
      for (JsonNode c : m.path("changes")) {
        if (!own.containsKey(inJetstream(c.path("meta_inf").asText())) ) {
          blockers.add(where + Backups.ORIGINALS + " lacks the original of " + c.path("meta_inf").asText());
        }
      }
    } else if (!m.path("changes").isEmpty() || !m.path("raft_dirs").isEmpty()) {
      // prepare keeps the originals before it changes anything: without them the run changed nothing, unless it finished
      if (Backups.COMPLETE.equals(m.path("status").asText()) || Files.exists(run.dir().resolve(Backups.RAFT))) {
        blockers.add(where + Backups.ORIGINALS + " is missing, but that run changed the store");
        return;
      }
    }
    own.forEach(oldest::putIfAbsent);
    if (!Files.exists(zip, LinkOption.NOFOLLOW_LINKS)) return;
    for (JsonNode c : m.path("recreated_consumers")) {
      Path folder = inJetstream(c.path("folder").asText(""));
      if (folder == null || !folder.getParent().getFileName().toString().equals(StoreWalker.CONSUMERS)) {
        blockers.add(where + Backups.MANIFEST + " is damaged: a recreated consumer names no consumer folder inside jetstream/");
        return;
      }
      assetDirs.add(folder.getParent().getParent()); // where a killed run left the folder it was building
      if (Files.exists(folder, LinkOption.NOFOLLOW_LINKS) && !recreatedByPrepare.contains(folder)) recreatedByPrepare.add(folder);
    }
    for (JsonNode r : m.path("raft_dirs")) {
      Path to = inJetstream(r.path("from").asText(""));
      Path from = run.dir().resolve(r.path("to").asText("")).normalize();
      if (to == null || !from.startsWith(run.dir().resolve(Backups.RAFT))) {
        blockers.add(where + Backups.MANIFEST + " is damaged: a Raft folder entry points outside the store");
      } else if (Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
        if (Files.exists(to, LinkOption.NOFOLLOW_LINKS) || raftMoves.stream().anyMatch(mv -> mv.to().equals(to))) {
          blockers.add(store.rel(to) + ": the Raft folder kept in " + store.rel(from) + " cannot go back, something else "
              + "is in its place; move that aside and run undo again");
        } else {
          raftMoves.add(new RaftMove(from, to));
        }
      } else if (!Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
        blockers.add(store.rel(from) + " is gone, and " + store.rel(to) + " is not in the store either: that Raft "
            + "folder is lost");
      } // else: never moved (the run was killed first) or moved back by an earlier undo
    }
  }

  /** A path the backup names, if it lies inside jetstream/ (a damaged backup must not reach out). */
  private Path inJetstream(String rel) {
    if (rel.isEmpty()) return null;
    Path p = store.storeDir.resolve(rel).normalize();
    return p.startsWith(store.jetstreamDir) && !p.equals(store.jetstreamDir) ? p : null;
  }

  /** Records what the file needs, or why it cannot be put back. */
  private void checkFile(Path file, Original original, List<String> blockers) throws IOException {
    Path dir = file.getParent();
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !dir.toRealPath().equals(dir)) {
      blockers.add(store.rel(dir) + ": the folder is gone or reached through a link; copy it back from the survivor "
          + "and run undo again");
      return;
    }
    BasicFileAttributes now;
    try {
      now = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException absent) {
      if (original.bytes() != null) restores.put(file, original);
      return;
    }
    if (!now.isRegularFile()) {
      blockers.add(store.rel(file) + ": not a plain file (a link or a folder); move it aside and run undo again");
    } else if (original.bytes() == null) {
      createdByPrepare.add(file);
    } else if (!java.util.Arrays.equals(Files.readAllBytes(file), original.bytes())) {
      restores.put(file, original);
    }
  }

  void print(PrintWriter out, boolean dryRun) {
    String aside = dryRun ? Backups.DIR + "/" + PREFIX + "<time>/" : "";
    restores.forEach((f, o) -> out.printf("  restore  %s from %s%n", store.rel(f), o.from()));
    createdByPrepare.forEach(f -> out.printf("  aside    %s (prepare created it)%n", store.rel(f)));
    recreatedByPrepare.forEach(f -> out.printf("  aside    %s (a consumer prepare recreated from the cluster's records)%n", store.rel(f)));
    temps.forEach(t -> out.printf("  aside    %s (temp file of a killed run)%n", store.rel(t)));
    raftMoves.forEach(mv -> out.printf("  raft     %s back from %s%n", store.rel(mv.to()), store.rel(mv.from())));
    if (recoveryConf != null) out.printf("  aside    %s%n", store.rel(recoveryConf));
    out.printf("%nTotals: %d file(s) %s, %d Raft folder(s) %s, %d file(s) %s%s.%n", restores.size(),
        dryRun ? "to restore" : "restored", raftMoves.size(), dryRun ? "to move back" : "moved back",
        createdByPrepare.size() + recreatedByPrepare.size() + temps.size() + (recoveryConf == null ? 0 : 1),
        dryRun ? "to move aside" : "moved aside",
        aside.isEmpty() ? "" : " into " + aside);
  }

  /** Carries the plan out; returns the undo folder. */
  Path carryOut() throws IOException {
    FileOwnership folders = Backups.folders(store);
    Path undo = Backups.newFolder(store, PREFIX, folders);
    for (Path f : temps) PrepareRun.move(f, undo.resolve(Backups.LEFTOVERS).resolve(store.rel(f)), folders);
    for (Path f : createdByPrepare) PrepareRun.move(f, undo.resolve(CREATED).resolve(store.rel(f)), folders);
    for (Path f : recreatedByPrepare) PrepareRun.move(f, undo.resolve(CREATED).resolve(store.rel(f)), folders);
    for (Map.Entry<Path, Original> e : restores.entrySet()) {
      Path file = e.getKey();
      boolean present = Files.exists(file, LinkOption.NOFOLLOW_LINKS);
      Path like = present ? file : file.resolveSibling(MetaAsset.META_INF);
      if (present) {
        Path kept = undo.resolve(REPLACED).resolve(store.rel(file));
        Backups.mkdirs(kept.getParent(), folders);
        Files.copy(file, kept, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      }
      PrepareRun.writeAtomically(file, e.getValue().bytes(),
          Files.exists(like, LinkOption.NOFOLLOW_LINKS) ? FileOwnership.of(like) : null);
      if (e.getValue().modified() != null) Files.setLastModifiedTime(file, e.getValue().modified());
    }
    for (RaftMove mv : raftMoves) PrepareRun.move(mv.from(), mv.to(), folders);
    if (recoveryConf != null) PrepareRun.move(recoveryConf, undo.resolve(RecoveryConfig.FILE), folders);
    ObjectNode marker = Json.NODES.objectNode();
    marker.put("tool", JsRecover.VERSION);
    marker.put("finished", Instant.now().toString());
    ArrayNode undone = marker.putArray("undone_runs");
    runs.forEach(r -> undone.add(r.name()));
    PrepareRun.writeAtomically(undo.resolve(MARKER), Json.MAPPER.writeValueAsBytes(marker), null); // the runs are undone
    return undo;
  }
}

/**
 * recovery.conf, next to jetstream/: a nats-server configuration that loads this store standalone
 * and nothing else. Loopback only; no cluster, gateway, leafnode, MQTT or websocket block; every
 * account that holds streams with JetStream and one user with a fresh random password; the key,
 * when the store is encrypted, read from $JS_RECOVER_KEY, never written. Mode 0600.
 */
final class RecoveryConfig {
  static final String FILE = "recovery.conf", GLOBAL_FILE = "recovery-global.conf", USER_PREFIX = "recover-";

  record Login(String account, String user, String password) {}

  record Settings(int port, int httpPort, List<Login> logins, String cipher) {
    Login login(String account) {
      return logins.stream().filter(l -> l.account().equals(account)).findFirst().orElse(null);
    }

    /** The same server without accounts: what serves $G's streams. */
    Settings global() { return new Settings(port, httpPort, List.of(), cipher); }
  }

  static Path path(Store store) { return store.storeDir.resolve(FILE); }

  /** The config of a second server for $G's streams, beside named accounts' (see needsAccounts). */
  static Path globalPath(Store store) { return store.storeDir.resolve(GLOBAL_FILE); }

  /** $G holds streams next to named accounts: one server cannot serve both, so $G gets a config of its own. */
  static boolean globalApart(Store store) { return store.accounts.contains("$G") && needsAccounts(store); }

  /** The configs this store needs, in the order verify checks them: $G's apart first, recovery.conf last. */
  static List<Path> files(Store store) {
    return globalApart(store) ? List.of(globalPath(store), path(store)) : List.of(path(store));
  }

  /** The settings of an existing recovery.conf (always of the operator's own), or fresh ones: free ports, new passwords. */
  static Settings settingsFor(Store store) throws IOException {
    Settings existing = read(path(store));
    if (existing != null && (theOperators(path(store)) || fits(existing, store))) return existing;
    List<Login> logins = new ArrayList<>();
    if (needsAccounts(store)) {
      for (String account : store.accounts) {
        if (!account.equals("$G")) logins.add(new Login(account, USER_PREFIX + account, password()));
      }
    }
    return new Settings(freePort(), freePort(), logins, cipher(store));
  }

  /** Config mode serves $G's JetStream only when no accounts are configured. */
  static boolean needsAccounts(Store store) { return !store.accounts.equals(new TreeSet<>(List.of("$G"))); }

  private static boolean fits(Settings s, Store store) {
    TreeSet<String> named = new TreeSet<>(store.accounts);
    named.remove("$G");
    boolean sameAccounts = named.equals(s.logins().stream().map(Login::account).collect(Collectors.toCollection(TreeSet::new)));
    return sameAccounts && java.util.Objects.equals(s.cipher(), cipher(store));
  }

  /** The cipher most sealed assets opened with; chacha (the server's default) when none opened. */
  private static String cipher(Store store) {
    if (!store.encrypted()) return null;
    Map<MetaCrypto.Cipher, Long> counts = store.assets().stream().filter(a -> a.opened != null)
        .collect(Collectors.groupingBy(a -> a.opened.cipher(), Collectors.counting()));
    return counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name().toLowerCase())
        .orElse("chacha");
  }

  static String render(Store store, Path file, Settings s) throws IOException {
    StringBuilder c = new StringBuilder();
    c.append("# Written by ").append(JsRecover.VERSION).append(" prepare. Loads this store standalone and nothing else.\n");
    if (file.equals(globalPath(store))) {
      c.append("# $G's streams: nats-server serves $G's JetStream only when no accounts are configured, so not with ")
          .append(FILE).append(".\n");
    }
    if (s.cipher() != null) c.append("# The key comes from the environment, as a quoted config string:\n#   ").append(KeyRing.EXPORT_LINE).append("\n");
    c.append("# Start: nats-server -c ").append(file).append("\n");
    c.append("listen: 127.0.0.1:").append(s.port()).append("\n");
    c.append("http: 127.0.0.1:").append(s.httpPort()).append("\n");
    c.append("server_name: js-recover\n");
    c.append("jetstream {\n");
    c.append("  store_dir: ").append(quote(store.storeDir.toString())).append("\n");
    c.append("  max_file_store: ").append(maxFileStore(store)).append("\n");
    if (s.cipher() != null) {
      c.append("  key: $").append(KeyRing.ENV).append("\n");
      c.append("  cipher: ").append(s.cipher()).append("\n");
    }
    c.append("}\n");
    if (!s.logins().isEmpty()) {
      c.append("accounts {\n");
      for (Login l : s.logins()) {
        c.append("  ").append(quote(l.account())).append(": { jetstream: enabled, users: [ { user: ")
            .append(quote(l.user())).append(", password: ").append(quote(l.password())).append(" } ] }\n");
      }
      c.append("}\n");
    }
    return c.toString();
  }

  /**
   * What the file streams may hold. As it loads a stream, nats-server 2.9 and 2.10 reserve its max_bytes against
   * max_file_store and refuse the stream that does not fit ("insufficient storage resources available"), so every
   * file stream's max_bytes is counted; the size of the file system jetstream/ is on (its own mount, maybe) comes on
   * top, so whatever is on disk and every stream without a limit fit too. Saturates at the largest int64, the most
   * the server reads.
   */
  static long maxFileStore(Store store) throws IOException {
    long bytes = Files.getFileStore(store.jetstreamDir).getTotalSpace();
    for (StoredStream s : store.streams) {
      JsonNode config = s.meta().config();
      if (config == null || !config.path("storage").asText("file").equals("file")) continue;
      long maxBytes = config.path("max_bytes").asLong(-1);
      if (maxBytes > 0) bytes = maxBytes > Long.MAX_VALUE - bytes ? Long.MAX_VALUE : bytes + maxBytes;
    }
    return bytes;
  }

  /** The last line of every file js-recover writes here: what lets it tell its own, untouched, from the operator's. */
  private static final String DIGEST = "# js-recover digest (this file is rewritten only while it matches): sha256 ";

  private static byte[] withDigest(String text) {
    try {
      byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return (text + DIGEST + java.util.HexFormat.of().formatHex(sha) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * A file there that js-recover must not write over: not a plain file, not written by js-recover (no digest), or
   * changed since it was (a hand-fixed recovery.conf): the operator's.
   */
  static boolean theOperators(Path file) throws IOException {
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) return false;
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return true;
    byte[] bytes = Files.readAllBytes(file);
    String text = new String(bytes, StandardCharsets.UTF_8);
    int digest = text.lastIndexOf(DIGEST);
    return digest < 0 || !java.util.Arrays.equals(bytes, withDigest(text.substring(0, digest)));
  }

  /** Writes a config (mode 0600, owned like the store dir) unless it already says this. Never the operator's. */
  static boolean write(Store store, Path file, Settings s) throws IOException {
    if (theOperators(file)) throw new IllegalStateException(file + " is the operator's: never written over");
    byte[] text = withDigest(render(store, file, s));
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && java.util.Arrays.equals(Files.readAllBytes(file), text)) return false;
    FileOwnership storeOwner = FileOwnership.of(store.storeDir);
    PrepareRun.writeAtomically(file, text, new FileOwnership(0600, storeOwner.uid(), storeOwner.gid()));
    return true;
  }

  private static final java.util.regex.Pattern STORE_DIR = java.util.regex.Pattern.compile("(?m)^  store_dir: (\"(?:[^\"\\\\]|\\\\.)*\")$");

  /** The store a recovery.conf loads, as real a path as it can be made; null when it names none. */
  static Path storeDirIn(Path file) throws IOException {
    var m = STORE_DIR.matcher(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
    if (!m.find()) return null;
    Path dir = Path.of(unquote(m.group(1))).toAbsolutePath().normalize();
    return Files.exists(dir) ? dir.toRealPath() : dir;
  }

  private static final java.util.regex.Pattern PORT = java.util.regex.Pattern.compile("(?m)^(listen|http): 127\\.0\\.0\\.1:(\\d+)$");
  private static final java.util.regex.Pattern LOGIN = java.util.regex.Pattern.compile(
      "(?m)^  (\"(?:[^\"\\\\]|\\\\.)*\"): \\{ jetstream: enabled, users: \\[ \\{ user: (\"(?:[^\"\\\\]|\\\\.)*\"), password: (\"(?:[^\"\\\\]|\\\\.)*\") \\} \\] \\}$");
  private static final java.util.regex.Pattern CIPHER = java.util.regex.Pattern.compile("(?m)^  cipher: (\\w+)$");

  /** Reads back a recovery.conf this tool wrote; null when there is none. */
  static Settings read(Path file) throws IOException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return null;
    String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    Map<String, Integer> ports = new HashMap<>();
    for (var m = PORT.matcher(text); m.find(); ) ports.put(m.group(1), Integer.parseInt(m.group(2)));
    List<Login> logins = new ArrayList<>();
    for (var m = LOGIN.matcher(text); m.find(); ) logins.add(new Login(unquote(m.group(1)), unquote(m.group(2)), unquote(m.group(3))));
    var cipher = CIPHER.matcher(text);
    if (!ports.containsKey("listen") || !ports.containsKey("http")) return null; // not one js-recover can read
    return new Settings(ports.get("listen"), ports.get("http"), logins, cipher.find() ? cipher.group(1) : null);
  }

  static String quote(String s) { return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"'; }

  static String unquote(String q) { return q.substring(1, q.length() - 1).replaceAll("\\\\(.)", "$1"); }

  static int freePort() throws IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static String password() {
    byte[] b = new byte[18];
    new java.security.SecureRandom().nextBytes(b);
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}

/**
 * verify: starts nats-server on recovery.conf, reads /jsz, and compares what it serves with what
 * is on disk. The server rewrites meta files as it loads them; nothing else touches the store.
 */
final class LoadCheck {
  record Loaded(long messages, java.util.Set<String> consumers) {}

  /**
   * nats-server 2.10.0 to 2.10.27 and 2.11.0 to 2.11.1 purge, as they load it, a stream configured with a first_seq
   * whose first message still sits at that sequence ({@code firstSeq <= cfg.FirstSeq} in filestore.go; nats-server
   * commit 48b87441a made it {@code <}): every message of it is gone from the copy before anything can be read.
   */
  static final String FIRST_SEQ_PURGE = "nats-server 2.10.0 to 2.10.27 and 2.11.0 to 2.11.1 delete every message of "
      + "such a stream as they load it (fixed in 2.10.28 and 2.11.2): start the recovery server with another version";

  static boolean purgesFirstSeqStreams(String version) {
    java.util.regex.Matcher v = java.util.regex.Pattern.compile("v?2\\.(\\d+)\\.(\\d+)").matcher(version);
    if (!v.find()) return false;
    int minor = Integer.parseInt(v.group(1)), patch = Integer.parseInt(v.group(2));
    return minor == 10 && patch <= 27 || minor == 11 && patch <= 1;
  }

  /**
   * What {@code nats-server --version} says ("nats-server: v2.10.27"); null when it says nothing within 5 s or
   * fails: such a binary is judged by its start, as before.
   */
  static String version(Path bin) {
    try {
      Path said = Files.createTempFile("js-recover-version-", ".txt");
      ProcessBuilder ask = new ProcessBuilder(bin.toString(), "--version").redirectErrorStream(true).redirectOutput(said.toFile());
      try (Server asked = new Server(ask)) { // stopped on any exit, like every process verify starts
        if (!asked.process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) return null;
        return asked.process.exitValue() == 0 ? Files.readString(said).strip() : null;
      } finally {
        Files.deleteIfExists(said);
      }
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** Refuses, before it starts, a server known to destroy data of this store as it loads it. */
  static void refuseKnownDataLoss(Path bin, Store store) throws Refusal {
    List<String> hit = store.streams.stream().filter(st -> st.meta().readable
        && st.meta().config().path("first_seq").asLong(0) > 0).map(st -> st.meta().label()).toList();
    if (hit.isEmpty()) return; // no stream the bug can touch: the server is not even asked its version
    String version = version(bin);
    if (version == null || !purgesFirstSeqStreams(version)) return;
    throw new Refusal(bin + " is " + version + ", which deletes every message of " + String.join(", ", hit)
        + " as it loads it: their first_seq is set, and " + FIRST_SEQ_PURGE.replace("such a stream", "a stream like that")
        + ". Pass --nats-server with another release (2.10.28+, 2.11.2+, 2.9); nothing was started or changed.");
  }

  final Map<String, Loaded> streams = new HashMap<>(); // "account > stream" -> what the server serves
  final List<String> serverWarnings = new ArrayList<>();

  /**
   * The server's own [WRN] and [ERR] lines, verbatim, but those verify itself causes: the plaintext passwords of
   * recovery.conf, and 2.10+'s "Healthcheck failed" for each /healthz asked while the store was still loading (what
   * failed to load has lines of its own).
   */
  void readLog(Path log) throws IOException {
    for (String line : Files.readAllLines(log)) {
      if ((line.contains("[WRN]") || line.contains("[ERR]")) && !line.contains("Plaintext passwords detected")
          && !line.contains("Healthcheck failed")) {
        serverWarnings.add(line);
      }
    }
  }

  void readJsz(JsonNode jsz) {
    for (JsonNode account : jsz.path("account_details")) {
      for (JsonNode stream : account.path("stream_detail")) {
        java.util.Set<String> consumers = new java.util.TreeSet<>();
        stream.path("consumer_detail").forEach(c -> consumers.add(c.path("name").asText()));
        streams.put(account.path("name").asText() + " > " + stream.path("name").asText(),
            new Loaded(stream.path("state").path("messages").asLong(), consumers));
      }
    }
  }

  /**
   * Waits until the server has loaded the store, then reads /jsz. Loaded: /healthz answers 200 with JetStream up (in
   * 2.9 the store is loaded by then), or the log says "Server is ready", which every version from 2.9 to 2.15 writes
   * once start-up, the store's load included, is over. 2.10+ answers /healthz 503 for as long as a stream folder on
   * disk is not loaded or an account folder is not served, so a store that loads only in part (or $G's server beside
   * a named account's folder) would otherwise look like one still loading. Every request is bounded by the deadline:
   * a port that accepts but never answers must not hold verify for ever.
   */
  static JsonNode awaitJetStream(Process server, int httpPort, Path log, int timeoutSeconds) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(2)).build();
    String base = "http://127.0.0.1:" + httpPort;
    long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
    boolean silent = false; // the port accepted a request and gave no answer in time
    while (System.nanoTime() < deadline) {
      if (!server.isAlive()) {
        throw new Refusal("nats-server exited with code " + server.exitValue() + " before loading the store:\n"
            + String.join("\n", Files.readAllLines(log)));
      }
      try {
        if (get(http, base + "/healthz", deadline).statusCode() == 200 || Files.readString(log).contains("Server is ready")) {
          return Json.MAPPER.readTree(get(http, base + "/jsz?accounts=true&streams=true&consumers=true", deadline).body());
        }
      } catch (java.net.http.HttpConnectTimeoutException | java.net.ConnectException notYet) {
        // still starting
      } catch (java.net.http.HttpTimeoutException noAnswer) {
        silent = true;
      } catch (IOException dropped) {
        // a connection closed while the server starts: ask again
      }
      Thread.sleep(100);
    }
    throw new Refusal("nats-server did not finish loading the store within " + timeoutSeconds + " s (--timeout)"
        + (silent ? ": its monitoring port 127.0.0.1:" + httpPort + " accepts connections but never answers" : "")
        + "; see " + log);
  }

  private static java.net.http.HttpResponse<String> get(java.net.http.HttpClient http, String url, long deadline)
      throws IOException, InterruptedException {
    long millisLeft = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
    return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
        .timeout(java.time.Duration.ofMillis(millisLeft)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Starts a server that is stopped when closed and on any exit of js-recover, SIGTERM and SIGINT included (a
   * shutdown hook): a verify that ends must not leave a server on the store, re-parented to init, unless asked to.
   */
  static final class Server implements AutoCloseable {
    final Process process;
    private final Thread stopOnExit;
    private boolean leftRunning;

    Server(ProcessBuilder pb) throws IOException {
      java.util.concurrent.atomic.AtomicReference<Process> started = new java.util.concurrent.atomic.AtomicReference<>();
      stopOnExit = new Thread(() -> {
        Process p = started.get();
        if (p != null) stop(p);
      });
      Runtime.getRuntime().addShutdownHook(stopOnExit); // before the start: a signal in between leaves nothing behind
      try {
        started.set(pb.start());
      } catch (IOException e) {
        Runtime.getRuntime().removeShutdownHook(stopOnExit);
        throw e;
      }
      process = started.get();
    }

    /** The check is done: the server stays up after js-recover exits (--keep-running). */
    void leaveRunning() {
      leftRunning = true;
      forgetHook();
    }

    @Override public void close() {
      if (leftRunning) return;
      stop(process);
      forgetHook();
    }

    private void forgetHook() {
      try {
        Runtime.getRuntime().removeShutdownHook(stopOnExit);
      } catch (IllegalStateException exiting) {
        // js-recover is exiting: the hook is running or has run
      }
    }
  }

  static void stop(Process server) {
    server.destroy();
    try {
      if (!server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) server.destroyForcibly().waitFor();
    } catch (InterruptedException e) {
      server.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Undoes what a server bug leaves (2.10.27, and releases before nats-server PR #7678): having loaded an encrypted
   * stream without an index.db, the server writes a new meta.key at its clean stop but leaves meta.inf sealed under
   * the old one, so its next start loads nothing. Each such meta.inf, still the bytes js-recover read, is resealed
   * under the new meta.key (with its meta.sum), which also seals what the server wrote last (index.db). Nothing is
   * lost: the plaintext is the same, and the old meta.key is in prepare's originals.zip. Returns the assets resealed.
   */
  static List<MetaAsset> resealUnderNewMetaKeys(Store store, KeyRing keys) throws IOException {
    List<MetaAsset> resealed = new ArrayList<>();
    for (MetaAsset a : store.assets()) {
      if (a.opened == null || !Files.isRegularFile(a.metaKeyPath(), LinkOption.NOFOLLOW_LINKS)) continue;
      byte[] metaKey = Files.readAllBytes(a.metaKeyPath());
      if (java.util.Arrays.equals(metaKey, a.metaKey)
          || !a.isKnown(Files.readAllBytes(a.metaInfPath()))) continue;
      MetaCrypto.Opened newKey;
      try {
        newKey = MetaCrypto.openMetaKey(keys.key(), a.account, a.cryptoContext(), metaKey, a.opened.cipher());
      } catch (java.security.GeneralSecurityException notOneWeCanOpen) {
        continue;
      }
      if (java.util.Arrays.equals(newKey.assetKey(), a.opened.assetKey())) continue; // the same seed: nothing to undo
      byte[] sealed = MetaCrypto.resealMeta(newKey, a.opened.plaintext());
      String sum = HighwayHash64.metaSum(a.checksumKey(), sealed);
      PrepareRun.replaceAtomically(a.metaInfPath(), sealed);
      PrepareRun.replaceAtomically(a.metaSumPath(), sum.getBytes(StandardCharsets.US_ASCII));
      a.onDisk(sealed.length, sum);
      resealed.add(a);
    }
    return resealed;
  }

  static Path findServer(Path given) throws Refusal {
    if (given != null) {
      if (Files.isExecutable(given)) return given;
      throw new Refusal("--nats-server " + given + " is not an executable file.");
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "nats-server");
      if (Files.isExecutable(candidate)) return candidate;
    }
    throw new Refusal("nats-server is not on PATH. Install it (apt-get install nats-server, or a release from the NATS "
        + "project) or pass --nats-server /path/to/nats-server.");
  }
}

/**
 * A recovery server js-recover starts itself on one of a prepared store's configs, on loopback ports: verify's, and
 * restore's and backup's without --from. Refused before it starts on a store it must not load; stopped whenever it is
 * closed and on any exit of js-recover (LoadCheck.Server); the store resealed after it where a server bug requires.
 */
final class RecoveryServer implements AutoCloseable {
  final Path log;
  final int port, httpPort;
  final LoadCheck.Server server;
  private final Store store;
  private final KeyRing keys;
  private final Path bin;
  private final PrintWriter out;
  private boolean leftRunning;

  private RecoveryServer(Path log, int port, int httpPort, LoadCheck.Server server, Store store, KeyRing keys, Path bin,
      PrintWriter out) {
    this.log = log;
    this.port = port;
    this.httpPort = httpPort;
    this.server = server;
    this.store = store;
    this.keys = keys;
    this.bin = bin;
    this.out = out;
  }

  /**
   * What every command checks before it starts a server on the store, refusing with nothing started or changed: each
   * config there and loading this store, the key for an encrypted one, the store prepared (a server changes what it
   * cannot load), and a server release that does not destroy its data. Returns the nats-server to run.
   */
  static Path preflight(Store s, KeyRing keys, Path natsServer, String command) throws Refusal, IOException {
    for (Path conf : RecoveryConfig.files(s)) {
      RecoveryConfig.Settings settings = RecoveryConfig.read(conf);
      if (settings == null) {
        throw new Refusal("no " + conf.getFileName() + " in " + s.storeDir + ": run js-recover prepare "
            + Reports.shellQuote(s.storeDir.toString()) + " first.");
      }
      if (settings.cipher() != null && keys == null) {
        throw new Refusal("the store is encrypted: the server needs the cluster's key. Pass --key-file FILE (or set "
            + KeyRing.ENV + ").");
      }
      Path served = RecoveryConfig.storeDirIn(conf);
      if (!s.storeDir.equals(served)) {
        throw new Refusal(conf + (served == null ? " names no store_dir" : " loads the store at " + served
            + ", not this one (it came with a copy of another store)") + ": a server started on it would load and write "
            + "another copy and report on that. Run js-recover prepare " + Reports.shellQuote(s.storeDir.toString())
            + " to write one for this store; nothing was started or changed.");
      }
    }
    List<String> notPrepared = new RecoveryPlan(s).notPrepared();
    if (!notPrepared.isEmpty()) {
      throw new Refusal(s.storeDir + " is not prepared for a standalone server, so " + command + " starts none on it (one "
          + "changes what it cannot load: nats-server 2.9 deletes the meta.key of an encrypted stream it fails to "
          + "load):\n  " + String.join("\n  ", notPrepared) + "\nRun js-recover prepare first; nothing was started or "
          + "changed.");
    }
    Path bin = LoadCheck.findServer(natsServer);
    LoadCheck.refuseKnownDataLoss(bin, s);
    return bin;
  }

  /** Starts {@code bin} on {@code conf} with these ports, the key in its environment, logging to a file of its own. */
  static RecoveryServer start(Path bin, Store s, Path conf, KeyRing keys, int port, int httpPort, PrintWriter out) throws IOException {
    Path log = Files.createTempFile("js-recover-server-", ".log");
    ProcessBuilder pb = new ProcessBuilder(bin.toString(), "-c", conf.toString(), "-a", "127.0.0.1",
        "-p", String.valueOf(port), "-m", String.valueOf(httpPort))
        .redirectErrorStream(true).redirectOutput(log.toFile());
    if (keys != null) pb.environment().put(KeyRing.ENV, keys.forServerEnvironment());
    out.printf("Starting %s on %s (ports %d, %d; log %s)...%n", bin, conf, port, httpPort, log);
    out.flush();
    return new RecoveryServer(log, port, httpPort, new LoadCheck.Server(pb), s, keys, bin, out);
  }

  /** Waits until the server has loaded the store (see LoadCheck.awaitJetStream) and returns its /jsz. */
  JsonNode awaitLoaded(int timeoutSeconds) throws Exception {
    return LoadCheck.awaitJetStream(server.process, httpPort, log, timeoutSeconds);
  }

  String url() { return "nats://127.0.0.1:" + port; }

  /** The server stays up after js-recover exits (verify --keep-running): nothing to reseal, it holds the store. */
  void leaveRunning() {
    leftRunning = true;
    server.leaveRunning();
  }

  /** Stops the server, a timed-out one included, then undoes what a server bug left (and says so at once). */
  @Override public void close() throws IOException {
    server.close();
    if (leftRunning || keys == null) return;
    List<MetaAsset> resealed = LoadCheck.resealUnderNewMetaKeys(store, keys);
    if (resealed.isEmpty()) return;
    out.printf("%s wrote a new meta.key for %d encrypted asset(s) at its stop but left their meta.inf sealed under the "
        + "old one (a server bug, fixed by nats-server PR #7678), so its next start would load none of them. js-recover "
        + "resealed each meta.inf under its new meta.key:%n  %s%n", bin, resealed.size(),
        resealed.stream().map(MetaAsset::label).collect(Collectors.joining("\n  ")));
    out.flush();
  }
}

// =================================================================================================
// 10. Transfer: one stream with its consumers, server to server or server to folder, checked at both ends
//
// The JetStream API's own snapshot and restore carry the data: the source server writes the archive
// and the target server reads it; js-recover relays the bytes as they come and never reads or writes
// the archive format (2.15 changed it). Snapshot: chunks to our inbox, each acknowledged once it is
// safe (with the target, or on disk), so the source never runs ahead. Restore: {config, state}, then
// every chunk as a request, then an empty request whose reply is the created stream.
// =================================================================================================

final class Transfer {
  /** The nats CLI's default too. */
  static final java.time.Duration API_TIMEOUT = java.time.Duration.ofSeconds(5);
  /** Longer than any server waits between two chunks (2.12.5+: 5 s without a free window slot). */
  static final java.time.Duration CHUNK_TIMEOUT = java.time.Duration.ofSeconds(30);
  /** The target builds the stream from the archive before it answers the last request (jsm.go waits 1 h too). */
  static final java.time.Duration FINISH_TIMEOUT = java.time.Duration.ofHours(1);
  /** How long a fresh R3 stream and its consumers may take to elect leaders and report the restored state. */
  static final java.time.Duration SETTLE_TIMEOUT = java.time.Duration.ofSeconds(20);
  /** Every version's default; not window_size, which only 2.12.5+ know (2.12.0-2.12.4 reject it). */
  static final int CHUNK_SIZE = 128 * 1024;
  static final int STREAM_NOT_FOUND = 10059, RESTORE_PENDING = 10130;
  /** A target gives up a restore that gets no more chunks (an interrupted run's): after about 10 s on 2.9 and 2.10. */
  static final java.time.Duration STALLED_RESTORE = java.time.Duration.ofSeconds(30);
  /** How often a chunk nobody listened for yet is sent again. */
  static final java.time.Duration NOT_LISTENING_PAUSE = java.time.Duration.ofMillis(100);

  /** One consumer's position: what it delivered, what is acknowledged, what is left. */
  record Position(long delivered, long deliveredStream, long ackFloor, long ackFloorStream, long numPending,
      long numAckPending) {
    static Position of(JsonNode info) {
      return new Position(info.path("delivered").path("consumer_seq").asLong(), info.path("delivered").path("stream_seq").asLong(),
          info.path("ack_floor").path("consumer_seq").asLong(), info.path("ack_floor").path("stream_seq").asLong(),
          info.path("num_pending").asLong(), info.path("num_ack_pending").asLong());
    }

    /** As the server's consumer info has it, so that {@link #of} reads it back. */
    ObjectNode toJson() {
      ObjectNode o = Json.NODES.objectNode();
      o.putObject("delivered").put("consumer_seq", delivered).put("stream_seq", deliveredStream);
      o.putObject("ack_floor").put("consumer_seq", ackFloor).put("stream_seq", ackFloorStream);
      return o.put("num_pending", numPending).put("num_ack_pending", numAckPending);
    }

    @Override public String toString() {
      return "delivered " + delivered + "/" + deliveredStream + ", ack floor " + ackFloor + "/" + ackFloorStream
          + ", pending " + numPending + ", ack pending " + numAckPending;
    }
  }

  /**
   * What both ends must agree on: the stream's state and every consumer's position. consumers is null when
   * unknown (a backup the nats CLI wrote): then only the stream's state is compared.
   */
  record Shape(long messages, long firstSeq, long lastSeq, long numDeleted, Map<String, Position> consumers) {
    /** No message was ever stored and no consumer exists: what an interrupted restore leaves in a cluster. */
    boolean empty() { return lastSeq == 0 && consumers != null && consumers.isEmpty(); }

    static Shape of(JsonNode state, Map<String, Position> consumers) {
      return new Shape(state.path("messages").asLong(), state.path("first_seq").asLong(), state.path("last_seq").asLong(),
          state.path("num_deleted").asLong(), consumers);
    }

    /** Each difference, named with both numbers; empty when the target holds what the source held. */
    List<String> differences(Shape target) {
      List<String> d = new ArrayList<>();
      long[][] numbers = {{messages, target.messages}, {firstSeq, target.firstSeq}, {lastSeq, target.lastSeq},
          {numDeleted, target.numDeleted}};
      String[] names = {"messages", "first sequence", "last sequence", "deleted"};
      for (int i = 0; i < names.length; i++) {
        if (numbers[i][0] != numbers[i][1]) d.add(names[i] + " " + numbers[i][0] + " at the source, " + numbers[i][1] + " at the target");
      }
      if (consumers == null || target.consumers == null) return d;
      for (var c : consumers.entrySet()) {
        Position there = target.consumers.get(c.getKey());
        if (there == null) d.add("consumer " + c.getKey() + " missing at the target");
        else if (!there.equals(c.getValue())) d.add("consumer " + c.getKey() + ": " + c.getValue() + " at the source, " + there + " at the target");
      }
      target.consumers.keySet().stream().filter(k -> !consumers.containsKey(k))
          .forEach(k -> d.add("consumer " + k + " at the target only"));
      return d;
    }

    ObjectNode toJson() {
      ObjectNode o = Json.NODES.objectNode().put("messages", messages).put("first_seq", firstSeq).put("last_seq", lastSeq)
          .put("num_deleted", numDeleted);
      ObjectNode cs = o.putObject("consumers");
      if (consumers != null) consumers.forEach((name, p) -> cs.set(name, p.toJson()));
      return o;
    }

    static Shape fromJson(JsonNode o) {
      Map<String, Position> cs = new java.util.TreeMap<>();
      o.path("consumers").properties().forEach(e -> cs.put(e.getKey(), Position.of(e.getValue())));
      return of(o, cs);
    }
  }

  /** Takes the archive's bytes in order; throws to stop the snapshot. */
  interface ChunkSink {
    void chunk(byte[] bytes) throws IOException, Refusal;
  }

  /** Given the snapshot reply ({config, state}), the sink its chunks go to. */
  interface SinkOpener {
    ChunkSink open(JsonNode snapshotReply) throws IOException, Refusal;
  }

  /** A JetStream API request; its error, a timeout or nobody answering is a Refusal that says so. */
  static JsonNode request(io.nats.client.Connection nc, String subject, byte[] body, java.time.Duration timeout) throws Refusal {
    JsonNode reply = reply(nc, subject, body, timeout);
    if (reply.has("error")) throw apiError(reply);
    return reply;
  }

  static Refusal apiError(JsonNode reply) {
    JsonNode error = reply.path("error");
    return new Refusal(error.path("description").asText() + " (" + error.path("err_code").asInt() + ")");
  }

  /** The API's reply as it came, an error included; a timeout or nobody answering is a Refusal. */
  static JsonNode reply(io.nats.client.Connection nc, String subject, byte[] body, java.time.Duration timeout) throws Refusal {
    io.nats.client.Message reply;
    try {
      reply = nc.request(subject, body, timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Refusal("interrupted waiting for " + subject);
    } catch (RuntimeException e) { // jnats: connection closed, no responders
      throw new Refusal(noJetStream(subject, e.getMessage()));
    }
    if (reply == null) throw new Refusal(noJetStream(subject, "no reply within " + timeout.toSeconds() + " s"));
    if (reply.isStatusMessage()) throw new Refusal(noJetStream(subject, reply.getStatus().getCode() + " " + reply.getStatus().getMessage()));
    try {
      return Json.MAPPER.readTree(reply.getData());
    } catch (IOException e) {
      throw new Refusal(subject + " answered something that is not JSON: " + e.getMessage());
    }
  }

  private static String noJetStream(String subject, String what) {
    return "no JetStream answer to " + subject + " (" + what + "): is JetStream enabled for this account on that server?";
  }

  static byte[] bytes(JsonNode json) {
    try {
      return Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The stream's state and its consumers' positions as the server reports them; null when it has no such stream. */
  static Shape shape(io.nats.client.Connection nc, String stream) throws Refusal {
    JsonNode info = reply(nc, "$JS.API.STREAM.INFO." + stream, new byte[0], API_TIMEOUT);
    if (info.path("error").path("err_code").asInt() == STREAM_NOT_FOUND) return null;
    if (info.has("error")) throw apiError(info);
    Map<String, Position> consumers = new java.util.TreeMap<>();
    for (int offset = 0, total = 1; offset < total; ) {
      JsonNode page = request(nc, "$JS.API.CONSUMER.LIST." + stream,
          bytes(Json.NODES.objectNode().put("offset", offset)), API_TIMEOUT);
      total = page.path("total").asInt();
      if (page.path("consumers").isEmpty()) break;
      for (JsonNode c : page.path("consumers")) consumers.put(c.path("name").asText(), Position.of(c));
      offset += page.path("consumers").size();
    }
    return Shape.of(info.path("state"), consumers);
  }

  static void delete(io.nats.client.Connection nc, String stream) throws Refusal {
    request(nc, "$JS.API.STREAM.DELETE." + stream, new byte[0], API_TIMEOUT);
  }

  /**
   * Snapshots a stream with its consumers: every chunk goes to the sink the reply opens, and is acknowledged
   * once the sink took it. Returns the number of archive bytes.
   */
  static long snapshot(io.nats.client.Connection source, String stream, SinkOpener opener) throws IOException, Refusal {
    String inbox = source.createInbox();
    io.nats.client.Subscription chunks = source.subscribe(inbox);
    try {
      ObjectNode ask = Json.NODES.objectNode().put("deliver_subject", inbox).put("chunk_size", CHUNK_SIZE);
      ChunkSink sink = opener.open(request(source, "$JS.API.STREAM.SNAPSHOT." + stream, bytes(ask), API_TIMEOUT));
      long total = 0;
      while (true) {
        io.nats.client.Message m = chunks.nextMessage(CHUNK_TIMEOUT);
        if (m == null) { // what a stream deleted on the source during its snapshot ends with, on every version
          throw new Refusal("the source sent no snapshot data for " + CHUNK_TIMEOUT.toSeconds() + " s after " + total + " bytes, "
              + "and no end: is the stream still on the recovery server (deleted, or the server stopped)? Nothing of it counts "
              + "as arrived; run the same command again");
        }
        byte[] data = m.getData() == null ? new byte[0] : m.getData();
        boolean acked = m.getReplyTo() != null && !m.getReplyTo().isEmpty(); // jnats gives "" for no reply
        if (data.length == 0 && !acked) {
          // The end: 2.9 sends an empty message, 2.10+ one with status 204, or 408/500 when the snapshot failed.
          if (m.isStatusMessage() && m.getStatus().getCode() != 204) {
            int code = m.getStatus().getCode();
            throw new Refusal("the source server ended the snapshot of " + stream + " with " + code + " " + m.getStatus().getMessage()
                + " after " + total + " bytes: " + (code == 408 ? "it waited longer than it allows for the archive to be taken (a "
                + "slow target, link or disk)" : "it could not read the stream (its log says why)") + ". Nothing of it counts "
                + "as arrived; run the same command again");
          }
          return total;
        }
        if (data.length > 0) sink.chunk(data); // never relay an empty chunk: to a restore, empty means the end
        total += data.length;
        if (acked) source.publish(m.getReplyTo(), null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Refusal("interrupted during the snapshot of " + stream);
    } finally {
      if (source.getStatus() == io.nats.client.Connection.Status.CONNECTED) chunks.unsubscribe();
    }
  }

  /** One restore in the target: open it with the config and state, send the archive's chunks, finish it. */
  static final class Restore implements ChunkSink {
    private final io.nats.client.Connection target;
    private final String deliver;
    private long chunks;

    private Restore(io.nats.client.Connection target, String deliver) {
      this.target = target;
      this.deliver = deliver;
    }

    static Restore open(io.nats.client.Connection target, String stream, JsonNode config, JsonNode state) throws Refusal {
      ObjectNode ask = Json.NODES.objectNode();
      ask.set("config", config);
      ask.set("state", state);
      long deadline = System.nanoTime() + STALLED_RESTORE.toNanos();
      while (true) {
        JsonNode reply = reply(target, "$JS.API.STREAM.RESTORE." + stream, bytes(ask), API_TIMEOUT);
        if (!reply.has("error")) return new Restore(target, reply.path("deliver_subject").asText());
        // An interrupted run's restore holds the name until the target gives it up as stalled; a cluster then
        // leaves the stream behind, empty: nothing in it to lose.
        if (reply.path("error").path("err_code").asInt() != RESTORE_PENDING || System.nanoTime() > deadline) {
          throw new Refusal(apiError(reply).getMessage() + (reply.path("error").path("err_code").asInt() == RESTORE_PENDING
              ? ": a restore of this stream is still pending in the target (an interrupted run?); run again in a minute" : ""));
        }
        try {
          Shape there = shape(target, stream);
          if (there != null && there.empty()) delete(target, stream);
        } catch (Refusal settling) {
          // the leftover is being created and has no leader yet: ask again
        }
        pause();
      }
    }

    @Override public void chunk(byte[] bytes) throws Refusal {
      chunks++;
      io.nats.client.Message reply;
      try {
        reply = requestOnceListened(target, deliver, bytes, CHUNK_TIMEOUT);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Refusal("interrupted during the restore");
      } catch (RuntimeException e) {
        throw new Refusal("the target stopped taking the archive at chunk " + chunks + ": " + e.getMessage());
      }
      if (reply == null) throw new Refusal("the target did not take chunk " + chunks + " within " + CHUNK_TIMEOUT.toSeconds() + " s");
      if (reply.getData() != null && reply.getData().length > 0) { // 2.12+ answer a failed chunk with an error
        JsonNode error = readJson(reply.getData()).path("error");
        throw new Refusal("the target refused chunk " + chunks + ": " + error.path("description").asText(new String(reply.getData(), StandardCharsets.UTF_8)));
      }
    }

    /** The empty request that ends the archive; the target answers once the stream is built from it. */
    JsonNode finish() throws Refusal {
      return request(target, deliver, new byte[0], FINISH_TIMEOUT);
    }
  }

  /**
   * A request to a subject the target has just opened. A cluster node may not yet know that another node listens
   * on it (the interest crosses the routes on its own): jnats then gives null at once, as for a timeout. Nobody
   * took the message, so it is sent again, until someone answers or the timeout has passed; null means no answer.
   */
  static io.nats.client.Message requestOnceListened(io.nats.client.Connection nc, String subject, byte[] body,
      java.time.Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) return null;
      long asked = System.nanoTime();
      io.nats.client.Message reply = nc.request(subject, body, java.time.Duration.ofNanos(left));
      // An answer, or a real timeout (the wait used up): done. Back at once: nobody listened (yet).
      if (reply != null || System.nanoTime() - asked >= left / 2) return reply;
      Thread.sleep(NOT_LISTENING_PAUSE.toMillis());
    }
  }

  static JsonNode readJson(byte[] bytes) {
    try {
      return Json.MAPPER.readTree(bytes);
    } catch (IOException e) {
      return Json.NODES.objectNode();
    }
  }

  /**
   * The config the target creates the stream with: the source's, as its server returned it (a target of the same
   * or a newer version knows every field), with the replica count and placement the new cluster gets.
   */
  static ObjectNode targetConfig(JsonNode sourceConfig, int replicas, String cluster, List<String> tags) {
    ObjectNode config = sourceConfig.deepCopy();
    config.put("num_replicas", replicas);
    config.remove("placement");
    if (cluster != null || !tags.isEmpty()) {
      ObjectNode placement = config.putObject("placement");
      if (cluster != null) placement.put("cluster", cluster);
      if (!tags.isEmpty()) tags.forEach(placement.putArray("tags")::add);
    }
    return config;
  }

  /**
   * Why an archive from a server of version `source` must not go to `target`, or null. Not stripped down to what the
   * older target knows: js-recover never rewrites the archive, and it is the archive that an older server cannot
   * read (2.15's format before 2.15; 2.9 ignores 2.10's index.db and brings deleted messages back), and the consumer
   * configs inside it carry the newer fields too; a config field dropped would change what the stream does.
   */
  static String versionRefusal(String source, String target) {
    if (compareVersions(target, source) >= 0) return null;
    return "the target runs nats-server " + target + ", older than the recovery server's " + source + ": an older server "
        + "cannot be trusted with a newer one's archive and config, so nothing was sent. Either upgrade the new cluster to "
        + source + " or newer, or serve the store with the release the survivor ran, if that is not newer than " + target
        + " (restore --nats-server BIN, or --from a server of that release)";
  }

  static int compareVersions(String a, String b) {
    int[] x = versionNumbers(a), y = versionNumbers(b);
    for (int i = 0; i < 3; i++) if (x[i] != y[i]) return Integer.compare(x[i], y[i]);
    return 0;
  }

  private static int[] versionNumbers(String v) {
    String[] parts = v.replaceFirst("^v", "").replaceFirst("[-+].*$", "").split("\\.");
    int[] n = new int[3];
    for (int i = 0; i < 3 && i < parts.length; i++) {
      try {
        n[i] = Integer.parseInt(parts[i]);
      } catch (NumberFormatException e) {
        n[i] = 0;
      }
    }
    return n;
  }

  /**
   * Waits until the target reports the shape the source had, for a fresh R3 stream whose consumers are still
   * electing leaders; returns what differs after SETTLE_TIMEOUT (empty: the stream arrived whole).
   */
  static List<String> awaitSameShape(io.nats.client.Connection target, String stream, Shape source) throws Refusal {
    long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
    while (true) {
      Shape there = null;
      Refusal notYet = null;
      try {
        there = shape(target, stream);
      } catch (Refusal e) {
        notYet = e;
      }
      List<String> d = there == null ? List.of(notYet == null ? "the stream is missing at the target" : notYet.getMessage())
          : source.differences(there);
      if (d.isEmpty() || System.nanoTime() > deadline) return d;
      pause();
    }
  }

  private static void pause() throws Refusal {
    try {
      Thread.sleep(250);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Refusal("interrupted");
    }
  }
}

/** A jnats connection as the nats CLI makes one: URL with user and password, credentials, nkey, TLS. */
final class NatsLogin {
  /** A .creds file as nsc writes it: the user's JWT (three base64url parts), then the user's nkey seed. */
  private static final java.util.regex.Pattern CREDS = java.util.regex.Pattern.compile("-{3,}BEGIN NATS USER JWT-{3,}\\s+"
      + "[\\w-]+\\.[\\w-]+\\.[\\w-]+\\s+-{3,}END NATS USER JWT-{3,}.*-{3,}BEGIN USER NKEY SEED-{3,}\\s+S[A-Z2-7]+\\s+"
      + "-{3,}END USER NKEY SEED-{3,}", java.util.regex.Pattern.DOTALL);

  /** The URL as it may be shown: without the user and password it carries. */
  static String shown(String url) {
    return url.replaceAll("(?<=://)[^@/]*@", "");
  }

  static io.nats.client.Connection connect(String url, String user, String password, Path creds, Path nkey, Path tlsCert,
      Path tlsKey, Path tlsCa) throws Refusal {
    io.nats.client.Options.Builder options = io.nats.client.Options.builder().server(url).noReconnect()
        .connectionTimeout(java.time.Duration.ofSeconds(5)).maxControlLine(4096)
        .ignoreDiscoveredServers() // the URLs given only: with the servers a cluster advertises, jnats retries a refused login for ever
        .errorListener(new io.nats.client.ErrorListener() {}); // errors reach the operator through our messages only
    if (user != null) options.userInfo(user, password);
    try {
      if (creds != null) {
        String text = new String(Files.readAllBytes(readable(creds, "--creds")), StandardCharsets.ISO_8859_1);
        if (!CREDS.matcher(text).find()) { // jnats would fail at the handshake with a message that says less
          throw new IllegalArgumentException("--creds " + creds + " is not a credentials file: it needs the user JWT and the "
              + "nkey seed, each between the -----BEGIN and ------END lines nsc writes");
        }
        options.authHandler(io.nats.client.Nats.credentials(creds.toString()));
      }
      if (nkey != null) {
        char[] seed = new String(Files.readAllBytes(readable(nkey, "--nkey")), StandardCharsets.US_ASCII).trim().toCharArray();
        options.authHandler(io.nats.client.Nats.staticCredentials(null, seed));
      }
      if (tlsCert != null || tlsKey != null || tlsCa != null) options.sslContext(Pem.context(tlsCert, tlsKey, tlsCa));
    } catch (IOException | java.security.GeneralSecurityException | IllegalArgumentException e) {
      throw new Refusal("cannot use the credentials or TLS files given: " + e.getMessage());
    }
    try {
      return io.nats.client.Nats.connect(options.build());
    } catch (IOException | RuntimeException e) {
      throw new Refusal("cannot connect to " + shown(url) + ": " + shown(String.valueOf(e.getMessage())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Refusal("interrupted connecting to " + shown(url));
    }
  }

  private static Path readable(Path file, String option) throws Refusal {
    if (!Files.isReadable(file)) throw new Refusal(option + " " + file + " is not a readable file");
    return file;
  }

  /** TLS from PEM files as the nats CLI takes them: a certificate chain, its PKCS#8 key, the CA to trust. */
  static final class Pem {
    static javax.net.ssl.SSLContext context(Path cert, Path key, Path ca) throws IOException, java.security.GeneralSecurityException {
      if ((cert == null) != (key == null)) throw new IllegalArgumentException("--tlscert and --tlskey go together");
      javax.net.ssl.KeyManager[] keyManagers = null;
      if (cert != null) {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", privateKey(key), new char[0], certificates(cert).toArray(new java.security.cert.Certificate[0]));
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        keyManagers = kmf.getKeyManagers();
      }
      javax.net.ssl.TrustManager[] trustManagers = null;
      if (ca != null) {
        java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        int n = 0;
        for (java.security.cert.Certificate c : certificates(ca)) ts.setCertificateEntry("ca" + n++, c);
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        trustManagers = tmf.getTrustManagers();
      }
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(keyManagers, trustManagers, null);
      return context;
    }

    private static java.util.Collection<? extends java.security.cert.Certificate> certificates(Path pem) throws IOException, java.security.GeneralSecurityException {
      try (var in = Files.newInputStream(pem)) {
        var certs = java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in);
        if (certs.isEmpty()) throw new IllegalArgumentException(pem + " holds no PEM certificate");
        return certs;
      }
    }

    private static java.security.PrivateKey privateKey(Path pem) throws IOException, java.security.GeneralSecurityException {
      String text = Files.readString(pem, StandardCharsets.US_ASCII);
      var m = java.util.regex.Pattern.compile("-----BEGIN PRIVATE KEY-----([^-]+)-----END PRIVATE KEY-----").matcher(text);
      if (!m.find()) {
        throw new IllegalArgumentException(pem + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY); convert it with: "
            + "openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
      }
      var spec = new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getMimeDecoder().decode(m.group(1)));
      for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
        try {
          return java.security.KeyFactory.getInstance(algorithm).generatePrivate(spec);
        } catch (java.security.spec.InvalidKeySpecException notThisOne) {
          // try the next algorithm
        }
      }
      throw new IllegalArgumentException(pem + ": not an RSA, EC or Ed25519 key");
    }
  }
}

/** What became of one stream in a restore or backup. */
/** replicas is null when no run could read the stream's original count. */
record TransferOutcome(String account, String stream, Integer replicas, TransferOutcome.Result result, long bytes, double seconds, String detail) {
  enum Result {
    RESTORED("restored"), ALREADY_WHOLE("already whole"), WRITTEN("written"), KEPT("kept"), REFUSED("refused"), FAILED("failed");

    final String word;

    Result(String word) { this.word = word; }
  }

  boolean ok() { return result != Result.REFUSED && result != Result.FAILED; }

  String label() { return account + " > " + stream; }
}

/**
 * The streams of a prepared store to carry across, each with its original replica count, and the recovery
 * server that serves them with each account's recovery user from recovery.conf.
 */
final class StoreSource {
  final Store store;
  final RecoveryConfig.Settings conf;
  final List<RecoveryPlan.OriginalReplicas> streams;

  /**
   * {@code store} walked with the key when one is given; without, names and replica counts come from the manifest.
   * {@code accounts} empty: every account with streams, $G included.
   */
  StoreSource(Store store, List<String> accounts, List<String> only) throws IOException, Refusal {
    this.store = store;
    conf = RecoveryConfig.read(RecoveryConfig.path(store));
    if (conf == null) {
      throw new Refusal("no recovery.conf in " + store.storeDir + ": run js-recover prepare " + Reports.shellQuote(store.storeDir.toString()) + " first.");
    }
    List<RecoveryPlan.OriginalReplicas> all = new RecoveryPlan(store).originalReplicas;
    TreeSet<String> inStore = all.stream().map(RecoveryPlan.OriginalReplicas::account).collect(Collectors.toCollection(TreeSet::new));
    List<String> unknownAccounts = accounts.stream().filter(a -> !inStore.contains(a)).toList();
    if (!unknownAccounts.isEmpty()) {
      throw new Refusal("the store has no streams in account " + String.join(", ", unknownAccounts) + "; its accounts with streams: "
          + String.join(", ", inStore));
    }
    streams = all.stream().filter(s -> (accounts.isEmpty() || accounts.contains(s.account()))
        && (only.isEmpty() || only.contains(s.stream()))).toList();
    List<String> unknown = only.stream().filter(n -> streams.stream().noneMatch(s -> s.stream().equals(n))).toList();
    if (!unknown.isEmpty()) {
      throw new Refusal("no stream " + String.join(", ", unknown) + " in the store" + (accounts.isEmpty() ? "" : " in account "
          + String.join(", ", accounts)));
    }
  }

  List<String> accounts() { return streams.stream().map(RecoveryPlan.OriginalReplicas::account).distinct().toList(); }

  List<RecoveryPlan.OriginalReplicas> streams(String account) {
    return streams.stream().filter(s -> s.account().equals(account)).toList();
  }

  /**
   * The configs of the servers that serve the chosen accounts, each with its accounts, in the order verify starts
   * them: recovery-global.conf for $G's streams beside named accounts (nats-server serves $G's JetStream only
   * without configured accounts), recovery.conf for the others.
   */
  Map<Path, List<String>> configs() {
    Map<Path, List<String>> configs = new java.util.LinkedHashMap<>();
    for (String account : accounts()) {
      Path conf = account.equals("$G") && RecoveryConfig.globalApart(store) ? RecoveryConfig.globalPath(store) : RecoveryConfig.path(store);
      configs.computeIfAbsent(conf, c -> new ArrayList<>()).add(account);
    }
    Map<Path, List<String>> ordered = new java.util.LinkedHashMap<>();
    RecoveryConfig.files(store).stream().filter(configs::containsKey).forEach(c -> ordered.put(c, configs.get(c)));
    return ordered;
  }

  /** A connection to the recovery server as the account's recovery user (none for $G served alone). */
  io.nats.client.Connection connect(String url, String account) throws Refusal {
    RecoveryConfig.Login login = conf.login(account);
    return NatsLogin.connect(url, login == null ? null : login.user(), login == null ? null : login.password(), null, null, null, null, null);
  }
}

/** Bytes and rate of one stream's transfer on stderr: one line redrawn on a terminal, a line at the end otherwise. */
final class Progress {
  static final long REDRAW_NANOS = 250_000_000L;
  private final PrintWriter err;
  private final boolean terminal;
  private final String label;
  private final long started = System.nanoTime();
  private long bytes, drawn = started - REDRAW_NANOS; // the first chunk draws at once

  Progress(PrintWriter err, boolean terminal, String label) {
    this.err = err;
    this.terminal = terminal;
    this.label = label;
    if (!terminal) {
      err.println(label + ": started");
      err.flush();
    }
  }

  void add(long n) {
    bytes += n;
    long now = System.nanoTime();
    if (terminal && now - drawn >= REDRAW_NANOS) {
      drawn = now;
      err.print("\r" + line() + "   ");
      err.flush();
    }
  }

  long bytes() { return bytes; }

  double seconds() { return (System.nanoTime() - started) / 1e9; }

  void done() {
    err.print((terminal ? "\r" : "") + line() + "\n");
    err.flush();
  }

  private String line() {
    double s = Math.max(seconds(), 1e-3);
    return String.format(java.util.Locale.ROOT, "%s: %s in %.1f s (%s/s)", label, size(bytes), s, size((long) (bytes / s)));
  }

  static String size(long n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return String.format(java.util.Locale.ROOT, "%.1f KiB", n / 1024.0);
    if (n < 1024L * 1024 * 1024) return String.format(java.util.Locale.ROOT, "%.1f MiB", n / 1048576.0);
    return String.format(java.util.Locale.ROOT, "%.2f GiB", n / 1073741824.0);
  }
}

/**
 * Delivers streams into a target and checks each arrived whole. A stream already there is skipped when it holds
 * what the source holds (a rerun), refused when it differs, or replaced with --replace.
 */
final class Delivery {
  /** Restores the archive into the target and returns its size in bytes. */
  interface Body {
    long restore(Progress progress) throws IOException, Refusal;
  }

  /** A stream restored whose arrival is still to be checked. */
  private record Unchecked(TransferOutcome outcome, Transfer.Shape want) {}

  private final List<Unchecked> unchecked = new ArrayList<>();
  private final io.nats.client.Connection target;
  private final boolean replace;
  private final PrintWriter err;
  private final boolean terminal;

  Delivery(io.nats.client.Connection target, boolean replace, PrintWriter err, boolean terminal) {
    this.target = target;
    this.replace = replace;
    this.err = err;
    this.terminal = terminal;
  }

  String targetVersion() { return target.getServerInfo().getVersion(); }

  TransferOutcome deliver(String account, String stream, int replicas, Transfer.Shape want, String sourceVersion, Body body) {
    Progress progress = null;
    try {
      String tooOld = Transfer.versionRefusal(sourceVersion, targetVersion());
      if (tooOld != null) return new TransferOutcome(account, stream, replicas, TransferOutcome.Result.REFUSED, 0, 0, tooOld + ".");
      Transfer.Shape there = Transfer.shape(target, stream);
      if (there != null) {
        List<String> d = want.differences(there);
        if (d.isEmpty()) return new TransferOutcome(account, stream, replicas, TransferOutcome.Result.ALREADY_WHOLE, 0, 0, "already in the target, whole");
        if (!replace && !there.empty()) {
          return new TransferOutcome(account, stream, replicas, TransferOutcome.Result.REFUSED, 0, 0, "the target already has a stream " + stream
              + " that differs (" + String.join("; ", d) + "); it was left as it is. Rerun with --replace to delete the "
              + "target's copy and restore this one.");
        }
        Transfer.delete(target, stream);
      }
      progress = new Progress(err, terminal, account + " > " + stream);
      long bytes = body.restore(progress);
      progress.done();
      TransferOutcome restored = new TransferOutcome(account, stream, replicas, TransferOutcome.Result.RESTORED, bytes, progress.seconds(),
          "checked: " + summary(want));
      unchecked.add(new Unchecked(restored, want));
      return restored;
    } catch (Refusal | IOException | IllegalStateException e) { // jnats: IllegalStateException once a connection closed
      if (progress != null) progress.done();
      return new TransferOutcome(account, stream, replicas, TransferOutcome.Result.FAILED, progress == null ? 0 : progress.bytes(),
          progress == null ? 0 : progress.seconds(), e.getMessage());
    }
  }

  /**
   * The outcomes, with every stream restored so far checked against what the source held. Checked at the end, not
   * one by one, so that the new streams' and consumers' leader elections (seconds each) overlap.
   */
  List<TransferOutcome> checked(List<TransferOutcome> outcomes) {
    List<TransferOutcome> result = new ArrayList<>(outcomes);
    for (Unchecked u : unchecked) {
      TransferOutcome o = u.outcome();
      List<String> d;
      try {
        d = Transfer.awaitSameShape(target, o.stream(), u.want());
      } catch (Refusal e) {
        d = List.of(e.getMessage());
      }
      if (!d.isEmpty()) {
        result.set(result.indexOf(o), new TransferOutcome(o.account(), o.stream(), o.replicas(), TransferOutcome.Result.FAILED, o.bytes(),
            o.seconds(), "arrived different: " + String.join("; ", d)));
      }
    }
    unchecked.clear();
    return result;
  }

  static String summary(Transfer.Shape s) {
    return s.messages() + " message(s), sequences " + s.firstSeq() + ".." + s.lastSeq()
        + (s.consumers() == null ? "" : ", " + s.consumers().size() + " consumer(s) at their positions");
  }

  /** Snapshot from the source relayed chunk by chunk into a restore in the target. */
  Body relay(io.nats.client.Connection source, String stream, int replicas, String cluster, List<String> tags) {
    return progress -> {
      Transfer.Restore[] restore = new Transfer.Restore[1];
      long bytes = Transfer.snapshot(source, stream, reply -> {
        restore[0] = Transfer.Restore.open(target, stream, Transfer.targetConfig(reply.path("config"), replicas, cluster, tags),
            reply.path("state"));
        return chunk -> {
          restore[0].chunk(chunk);
          progress.add(chunk.length);
        };
      });
      restore[0].finish();
      return bytes;
    };
  }

  /** A backup folder's archive, sent in chunks into a restore in the target. */
  Body fromFolder(Path archive, String stream, JsonNode config, JsonNode state) {
    return progress -> {
      Transfer.Restore restore = Transfer.Restore.open(target, stream, config, state);
      long bytes = 0;
      try (var in = Files.newInputStream(archive)) {
        byte[] chunk;
        while ((chunk = in.readNBytes(Transfer.CHUNK_SIZE)).length > 0) {
          restore.chunk(chunk);
          progress.add(chunk.length);
          bytes += chunk.length;
        }
      }
      restore.finish();
      return bytes;
    };
  }
}

/**
 * A folder per stream as the nats CLI's stream backup writes it: backup.json ({config, state}, the restore
 * request itself, with the original replica count) and stream.tar.s2 (the archive as the server sent it), plus
 * js-recover.json with the consumers' positions, so a restore from it is checked as a direct one is.
 */
final class BackupFolder {
  static final String REQUEST = "backup.json", ARCHIVE = "stream.tar.s2", CHECK = "js-recover.json";

  /** The folder for a stream, or an account; their names are folder names in the server's own store too. */
  static Path of(Path backupDir, String name) throws Refusal {
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")) {
      throw new Refusal("the name " + name + " cannot be a folder name");
    }
    return backupDir.resolve(name);
  }

  /** backup.json is written last: a folder that has it is complete. */
  static boolean complete(Path folder) { return Files.isRegularFile(folder.resolve(REQUEST)); }

  static TransferOutcome write(io.nats.client.Connection source, RecoveryPlan.OriginalReplicas s, Path backupDir, PrintWriter err,
      boolean terminal) {
    Progress progress = null;
    try {
      if (s.replicas() == null) {
        throw new Refusal(RestoreCommand.UNKNOWN_REPLICAS.replace("restored", "backed up") + ". Fix its config (see "
            + "js-recover inspect) and run prepare again, or use restore --replicas N from the recovery server");
      }
      Path folder = of(backupDir, s.stream());
      if (complete(folder)) {
        return new TransferOutcome(s.account(), s.stream(), s.replicas(), TransferOutcome.Result.KEPT, Files.size(folder.resolve(ARCHIVE)), 0,
            "already backed up in " + folder);
      }
      Transfer.Shape want = Transfer.shape(source, s.stream());
      if (want == null) throw new Refusal("the source server does not serve this stream: did verify show it loaded?");
      Files.createDirectories(folder);
      JsonNode[] reply = new JsonNode[1];
      Progress p = progress = new Progress(err, terminal, s.account() + " > " + s.stream());
      try {
        PrepareRun.writeAtomically(folder.resolve(ARCHIVE), null, ch -> {
          try {
            Transfer.snapshot(source, s.stream(), r -> {
              reply[0] = r;
              return chunk -> {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(chunk);
                while (buf.hasRemaining()) ch.write(buf);
                p.add(chunk.length);
              };
            });
          } catch (Refusal e) {
            throw new IOException(e.getMessage(), e);
          }
        });
      } catch (IOException e) {
        if (e.getCause() instanceof Refusal r) throw r;
        throw e;
      }
      progress.done();
      List<String> changed = want.differences(Transfer.Shape.of(reply[0].path("state"), null));
      if (!changed.isEmpty()) throw new Refusal("the stream changed while it was backed up: " + String.join("; ", changed));
      ObjectNode check = Json.NODES.objectNode().put("account", s.account()).put("stream", s.stream())
          .put("source_version", source.getServerInfo().getVersion());
      check.set("shape", want.toJson());
      PrepareRun.writeAtomically(folder.resolve(CHECK), Json.MAPPER.writeValueAsBytes(check), null);
      ObjectNode request = Json.NODES.objectNode();
      request.set("config", Transfer.targetConfig(reply[0].path("config"), s.replicas(), null, List.of()));
      request.set("state", reply[0].path("state"));
      PrepareRun.writeAtomically(folder.resolve(REQUEST), Json.MAPPER.writeValueAsBytes(request), null);
      return new TransferOutcome(s.account(), s.stream(), s.replicas(), TransferOutcome.Result.WRITTEN, progress.bytes(), progress.seconds(),
          "in " + folder + ": " + Delivery.summary(want));
    } catch (Refusal | IOException e) {
      if (progress != null) progress.done();
      return new TransferOutcome(s.account(), s.stream(), s.replicas(), TransferOutcome.Result.FAILED, 0, 0, e.getMessage());
    }
  }

  /**
   * The stream folders to restore, per account folder: backupDir itself when it is a stream folder, else the folders
   * in it (key ""); or, for a backup of several accounts, the stream folders in each account's folder (key: its name).
   */
  static Map<String, List<Path>> list(Path backupDir) throws Refusal {
    if (complete(backupDir)) return Map.of("", List.of(backupDir));
    if (Files.isRegularFile(backupDir.resolve(ARCHIVE))) {
      throw new Refusal(backupDir + " has no " + REQUEST + ": an interrupted backup. Run js-recover backup again to complete it.");
    }
    List<Path> folders = folders(backupDir);
    if (folders.isEmpty()) throw new Refusal("no stream backup in " + backupDir + ": name a folder holding " + REQUEST + ", or one of such folders.");
    // An account's folder holds stream folders only; a stream folder, even an interrupted one, holds none.
    List<Path> accounts = new ArrayList<>();
    for (Path f : folders) if (!complete(f) && !Files.exists(f.resolve(ARCHIVE)) && !folders(f).isEmpty()) accounts.add(f);
    if (accounts.isEmpty()) return Map.of("", folders);
    if (accounts.size() < folders.size()) {
      throw new Refusal(backupDir + " holds both account folders (" + accounts.stream().map(f -> f.getFileName().toString())
          .collect(Collectors.joining(", ")) + ") and stream folders: name one account's folder with --from-backup.");
    }
    Map<String, List<Path>> byAccount = new java.util.TreeMap<>();
    for (Path account : accounts) byAccount.put(account.getFileName().toString(), folders(account));
    return byAccount;
  }

  private static List<Path> folders(Path dir) throws Refusal {
    List<Path> folders = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(dir, Files::isDirectory)) {
      dirs.forEach(folders::add);
    } catch (IOException e) {
      throw new Refusal("cannot read the backup folder " + dir + ": " + e);
    }
    Collections.sort(folders);
    return folders;
  }

  /** Restores every stream folder; one that is incomplete fails, the others go on. */
  static List<TransferOutcome> restore(List<Path> folders, Delivery delivery, Integer replicas, String cluster, List<String> tags) {
    List<TransferOutcome> outcomes = new ArrayList<>();
    for (Path folder : folders) {
      String name = folder.getFileName().toString();
      if (!complete(folder)) {
        outcomes.add(new TransferOutcome("?", name, 0, TransferOutcome.Result.FAILED, 0, 0, folder + " has no " + REQUEST
            + ": an interrupted backup, or not a stream backup; run js-recover backup again to complete it"));
        continue;
      }
      try {
        JsonNode request = Json.MAPPER.readTree(folder.resolve(REQUEST).toFile());
        String stream = request.path("config").path("name").asText(name);
        JsonNode check = Files.isRegularFile(folder.resolve(CHECK)) ? Json.MAPPER.readTree(folder.resolve(CHECK).toFile()) : null;
        int r = replicas != null ? replicas : request.path("config").path("num_replicas").asInt(1);
        Transfer.Shape want = check != null ? Transfer.Shape.fromJson(check.path("shape")) : Transfer.Shape.of(request.path("state"), null);
        // A backup the nats CLI wrote names no server version: take the target's, so only our own are checked.
        String sourceVersion = check != null ? check.path("source_version").asText() : delivery.targetVersion();
        JsonNode config = Transfer.targetConfig(request.path("config"), r, cluster, tags);
        outcomes.add(delivery.deliver(check == null ? "?" : check.path("account").asText(), stream, r, want, sourceVersion,
            delivery.fromFolder(folder.resolve(ARCHIVE), stream, config, request.path("state"))));
      } catch (IOException e) {
        outcomes.add(new TransferOutcome("?", name, 0, TransferOutcome.Result.FAILED, 0, 0, "cannot read " + folder + ": " + e.getMessage()));
      }
    }
    return outcomes;
  }
}

// =================================================================================================
// 11. Reports: the inspect table and JSON, what prepare did, next steps
// =================================================================================================

/**
 * Several survivors' copies of one cluster's store, stream by stream: where they diverge and which copy to
 * recover each from. The best copy has no damage, then the highest last sequence (the most that was written),
 * then the most messages, then the furthest consumer positions; a copy sealed without the key is chosen
 * only when no other holds the stream.
 */
final class Survivors {
  record Copy(Store store, Map<String, StreamContents> contents) {}

  /** {@code copies}: per survivor, null where it does not hold the stream. */
  record Stream(String account, String stream, Integer replicas, List<StreamContents> copies, List<String> divergence,
      int chosen, String why, boolean onlyOnOne) {}

  final List<Copy> copies;
  final List<Stream> streams = new ArrayList<>();

  private Survivors(List<Copy> copies) { this.copies = copies; }

  static Survivors compare(List<Copy> copies) {
    Survivors sv = new Survivors(copies);
    java.util.TreeMap<String, MetaAsset> labels = new java.util.TreeMap<>();
    for (Copy c : copies) for (StoredStream s : c.store().streams) labels.putIfAbsent(s.meta().label(), s.meta());
    for (Map.Entry<String, MetaAsset> e : labels.entrySet()) {
      List<StreamContents> per = new ArrayList<>();
      for (Copy c : copies) per.add(c.contents().get(e.getKey()));
      Integer replicas = per.stream().filter(java.util.Objects::nonNull).map(c -> c.stream.replicas())
          .filter(java.util.Objects::nonNull).findFirst().orElse(null);
      sv.streams.add(choose(e.getValue(), replicas, per));
    }
    return sv;
  }

  private static long ackFloors(StreamContents c) {
    return c.consumers.stream().mapToLong(p -> p.ackFloor() == null ? 0 : p.ackFloor().streamSeq()).sum();
  }

  private static Stream choose(MetaAsset m, Integer replicas, List<StreamContents> per) {
    Comparator<StreamContents> better = Comparator.comparing((StreamContents c) -> c.sealed == null)
        .thenComparing(c -> c.damaged.isEmpty())
        .thenComparingLong(c -> c.lastSeq)
        .thenComparingLong(c -> c.messages)
        .thenComparingLong(Survivors::ackFloors);
    int chosen = -1, present = 0;
    for (int k = 0; k < per.size(); k++) {
      if (per.get(k) == null) continue;
      present++;
      if (chosen < 0 || better.compare(per.get(k), per.get(chosen)) > 0) chosen = k;
    }
    StreamContents best = per.get(chosen);
    List<String> divergence = new ArrayList<>();
    String why = present == 1 ? "the only copy holding it" : null;
    for (int k = 0; k < per.size(); k++) {
      StreamContents c = per.get(k);
      if (c == null || k == chosen) continue;
      String other = "copy " + (k + 1);
      if (c.sealed != null || best.sealed != null) continue;
      if (c.lastSeq != best.lastSeq) divergence.add(other + " ends at " + c.lastSeq + ", copy " + (chosen + 1) + " at " + best.lastSeq);
      else if (c.messages != best.messages) divergence.add(other + " holds " + c.messages + " messages, copy " + (chosen + 1) + " " + best.messages);
      if (!c.damaged.isEmpty()) divergence.add(other + " is damaged in " + c.damaged.size() + " place(s)");
      if (ackFloors(c) != ackFloors(best)) divergence.add(other + " has other consumer positions");
      if (why == null) {
        why = !c.damaged.isEmpty() && best.damaged.isEmpty() ? "undamaged"
            : c.lastSeq < best.lastSeq ? "highest last sequence (" + best.lastSeq + ")"
            : c.messages < best.messages ? "most messages (" + best.messages + ")"
            : ackFloors(c) < ackFloors(best) ? "furthest consumer positions" : null;
      }
    }
    if (why == null) why = best.sealed != null ? "sealed without the key: give it to compare" : "copies agree";
    return new Stream(m.account, m.stream, replicas, per, divergence, chosen, why, present == 1 && per.size() > 1);
  }
}

final class Reports {
  /** {@code contents}: what each stream holds ({@link StreamContents}), by the stream's label. */
  static void inspectTable(Store store, Map<String, StreamContents> contents, PrintWriter out) {
    out.printf("Store %s: %d account(s), %d stream(s), %d consumer(s)%s%n%n", store.storeDir, store.accounts.size(),
        store.streams.size(), store.consumerCount(), store.encrypted() ? ", encrypted" : "");
    Table rows = new Table("ACCOUNT", "STREAM", "REPLICAS", "PLACEMENT", "RETENTION", "STORAGE", "CONSUMERS",
        "CONS. R>1", "ENCRYPTED", "CHECKSUMS", "MSGS", "FIRST..LAST", "DAMAGED");
    Table consumerRows = new Table("ACCOUNT", "STREAM", "CONSUMER", "DELIVERED (CONS/STREAM)", "ACK FLOOR (CONS/STREAM)",
        "ACK PENDING", "REDELIVERED", "NUM PENDING");
    for (StoredStream s : store.streams) {
      MetaAsset m = s.meta();
      StreamContents c = contents.get(m.label());
      boolean known = c.sealed == null;
      JsonNode config = m.config();
      rows.add(m.account, m.stream, orUnknown(m.replicas()), placement(config),
          orUnknown(MetaAsset.text(config, "retention")), orUnknown(MetaAsset.text(config, "storage")), String.valueOf(s.consumers().size()), String.valueOf(s.consumersAboveOneReplica()),
          encryption(m), checksums(s), known ? String.valueOf(c.messages) : "sealed",
          known ? c.firstSeq + ".." + c.lastSeq : "?", c.damaged.isEmpty() ? "-" : c.damaged.size() + " place(s)");
      for (StreamContents.Position p : c.consumers) consumerRows.size(consumerRow(m, p));
    }
    rows.print(out);
    if (!consumerRows.empty()) { // sized above and made again here: three times as many as streams, none kept
      out.println();
      out.println("Consumers (from o.dat):");
      consumerRows.print(out);
      for (StoredStream s : store.streams) {
        for (StreamContents.Position p : contents.get(s.meta().label()).consumers) consumerRows.line(out, consumerRow(s.meta(), p));
      }
    }
    // Printed stream by stream, not gathered: a store where each stream has its note holds as many notes as streams.
    List<String> notes = new ArrayList<>();
    boolean headed = false;
    for (StoredStream s : store.streams) {
      notes.clear();
      contentsNotes(store, s.meta(), contents.get(s.meta().label()), notes);
      if (!notes.isEmpty() && !headed) {
        out.println();
        out.println("Contents:");
        headed = true;
      }
      notes.forEach(n -> out.println("  " + n));
    }
    out.println();
    if (store.raftDirs.isEmpty()) {
      out.println("Raft folders: none");
    } else {
      out.println("Raft folders (prepare moves them into " + Backups.DIR + "/, never deletes them):");
      store.raftDirs.forEach(r -> out.println("  " + store.rel(r)));
    }
    warnings(store, out);
    problems(store, out, false);
  }

  private static String[] consumerRow(MetaAsset stream, StreamContents.Position p) {
    if (p.delivered() == null) return new String[] {stream.account, stream.stream, p.consumer().consumer, "?", "?", "?", "?", p.unreadable()};
    return new String[] {stream.account, stream.stream, p.consumer().consumer, position(p.delivered()), position(p.ackFloor()),
        String.valueOf(p.pending()), String.valueOf(p.redelivered()), String.valueOf(p.numPending())};
  }

  /** What the operator should know about what stream {@code m} holds ({@code c}), one line each, into {@code notes}. */
  private static void contentsNotes(Store store, MetaAsset m, StreamContents c, List<String> notes) {
    String at = store.rel(m.dir()) + ": ";
    if (c.sealed != null) notes.add(at + c.sealed + " (" + c.blocks + " block(s), " + c.blockBytes + " bytes on disk)");
    if (c.indexNote != null) notes.add(at + c.indexNote);
    for (StreamContents.Damaged d : c.damaged) {
      String where = d.block() < 0 ? "" : "block " + d.block() + (d.offset() < 0 ? "" : " offset " + d.offset());
      notes.add(at + "DAMAGED " + (where.isEmpty() ? "" : where + ": ") + d.why());
      if (d.dropped() > 0) {
        notes.add(at + "the first server start drops the " + d.dropped() + " message(s) after the damage at " + where
            + " (it cuts a block it rebuilds at the first bad record)");
      }
    }
    StreamContents.AtStart gone = c.atStart;
    String removes = at + "the first server start removes ";
    if (gone.maxMsgs() > 0) notes.add(removes + gone.maxMsgs() + " message(s) over max_msgs, oldest first");
    if (gone.maxBytes() > 0) notes.add(removes + gone.maxBytes() + " message(s) over max_bytes, oldest first");
    if (gone.maxAge() > 0) notes.add(removes + gone.maxAge() + " message(s) already older than max_age");
    if (gone.maxMsgsPerSubject() > 0) notes.add(removes + gone.maxMsgsPerSubject() + " message(s) over max_msgs_per_subject");
    if (gone.interest() > 0) notes.add(removes + gone.interest() + " message(s) every consumer on disk has acknowledged");
    if (c.interestNote != null) notes.add(at + c.interestNote);
  }

  /** inspect's cluster block: the cluster as the survivor last knew it, from its Raft records (none: nothing printed). */
  static void clusterTable(ClusterRecords cr, Store store, PrintWriter out) {
    if (cr == null) return;
    ClusterInventory inv = cr.inventory;
    Raft.Group meta = inv.meta;
    out.println();
    out.printf("Cluster records (%s): meta %s, %d log entr%s after it%s%n", store.rel(cr.raftDir.resolve(Raft.META_GROUP)),
        meta.snapshot() == null ? "without snapshot" : "snapshot " + meta.snapshot().file(), meta.log().size(),
        meta.log().size() == 1 ? "y" : "ies", meta.knownCommit() == 0 ? "" : ", known committed to index " + meta.knownCommit());
    inv.notes.forEach(n -> out.println("  note: " + n));
    List<String> peers = inv.peers.stream().map(inv::named).toList();
    out.printf("  The meta group expects %d peer(s) (%s); electing a leader needs %d of them to answer.%n", inv.expectedPeers,
        String.join(", ", peers), cr.quorum());
    if (cr.self != null) {
      out.printf("  This survivor is %s, 1 of %d: %s%n", inv.named(cr.self), inv.expectedPeers, cr.quorum() <= 1
          ? "it can form quorum alone." : "it cannot elect a meta leader alone. Recover it standalone: what is on this disk "
          + "comes back; what lived only on the lost peers " + String.join(", ", cr.lostPeers().stream().map(inv::named).toList())
          + " or only in memory does not.");
    }
    Table rows = new Table("ACCOUNT", "STREAM", "CONSUMER", "RAFT GROUP", "PEERS", "STORAGE", "HERE", "RAFT LOG ONLY");
    for (ClusterRecords.Placement p : cr.placements) rows.size(placementRow(inv, p)); // made again to print: none kept
    rows.print(out);
    for (ClusterRecords.Placement p : cr.placements) rows.line(out, placementRow(inv, p));
    for (ClusterRecords.Placement p : cr.placements) {
      ClusterAsset a = p.asset();
      if (a.consumer() != null || !p.onDisk()) continue;
      long msgs = p.raftOnly(), acks = cr.raftOnlyAcks(a);
      if (msgs + acks > 0) out.printf("  %s > %s: %d message(s) and %d ack(s) are in the Raft log only%n", a.account(), a.stream(), msgs, acks);
    }
  }

  private static String[] placementRow(ClusterInventory inv, ClusterRecords.Placement p) {
    ClusterAsset a = p.asset();
    String logOnly = p.log() == null ? "-" : p.raftOnly() + (a.consumer() == null ? " msg" : " ack")
        + (p.beyondCommit() > 0 ? " (" + p.beyondCommit() + " beyond commit)" : "");
    return new String[] {a.account(), a.stream(), a.consumer() == null ? "" : a.consumer(), String.valueOf(a.group()),
        String.join(",", a.peers().stream().map(inv::named).toList()), a.storage(), p.onDisk() ? "yes" : p.notHere(), logOnly};
  }

  /** inspect --json's "cluster" member, asset by asset; null when the store holds no meta group. */
  static void clusterJson(ClusterRecords cr, JsonGenerator g) throws IOException {
    if (cr == null) {
      g.writeNull();
      return;
    }
    ClusterInventory inv = cr.inventory;
    Raft.Group meta = inv.meta;
    g.writeStartObject();
    g.writeStringField("raft_dir", cr.raftDir.toString());
    ObjectNode m = Json.NODES.objectNode();
    m.put("expected_peers", inv.expectedPeers).put("quorum", cr.quorum()).put("self", cr.self);
    ArrayNode peers = m.putArray("peers");
    inv.peers.forEach(id -> peers.addObject().put("id", id).put("name", inv.names.get(id)).put("lost", !id.equals(cr.self)));
    m.put("snapshot", meta.snapshot() == null ? null : meta.snapshot().file());
    m.put("log_entries_after_snapshot", meta.log().size()).put("known_commit", meta.knownCommit())
        .put("log_encrypted_without_key", meta.sealedWithoutKey());
    ArrayNode notes = m.putArray("notes");
    inv.notes.forEach(notes::add);
    g.writeFieldName("meta");
    g.writeTree(m);
    g.writeArrayFieldStart("assets");
    for (ClusterRecords.Placement p : cr.placements) {
      ClusterAsset a = p.asset();
      ObjectNode j = Json.NODES.objectNode().put("account", a.account()).put("stream", a.stream()).put("consumer", a.consumer())
          .put("raft_group", a.group()).put("storage", a.storage()).put("from", a.from()).put("on_this_disk", p.onDisk())
          .put("not_here", p.notHere()).put("raft_folder", p.raftFolder() != null);
      ArrayNode ap = j.putArray("peers");
      a.peers().forEach(ap::add);
      j.set("config", a.config());
      if (p.log() != null) {
        ObjectNode l = j.putObject("raft_log");
        l.put("known_commit", p.log().group.knownCommit()).put("entries_after_snapshot", p.log().group.log().size());
        if (a.consumer() == null) {
          l.put("stored_last_seq", p.storedLast()).put("messages", p.log().messages.size()).put("messages_beyond_store", p.raftOnly())
              .put("last_seq", p.log().messages.stream().mapToLong(GroupLog.StreamMsg::seq).max().orElse(0))
              .put("deletes", p.log().deletes.size()).put("purges", p.log().purges.size());
        } else {
          l.put("stored_ack_floor", p.storedLast()).put("acks", p.log().acks.size()).put("acks_beyond_store", p.raftOnly())
              .put("delivered_stream_seq", p.log().deliveredStreamSeq);
        }
        l.put("beyond_known_commit", p.beyondCommit());
        ArrayNode dmg = l.putArray("damage");
        p.log().damage.forEach(dmg::add);
      }
      g.writeTree(j);
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  /**
   * inspect --json's members for one store, written stream by stream as they are produced: a tree of the whole store
   * and its text were most of inspect --json's memory at 50,000 streams (1 GB).
   */
  static void inspectJson(Store store, Map<String, StreamContents> contents, JsonGenerator g) throws IOException {
    g.writeStringField("store_dir", store.storeDir.toString());
    g.writeStringField("jetstream_dir", store.jetstreamDir.toString());
    g.writeArrayFieldStart("accounts");
    for (String a : store.accounts) g.writeString(a);
    g.writeEndArray();
    g.writeArrayFieldStart("streams");
    for (StoredStream s : store.streams) {
      MetaAsset m = s.meta();
      ObjectNode o = Json.NODES.objectNode();
      o.put("account", m.account);
      o.put("name", m.stream);
      o.put("replicas", m.replicas());
      JsonNode config = m.config();
      o.set("placement", config == null || config.get("placement") == null ? Json.NODES.nullNode() : config.get("placement"));
      o.put("retention", MetaAsset.text(config, "retention"));
      o.put("storage", MetaAsset.text(config, "storage"));
      o.put("encrypted", m.sealed());
      o.put("cipher", m.opened == null ? null : m.opened.cipher().name().toLowerCase());
      o.put("readable", m.readable);
      o.put("sum_ok", m.sumOk());
      StreamContents sc = contents.get(m.label());
      contentsJson(sc, o);
      ArrayNode consumers = o.putArray("consumers");
      for (int k = 0; k < s.consumers().size(); k++) {
        MetaAsset c = s.consumers().get(k);
        ObjectNode co = consumers.addObject().put("name", c.consumer).put("replicas", c.replicas()).put("encrypted", c.sealed())
            .put("readable", c.readable).put("sum_ok", c.sumOk());
        positionJson(sc.consumers.get(k), co);
      }
      g.writeTree(o);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("raft_dirs");
    for (Path r : store.raftDirs) g.writeString(store.rel(r));
    g.writeEndArray();
    g.writeArrayFieldStart("problems");
    for (Problem p : store.problems) {
      g.writeTree(Json.NODES.objectNode().put("path", store.rel(p.path())).put("problem", p.what()).put("todo", p.todo())
          .put("with_force", p.ifForced()));
    }
    g.writeEndArray();
    g.writeArrayFieldStart("warnings");
    for (Warning w : store.warnings) g.writeTree(Json.NODES.objectNode().put("path", store.rel(w.path())).put("warning", w.what()));
    g.writeEndArray();
  }

  /** inspect of several survivors: each stream per copy, where they diverge, and the copy to recover it from. */
  static void survivorsTable(Survivors sv, PrintWriter out) {
    out.println("Survivors:");
    for (int k = 0; k < sv.copies.size(); k++) {
      Store st = sv.copies.get(k).store();
      out.printf("  copy %d: %s (%d stream(s), %d consumer(s))%n", k + 1, st.storeDir, st.streams.size(), st.consumerCount());
    }
    out.println();
    Table rows = new Table("ACCOUNT", "STREAM", "COPY", "LAST", "MSGS", "DAMAGED", "CONSUMERS (ACK FLOOR/DELIVERED)", "RECOVER FROM");
    for (Survivors.Stream s : sv.streams) {
      for (int k = 0; k < sv.copies.size(); k++) {
        StreamContents c = s.copies().get(k);
        String chosen = k == s.chosen() ? "<- " + s.why() : "";
        if (c == null) {
          rows.add(s.account(), s.stream(), String.valueOf(k + 1), "-", "-", "-", "absent", chosen);
          continue;
        }
        boolean known = c.sealed == null;
        String consumers = c.consumers.stream().map(p -> p.consumer().consumer + "=" + (p.delivered() == null ? "?"
            : p.ackFloor().streamSeq() + "/" + p.delivered().streamSeq())).collect(Collectors.joining(" "));
        rows.add(s.account(), s.stream(), String.valueOf(k + 1), known ? String.valueOf(c.lastSeq) : "sealed",
            known ? String.valueOf(c.messages) : "sealed", String.valueOf(c.damaged.size()), consumers.isEmpty() ? "-" : consumers,
            chosen);
      }
    }
    rows.print(out);
    List<String> notes = new ArrayList<>();
    for (Survivors.Stream s : sv.streams) {
      String label = s.account() + " > " + s.stream() + ": ";
      if (!s.divergence().isEmpty()) notes.add(label + "copies diverge: " + String.join("; ", s.divergence()));
      if (s.onlyOnOne()) {
        notes.add(label + "on copy " + (s.chosen() + 1) + " only" + (Integer.valueOf(1).equals(s.replicas())
            ? " (an R1 stream lives on one node: the other copies never held it)" : ""));
      }
    }
    if (!notes.isEmpty()) {
      out.println();
      notes.forEach(n -> out.println("  " + n));
    }
    out.println();
    out.println("Next: js-recover prepare --dry-run on the copy each stream is recovered from");
  }

  static void survivorsJson(Survivors sv, JsonGenerator g) throws IOException {
    g.writeStartObject();
    g.writeArrayFieldStart("survivors");
    for (Survivors.Copy c : sv.copies) {
      g.writeStartObject();
      inspectJson(c.store(), c.contents(), g);
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeArrayFieldStart("streams");
    for (Survivors.Stream s : sv.streams) {
      ObjectNode o = Json.NODES.objectNode().put("account", s.account()).put("name", s.stream()).put("replicas", s.replicas());
      ArrayNode copies = o.putArray("copies");
      for (int k = 0; k < sv.copies.size(); k++) {
        StreamContents c = s.copies().get(k);
        ObjectNode co = copies.addObject().put("store_dir", sv.copies.get(k).store().storeDir.toString()).put("present", c != null);
        if (c == null) continue;
        contentsJson(c, co);
        ArrayNode consumers = co.putArray("consumers");
        for (StreamContents.Position p : c.consumers) positionJson(p, consumers.addObject().put("name", p.consumer().consumer));
      }
      ArrayNode diverge = o.putArray("divergence");
      s.divergence().forEach(diverge::add);
      o.put("recover_from", sv.copies.get(s.chosen()).store().storeDir.toString());
      o.put("why", s.why());
      o.put("only_on_one_copy", s.onlyOnOne());
      g.writeTree(o);
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  /** A stream's contents in inspect --json: null counts when sealed without a key. */
  static void contentsJson(StreamContents c, ObjectNode o) {
    boolean known = c.sealed == null;
    o.put("blocks", c.blocks);
    o.put("block_bytes", c.blockBytes);
    o.put("sealed", !known);
    o.put("source", c.source);
    o.put("index_note", c.indexNote);
    o.put("messages", known ? c.messages : null);
    o.put("bytes", known ? c.bytes : null);
    o.put("first_seq", known ? c.firstSeq : null);
    o.put("last_seq", known ? c.lastSeq : null);
    o.put("first_ts", known && c.messages > 0 ? Instant.ofEpochSecond(0, c.firstTs).toString() : null);
    o.put("last_ts", known && c.messages > 0 ? Instant.ofEpochSecond(0, c.lastTs).toString() : null);
    o.put("deleted", known ? c.deleted() : null);
    ArrayNode damaged = o.putArray("damaged");
    for (StreamContents.Damaged d : c.damaged) {
      damaged.addObject().put("block", d.block() < 0 ? null : d.block()).put("offset", d.offset() < 0 ? null : d.offset())
          .put("why", d.why()).put("dropped_at_start", d.dropped() < 0 ? null : d.dropped());
    }
    StreamContents.AtStart gone = c.atStart;
    o.putObject("removed_at_start").put("damage", gone.damage()).put("max_msgs", gone.maxMsgs())
        .put("max_bytes", gone.maxBytes()).put("max_age", gone.maxAge()).put("max_msgs_per_subject", gone.maxMsgsPerSubject())
        .put("interest", gone.interest());
    o.put("interest_note", c.interestNote);
  }

  /** A consumer's position in inspect --json, as the server's consumer info names it. */
  static void positionJson(StreamContents.Position p, ObjectNode o) {
    o.put("state_note", p.unreadable());
    if (p.delivered() == null) {
      o.putNull("delivered");
      o.putNull("ack_floor");
      o.putNull("pending");
      o.putNull("redelivered");
      o.putNull("num_pending");
      return;
    }
    o.putObject("delivered").put("consumer_seq", p.delivered().consumerSeq()).put("stream_seq", p.delivered().streamSeq());
    o.putObject("ack_floor").put("consumer_seq", p.ackFloor().consumerSeq()).put("stream_seq", p.ackFloor().streamSeq());
    o.put("pending", p.pending());
    o.put("redelivered", p.redelivered());
    o.put("num_pending", p.numPending());
  }

  static void plan(RecoveryPlan plan, boolean dryRun, PrintWriter out) {
    Store store = plan.store;
    String moved = dryRun ? "would be moved" : "moved";
    out.printf("Store %s: %d stream(s), %d consumer(s) in %d account(s)%n%n", store.storeDir, store.streams.size(),
        store.consumerCount(), store.accounts.size());
    for (AssetChange c : plan.changes) {
      out.printf("  %s %s: %s%s%n", c.asset().kind == AssetKind.STREAM ? "stream  " : "consumer", c.asset().label(),
          c.describe(), c.resealed() != null ? " (resealed)" : "");
    }
    for (ConsumerRecreation.Recreated c : plan.recreation.recreated) {
      out.printf("  consumer %s: %s%s%n", c.label(), c.describe(), c.metaKey() != null ? " (sealed under a new meta.key)" : "");
    }
    for (ConsumerRecreation.Skipped c : plan.recreation.skipped) out.printf("  consumer %s: NOT recreated: %s%n", c.label(), c.why());
    for (Path r : store.raftDirs) out.printf("  raft     %s: %s to %s/<run>/%s/%n", store.rel(r), moved, Backups.DIR, Backups.RAFT);
    for (Path t : store.leftoverTemps) {
      out.printf("  leftover %s (temp file of an interrupted run): %s to %s/<run>/%s/%n", store.rel(t), moved,
          Backups.DIR, Backups.LEFTOVERS);
    }
    replays(plan, dryRun, out);
    out.printf("%nTotals: %d of %d stream(s) and %d of %d consumer(s) %s, %d Raft folder(s) %s%s.%n",
        plan.streamsChanged(), store.streams.size(), plan.consumersChanged(), store.consumerCount(),
        dryRun ? "would change" : "changed", store.raftDirs.size(), dryRun ? "would move" : "moved",
        plan.replayedFiles().isEmpty() ? "" : String.format(", %d message(s), %d delete(s) and %d consumer state(s) %s from "
            + "the Raft logs", plan.replay.streams().stream().mapToLong(r -> r.messages().size()).sum(),
            plan.replay.streams().stream().mapToLong(r -> r.tombstones().size()).sum(),
            plan.replay.consumers().stream().filter(c -> c.file() != null).count(), dryRun ? "would be replayed" : "replayed"));
    recreation(store, plan.recreation, dryRun, out);
    warnings(store, out);
  }

  /** One line per stream the Raft logs add to: what is replayed into which new files, and what stays in the log. */
  static void replays(RecoveryPlan plan, boolean dryRun, PrintWriter out) {
    for (RaftReplay.StreamReplay r : plan.replay.streams()) {
      List<String> what = new ArrayList<>();
      if (!r.messages().isEmpty()) {
        what.add(r.messages().size() + " message(s) (seq " + RaftReplay.ranges(r.messages().stream().map(GroupLog.StreamMsg::seq).toList())
            + ", the blocks ended at " + r.storedLast() + ")");
      }
      List<Long> erased = r.erased(), others = r.notErased();
      if (!others.isEmpty()) {
        what.add(others.size() + " delete(s) " + (r.inIndex() ? "into the blocks' N.idx" : "as tombstones") + " (seq "
            + RaftReplay.ranges(others) + ")");
      }
      if (!erased.isEmpty()) what.add(erased.size() + " delete(s) of those messages written erased (seq " + RaftReplay.ranges(erased) + ")");
      if (!r.files().isEmpty()) {
        List<String> written = r.files().stream().filter(f -> f.bytes() != null).map(f -> plan.store.rel(f.path())).toList();
        List<String> aside = r.files().stream().filter(f -> f.bytes() == null).map(f -> plan.store.rel(f.path())).toList();
        out.printf("  replay   %s: %s %s from Raft group %s%s%s%n", r.stream().label(), String.join(" and ", what),
            dryRun ? "would be replayed" : "replayed", r.group(), written.isEmpty() ? "" : " into " + String.join(", ", written),
            aside.isEmpty() ? "" : " (" + String.join(", ", aside) + (dryRun ? " would be" : "") + " set aside into originals.zip)");
      }
      if (!r.beyondCommit().isEmpty()) {
        out.printf("           beyond the known commit index of their log (the stream's: %d): %s (at-least-once: a publisher "
            + "may have seen a timeout for these; --committed-only leaves them out)%n", r.knownCommit(), r.beyondCommit());
      }
      for (String n : r.notReplayed()) out.printf("  replay   %s: %s%n", r.stream().label(), n);
    }
    for (RaftReplay.ConsumerReplay c : plan.replay.consumers()) {
      if (c.notReplayed() != null) out.printf("  replay   %s: %s%n", c.consumer().label(), c.notReplayed());
      if (c.file() == null) continue;
      out.printf("  replay   %s: o.dat %s from Raft group %s (%s, %d update(s)%s): ack floor %s -> %s, delivered %s -> %s%n",
          c.consumer().label(), dryRun ? "would be moved on" : "moved on", c.group(), c.basis(), c.updates(),
          c.beyondCommit() == 0 ? "" : ", " + c.beyondCommit() + " beyond the known commit index " + c.knownCommit(),
          position(c.before().ackFloor()), position(c.after().ackFloor()), position(c.before().delivered()),
          position(c.after().delivered()));
    }
  }

  /** A consumer position as {@code consumer/stream} sequences. */
  static String position(ConsumerState.SeqPair p) { return p.consumerSeq() + "/" + p.streamSeq(); }

  /** What prepare does with the consumers the cluster's records list and this disk lacks; nothing without records. */
  static void recreation(Store store, ConsumerRecreation r, boolean dryRun, PrintWriter out) {
    if (r.records == null) return;
    int listed = r.recreated.size() + r.skipped.size();
    out.printf("Cluster records (%s): %d consumer(s) of the streams on this disk have no folder here%s%n",
        store.rel(r.records.raftDir), listed,
        listed == 0 ? "." : ": " + r.recreated.size() + (dryRun ? " would be" : "") + " recreated, " + r.skipped.size()
            + " not (said above).");
    r.records.inventory.notes.forEach(n -> out.println("  note: " + n));
  }

  /** {@code global}: the settings of $G's own server when $G is served apart, else null. */
  static void nextSteps(RecoveryPlan plan, RecoveryConfig.Settings conf, RecoveryConfig.Settings global, PrintWriter out) {
    Store store = plan.store;
    String backup = shellQuote(store.storeDir + "-backup");
    String server = "nats://127.0.0.1:" + conf.port();
    String keyFile = conf.cipher() != null ? " --key-file /path/to/key-file" : "";
    String storeDir = shellQuote(store.storeDir.toString());
    List<String> accounts = plan.originalReplicas.stream().map(RecoveryPlan.OriginalReplicas::account).distinct().toList();
    out.println();
    out.println("Next steps:");
    out.println("  1. Prove every stream and consumer loads (js-recover starts nats-server on this store and stops it):");
    out.println("       js-recover verify" + keyFile + " " + storeDir);
    out.println("  2. Restore every stream with its consumers into the new cluster, checked at both ends (js-recover starts "
        + "the recovery server and stops it)" + (accounts.size() > 1 ? ", account by account as a user of that account there:" : ":"));
    for (String account : accounts) {
      out.println("       js-recover restore" + (accounts.size() > 1 ? " --account " + shellQuote(account) : "") + " --to <new-cluster>"
          + keyFile + " " + storeDir);
      out.println("         original replica counts: " + plan.originalReplicas.stream().filter(r -> r.account().equals(account))
          .map(r -> r.stream() + " " + (r.replicas() == null ? "unknown (give --replicas N)" : r.replicas()))
          .collect(Collectors.joining(", ")));
    }
    out.println();
    out.println("Or with the nats CLI (nothing checks that what arrived equals what left):");
    out.println("  a. Start the recovery server on this store (loopback only, no cluster):");
    if (conf.cipher() != null) {
      out.println("       " + KeyRing.EXPORT_LINE + "   # the cluster's key, quoted for the config");
    }
    out.println("       nats-server -c " + shellQuote(RecoveryConfig.path(store).toString()));
    out.println("     or have js-recover check that everything loads and keep it running for the backup:");
    out.println("       js-recover verify --keep-running " + shellQuote(store.storeDir.toString()));
    out.printf("  b. Check that all %d stream(s) and %d consumer(s) loaded:%n", store.streams.size(), store.consumerCount());
    out.println("       curl -s 'http://127.0.0.1:" + conf.httpPort() + "/jsz?accounts=true&streams=true&consumers=true'");
    out.println("  c. Back up every stream with its consumers" + (conf.logins().isEmpty() ? ":" : ", account by account:"));
    if (conf.logins().isEmpty()) {
      out.println("       nats --server " + server + " account backup " + backup + " -f");
    }
    for (RecoveryConfig.Login l : conf.logins()) {
      out.println("       nats --server " + server + " --user " + shellQuote(l.user()) + " --password " + shellQuote(l.password())
          + " account backup " + shellQuote(store.storeDir + "-backup/" + l.account()) + " -f");
    }
    if (global != null) {
      out.println("     $G holds streams too, and nats-server serves $G's JetStream only without configured accounts:");
      out.println("     after this backup, stop the server and back $G up from a second one"
          + (global.cipher() != null ? " (JS_RECOVER_KEY still exported):" : ":"));
      out.println("       nats-server -c " + shellQuote(RecoveryConfig.globalPath(store).toString()));
      out.println("       nats --server nats://127.0.0.1:" + global.port() + " account backup "
          + shellQuote(store.storeDir + "-backup/$G") + " -f");
    }
    out.println("  d. Restore each stream into the new cluster with its original replica count"
        + (conf.logins().isEmpty() ? ":" : ", as a user of its account there:"));
    for (RecoveryPlan.OriginalReplicas r : plan.originalReplicas) {
      String dir = store.storeDir + "-backup/" + (conf.logins().isEmpty() ? "" : r.account() + "/") + r.stream();
      String account = conf.logins().isEmpty() ? "" : "   # account " + r.account();
      if (r.replicas() == null) {
        out.printf("       nats --server <new-cluster> stream restore %s --replicas N%s%n", shellQuote(dir),
            account.isEmpty() ? "   # N unknown" : account + "; N unknown");
        out.println("         (its config could not be read, so its replica count is unknown: take it from the old "
            + "cluster's records, or fix what prepare reported and run prepare again to have it printed)");
      } else {
        out.printf("       nats --server <new-cluster> stream restore %s --replicas %d%s%n", shellQuote(dir), r.replicas(), account);
      }
    }
  }

  /** verify's table per account and stream; true when everything on disk loaded. */
  static boolean loadTable(Store s, LoadCheck check, PrintWriter out) {
    Table rows = new Table("ACCOUNT", "STREAM", "LOADED", "MESSAGES", "CONSUMERS LOADED/ON DISK", "NOT LOADED");
    int streamsMissing = 0, consumersMissing = 0;
    for (StoredStream st : s.streams) {
      LoadCheck.Loaded loaded = check.streams.get(st.meta().label());
      List<String> missing = st.consumers().stream().map(c -> c.consumer)
          .filter(c -> loaded == null || !loaded.consumers().contains(c)).toList();
      if (loaded == null) streamsMissing++;
      consumersMissing += missing.size();
      rows.add(st.meta().account, st.meta().stream, loaded == null ? "NO" : "yes",
          loaded == null ? "-" : String.valueOf(loaded.messages()),
          (st.consumers().size() - missing.size()) + "/" + st.consumers().size(), String.join(", ", missing));
    }
    out.println();
    rows.print(out);
    if (!check.serverWarnings.isEmpty()) {
      out.println("\nThe server's warnings and errors, verbatim:");
      check.serverWarnings.forEach(w -> out.println("  " + w));
    }
    out.println();
    if (streamsMissing == 0 && consumersMissing == 0) {
      out.printf("All %d stream(s) and %d consumer(s) on disk loaded.%n", s.streams.size(), s.consumerCount());
      return true;
    }
    out.printf("NOT everything loaded: %d of %d stream(s) and %d of %d consumer(s) on disk are missing. Do not rely on a "
        + "backup of this server until they load (see the server's warnings above).%n", streamsMissing, s.streams.size(),
        consumersMissing, s.consumerCount());
    return false;
  }

  static void problems(Store store, PrintWriter out, boolean forced) {
    if (store.problems.isEmpty()) return;
    out.println();
    out.println(forced ? "Problems (going ahead because of --force):" : "Problems (prepare refuses until each is fixed, or --force is given):");
    for (Problem p : store.problems) {
      out.println("  " + store.rel(p.path()) + ": " + p.what());
      out.println("      to fix: " + p.todo());
      out.println("      with --force: " + p.ifForced());
    }
  }

  static void warnings(Store store, PrintWriter out) {
    if (store.warnings.isEmpty()) return;
    out.println();
    out.println("Warnings:");
    for (Warning w : store.warnings) out.println("  " + store.rel(w.path()) + ": " + w.what());
  }

  private static String checksums(StoredStream s) {
    MetaAsset m = s.meta();
    long badConsumers = s.consumers().stream().filter(c -> !c.sumAccountedFor()).count();
    String stream = m.sumAccountedFor() ? "ok" : m.metaSum == null ? "MISSING" : "MISMATCH";
    return badConsumers == 0 ? stream : stream + ", " + badConsumers + " consumer(s) bad";
  }

  private static String placement(JsonNode config) {
    JsonNode p = config == null ? null : config.get("placement");
    if (p == null || p.isNull()) return config == null ? "?" : "-";
    List<String> parts = new ArrayList<>();
    if (p.hasNonNull("cluster")) parts.add("cluster=" + p.get("cluster").asText());
    if (p.has("tags") && p.get("tags").size() > 0) {
      List<String> tags = new ArrayList<>();
      p.get("tags").forEach(t -> tags.add(t.asText()));
      parts.add("tags=" + String.join(",", tags));
    }
    return parts.isEmpty() ? p.toString() : String.join(" ", parts);
  }

  private static String orUnknown(Object v) { return v == null ? "?" : v.toString(); }

  private static String encryption(MetaAsset m) {
    if (!m.sealed()) return "no";
    return m.opened == null ? "sealed" : m.opened.cipher().name().toLowerCase();
  }

  /**
   * Rows printed in columns as wide as their widest cell, two spaces apart: either kept (add, then print), or sized
   * in a first pass over what they are made from and printed in a second (size, then print for the titles and line
   * for each row), where a row is cheap to make again. A kept row is one String, each cell after its length and a
   * colon (a cell may hold any character): a String per cell was most of inspect's memory at 50,000 streams.
   */
  static final class Table {
    private final String[] titles;
    private final int[] width;
    private final List<String> kept = new ArrayList<>();
    private final StringBuilder line = new StringBuilder();
    private long rows;

    Table(String... titles) {
      this.titles = titles;
      width = new int[titles.length];
      for (int i = 0; i < width.length; i++) width[i] = titles[i].length();
    }

    /** Widens the columns for a row that {@link #line} prints later. One cell per title. */
    void size(String... cells) {
      for (int i = 0; i < width.length; i++) width[i] = Math.max(width[i], cells[i].length());
      rows++;
    }

    /** Widens the columns for a row and keeps it for {@link #print}. */
    void add(String... cells) {
      size(cells);
      line.setLength(0);
      for (String c : cells) line.append(c.length()).append(':').append(c);
      kept.add(line.toString());
    }

    /** Whether no row was sized or added. */
    boolean empty() { return rows == 0; }

    /** Prints the titles, then the rows kept. */
    void print(PrintWriter out) {
      line(out, titles);
      String[] cells = new String[width.length];
      for (String r : kept) {
        for (int i = 0, at = 0; i < cells.length; i++) {
          int colon = r.indexOf(':', at);
          at = colon + 1 + Integer.parseInt(r, at, colon, 10);
          cells[i] = r.substring(colon + 1, at);
        }
        line(out, cells);
      }
    }

    /** Prints one row in the columns as sized so far. */
    void line(PrintWriter out, String... cells) {
      line.setLength(0);
      for (int i = 0; i < cells.length; i++) {
        line.append(cells[i]);
        for (int pad = i < cells.length - 1 ? width[i] - cells[i].length() + 2 : 0; pad > 0; pad--) line.append(' ');
      }
      out.println(line);
    }
  }

  /** What became of each stream in a restore or backup; true when every one arrived whole (or was kept). */
  static boolean transfers(List<TransferOutcome> outcomes, PrintWriter out) {
    Table rows = new Table("ACCOUNT", "STREAM", "REPLICAS", "OUTCOME", "SIZE", "SECONDS");
    for (TransferOutcome o : outcomes) {
      rows.add(o.account(), o.stream(), o.replicas() == null ? "?" : String.valueOf(o.replicas()), o.result().word, Progress.size(o.bytes()),
          String.format("%.1f", o.seconds()));
    }
    out.println();
    rows.print(out);
    out.println();
    for (TransferOutcome o : outcomes) out.println((o.ok() ? "  " : "  NOT DONE ") + o.label() + ": " + o.detail());
    Map<String, List<TransferOutcome>> byAccount = outcomes.stream().collect(Collectors.groupingBy(TransferOutcome::account,
        java.util.LinkedHashMap::new, Collectors.toList()));
    if (byAccount.size() > 1) {
      out.println();
      byAccount.forEach((account, each) -> out.printf("  account %s: %d of %d stream(s) done%n", account,
          each.stream().filter(TransferOutcome::ok).count(), each.size()));
    }
    long ok = outcomes.stream().filter(TransferOutcome::ok).count();
    out.printf("%n%d of %d stream(s) done%s.%n", ok, outcomes.size(), ok == outcomes.size() ? "" : "; fix what is said above "
        + "and run the same command again: streams already done are skipped");
    return ok == outcomes.size();
  }

  static ObjectNode transfersJson(List<TransferOutcome> outcomes) {
    ObjectNode doc = Json.NODES.objectNode();
    doc.put("done", outcomes.stream().allMatch(TransferOutcome::ok));
    ArrayNode streams = doc.putArray("streams");
    for (TransferOutcome o : outcomes) {
      streams.addObject().put("account", o.account()).put("stream", o.stream()).put("replicas", o.replicas())
          .put("outcome", o.result().name().toLowerCase()).put("bytes", o.bytes()).put("seconds", o.seconds())
          .put("detail", o.detail());
    }
    return doc;
  }

  static String shellQuote(String s) {
    return s.matches("[A-Za-z0-9_./:=@%+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
  }
}

// =================================================================================================
// 12. Commands
// =================================================================================================

@Command(name = "js-recover", mixinStandardHelpOptions = true, versionProvider = JsRecover.VersionProvider.class,
    description = {"Makes the store of a JetStream node whose cluster lost Raft quorum loadable by a standalone "
        + "nats-server, so every stream and consumer can be backed up and restored into a new cluster.",
        "", "Work on a copy of the survivor's store_dir, never on the only copy."},
    subcommands = {InspectCommand.class, PrepareCommand.class, VerifyCommand.class, UndoCommand.class,
        RestoreCommand.class, BackupCommand.class, VersionCommand.class,
        CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:done", "1:refused or failed (nothing changed unless the message says so)", "2:usage error"})
class JsRecover implements Callable<Integer> {
  static final String VERSION = "js-recover 0.1.0";
  static final String DEBUG_ENV = "JS_RECOVER_DEBUG";

  @Spec CommandSpec spec;

  /** Called with no subcommand: that is a usage error. */
  @Override public Integer call() {
    spec.commandLine().getErr().println("js-recover: name a command: inspect, prepare, verify, undo, restore, backup, version or help");
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override public String[] getVersion() { return new String[] {VERSION}; }
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new JsRecover());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof Refusal) {
        cmd.getErr().println("js-recover: " + e.getMessage());
      } else if (e instanceof UncheckedIOException u && u.getCause() instanceof ChangedWhileRead c) {
        // met while reading, before anything is written (prepare's writes check the bytes before replacing them)
        cmd.getErr().println("js-recover: " + c.getMessage() + "; nothing was changed. " + Failure.remedy(c) + ", and run "
            + "it again.");
      } else {
        // Not foreseen, so what was done is not known here: say so rather than claim nothing changed.
        cmd.getErr().println("js-recover: failed: " + (e instanceof IOException io ? Failure.describe(io) : e.toString())
            + ". This failure was not foreseen: the store may have been changed; js-recover inspect shows its state, "
            + "and a rerun of prepare completes an interrupted one. Set " + DEBUG_ENV + "=1 for the stack trace.");
        if (System.getenv(DEBUG_ENV) != null) e.printStackTrace(cmd.getErr());
      }
      return 1;
    });
    return cli;
  }

  public static void main(String[] args) {
    String[] given = Utf8Launch.argsOfRelaunch();
    if (given == null && !Utf8Launch.decodesUtf8()) System.exit(Utf8Launch.runUnderUtf8(args));
    System.exit(commandLine().execute(given != null ? given : args));
  }
}

/**
 * File names are bytes, and nats-server names streams and consumers in UTF-8 (an eszett, a CJK name). Java
 * decodes names with the charset of the locale it started in (sun.jnu.encoding; no option changes it in JDK
 * 17): under a C locale (LANG unset: containers, cron, systemd) such a name reads with a '?' per byte, its
 * checksum key is wrong and its files cannot be named back. So js-recover started under any other charset runs
 * itself again, at once, under LC_ALL=C.UTF-8, with the arguments' bytes as the operator gave them.
 */
final class Utf8Launch {
  static final String ARGS = "JS_RECOVER_UTF8_ARGS";

  private Utf8Launch() {}

  static boolean decodesUtf8() {
    return "UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"));
  }

  /** In the process run again: the arguments as given to the first; null in a first process. */
  static String[] argsOfRelaunch() {
    String passed = System.getenv(ARGS);
    if (passed == null) return null;
    int colon = passed.indexOf(':');
    int count = Integer.parseInt(passed.substring(0, colon));
    String joined = new String(java.util.Base64.getDecoder().decode(passed.substring(colon + 1)), StandardCharsets.UTF_8);
    return count == 0 ? new String[0] : joined.split("\0", -1);
  }

  /** Runs this command again under C.UTF-8 and returns its exit code; a signal to this process stops it too. */
  static int runUnderUtf8(String[] args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JsRecover.class.getName()));
    ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
    pb.environment().put("LC_ALL", "C.UTF-8");
    java.io.ByteArrayOutputStream joined = new java.io.ByteArrayOutputStream();
    List<byte[]> raw = rawArgs(args);
    for (int i = 0; i < raw.size(); i++) {
      if (i > 0) joined.write(0);
      joined.writeBytes(raw.get(i));
    }
    pb.environment().put(ARGS, raw.size() + ":" + java.util.Base64.getEncoder().encodeToString(joined.toByteArray()));
    try {
      Process child = pb.start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        child.destroy(); // SIGTERM to us (a service stop, a timeout) reaches the run doing the work
        try {
          child.waitFor();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      return child.waitFor();
    } catch (IOException e) {
      System.err.println("js-recover: cannot run under a UTF-8 locale (" + e.getMessage() + "); set LC_ALL=C.UTF-8 and run "
          + "again: without it, names that are not ASCII are misread.");
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  /**
   * The arguments' bytes as given: the end of /proc/self/cmdline, when it matches what the launcher decoded
   * (it does not when the JVM was started from an @argfile); otherwise what it decoded.
   */
  private static List<byte[]> rawArgs(String[] args) {
    List<byte[]> decoded = java.util.Arrays.stream(args).map(a -> a.getBytes(StandardCharsets.UTF_8)).toList();
    byte[] cmdline;
    try {
      cmdline = Files.readAllBytes(Path.of("/proc/self/cmdline"));
    } catch (IOException notLinux) {
      return decoded;
    }
    List<byte[]> parts = new ArrayList<>();
    for (int start = 0, i = 0; i < cmdline.length; i++) {
      if (cmdline[i] == 0) {
        parts.add(java.util.Arrays.copyOfRange(cmdline, start, i));
        start = i + 1;
      }
    }
    if (parts.size() < args.length) return decoded;
    List<byte[]> tail = parts.subList(parts.size() - args.length, parts.size());
    for (int i = 0; i < args.length; i++) {
      if (!asciiSkeleton(new String(tail.get(i), StandardCharsets.ISO_8859_1)).equals(asciiSkeleton(args[i]))) return decoded;
    }
    return tail;
  }

  /** A name with every character beyond ASCII as '?', as a launcher under a C locale decodes each such byte. */
  private static String asciiSkeleton(String s) {
    return s.replaceAll("[^\\x00-\\x7f]", "?");
  }
}

/** The key options, for every command that reads an encrypted store or starts a server on it. */
class KeyOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec command;

  @Option(names = "--key-file", paramLabel = "FILE", description = "for an encrypted store: a file holding the "
      + "cluster's JetStream key exactly as configured in jetstream { key }, on one line (its line break, LF or CRLF, is ignored)")
  Path keyFile;

  @Option(names = "--key", paramLabel = "KEY", description = "the JetStream key itself; other users can see it in "
      + "the process list, so prefer --key-file or the environment variable " + KeyRing.ENV)
  String key;

  /**
   * A key file's key: its one line without the line break (LF or CRLF) or blank lines after it, exactly what
   * KeyRing.EXPORT_LINE gives the server. A line break inside would read differently there: refused.
   */
  private String keyFromFile(String content) throws Refusal {
    String k = content.replaceFirst("[\r\n]+\\z", "");
    if (k.indexOf('\r') >= 0 || k.indexOf('\n') >= 0) {
      throw new Refusal("key file " + keyFile + " holds more than one line; a JetStream key is one line (a trailing line "
          + "break, LF or CRLF, is ignored). Give a file holding only the key, as in jetstream { key }.");
    }
    return k;
  }

  @Option(names = "--no-progress", description = "print no progress on stderr (by default, a run that reads or "
      + "rewrites for longer than about 2 s shows counts and rate there: a line redrawn on a terminal, a line every "
      + "5 s otherwise)")
  boolean noProgress;

  /** Where this command's progress goes: its stderr, unless --no-progress. */
  void showProgress() { StepProgress.configure(command.commandLine().getErr(), !noProgress); }

  @Option(names = "--cipher", paramLabel = "chacha|aes", converter = CipherConverter.class, description = "accept only "
      + "this cipher (default: try chacha, then aes, for each asset, as nats-server does)")
  MetaCrypto.Cipher cipher;

  static final class CipherConverter implements CommandLine.ITypeConverter<MetaCrypto.Cipher> {
    @Override public MetaCrypto.Cipher convert(String value) {
      try {
        return MetaCrypto.Cipher.fromConfig(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not a JetStream cipher: use chacha or aes");
      }
    }
  }

  /** The key from --key-file, --key or JS_RECOVER_KEY (in that order), or null when none is given. */
  KeyRing keys() throws Refusal {
    if (keyFile != null && key != null) {
      throw new CommandLine.ParameterException(command.commandLine(), "give the key once: --key-file or --key, not both");
    }
    String value = key;
    if (keyFile != null) {
      try {
        value = Files.readString(keyFile, StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        throw new Refusal("key file " + keyFile + " does not exist. Pass the file holding the cluster's jetstream { key }.");
      } catch (IOException e) {
        throw new Refusal("cannot read key file " + keyFile + ": " + e.getMessage());
      }
      value = keyFromFile(value);
    } else if (value == null) {
      value = KeyRing.fromEnvironment(System.getenv(KeyRing.ENV));
    }
    if (value == null) {
      if (cipher != null) throw new CommandLine.ParameterException(command.commandLine(), "--cipher needs a key: --key-file, --key or " + KeyRing.ENV);
      return null;
    }
    if (value.isEmpty()) throw new Refusal("the JetStream key given is empty" + (keyFile != null ? " (" + keyFile + ")" : ""));
    return new KeyRing(value.getBytes(StandardCharsets.UTF_8), cipher);
  }
}

/** The store-dir argument and the key options, shared by the commands that take nothing else. */
final class StoreOptions extends KeyOptions {
  @Parameters(index = "0", paramLabel = "<store-dir>",
      description = "the copied nats-server store_dir (the folder holding jetstream/), or its jetstream/ folder")
  Path storeDir;
}

/** The recovery server js-recover starts itself: which binary, and how long it may take to load the store. */
final class ServerOptions {
  @Option(names = "--nats-server", paramLabel = "BIN", description = "the nats-server to run (default: nats-server on PATH)")
  Path natsServer;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
      description = "how long the server may take to load the store (default: ${DEFAULT-VALUE})")
  int timeoutSeconds;
}

@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Shows what the store holds and what is wrong with it. Reads only; changes nothing.")
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @CommandLine.Mixin StoreOptions store;

  @Option(names = "--json", description = "print one JSON document (schema in the README) instead of the table")
  boolean json;

  @Parameters(index = "1..*", paramLabel = "<more-store-dirs>", description = "other survivors' copies of the same "
      + "cluster's store: shown side by side, with which copy to recover each stream from")
  List<Path> moreStoreDirs = new ArrayList<>();

  @Option(names = "--verify-data", description = "check every message record's checksum (default: trust the index "
      + "the server would trust, and read only the blocks that must be read); on a large encrypted store, run it as "
      + "jbang -R-XX:TieredStopAtLevel=4 js-recover ... to decrypt 3 to 4 times faster")
  boolean verifyData;

  @Override public Integer call() throws Exception {
    store.showProgress();
    KeyRing keys = store.keys();
    Store s = StoreWalker.walk(store.storeDir, keys);
    Map<String, StreamContents> contents = readContents(s, keys, verifyData);
    ClusterRecords cluster = ClusterRecords.read(s, keys);
    PrintWriter out = spec.commandLine().getOut();
    if (!moreStoreDirs.isEmpty()) {
      List<Survivors.Copy> copies = new ArrayList<>(List.of(new Survivors.Copy(s, contents)));
      for (Path dir : moreStoreDirs) {
        Store other = StoreWalker.walk(dir, keys);
        copies.add(new Survivors.Copy(other, readContents(other, keys, verifyData)));
      }
      Survivors survivors = Survivors.compare(copies);
      if (json) {
        try (JsonGenerator g = Json.MAPPER.createGenerator(out)) {
          Reports.survivorsJson(survivors, g);
        }
        out.println();
      } else {
        Reports.survivorsTable(survivors, out);
      }
      out.flush();
      return 0;
    }
    if (json) {
      try (JsonGenerator g = Json.MAPPER.createGenerator(out)) { // pretty-printed and leaving out open, as MAPPER is set
        g.writeStartObject();
        Reports.inspectJson(s, contents, g);
        g.writeFieldName("cluster");
        Reports.clusterJson(cluster, g);
        g.writeEndObject();
      }
      out.println();
    } else {
      Reports.inspectTable(s, contents, out);
      Reports.clusterTable(cluster, s, out);
      out.println();
      out.println("Next: js-recover prepare --dry-run " + Reports.shellQuote(s.storeDir.toString()));
    }
    out.flush();
    return 0;
  }

  /** Every stream's contents, read in parallel, by the stream's label. */
  static Map<String, StreamContents> readContents(Store s, KeyRing keys, boolean verify) {
    Map<String, StreamContents> contents = new ConcurrentHashMap<>();
    StoreWalker.parallel(s.streams, st -> contents.put(st.meta().label(), StreamContents.read(st, keys, verify)));
    return contents;
  }
}

@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = {"Makes the store loadable by a standalone nats-server: streams to 1 replica without placement, "
        + "consumers with more than 1 replica to 0 (inherit), meta.sum recomputed, <account>/_js_ Raft state moved "
        + "aside. Every original file is kept in <store-dir>/" + Backups.DIR + "/<run>/ with a manifest.json.",
        "Refuses, changing nothing, when any meta file is missing, torn, unreadable or fails its checksum, when "
            + "another process (a nats-server, another js-recover) has the store open, when the store changes while "
            + "it is read, or when it could not finish (read-only file system, a folder it must write not writable, an "
            + "owner or group it could not keep, too little space). A second run changes nothing; a rerun completes an "
            + "interrupted one."})
final class PrepareCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @CommandLine.Mixin StoreOptions store;

  @Option(names = "--dry-run", description = "print the exact plan and write nothing; exit 1, with the reasons, when "
      + "a real run would be refused")
  boolean dryRun;

  @Option(names = "--force", description = "go ahead despite problems: a meta.inf that reads right but fails its "
      + "checksum or has no meta.sum gets a recomputed meta.sum; anything unreadable is left as it is (the server "
      + "will not load it). Each problem is listed with what --force does with it.")
  boolean force;

  @Option(names = "--committed-only", description = "replay from the Raft logs only the entries this node knew "
      + "committed; by default every entry they hold is replayed (at-least-once: a PubAck'ed message may lie beyond "
      + "the commit index the node had recorded) and those beyond it are listed")
  boolean committedOnly;

  @Override public Integer call() throws Exception {
    store.showProgress();
    KeyRing keys = store.keys();
    Store located = StoreWalker.locate(store.storeDir);
    if (dryRun) { // writes nothing, not even a lock file
      StoreLock.refuseIfInUse(located.storeDir);
      return prepare(located, keys);
    }
    try (StoreLock lock = StoreLock.acquire(located.storeDir, "prepare")) {
      return prepare(located, keys);
    }
  }

  private int prepare(Store located, KeyRing keys) throws Exception {
    long started = System.nanoTime();
    Store s = StoreWalker.walk(located, keys, true);
    PrintWriter out = spec.commandLine().getOut();
    if (!s.problems.isEmpty() && !force && !dryRun) {
      Reports.problems(s, out, false);
      out.flush();
      throw new Refusal(s.problems.size() + " problem(s) found in " + s.storeDir + "; nothing was changed. Fix them "
          + "(see above), or rerun with --force to go ahead as described for each.");
    }
    List<Path> changed = SettleCheck.changedSince(s, started);
    if (!changed.isEmpty()) {
      throw new Refusal("the store is changing while js-recover reads it (" + changed.size() + " file(s) or folder(s), e.g. "
          + changed.get(0) + "); nothing was changed. A nats-server is still writing it: stop that server, or copy the "
          + "store from a stopped one, and run prepare again.");
    }
    ClusterRecords records = ClusterRecords.read(s, keys);
    RecoveryPlan plan = new RecoveryPlan(s, ConsumerRecreation.plan(s, records, keys));
    plan.replay = RaftReplay.plan(s, records, keys, committedOnly);
    if (force || dryRun) Reports.problems(s, out, force);
    List<String> refusedFor = new ArrayList<>();
    if (!s.problems.isEmpty() && !force) refusedFor.add(s.problems.size() + " problem(s) (see above; or --force)");
    for (Path conf : RecoveryConfig.files(s)) {
      if (RecoveryConfig.theOperators(conf) && RecoveryConfig.read(conf) == null) {
        refusedFor.add(conf + " was not written by js-recover, and js-recover never writes over a file it did not "
            + "write. Move it aside (mv " + Reports.shellQuote(conf.toString()) + " " + Reports.shellQuote(conf + ".mine")
            + ") and run prepare again");
      }
    }
    if (plan.nothingToDo()) {
      out.printf("Store %s is already prepared: %d stream(s), %d consumer(s), nothing to change.%n", s.storeDir,
          s.streams.size(), s.consumerCount());
      Reports.warnings(s, out); // said again before the next step starts a server (max_age, above all)
    } else {
      refusedFor.addAll(plan.writeBlockers());
    }
    if (dryRun) {
      out.println("Dry run: nothing is written.");
      if (!plan.nothingToDo()) {
        Reports.plan(plan, true, out);
        out.printf("%nOriginals and the manifest would be kept in %s/<run>/.%n", Backups.root(s));
        for (Path conf : RecoveryConfig.files(s)) {
          out.println(RecoveryConfig.theOperators(conf) ? conf + " would be kept as it is (changed by hand or not "
              + "written by js-recover)." : conf + " would be written: a standalone server config for account(s) "
              + (conf.equals(RecoveryConfig.globalPath(s)) ? "$G" : String.join(", ", s.accounts)) + ".");
        }
      }
      if (refusedFor.isEmpty()) return 0;
      throw new Refusal("dry run, nothing was written; a real run would be refused for:\n  " + String.join("\n  ", refusedFor));
    }
    if (plan.nothingToDo()) {
      writeRecoveryConfigs(plan, out, "The store was already prepared and nothing in it was changed");
      return 0;
    }
    if (!refusedFor.isEmpty()) {
      throw new Refusal("prepare cannot write what it must; nothing was changed:\n  " + String.join("\n  ", refusedFor));
    }
    Path run = PrepareRun.apply(plan);
    Reports.plan(plan, false, out);
    out.printf("%nOriginals, Raft state and manifest.json are in %s%n", run);
    writeRecoveryConfigs(plan, out, "The store is prepared (every change above is done; "
        + run.resolve(Backups.MANIFEST) + " says complete)");
    return 0;
  }

  /**
   * Writes recovery.conf (and $G's apart), but never over the operator's own; then prints the next steps.
   * {@code storeState} says, should a write fail, what the store is by then.
   */
  private static void writeRecoveryConfigs(RecoveryPlan plan, PrintWriter out, String storeState) throws Refusal {
    Store s = plan.store;
    Path file = RecoveryConfig.path(s);
    try {
      RecoveryConfig.Settings conf = RecoveryConfig.settingsFor(s), global = null;
      for (Path each : RecoveryConfig.files(s)) {
        file = each;
        boolean isGlobal = file.equals(RecoveryConfig.globalPath(s));
        RecoveryConfig.Settings settings = isGlobal ? conf.global() : conf;
        if (RecoveryConfig.theOperators(file)) {
          settings = RecoveryConfig.read(file);
          out.printf("Kept %s as it is: it was changed by hand or not written by js-recover, and js-recover never "
              + "writes over such a file. The steps below take its ports and users; to have js-recover write it afresh, "
              + "move it aside and run prepare again.%n", file);
        } else {
          boolean written = RecoveryConfig.write(s, file, settings);
          out.printf("%s %s (mode 0600): client port %d, monitoring port %d%s.%n", written ? "Wrote" : "Kept", file,
              settings.port(), settings.httpPort(), settings.logins().isEmpty() ? ""
                  : ", one user per account (passwords below and in the file only)");
        }
        if (isGlobal) global = settings;
      }
      Reports.nextSteps(plan, conf, global, out);
    } catch (IOException e) {
      out.flush();
      throw new Refusal(storeState + ", but " + file + " could not be written: " + Failure.describe(e) + ". "
          + Failure.remedy(e) + ", then run js-recover prepare " + Reports.shellQuote(s.storeDir.toString())
          + " again: it finds the store prepared and writes only " + RecoveryConfig.FILE + ".");
    }
  }
}

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Proves a prepared store loads: starts nats-server with <store-dir>/recovery.conf on free loopback "
        + "ports (first with recovery-global.conf when $G holds streams beside named accounts), reads what it serves (/jsz), compares it with what is on disk, shows the server's own warnings, and "
        + "stops it. Exit 0 only when every stream and consumer on disk loaded.",
        "Refuses, starting nothing, a store that is not prepared (replicas above 1, Raft state in place, any problem), "
            + "a recovery.conf that loads another store, and a store another process (a nats-server, another "
            + "js-recover) uses.",
        "It changes nothing itself, but to undo a server bug (a new meta.key left beside a meta.inf sealed under the "
            + "old one: js-recover reseals that meta.inf); the server, as on any start, rewrites meta files as it loads them."})
final class VerifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @CommandLine.Mixin StoreOptions store;

  @CommandLine.Mixin ServerOptions server;

  @Option(names = "--keep-running", description = "leave the server running on recovery.conf's ports for the backup")
  boolean keepRunning;

  @Override public Integer call() throws Exception {
    store.showProgress();
    KeyRing keys = store.keys();
    Store located = StoreWalker.locate(store.storeDir);
    try (StoreLock lock = StoreLock.acquire(located.storeDir, "verify")) {
      return verify(StoreWalker.walk(located, keys), keys);
    }
  }

  private int verify(Store s, KeyRing keys) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    List<Path> confs = RecoveryConfig.files(s);
    Path bin = RecoveryServer.preflight(s, keys, server.natsServer, "verify");
    Reports.warnings(s, out); // before the server starts: it acts on some of them at once (max_age)
    LoadCheck check = new LoadCheck();
    List<Path> logs = new ArrayList<>();
    String leftRunning = null;
    for (Path conf : confs) { // one at a time: two servers must never share a store
      RecoveryConfig.Settings settings = RecoveryConfig.read(conf);
      boolean keep = keepRunning && conf.equals(RecoveryConfig.path(s));
      int port = keep ? settings.port() : RecoveryConfig.freePort();
      int httpPort = keep ? settings.httpPort() : RecoveryConfig.freePort();
      try (RecoveryServer started = RecoveryServer.start(bin, s, conf, keys, port, httpPort, out)) {
        logs.add(started.log);
        check.readJsz(started.awaitLoaded(server.timeoutSeconds));
        check.readLog(started.log);
        if (keep && started.server.process.isAlive()) {
          started.leaveRunning();
          leftRunning = String.format("The server on %s is left running (pid %d) on nats://127.0.0.1:%d, logging to %s; "
              + "stop it with: kill %d", conf.getFileName(), started.server.process.pid(), port, started.log,
              started.server.process.pid());
        }
      }
    }
    boolean allLoaded = Reports.loadTable(s, check, out);
    if (leftRunning != null) {
      out.println();
      if (confs.size() > 1) out.println("$G's streams were checked on " + RecoveryConfig.GLOBAL_FILE + ", and that server stopped.");
      out.println(leftRunning);
    } else if (allLoaded) {
      for (Path log : logs) Files.delete(log); // nothing in them the table did not say
      out.println("\n" + (confs.size() > 1 ? "The servers were stopped." : "The server was stopped."));
    } else {
      out.println("\n" + (confs.size() > 1 ? "The servers were stopped; their full logs are " : "The server was stopped; its "
          + "full log is ") + logs.stream().map(Path::toString).collect(Collectors.joining(", ")));
    }
    return allLoaded ? 0 : 1;
  }
}

@Command(name = "undo", mixinStandardHelpOptions = true,
    description = {"Puts the store's jetstream/ back byte for byte as it was before the first prepare, whatever runs "
        + "happened (interrupted, rerun, --force): each file from its oldest original in " + Backups.DIR + "/, each Raft "
        + "folder back where it came from. recovery.conf, the prepared files it replaces and files prepare created are "
        + "moved into " + Backups.DIR + "/" + Undo.PREFIX + "<time>/; the runs are marked undone, so a later prepare "
        + "starts afresh. Stop any server on the store first.",
        "Refuses, changing nothing, when it cannot be done (a damaged manifest or originals.zip, a Raft folder's place "
            + "taken). A run killed at any moment is completed by running it again."})
final class UndoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "<store-dir>", description = "the store_dir prepare was run on, or its jetstream/ folder")
  Path storeDir;

  @Option(names = "--dry-run", description = "print what would be put back and write nothing")
  boolean dryRun;

  @Override public Integer call() throws Exception {
    Store located = StoreWalker.locate(storeDir);
    if (dryRun) { // writes nothing, not even a lock file
      StoreLock.refuseIfInUse(located.storeDir);
      return undo(located);
    }
    try (StoreLock lock = StoreLock.acquire(located.storeDir, "undo")) {
      return undo(located);
    }
  }

  private int undo(Store s) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Undo undo = Undo.plan(s);
    if (undo.runs.isEmpty()) {
      if (!Files.isDirectory(Backups.root(s), LinkOption.NOFOLLOW_LINKS)) {
        throw new Refusal("nothing to undo: " + s.storeDir + " has no " + Backups.DIR + "/, so prepare never changed it.");
      }
      out.printf("Nothing to undo: every prepare run in %s was undone already.%n", Backups.root(s));
      return 0;
    }
    out.printf("%s %d prepare run(s) of %s: %s%n%n", dryRun ? "Dry run: nothing is written. Would undo" : "Undoing",
        undo.runs.size(), s.storeDir, undo.runs.stream().map(r -> r.name() + " (" + r.manifest().path("status").asText()
            + ")").collect(Collectors.joining(", ")));
    if (dryRun) {
      undo.print(out, true);
      return 0;
    }
    Path folder = undo.carryOut();
    undo.print(out, false);
    out.printf("%n%s is as it was before the first prepare. What undo replaced or moved aside is in %s; the runs stay "
        + "in %s/, marked undone there, so a later prepare starts afresh.%n", s.jetstreamDir, folder, Backups.DIR);
    return 0;
  }
}

/** The recovery server serving a prepared store, and which of its streams go. */
final class SourceOptions {
  @Option(names = "--from", paramLabel = "URL", description = "a recovery server already serving the store (default: "
      + "start one on the store's recovery.conf, as verify does, and stop it at the end)")
  String from;

  @Option(names = "--account", paramLabel = "A", description = "only account A's streams (repeatable; default: every "
      + "account with streams, $G included)")
  List<String> accounts = new ArrayList<>();

  @Option(names = "--stream", paramLabel = "S", description = "only stream S (repeatable; default: every stream of the accounts)")
  List<String> streams = new ArrayList<>();

  /** What restore and backup refuse about the streams chosen, before a server starts or anything is sent. */
  interface Check {
    void check(StoreSource store) throws Refusal;
  }

  /** What restore and backup do with the recovery server at url, for the chosen accounts it serves. */
  interface Work {
    List<TransferOutcome> with(StoreSource store, String url, List<String> accounts) throws Exception;
  }

  /**
   * Runs {@code work} against the recovery server. With --from, the one it names: the store is only read then, and
   * neither locked nor checked for other users, since that server is one. Otherwise servers started here as verify
   * starts them (the same refusals first), one after the other on each config that serves chosen accounts, with the
   * store locked until the last has stopped.
   */
  List<TransferOutcome> run(String command, Path storeDir, KeyRing keys, ServerOptions server, PrintWriter err, Check check,
      Work work) throws Exception {
    if (from != null) {
      StoreSource source = new StoreSource(StoreWalker.walk(storeDir, keys), accounts, streams);
      if (source.configs().size() > 1) {
        throw new Refusal("with --from, one server serves either $G's streams (recovery-global.conf) or the named accounts' "
            + "(recovery.conf), not both: add --account '$G' or --account A to say which that server serves, or leave --from "
            + "out and " + command + " starts each in turn. Nothing was sent.");
      }
      check.check(source);
      return work.with(source, from, source.accounts());
    }
    Store located = StoreWalker.locate(storeDir);
    List<TransferOutcome> outcomes = new ArrayList<>();
    try (StoreLock lock = lock(located.storeDir, command)) {
      StoreSource source = new StoreSource(StoreWalker.walk(located, keys), accounts, streams);
      check.check(source);
      Path bin = RecoveryServer.preflight(source.store, keys, server.natsServer, command);
      Reports.warnings(source.store, err); // before the server starts: it acts on some of them at once (max_age)
      for (var config : source.configs().entrySet()) {
        try (RecoveryServer started = RecoveryServer.start(bin, source.store, config.getKey(), keys, RecoveryConfig.freePort(),
            RecoveryConfig.freePort(), err)) {
          started.awaitLoaded(server.timeoutSeconds);
          outcomes.addAll(work.with(source, started.url(), config.getValue()));
        }
        err.println("The recovery server was stopped.");
        err.flush();
      }
      return outcomes;
    }
  }

  /** The store's lock; refused most often because the server verify --keep-running left up holds the store. */
  private static StoreLock lock(Path storeDir, String command) throws Refusal {
    try {
      return StoreLock.acquire(storeDir, command);
    } catch (Refusal r) {
      throw new Refusal(r.getMessage() + " To " + command + " from a recovery server already serving this store, name it "
          + "with --from URL.");
    }
  }
}

/**
 * The new cluster, reached as the nats CLI reaches it, with a login per account when several accounts go: one target
 * login reaches one account. Its credentials are never printed or written.
 */
final class TargetOptions {
  @Option(names = "--to", required = true, paramLabel = "[ACCOUNT=]URL", description = "the new cluster: "
      + "nats://[USER:PASSWORD@]HOST:PORT (several URLs: comma-separated); ACCOUNT=URL: the URL and login for that "
      + "account's streams (repeatable)")
  List<String> urls = new ArrayList<>();

  @Option(names = "--creds", paramLabel = "[ACCOUNT=]FILE", description = "the target user's credentials file (JWT and "
      + "seed); ACCOUNT=FILE: for that account's streams (repeatable)")
  List<String> creds = new ArrayList<>();

  @Option(names = "--nkey", paramLabel = "[ACCOUNT=]FILE", description = "the target user's nkey seed file; ACCOUNT=FILE: "
      + "for that account's streams (repeatable)")
  List<String> nkeys = new ArrayList<>();

  @Option(names = "--tlscert", paramLabel = "FILE", description = "client certificate (PEM) for the target")
  Path tlsCert;

  @Option(names = "--tlskey", paramLabel = "FILE", description = "its private key (PKCS#8 PEM)")
  Path tlsKey;

  @Option(names = "--tlsca", paramLabel = "FILE", description = "CA certificate(s) (PEM) the target's must chain to")
  Path tlsCa;

  /** How one account reaches the new cluster: the URL (with its user and password, if any), a creds or nkey file. */
  record Login(String url, Path creds, Path nkey) {
    /** Who the target takes this login for: two accounts that log in as the same user land in the same account. */
    String user() {
      var m = java.util.regex.Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*://([^@/]*)@").matcher(url);
      return (m.find() ? m.group(1) : "") + "|" + creds + "|" + nkey;
    }
  }

  /**
   * Each account's login: its own URL, creds and nkey (ACCOUNT=...) where given, else the plain ones. Refuses, before
   * anything is sent, an ACCOUNT= for an account with no streams chosen, an account with no URL, and two accounts that
   * would log in as the same target user (with no credentials at all too): their streams would land in one account.
   */
  Map<String, Login> logins(List<String> accounts) throws Refusal {
    Map<String, String> url = perAccount("--to", urls, accounts), cred = perAccount("--creds", creds, accounts),
        nkey = perAccount("--nkey", nkeys, accounts);
    Map<String, Login> logins = new java.util.LinkedHashMap<>();
    List<String> noUrl = new ArrayList<>();
    for (String account : accounts) {
      boolean own = url.containsKey(account) || cred.containsKey(account) || nkey.containsKey(account);
      // The plain URL's user and password are the plain login's: an account with credentials of its own goes without.
      String u = url.containsKey(account) ? url.get(account) : url.get(null) != null && own ? NatsLogin.shown(url.get(null)) : url.get(null);
      if (u == null) {
        noUrl.add(account);
        continue;
      }
      String c = own ? cred.get(account) : cred.get(null), n = own ? nkey.get(account) : nkey.get(null);
      logins.put(account, new Login(u, c == null ? null : Path.of(c), n == null ? null : Path.of(n)));
    }
    if (!noUrl.isEmpty()) {
      throw new Refusal("no target URL for account " + String.join(", ", noUrl) + ": give --to URL, or --to ACCOUNT=URL for "
          + "each account. Nothing was sent.");
    }
    if (accounts.size() > 1) {
      Map<String, List<String>> byUser = new java.util.LinkedHashMap<>();
      logins.forEach((account, login) -> byUser.computeIfAbsent(login.user(), k -> new ArrayList<>()).add(account));
      List<String> shared = byUser.values().stream().filter(a -> a.size() > 1).map(a -> String.join(" and ", a)).toList();
      if (!shared.isEmpty()) {
        throw new Refusal("accounts " + String.join("; ", shared) + " would log in to the new cluster as the same user, and "
            + "one login reaches one account: their streams would land in one account there. Give each account its own "
            + "login (--to ACCOUNT=nats://USER:PASSWORD@HOST:PORT, --creds ACCOUNT=FILE or --nkey ACCOUNT=FILE), or "
            + "run once per account with --account A. Nothing was sent.");
      }
    }
    return logins;
  }

  /**
   * ACCOUNT=VALUE and plain VALUE (key null) of a repeatable option. A value is an ACCOUNT= one when its '=' comes
   * before any "://" and it is not an existing file: file names and URLs may hold '=' too.
   */
  private static Map<String, String> perAccount(String option, List<String> values, List<String> accounts) throws Refusal {
    Map<String, String> byAccount = new HashMap<>();
    for (String v : values) {
      boolean prefixed = prefixed(v);
      String account = prefixed ? v.substring(0, v.indexOf('=')) : null;
      if (account != null && !accounts.contains(account)) {
        throw new Refusal(option + " names account " + account + ", whose streams are not among those that go (accounts: "
            + String.join(", ", accounts) + "). Nothing was sent.");
      }
      if (byAccount.put(account, prefixed ? v.substring(v.indexOf('=') + 1) : v) != null) {
        throw new Refusal(option + " is given twice for " + (account == null ? "every account" : "account " + account)
            + ". Nothing was sent.");
      }
    }
    return byAccount;
  }

  private static boolean prefixed(String value) {
    int eq = value.indexOf('='), scheme = value.indexOf("://");
    return eq > 0 && (scheme < 0 || eq < scheme) && !Files.exists(Path.of(value));
  }

  /** The one login --from-backup restores with: a backup folder holds one account's streams. */
  Login plain() throws Refusal {
    if (java.util.stream.Stream.of(urls, creds, nkeys).flatMap(List::stream).anyMatch(TargetOptions::prefixed)) {
      throw new Refusal("--from-backup restores with one login: give --to URL, --creds FILE or --nkey FILE without ACCOUNT=. "
          + "Nothing was sent.");
    }
    return logins(List.of("")).get("");
  }

  /** The connection to the new cluster as this login; a Refusal says why there is none. */
  io.nats.client.Connection connect(Login login) throws Refusal {
    return NatsLogin.connect(login.url(), null, null, login.creds(), login.nkey(), tlsCert, tlsKey, tlsCa);
  }
}

@Command(name = "restore", mixinStandardHelpOptions = true,
    description = {"Carries every stream of a prepared store, with its consumers, into a new cluster with the JetStream "
        + "API's own snapshot and restore, each with its original replica count, and checks each arrived whole: its "
        + "messages, first and last sequence, deleted count, and every consumer's position equal the source's.",
        "Every account goes, $G included, each read as its recovery user and written as the target user its login "
            + "names (--to, --creds or --nkey ACCOUNT=...; the plain ones serve an account without): one login reaches one "
            + "account, so two accounts that would log in as the same user are refused before anything is sent.",
        "Starts the recovery server itself on the store's recovery.conf (recovery-global.conf for $G beside named "
            + "accounts, one after the other), as verify does, with the same refusals first, and stops it at the end; or "
            + "uses the one --from names.",
        "A stream already in the target is skipped when it holds the same, refused when it differs (--replace deletes "
            + "the target's copy first). One stream failing does not stop the others. Exit 0 only when every stream "
            + "arrived whole; a rerun skips what already did."})
final class RestoreCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", arity = "0..1", paramLabel = "<store-dir>",
      description = "the prepared store (names the streams and their original replica counts; recovery.conf its users)")
  Path storeDir;

  @CommandLine.Mixin SourceOptions source;
  @CommandLine.Mixin KeyOptions key;
  @CommandLine.Mixin ServerOptions server;

  @Option(names = "--from-backup", paramLabel = "DIR", description = "restore from a folder js-recover backup (or the "
      + "nats CLI) wrote, instead of from the recovery server")
  Path fromBackup;

  @CommandLine.Mixin TargetOptions target;

  @Option(names = "--replicas", paramLabel = "N", description = "restore every stream with N replicas instead of its original count")
  Integer replicas;

  @Option(names = "--cluster", paramLabel = "C", description = "place the streams in cluster C (default: no placement)")
  String cluster;

  @Option(names = "--tag", paramLabel = "T", description = "place the streams on servers tagged T (repeatable)")
  List<String> tags = new ArrayList<>();

  @Option(names = "--replace", description = "delete a stream the target already has, when it differs, and restore ours")
  boolean replace;

  @Option(names = "--json", description = "print one JSON document of the outcomes instead of the table")
  boolean json;

  @Override public Integer call() throws Exception {
    if ((storeDir == null) == (fromBackup == null)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "give a prepared <store-dir> or --from-backup DIR");
    }
    if (replicas != null && (replicas < 1 || replicas > 5)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--replicas must be 1 to 5");
    }
    PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
    boolean terminal = StepProgress.stderrIsTerminal(); // progress goes to stderr: stdout may be a file or a pipe
    List<TransferOutcome> outcomes;
    if (fromBackup != null) {
      outcomes = fromBackup(BackupFolder.list(fromBackup), err, terminal);
    } else {
      Map<String, TargetOptions.Login> logins = new HashMap<>();
      outcomes = source.run("restore", storeDir, key.keys(), server, err, store -> logins.putAll(target.logins(store.accounts())),
          (store, url, accounts) -> restore(store, url, accounts, logins, err, terminal));
    }
    return report(outcomes, out, json) ? 0 : 1;
  }

  /**
   * Every stream of these accounts from the recovery server at url into the target, each account as its recovery user
   * into the target account its login reaches, then each stream checked. An account that cannot log in at either end
   * fails its streams; the others go on.
   */
  private List<TransferOutcome> restore(StoreSource store, String url, List<String> accounts, Map<String, TargetOptions.Login> logins,
      PrintWriter err, boolean terminal) throws Exception {
    List<TransferOutcome> outcomes = new ArrayList<>();
    for (String acc : accounts) {
      List<RecoveryPlan.OriginalReplicas> streams = store.streams(acc);
      io.nats.client.Connection to, from;
      try {
        to = target.connect(logins.get(acc));
      } catch (Refusal r) {
        failEach(streams, r.getMessage(), outcomes);
        continue;
      }
      try (io.nats.client.Connection target = to) {
        try {
          from = store.connect(url, acc);
        } catch (Refusal r) {
          failEach(streams, "source: " + r.getMessage(), outcomes);
          continue;
        }
        Delivery delivery = new Delivery(target, replace, err, terminal);
        List<TransferOutcome> delivered = new ArrayList<>();
        try (from) {
          for (var s : streams) delivered.add(restore(delivery, from, s));
        }
        outcomes.addAll(delivery.checked(delivered));
      }
    }
    return outcomes;
  }

  /**
   * Every stream folder into the target: with one login for a backup of one account, with a login per account for a
   * backup of several (its account folders), each account going on when another cannot log in.
   */
  private List<TransferOutcome> fromBackup(Map<String, List<Path>> byAccount, PrintWriter err, boolean terminal) throws Refusal {
    Map<String, TargetOptions.Login> logins = byAccount.size() == 1 ? Map.of(byAccount.keySet().iterator().next(), target.plain())
        : target.logins(new ArrayList<>(byAccount.keySet()));
    List<TransferOutcome> outcomes = new ArrayList<>();
    for (var account : byAccount.entrySet()) {
      try (io.nats.client.Connection to = target.connect(logins.get(account.getKey()))) {
        Delivery delivery = new Delivery(to, replace, err, terminal);
        outcomes.addAll(delivery.checked(BackupFolder.restore(account.getValue(), delivery, replicas, cluster, tags)));
      } catch (Refusal r) {
        if (byAccount.size() == 1) throw r;
        for (Path f : account.getValue()) {
          outcomes.add(new TransferOutcome(account.getKey(), f.getFileName().toString(), null, TransferOutcome.Result.FAILED, 0, 0, r.getMessage()));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Refusal("interrupted");
      }
    }
    return outcomes;
  }

  /** Every stream of an account that could not log in, failed with why. */
  private void failEach(List<RecoveryPlan.OriginalReplicas> streams, String why, List<TransferOutcome> outcomes) {
    for (var s : streams) outcomes.add(new TransferOutcome(s.account(), s.stream(), n(s), TransferOutcome.Result.FAILED, 0, 0, why));
  }

  private Integer n(RecoveryPlan.OriginalReplicas s) { return replicas != null ? replicas : s.replicas(); }

  private TransferOutcome restore(Delivery delivery, io.nats.client.Connection from, RecoveryPlan.OriginalReplicas s) {
    try {
      if (n(s) == null) throw new Refusal(UNKNOWN_REPLICAS + ": give --replicas N");
      Transfer.Shape want = Transfer.shape(from, s.stream());
      if (want == null) throw new Refusal("the recovery server does not serve this stream: did verify show it loaded?");
      return delivery.deliver(s.account(), s.stream(), n(s), want, from.getServerInfo().getVersion(),
          delivery.relay(from, s.stream(), n(s), cluster, tags));
    } catch (Refusal r) {
      return new TransferOutcome(s.account(), s.stream(), n(s), TransferOutcome.Result.FAILED, 0, 0,
          (n(s) == null ? "" : "source: ") + r.getMessage());
    }
  }

  /** No prepare run could read the stream's config (--force left it unreadable): its replica count is not known. */
  static final String UNKNOWN_REPLICAS = "its original replica count is unknown (no prepare run could read its config), "
      + "so it is not restored with a guess; nothing was sent";

  static boolean report(List<TransferOutcome> outcomes, PrintWriter out, boolean json) throws IOException {
    boolean done;
    if (json) {
      ObjectNode doc = Reports.transfersJson(outcomes);
      out.println(Json.MAPPER.writeValueAsString(doc));
      done = doc.path("done").asBoolean();
    } else {
      done = Reports.transfers(outcomes, out);
    }
    out.flush();
    return done;
  }
}

@Command(name = "backup", mixinStandardHelpOptions = true,
    description = {"Writes every stream of a prepared store, with its consumers, into <backup-dir>/<stream>/ as the nats "
        + "CLI's stream backup does (backup.json with the original replica count, stream.tar.s2 as the server sent it), "
        + "plus js-recover.json with the consumers' positions, for js-recover restore --from-backup or nats stream restore. "
        + "With several accounts, each account's streams go into <backup-dir>/<account>/.",
        "Starts and stops the recovery server as restore does, or uses the one --from names. A stream folder already "
            + "complete is kept; exit 0 only when every stream was written."})
final class BackupCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "<store-dir>", description = "the prepared store")
  Path storeDir;

  @Parameters(index = "1", paramLabel = "<backup-dir>", description = "where the stream folders go (created if missing)")
  Path backupDir;

  @CommandLine.Mixin SourceOptions source;
  @CommandLine.Mixin KeyOptions key;
  @CommandLine.Mixin ServerOptions server;

  @Option(names = "--json", description = "print one JSON document of the outcomes instead of the table")
  boolean json;

  @Override public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
    List<TransferOutcome> outcomes = source.run("backup", storeDir, key.keys(), server, err, store -> {}, (store, url, accounts) -> {
      List<TransferOutcome> written = new ArrayList<>();
      for (String acc : accounts) {
        // Stream names repeat across accounts: with several, each account's stream folders go into a folder of its own.
        Path dir = store.accounts().size() > 1 ? BackupFolder.of(backupDir, acc) : backupDir;
        io.nats.client.Connection from;
        try {
          from = store.connect(url, acc);
        } catch (Refusal r) {
          for (var s : store.streams(acc)) written.add(new TransferOutcome(acc, s.stream(), s.replicas(), TransferOutcome.Result.FAILED, 0, 0, r.getMessage()));
          continue;
        }
        try (from) {
          for (var s : store.streams(acc)) written.add(BackupFolder.write(from, s, dir, err, StepProgress.stderrIsTerminal()));
        }
      }
      return written;
    });
    return RestoreCommand.report(outcomes, out, json) ? 0 : 1;
  }
}

@Command(name = "version", mixinStandardHelpOptions = true, description = "Prints the version.")
final class VersionCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override public Integer call() {
    spec.commandLine().getOut().println(JsRecover.VERSION);
    return 0;
  }
}
