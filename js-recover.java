///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//DEPS net.openhft:zero-allocation-hashing:2026.0
//DEPS io.nats:jnats:2.26.2

/*
 * js-recover: bring a NATS JetStream store back after its cluster lost Raft quorum.
 *
 * When two of three nodes are gone, the survivor still holds every replicated stream on disk,
 * but no leader can be elected, so nothing can reach it. The way out:
 *
 *   1. Stop the survivor (or take the disk of a dead node). Never work on a store that a
 *      nats-server is still writing: js-recover refuses one that changes while it reads it.
 *   2. Copy its store_dir and work on the copy only:   cp -a /var/lib/nats /recovery/store
 *   3. js-recover inspect /recovery/store              read-only: what is there, what is broken
 *   4. js-recover prepare --dry-run /recovery/store    the exact plan, nothing written
 *   5. js-recover prepare /recovery/store
 *        streams: num_replicas -> 1, placement removed; consumers: num_replicas > 1 -> 0
 *        (inherit the stream's); meta.sum recomputed (meta.inf resealed when encrypted);
 *        <account>/_js_ Raft state moved, with the original bytes of every rewritten file and
 *        a manifest, into <store>/js-recover-backup/<run>/. Nothing is deleted. Writes
 *        <store>/recovery.conf, a loopback-only standalone server config for this store.
 *   6. js-recover verify --keep-running /recovery/store
 *        starts nats-server on recovery.conf and proves every stream and consumer loaded
 *   7. js-recover restore --from nats://127.0.0.1:<port> --to <new cluster> /recovery/store
 *        every stream with its consumers and original replica count, checked at both ends
 *      (or js-recover backup to files first; or the nats CLI, as prepare prints it).
 *
 * Sections, in the order data flows:
 *   1. Model of a store     accounts, streams, consumers, their meta files, Raft folders
 *   2. Walker               reads a store from disk into the model and finds every problem
 *   3. Checksum             HighwayHash-64, what meta.sum holds
 *   4. Crypto               opening and resealing encrypted meta.inf
 *   5. Rewriter             the byte-exact edit of one meta.inf
 *   6. Prepare              the plan, the backup, atomic replacement, the manifest,
 *                           recovery.conf, and the load check behind verify
 *   7. Transfer             snapshot and restore over the JetStream API, server to server or to a
 *                           backup folder, each stream checked at both ends
 *   8. Reports              inspect table and JSON, next steps, transfer outcomes
 *   9. Commands             picocli: inspect, prepare, verify, restore, backup, version, help
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
  final Path dir;

  byte[] metaInf;            // as stored: sealed when metaKey is present
  String metaSum;            // as stored
  byte[] metaKey;            // null when the asset is not encrypted
  String computedSum;        // what meta.sum should hold for metaInf
  boolean sumFromInterruptedRun; // meta.inf is what an interrupted prepare wrote; its meta.sum is still old
  MetaCrypto.Opened opened;  // set when a key opened a sealed meta.inf
  byte[] json;               // the plaintext config (metaInf itself when not sealed)
  JsonNode config;           // json parsed; null when it could not be read, parsed or opened

  MetaAsset(AssetKind kind, String account, String stream, String consumer, Path dir) {
    this.kind = kind;
    this.account = account;
    this.stream = stream;
    this.consumer = consumer;
    this.dir = dir;
  }

  Path metaInfPath() { return dir.resolve(META_INF); }
  Path metaSumPath() { return dir.resolve(META_SUM); }
  Path metaKeyPath() { return dir.resolve(META_KEY); }

  /** The server keys meta.sum's HighwayHash with sha256 of this name. */
  String checksumKey() { return kind == AssetKind.STREAM ? stream : stream + "/" + consumer; }

  /** The server derives the meta.key encryption key from this context (a dot, not a slash). */
  String cryptoContext() { return kind == AssetKind.STREAM ? stream : stream + "." + consumer; }

  boolean sealed() { return metaKey != null; }
  boolean sumOk() { return metaSum != null && metaSum.equals(computedSum); }

  /** Right, or the one an interrupted prepare had yet to write: not a problem either way. */
  boolean sumAccountedFor() { return sumOk() || sumFromInterruptedRun; }

  /** num_replicas as stored, or null when unknown (unreadable, sealed without a key, absent). */
  Integer replicas() {
    JsonNode n = config == null ? null : config.get("num_replicas");
    return n != null && n.canConvertToInt() && n.isIntegralNumber() ? n.intValue() : null;
  }

  String text(String field) {
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
  final TreeSet<String> accounts = new TreeSet<>();
  /** Size and mtime of every file whose change would mean a server is still writing. */
  final Map<Path, FileStamp> stamps = new ConcurrentHashMap<>();
  /** The manifests of earlier prepare runs on this store, oldest first. */
  final List<JsonNode> earlierRuns = new ArrayList<>();

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

  /** Gives {@code p} this mode, owner and group, changing only what differs (chown needs root). */
  void applyTo(Path p) throws IOException {
    FileOwnership now = of(p);
    if (now.mode != mode) Files.setPosixFilePermissions(p, permissions());
    if (now.uid != uid) Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    if (now.gid != gid) Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
  }
}

record FileStamp(long size, FileTime modified) {
  static FileStamp of(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return new FileStamp(a.size(), a.lastModifiedTime());
  }
}

/** A refusal or failure the operator must act on: printed as is, exit code 1. */
final class Refusal extends Exception {
  private static final long serialVersionUID = 1L;

  Refusal(String message) { super(message); }
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

  private StoreWalker(KeyRing keys, Map<String, String> interruptedSums) {
    this.keys = keys;
    this.interruptedSums = interruptedSums;
  }

  /** Reads the store at {@code given}: a nats-server store_dir or its jetstream/ folder. */
  static Store walk(Path given, KeyRing keys) throws Refusal, IOException {
    Store store = locate(given);
    store.earlierRuns.addAll(Backups.manifests(store));
    new StoreWalker(keys, Backups.interruptedSums(store.earlierRuns)).read(store);
    return store;
  }

  private static Store locate(Path given) throws Refusal, IOException {
    Path dir = given.toAbsolutePath().normalize();
    if (!Files.exists(dir)) {
      throw new Refusal("store dir " + dir + " does not exist. Pass the copied nats-server store_dir "
          + "(the folder holding jetstream/) or its jetstream/ folder.");
    }
    if (!Files.isDirectory(dir)) {
      throw new Refusal(dir + " is a file, not a store dir. Pass the copied nats-server store_dir "
          + "(the folder holding jetstream/) or its jetstream/ folder.");
    }
    if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
      throw new Refusal("permission denied reading " + dir + ". Run js-recover as a user who can read the "
          + "store (the nats user, or root).");
    }
    dir = dir.toRealPath(); // the store dir itself may be reached through a link; nothing inside may
    Path inner = dir.resolve(JETSTREAM);
    if (Files.isSymbolicLink(inner)) {
      throw new Refusal(inner + " is a symbolic link. js-recover does not follow links out of the store: "
          + "copy the real folder in its place (cp -a) and run again.");
    }
    if (Files.isDirectory(inner)) return new Store(dir, inner);
    if (dir.getFileName() != null && dir.getFileName().toString().equals(JETSTREAM)) {
      return new Store(dir.getParent(), dir);
    }
    throw new Refusal(dir + " is not a JetStream store: it has no jetstream/ folder. Pass the nats-server "
        + "store_dir (the folder holding jetstream/) or the jetstream/ folder itself.");
  }

  private record StreamDir(String account, Path dir) {}

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
                streamDirs.add(new StreamDir(account, streamDir));
                store.accounts.add(account); // accounts that hold streams: the ones a server must serve
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
    List<StoredStream> streams = Collections.synchronizedList(new ArrayList<>());
    parallel(streamDirs, sd -> streams.add(readStream(store, sd)));
    store.streams.addAll(streams);
    store.sort();
  }

  private StoredStream readStream(Store store, StreamDir sd) {
    String stream = name(sd.dir());
    MetaAsset meta = readAsset(store, new MetaAsset(AssetKind.STREAM, sd.account(), stream, null, sd.dir()));
    List<MetaAsset> consumers = new ArrayList<>();
    for (Path entry : list(store, sd.dir())) {
      String n = name(entry);
      if (n.endsWith(TEMP_SUFFIX)) {
        store.leftoverTemps.add(entry);
      } else if (n.equals(CONSUMERS) && isRealDir(store, entry)) {
        for (Path consumerDir : list(store, entry)) {
          if (isRealDir(store, consumerDir)) {
            consumers.add(readAsset(store,
                new MetaAsset(AssetKind.CONSUMER, sd.account(), stream, name(consumerDir), consumerDir)));
          }
        }
      } else if (n.equals(MSGS) && isRealDir(store, entry)) {
        stampLastBlock(store, entry);
      }
    }
    for (MetaAsset c : consumers) {
      list(store, c.dir).stream().filter(e -> name(e).endsWith(TEMP_SUFFIX)).forEach(store.leftoverTemps::add);
    }
    advise(store, meta);
    return new StoredStream(meta, consumers);
  }

  /** What a stream's config means for this recovery: said once, where the operator reads it. */
  private static void advise(Store store, MetaAsset meta) {
    JsonNode cfg = meta.config;
    if (cfg == null) return;
    String retention = meta.text("retention");
    if ("interest".equals(retention)) {
      store.warnings.add(new Warning(meta.dir, "interest retention: at start the server removes messages no loaded "
          + "consumer is interested in, so every consumer must load (prepare makes them loadable); check consumers "
          + "before the backup"));
    } else if ("workqueue".equals(retention)) {
      store.warnings.add(new Warning(meta.dir, "work-queue retention: acknowledged messages are gone by design; "
          + "what was not yet acknowledged is recovered"));
    }
    if (cfg.path("sealed").asBoolean(false)) {
      store.warnings.add(new Warning(meta.dir, "sealed stream: it loads read-only and is restored sealed"));
    }
    List<JsonNode> origins = new ArrayList<>();
    if (cfg.hasNonNull("mirror")) origins.add(cfg.get("mirror"));
    cfg.path("sources").forEach(origins::add);
    for (JsonNode origin : origins) {
      // Another domain or account is reached through an external API prefix ($JS.<domain>.API).
      String kind = origin == cfg.get("mirror") ? "mirror of " : "source ";
      if (origin.hasNonNull("external")) {
        store.warnings.add(new Warning(meta.dir, kind + origin.path("name").asText() + " through external API "
            + origin.get("external").path("api").asText() + ": the standalone server cannot reach it; what was "
            + "already copied is served, and the new cluster must be given a reachable origin"));
      }
    }
  }

  /** The newest message block grows while a server writes: its stamp tells a live store. */
  private void stampLastBlock(Store store, Path msgs) {
    Path last = null;
    long lastIndex = -1;
    for (Path blk : list(store, msgs)) {
      String n = name(blk);
      if (!n.endsWith(".blk")) continue;
      try {
        long index = Long.parseLong(n.substring(0, n.length() - 4));
        if (index > lastIndex) {
          lastIndex = index;
          last = blk;
        }
      } catch (NumberFormatException ignored) {
        // not a message block the server wrote
      }
    }
    if (last != null) stamp(store, last);
  }

  private MetaAsset readAsset(Store store, MetaAsset a) {
    String what = a.kind == AssetKind.STREAM ? "stream" : "consumer";
    String lost = a.kind == AssetKind.STREAM
        ? "the standalone server will not load this stream"
        : "the standalone server will not load this consumer (its position is lost; for an interest or "
            + "work-queue stream, messages only it kept may be removed)";
    String fromSurvivor = "copy this " + what + "'s folder again from the survivor's disk, or restore it from a backup";

    a.metaInf = readFile(store, a.metaInfPath(), lost);
    byte[] sum = readFile(store, a.metaSumPath(), "meta.sum is rewritten from meta.inf as found");
    a.metaKey = readFile(store, a.metaKeyPath(), lost);
    if (a.metaInf == null) {
      if (!Files.exists(a.metaInfPath(), LinkOption.NOFOLLOW_LINKS)) {
        store.problems.add(new Problem(a.metaInfPath(), what + " " + a.label() + " has no meta.inf",
            fromSurvivor, "left as is: " + lost));
      }
      return a;
    }
    a.computedSum = HighwayHash64.metaSum(a.checksumKey(), a.metaInf);
    if (sum == null) {
      if (!Files.exists(a.metaSumPath(), LinkOption.NOFOLLOW_LINKS)) {
        store.problems.add(new Problem(a.metaSumPath(), what + " " + a.label() + " has no meta.sum",
            fromSurvivor + "; if meta.inf reads right (js-recover inspect), --force writes meta.sum from it",
            "meta.sum written from meta.inf as found"));
      }
    } else {
      a.metaSum = new String(sum, StandardCharsets.ISO_8859_1);
      if (!a.sumOk()) {
        if (a.computedSum.equals(interruptedSums.get(store.rel(a.metaInfPath())))) {
          a.sumFromInterruptedRun = true; // our own half-done rewrite: prepare completes it
        } else {
          store.problems.add(new Problem(a.metaSumPath(), "meta.sum of " + what + " " + a.label()
              + " does not match meta.inf (stored " + printable(a.metaSum) + ", computed " + a.computedSum
              + "): meta.inf changed or was torn after the server wrote it",
              fromSurvivor + "; if meta.inf reads right (js-recover inspect), --force recomputes meta.sum",
              "meta.sum recomputed over meta.inf as found (the original is kept in the backup)"));
        }
      }
    }
    if (a.sealed()) {
      if (keys == null) {
        store.problems.add(new Problem(a.metaInfPath(), what + " " + a.label()
            + " is encrypted (meta.key present): its config cannot be read or rewritten without the JetStream key",
            "pass the cluster's JetStream key with --key-file FILE (or --key, or JS_RECOVER_KEY)",
            "left as is: " + (a.kind == AssetKind.STREAM ? "a replicated stream will not load standalone" : lost)));
        return a;
      }
      try {
        a.opened = MetaCrypto.openMeta(keys.key(), a.account, a.cryptoContext(), a.metaKey, a.metaInf, keys.forcedCipher());
        if (keys.forcedCipher() != null && a.opened.cipher() != keys.forcedCipher()) {
          throw new java.security.GeneralSecurityException("it opens only with " + a.opened.cipher().name().toLowerCase()
              + ", not with the forced cipher " + keys.forcedCipher().name().toLowerCase());
        }
        a.json = a.opened.plaintext();
      } catch (java.security.GeneralSecurityException e) {
        a.opened = null;
        store.problems.add(new Problem(a.metaInfPath(), "the key does not open " + what + " " + a.label()
            + " (" + e.getMessage() + ")",
            "check that the key is the one the cluster ran with (jetstream { key } in its config); "
                + "every encrypted asset must open before prepare changes anything",
            "left as is: " + lost));
        return a;
      }
    } else {
      a.json = a.metaInf;
    }
    try {
      JsonNode parsed = Json.MAPPER.readTree(a.json);
      if (parsed == null || !parsed.isObject()) throw new IOException("not a JSON object");
      a.config = parsed;
    } catch (IOException e) {
      a.json = null;
      store.problems.add(new Problem(a.metaInfPath(), "meta.inf of " + what + " " + a.label()
          + " is torn or not JSON (" + firstLine(e.getMessage()) + ")", fromSurvivor, "left as is: " + lost));
    }
    return a;
  }

  /** The file's bytes, or null when absent or unreadable (the latter recorded as a problem). */
  private byte[] readFile(Store store, Path file, String ifForced) {
    try {
      BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (attrs.isSymbolicLink()) {
        store.problems.add(symlink(file, ifForced));
        return null;
      }
      byte[] bytes = Files.readAllBytes(file);
      store.stamps.put(file, new FileStamp(attrs.size(), attrs.lastModifiedTime()));
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

  private void stamp(Store store, Path p) {
    try {
      store.stamps.put(p, FileStamp.of(p));
    } catch (IOException vanished) {
      // removed between listing and stat (a live server compacting): left out of the settle check
    }
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
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(entries::add);
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
    StoreWalker.parallel(new ArrayList<>(store.stamps.entrySet()), e -> {
      try {
        if (!FileStamp.of(e.getKey()).equals(e.getValue())) changed.add(e.getKey());
      } catch (IOException gone) {
        changed.add(e.getKey());
      }
    });
    Collections.sort(changed);
    return changed;
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
    byte[] key;
    try {
      key = java.security.MessageDigest.getInstance("SHA-256")
          .digest(checksumKeyName.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    long hash = new HighwayHash64(key).hashBytes(metaInf);
    return java.util.HexFormat.of().toHexDigits(Long.reverseBytes(hash));
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
   * unquoted "my key" or "1234" is refused, "a,b" silently becomes another key).
   */
  static final String EXPORT_LINE = "export " + ENV + "=\"\\\"$(sed 's/[\\\\\"]/\\\\&/g' /path/to/key-file)\\\"\"";

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
    byte[] kek = prf(jsKey, account, context);
    Cipher first = preferredOrNull == null ? Cipher.CHACHA : preferredOrNull;
    for (Cipher c : new Cipher[] {first, first.other()}) {
      byte[] seed;
      try {
        seed = open(c, kek, metaKey);
      } catch (javax.crypto.AEADBadTagException wrongCipherOrKey) {
        continue;
      }
      try {
        return new Opened(c, seed, open(c, seed, metaInf));
      } catch (javax.crypto.AEADBadTagException e) {
        // meta.key authenticated, so key, account, context and cipher are right: meta.inf is not.
        throw new java.security.GeneralSecurityException("meta.key of '" + context + "' opens with "
            + c.name().toLowerCase(java.util.Locale.ROOT) + " but meta.inf does not: meta.inf is damaged"
            + " or belongs to another meta.key", e);
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

  /** HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): 20 ChaCha rounds, no feed-forward, words 0-3 and 12-15. */
  static byte[] hChaCha20(byte[] key32, byte[] nonce16) {
    java.nio.ByteBuffer k = java.nio.ByteBuffer.wrap(key32).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    java.nio.ByteBuffer n = java.nio.ByteBuffer.wrap(nonce16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int[] x = new int[16];
    x[0] = 0x61707865;
    x[1] = 0x3320646e;
    x[2] = 0x79622d32;
    x[3] = 0x6b206574;
    for (int i = 0; i < 8; i++) x[4 + i] = k.getInt(4 * i);
    for (int i = 0; i < 4; i++) x[12 + i] = n.getInt(4 * i);
    for (int round = 0; round < 10; round++) {
      quarterRound(x, 0, 4, 8, 12);
      quarterRound(x, 1, 5, 9, 13);
      quarterRound(x, 2, 6, 10, 14);
      quarterRound(x, 3, 7, 11, 15);
      quarterRound(x, 0, 5, 10, 15);
      quarterRound(x, 1, 6, 11, 12);
      quarterRound(x, 2, 7, 8, 13);
      quarterRound(x, 3, 4, 9, 14);
    }
    java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(KEY_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int i : new int[] {0, 1, 2, 3, 12, 13, 14, 15}) out.putInt(x[i]);
    return out.array();
  }

  private static void quarterRound(int[] x, int a, int b, int c, int d) {
    x[a] += x[b]; x[d] = Integer.rotateLeft(x[d] ^ x[a], 16);
    x[c] += x[d]; x[b] = Integer.rotateLeft(x[b] ^ x[c], 12);
    x[a] += x[b]; x[d] = Integer.rotateLeft(x[d] ^ x[a], 8);
    x[c] += x[d]; x[b] = Integer.rotateLeft(x[b] ^ x[c], 7);
  }
}

// =================================================================================================
// 5. Rewriter
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
  static Edit forStandalone(MetaAsset asset) {
    byte[] json = asset.json;
    List<FieldChange> changes = new ArrayList<>();
    List<Member> members = members(json);
    List<Cut> cuts = new ArrayList<>();
    for (Member m : members) {
      if (m.name().equals("num_replicas")) {
        String value = m.value(json);
        if (isInteger(value) && new BigInteger(value).compareTo(ONE) > 0) {
          String to = asset.kind == AssetKind.STREAM ? "1" : "0"; // a consumer at 0 inherits its stream's 1
          cuts.add(new Cut(m.valueStart(), m.valueEnd(), to.getBytes(StandardCharsets.US_ASCII)));
          changes.add(new FieldChange("num_replicas", Json.NODES.numberNode(new BigInteger(value)),
              Json.NODES.numberNode(Integer.parseInt(to))));
        }
      } else if (asset.kind == AssetKind.STREAM && m.name().equals("placement") && !m.value(json).equals("null")) {
        cuts.add(memberWithComma(members, m));
        changes.add(new FieldChange("placement", asset.config.get("placement"), null));
      }
    }
    return new Edit(changes.isEmpty() ? json : splice(json, cuts), changes);
  }

  /** Bytes [start, end) of the JSON give way to {@code with}. */
  private record Cut(int start, int end, byte[] with) {}

  private static boolean isInteger(String v) { return v.matches("-?[0-9]+"); }

  /** The member's span plus one neighbouring comma, so the object stays valid JSON. */
  private static Cut memberWithComma(List<Member> members, Member m) {
    int i = members.indexOf(m);
    byte[] nothing = new byte[0];
    if (i > 0) return new Cut(members.get(i - 1).valueEnd(), m.valueEnd(), nothing); // ",<ws>"name":v"
    if (members.size() > 1) return new Cut(m.start(), members.get(1).start(), nothing); // ""name":v,<ws>"
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
// 6. Prepare: the plan, the backup, atomic replacement, the manifest, recovery.conf, verify
//
// Order of work, so that a kill at any moment loses nothing and a rerun completes the job:
//   manifest (the whole plan, with every new meta.sum) -> copies of the originals -> Raft
//   folders moved -> each meta.inf replaced, then its meta.sum -> manifest marked complete.
// A rerun recognises a meta.inf whose meta.sum an interrupted run had not yet written (its sum
// is in that run's manifest) and finishes it; everything else it finds already done.
// =================================================================================================

/** One meta.inf/meta.sum pair to write. newMetaInf is null when only meta.sum is written. */
record AssetChange(MetaAsset asset, List<MetaRewriter.FieldChange> fields, byte[] newMetaInf, String newSum,
    String why) {
  String describe() {
    List<String> parts = fields.stream().map(MetaRewriter.FieldChange::describe).collect(Collectors.toList());
    if (why != null) parts.add(why);
    return String.join(", ", parts);
  }
}

final class RecoveryPlan {
  /** A stream and the replica count it had before any prepare: what the new cluster restores it with. */
  record OriginalReplicas(String account, String stream, int replicas) {}

  final Store store;
  final List<AssetChange> changes = new ArrayList<>();
  final List<OriginalReplicas> originalReplicas = new ArrayList<>();

  RecoveryPlan(Store store) {
    this.store = store;
    Map<String, Integer> earlier = Backups.originalReplicas(store.earlierRuns);
    for (MetaAsset a : store.assets()) {
      if (a.config == null) continue; // unreadable: a problem prepare refused or --force leaves as is
      MetaRewriter.Edit edit = MetaRewriter.forStandalone(a);
      if (!edit.changes().isEmpty()) {
        byte[] stored = a.sealed() ? MetaCrypto.resealMeta(a.opened, edit.json()) : edit.json();
        changes.add(new AssetChange(a, edit.changes(), stored, HighwayHash64.metaSum(a.checksumKey(), stored),
            a.sumAccountedFor() ? null : "meta.sum was wrong"));
      } else if (!a.sumOk()) {
        changes.add(new AssetChange(a, List.of(), null, a.computedSum, a.sumFromInterruptedRun
            ? "meta.sum written (an interrupted prepare had not yet written it)"
            : a.metaSum == null ? "meta.sum was missing, written from meta.inf" : "meta.sum was wrong, recomputed"));
      }
    }
    for (StoredStream s : store.streams) {
      MetaAsset m = s.meta();
      Integer now = m.replicas();
      originalReplicas.add(new OriginalReplicas(m.account, m.stream,
          earlier.getOrDefault(m.label(), now == null || now < 1 ? 1 : now)));
    }
  }

  boolean nothingToDo() {
    return changes.isEmpty() && store.raftDirs.isEmpty() && store.leftoverTemps.isEmpty();
  }

  long streamsChanged() { return changes.stream().filter(c -> c.asset().kind == AssetKind.STREAM).count(); }
  long consumersChanged() { return changes.stream().filter(c -> c.asset().kind == AssetKind.CONSUMER).count(); }

  /** Why prepare could not write, found before anything is written. */
  List<String> writeBlockers() {
    List<String> blockers = new ArrayList<>();
    boolean root = "root".equals(System.getProperty("user.name"));
    if (!Files.isWritable(store.storeDir)) {
      blockers.add(store.storeDir + ": not writable (the backup folder goes here)");
    }
    TreeSet<Path> dirs = new TreeSet<>();
    changes.forEach(c -> dirs.add(c.asset().dir));
    store.raftDirs.forEach(r -> dirs.add(r.getParent()));
    store.leftoverTemps.forEach(t -> dirs.add(t.getParent()));
    for (Path d : dirs) if (!Files.isWritable(d)) blockers.add(d + ": not writable");
    if (!root) {
      String me = System.getProperty("user.name");
      for (AssetChange c : changes) {
        try {
          String owner = Files.getOwner(c.asset().metaInfPath(), LinkOption.NOFOLLOW_LINKS).getName();
          if (!owner.equals(me)) {
            blockers.add(c.asset().metaInfPath() + ": owned by " + owner + "; rewritten by " + me
                + " it would change owner (run as " + owner + " or root)");
          }
        } catch (IOException e) {
          blockers.add(c.asset().metaInfPath() + ": " + e.getMessage());
        }
      }
    }
    return blockers;
  }
}

/** The backup folder: <store_dir>/js-recover-backup/<run>/ with manifest.json, originals.zip, raft/. */
final class Backups {
  static final String DIR = "js-recover-backup", MANIFEST = "manifest.json", ORIGINALS = "originals.zip",
      RAFT = "raft", LEFTOVERS = "leftovers", IN_PROGRESS = "in-progress", COMPLETE = "complete";

  static Path root(Store store) { return store.storeDir.resolve(DIR); }

  /** The manifests of earlier runs, oldest first; a damaged one is a refusal, never skipped. */
  static List<JsonNode> manifests(Store store) throws Refusal {
    Path root = root(store);
    List<JsonNode> manifests = new ArrayList<>();
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) return manifests;
    try (DirectoryStream<Path> runs = Files.newDirectoryStream(root)) {
      List<Path> sorted = new ArrayList<>();
      runs.forEach(sorted::add);
      sorted.sort(null); // run folders are named by their start time
      for (Path run : sorted) {
        Path manifest = run.resolve(MANIFEST);
        if (Files.isRegularFile(manifest, LinkOption.NOFOLLOW_LINKS)) manifests.add(Json.MAPPER.readTree(manifest.toFile()));
      }
    } catch (IOException e) {
      throw new Refusal("cannot read the manifests in " + root + ": " + e.getMessage()
          + ". Move that folder aside (do not delete it: it holds the originals) and run again.");
    }
    return manifests;
  }

  /** meta.inf path -> the meta.sum an interrupted run planned for it. */
  static Map<String, String> interruptedSums(List<JsonNode> runs) {
    Map<String, String> sums = new HashMap<>();
    for (JsonNode m : runs) {
      if (COMPLETE.equals(m.path("status").asText())) continue;
      for (JsonNode c : m.path("changes")) sums.put(c.path("meta_inf").asText(), c.path("meta_sum").path("to").asText());
    }
    return sums;
  }

  /** Stream label -> replicas it had before the first prepare, from the oldest manifest naming it. */
  static Map<String, Integer> originalReplicas(List<JsonNode> runs) {
    Map<String, Integer> replicas = new HashMap<>();
    for (JsonNode m : runs) {
      for (JsonNode s : m.path("streams")) {
        replicas.putIfAbsent(s.path("account").asText() + " > " + s.path("stream").asText(), s.path("replicas").asInt(1));
      }
    }
    return replicas;
  }

  static Path newRun(Store store) throws IOException, Refusal {
    if (Files.isSymbolicLink(root(store))) {
      throw new Refusal(root(store) + " is a symbolic link; js-recover keeps its backup inside the store only. Replace it "
          + "with a folder (move the link aside) and run again; nothing was changed.");
    }
    String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now());
    for (int n = 1; ; n++) {
      Path run = root(store).resolve(n == 1 ? stamp : stamp + "-" + n);
      try {
        Files.createDirectories(root(store));
        return Files.createDirectory(run);
      } catch (FileAlreadyExistsException taken) {
        // a run started in the same second: take the next name
      }
    }
  }
}

final class PrepareRun {
  private final RecoveryPlan plan;
  private final Store store;
  private final Path run;
  private final ObjectNode manifest;

  private PrepareRun(RecoveryPlan plan, Path run) {
    this.plan = plan;
    this.store = plan.store;
    this.run = run;
    this.manifest = manifest();
  }

  /** Carries the plan out; returns the run folder holding the manifest and the originals. */
  static Path apply(RecoveryPlan plan) throws IOException, Refusal {
    PrepareRun r = new PrepareRun(plan, Backups.newRun(plan.store));
    r.carryOut();
    return r.run;
  }

  private void carryOut() throws IOException, Refusal {
    writeManifest();
    keepOriginals();
    for (Path temp : store.leftoverTemps) moveAside(temp, run.resolve(Backups.LEFTOVERS));
    for (Path raftDir : store.raftDirs) moveAside(raftDir, run.resolve(Backups.RAFT));

    List<IOException> failures = Collections.synchronizedList(new ArrayList<>());
    List<Path> changedMeanwhile = Collections.synchronizedList(new ArrayList<>());
    StoreWalker.parallel(plan.changes, c -> {
      try {
        if (!java.util.Arrays.equals(Files.readAllBytes(c.asset().metaInfPath()), c.asset().metaInf)) {
          changedMeanwhile.add(c.asset().metaInfPath()); // never overwrite what we did not read
          return;
        }
        if (c.newMetaInf() != null) replaceAtomically(c.asset().metaInfPath(), c.newMetaInf());
        replaceAtomically(c.asset().metaSumPath(), c.newSum().getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        failures.add(e);
      }
    });
    throwFirst(failures, "rewriting meta files (rerun prepare to complete the job; originals are in " + run + ")");
    if (!changedMeanwhile.isEmpty()) {
      Collections.sort(changedMeanwhile);
      throw new Refusal("these files changed while prepare ran, so they were left as they are:\n  "
          + changedMeanwhile.stream().map(Path::toString).collect(Collectors.joining("\n  "))
          + "\nA nats-server is still writing this store. Stop it (or copy the store from a stopped server) and "
          + "run prepare again; what was done so far is recorded in " + run.resolve(Backups.MANIFEST));
    }
    manifest.put("status", Backups.COMPLETE);
    manifest.put("finished", Instant.now().toString());
    writeManifest();
  }

  private ObjectNode manifest() {
    ObjectNode m = Json.NODES.objectNode();
    m.put("tool", JsRecover.VERSION);
    m.put("status", Backups.IN_PROGRESS);
    m.put("started", Instant.now().toString());
    m.putNull("finished");
    m.put("store_dir", store.storeDir.toString());
    ArrayNode changes = m.putArray("changes");
    for (AssetChange c : plan.changes) {
      MetaAsset a = c.asset();
      ObjectNode o = changes.addObject();
      o.put("asset", a.kind == AssetKind.STREAM ? "stream" : "consumer");
      o.put("account", a.account);
      o.put("stream", a.stream);
      if (a.consumer != null) o.put("consumer", a.consumer);
      o.put("meta_inf", store.rel(a.metaInfPath()));
      ArrayNode fields = o.putArray("fields");
      for (MetaRewriter.FieldChange f : c.fields()) {
        ObjectNode fo = fields.addObject();
        fo.put("field", f.field());
        fo.set("from", f.from());
        if (f.to() == null) fo.put("removed", true);
        else fo.set("to", f.to());
      }
      if (c.why() != null) o.put("note", c.why());
      ObjectNode sum = o.putObject("meta_sum");
      sum.put("from", a.metaSum);
      sum.put("to", c.newSum());
      o.put("resealed", a.sealed() && c.newMetaInf() != null);
      o.put("original", Backups.ORIGINALS + ":" + store.rel(a.metaInfPath()));
    }
    ArrayNode raft = m.putArray("raft_dirs");
    for (Path r : store.raftDirs) {
      raft.addObject().put("from", store.rel(r)).put("to", Backups.RAFT + "/" + store.rel(r));
    }
    ArrayNode temps = m.putArray("leftover_temp_files");
    for (Path t : store.leftoverTemps) {
      temps.addObject().put("from", store.rel(t)).put("to", Backups.LEFTOVERS + "/" + store.rel(t));
    }
    ArrayNode streams = m.putArray("streams");
    plan.originalReplicas.forEach(r ->
        streams.addObject().put("account", r.account()).put("stream", r.stream()).put("replicas", r.replicas()));
    return m;
  }

  private void writeManifest() throws IOException {
    writeAtomically(run.resolve(Backups.MANIFEST), Json.MAPPER.writeValueAsBytes(manifest), null);
  }

  /**
   * The bytes read by the walker of every file prepare rewrites, and every meta.key (nats-server
   * 2.9.10 deletes meta.key when it loads an encrypted stream), in one uncompressed zip named by
   * path relative to the store dir: one file instead of tens of thousands keeps prepare fast.
   */
  private void keepOriginals() throws IOException {
    java.util.Set<MetaAsset> changed = plan.changes.stream().map(AssetChange::asset).collect(Collectors.toSet());
    writeAtomically(run.resolve(Backups.ORIGINALS), null, ch -> { // a killed run leaves no torn zip
      // Not closed here: closing the stream would close the channel before writeAtomically syncs it.
      java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(java.nio.channels.Channels.newOutputStream(ch));
      out.setMethod(java.util.zip.ZipOutputStream.STORED);
      for (MetaAsset a : store.assets()) {
        if (!changed.contains(a) && !a.sealed()) continue;
        if (a.metaInf != null) addEntry(out, a.metaInfPath(), a.metaInf);
        if (a.metaSum != null) addEntry(out, a.metaSumPath(), a.metaSum.getBytes(StandardCharsets.ISO_8859_1));
        if (a.metaKey != null) addEntry(out, a.metaKeyPath(), a.metaKey);
      }
      out.finish();
    });
  }

  private void addEntry(java.util.zip.ZipOutputStream out, Path file, byte[] bytes) throws IOException {
    java.util.zip.ZipEntry e = new java.util.zip.ZipEntry(store.rel(file));
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(bytes);
    e.setSize(bytes.length);
    e.setCompressedSize(bytes.length);
    e.setCrc(crc.getValue());
    FileStamp stamp = store.stamps.get(file);
    if (stamp != null) e.setLastModifiedTime(stamp.modified());
    out.putNextEntry(e);
    out.write(bytes);
    out.closeEntry();
  }

  /** Moves a folder or file into the run folder, at its path relative to the store dir. */
  private void moveAside(Path from, Path under) throws IOException {
    Path to = under.resolve(store.rel(from));
    Files.createDirectories(to.getParent());
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException otherDisk) {
      // jetstream/ on its own mount: copy everything, and only then remove the source
      copyTree(from, to);
      deleteTree(from);
    }
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
  static void replaceAtomically(Path target, byte[] bytes) throws IOException {
    Path like = Files.exists(target, LinkOption.NOFOLLOW_LINKS) ? target : target.resolveSibling(MetaAsset.META_INF);
    writeAtomically(target, bytes, FileOwnership.of(like));
  }

  /**
   * Writes a sibling temp file created with the given mode, owner and group (a root-run prepare
   * must leave files the nats user can read; a secret must never be readable by others, not even
   * for a moment), makes it durable, and renames it over the target: readers see the old bytes or
   * the new, never a torn file. {@code like} null means the process's defaults.
   */
  static void writeAtomically(Path target, byte[] bytes, FileOwnership like) throws IOException {
    writeAtomically(target, like, ch -> {
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) ch.write(buf);
    });
  }

  interface ChannelWriter {
    void writeTo(FileChannel ch) throws IOException;
  }

  static void writeAtomically(Path target, FileOwnership like, ChannelWriter body) throws IOException {
    Path temp = target.resolveSibling(target.getFileName() + StoreWalker.TEMP_SUFFIX);
    Files.deleteIfExists(temp); // our own leftover from an interrupted run
    java.nio.file.attribute.FileAttribute<?>[] mode = like == null ? new java.nio.file.attribute.FileAttribute<?>[0]
        : new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions.asFileAttribute(like.permissions())};
    try (FileChannel ch = FileChannel.open(temp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), mode)) {
      body.writeTo(ch);
      ch.force(true);
    }
    if (like != null) like.applyTo(temp);
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static void throwFirst(List<IOException> failures, String doing) throws Refusal {
    if (failures.isEmpty()) return;
    IOException first = failures.get(0);
    throw new Refusal("failed " + doing + ": " + first + (failures.size() > 1 ? " (and " + (failures.size() - 1)
        + " more failures)" : ""));
  }
}

/**
 * recovery.conf, next to jetstream/: a nats-server configuration that loads this store standalone
 * and nothing else. Loopback only; no cluster, gateway, leafnode, MQTT or websocket block; every
 * account that holds streams with JetStream and one user with a fresh random password; the key,
 * when the store is encrypted, read from $JS_RECOVER_KEY, never written. Mode 0600.
 */
final class RecoveryConfig {
  static final String FILE = "recovery.conf", USER_PREFIX = "recover-";

  record Login(String account, String user, String password) {}

  record Settings(int port, int httpPort, List<Login> logins, String cipher) {
    Login login(String account) {
      return logins.stream().filter(l -> l.account().equals(account)).findFirst().orElse(null);
    }
  }

  static Path path(Store store) { return store.storeDir.resolve(FILE); }

  /** The settings of an existing recovery.conf, or fresh ones: free ports and new passwords. */
  static Settings settingsFor(Store store) throws IOException {
    Settings existing = read(path(store));
    if (existing != null && fits(existing, store)) return existing;
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

  static String render(Store store, Settings s) throws IOException {
    StringBuilder c = new StringBuilder();
    c.append("# Written by ").append(JsRecover.VERSION).append(" prepare. Loads this store standalone and nothing else.\n");
    if (s.cipher() != null) c.append("# The key comes from the environment, as a quoted config string:\n#   ").append(KeyRing.EXPORT_LINE).append("\n");
    c.append("# Start: nats-server -c ").append(path(store)).append("\n");
    c.append("listen: 127.0.0.1:").append(s.port()).append("\n");
    c.append("http: 127.0.0.1:").append(s.httpPort()).append("\n");
    c.append("server_name: js-recover\n");
    c.append("jetstream {\n");
    c.append("  store_dir: ").append(quote(store.storeDir.toString())).append("\n");
    // The size of the file system the store is on: whatever is on disk fits.
    c.append("  max_file_store: ").append(Files.getFileStore(store.storeDir).getTotalSpace()).append("\n");
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

  /** Writes recovery.conf (mode 0600, owned like the store dir) unless it already says this. */
  static boolean write(Store store, Settings s) throws IOException {
    Path file = path(store);
    byte[] text = render(store, s).getBytes(StandardCharsets.UTF_8);
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && java.util.Arrays.equals(Files.readAllBytes(file), text)) return false;
    FileOwnership storeOwner = FileOwnership.of(store.storeDir);
    PrepareRun.writeAtomically(file, text, new FileOwnership(0600, storeOwner.uid(), storeOwner.gid()));
    return true;
  }

  private static final java.util.regex.Pattern PORT = java.util.regex.Pattern.compile("(?m)^(listen|http): 127\\.0\\.0\\.1:(\\d+)$");
  private static final java.util.regex.Pattern LOGIN = java.util.regex.Pattern.compile(
      "(?m)^  (\"(?:[^\"\\\\]|\\\\.)*\"): \\{ jetstream: enabled, users: \\[ \\{ user: (\"(?:[^\"\\\\]|\\\\.)*\"), password: (\"(?:[^\"\\\\]|\\\\.)*\") \\} \\] \\}$");
  private static final java.util.regex.Pattern CIPHER = java.util.regex.Pattern.compile("(?m)^  cipher: (\\w+)$");

  /** Reads back a recovery.conf this tool wrote; null when there is none. */
  static Settings read(Path file) throws IOException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return null;
    String text = Files.readString(file);
    Map<String, Integer> ports = new HashMap<>();
    for (var m = PORT.matcher(text); m.find(); ) ports.put(m.group(1), Integer.parseInt(m.group(2)));
    List<Login> logins = new ArrayList<>();
    for (var m = LOGIN.matcher(text); m.find(); ) logins.add(new Login(unquote(m.group(1)), unquote(m.group(2)), unquote(m.group(3))));
    var cipher = CIPHER.matcher(text);
    if (!ports.containsKey("listen") || !ports.containsKey("http")) return null; // not ours: written anew
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

  final Map<String, Loaded> streams = new HashMap<>(); // "account > stream" -> what the server serves
  final List<String> serverWarnings = new ArrayList<>();

  /** The server's own [WRN] and [ERR] lines, verbatim, but the one our plaintext passwords cause. */
  void readLog(Path log) throws IOException {
    for (String line : Files.readAllLines(log)) {
      if ((line.contains("[WRN]") || line.contains("[ERR]")) && !line.contains("Plaintext passwords detected")) {
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

  /** Waits until the server answers /healthz with JetStream up (in 2.9 the store is loaded by then), then reads /jsz. */
  static JsonNode awaitJetStream(Process server, int httpPort, Path log, int timeoutSeconds) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + httpPort;
    long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (!server.isAlive()) {
        throw new Refusal("nats-server exited with code " + server.exitValue() + " before loading the store:\n"
            + String.join("\n", Files.readAllLines(log)));
      }
      try {
        var health = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/healthz")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        if (health.statusCode() == 200) {
          var jsz = http.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(base + "/jsz?accounts=true&streams=true&consumers=true")).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
          return Json.MAPPER.readTree(jsz.body());
        }
      } catch (java.net.ConnectException notYet) {
        // still starting
      }
      Thread.sleep(100);
    }
    throw new Refusal("nats-server did not finish loading the store within " + timeoutSeconds + " s (--timeout); see " + log);
  }

  static void stop(Process server) throws InterruptedException {
    server.destroy();
    if (!server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) server.destroyForcibly().waitFor();
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

// =================================================================================================
// 7. Transfer: one stream with its consumers, server to server or server to folder, checked at both ends
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
        if (m == null) throw new Refusal("the source sent no snapshot data for " + CHUNK_TIMEOUT.toSeconds() + " s after " + total + " bytes");
        byte[] data = m.getData() == null ? new byte[0] : m.getData();
        boolean acked = m.getReplyTo() != null && !m.getReplyTo().isEmpty(); // jnats gives "" for no reply
        if (data.length == 0 && !acked) {
          // The end: 2.9 sends an empty message, 2.10+ one with status 204, or 408/500 when the snapshot failed.
          if (m.isStatusMessage() && m.getStatus().getCode() != 204) {
            throw new Refusal("the source ended the snapshot with " + m.getStatus().getCode() + " " + m.getStatus().getMessage());
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
        reply = target.request(deliver, bytes, CHUNK_TIMEOUT);
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
   * Why an archive from a server of version `source` must not go to `target`, or null. An older target may not
   * read a newer archive (2.15's format), may reject config fields it does not know (2.12+), or may misread what
   * it does take (2.9 ignores 2.10's index.db).
   */
  static String versionRefusal(String source, String target) {
    if (compareVersions(target, source) >= 0) return null;
    return "the target runs nats-server " + target + ", older than the source's " + source + ": an older server cannot "
        + "be trusted with a newer one's archive and config. Restore into a cluster of " + source + " or newer";
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
  /** The URL as it may be shown: without the user and password it carries. */
  static String shown(String url) {
    return url.replaceAll("(?<=://)[^@/]*@", "");
  }

  static io.nats.client.Connection connect(String url, String user, String password, Path creds, Path nkey, Path tlsCert,
      Path tlsKey, Path tlsCa) throws Refusal {
    io.nats.client.Options.Builder options = io.nats.client.Options.builder().server(url).noReconnect()
        .connectionTimeout(java.time.Duration.ofSeconds(5)).maxControlLine(4096)
        .errorListener(new io.nats.client.ErrorListener() {}); // errors reach the operator through our messages only
    if (user != null) options.userInfo(user, password);
    try {
      if (creds != null) options.authHandler(io.nats.client.Nats.credentials(readable(creds, "--creds").toString()));
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
record Outcome(String account, String stream, int replicas, Outcome.Result result, long bytes, double seconds, String detail) {
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

  StoreSource(Path storeDir, String account, List<String> only) throws IOException, Refusal {
    store = StoreWalker.walk(storeDir, null); // names and replica counts need no key: the manifest has them
    conf = RecoveryConfig.read(RecoveryConfig.path(store));
    if (conf == null) {
      throw new Refusal("no recovery.conf in " + store.storeDir + ": run js-recover prepare " + Reports.shellQuote(store.storeDir.toString()) + " first.");
    }
    List<RecoveryPlan.OriginalReplicas> all = new RecoveryPlan(store).originalReplicas;
    TreeSet<String> accounts = all.stream().map(RecoveryPlan.OriginalReplicas::account).collect(Collectors.toCollection(TreeSet::new));
    if (account == null && accounts.size() > 1) {
      throw new Refusal("the store holds streams in " + accounts.size() + " accounts (" + String.join(", ", accounts) + "), and one "
          + "target login reaches one account: run once per account with --account A and that account's target credentials.");
    }
    if (account != null && !accounts.contains(account)) {
      throw new Refusal("the store has no streams in account " + account + "; its accounts with streams: " + String.join(", ", accounts));
    }
    streams = all.stream().filter(s -> (account == null || s.account().equals(account))
        && (only.isEmpty() || only.contains(s.stream()))).toList();
    List<String> unknown = only.stream().filter(n -> streams.stream().noneMatch(s -> s.stream().equals(n))).toList();
    if (!unknown.isEmpty()) throw new Refusal("no stream " + String.join(", ", unknown) + " in the store" + (account == null ? "" : " in account " + account));
  }

  List<String> accounts() { return streams.stream().map(RecoveryPlan.OriginalReplicas::account).distinct().toList(); }

  List<RecoveryPlan.OriginalReplicas> streams(String account) {
    return streams.stream().filter(s -> s.account().equals(account)).toList();
  }

  /**
   * The URL of the recovery server serving this store. For now the operator starts it (verify --keep-running)
   * and names it with --from. The place to start it here on recovery.conf, as verify does, when --from is absent.
   */
  String serverUrl(String from) throws Refusal {
    if (from != null) return from;
    throw new Refusal("--from URL is required: start the recovery server with js-recover verify --keep-running "
        + Reports.shellQuote(store.storeDir.toString()) + " and pass the URL it prints.");
  }

  /** A connection to the recovery server as the account's recovery user (none for $G served alone). */
  io.nats.client.Connection connect(String url, String account) throws Refusal {
    RecoveryConfig.Login login = conf.login(account);
    return NatsLogin.connect(url, login == null ? null : login.user(), login == null ? null : login.password(), null, null, null, null, null);
  }
}

/** Bytes and rate of one stream's transfer on stderr: one line redrawn on a terminal, a line at the end otherwise. */
final class Progress {
  private final PrintWriter err;
  private final boolean terminal;
  private final String label;
  private final long started = System.nanoTime();
  private long bytes, drawn;

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
    if (terminal && now - drawn > 250_000_000L) {
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
    return String.format("%s: %s in %.1f s (%s/s)", label, size(bytes), s, size((long) (bytes / s)));
  }

  static String size(long n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return String.format("%.1f KiB", n / 1024.0);
    if (n < 1024L * 1024 * 1024) return String.format("%.1f MiB", n / 1048576.0);
    return String.format("%.2f GiB", n / 1073741824.0);
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
  private record Unchecked(Outcome outcome, Transfer.Shape want) {}

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

  Outcome deliver(String account, String stream, int replicas, Transfer.Shape want, String sourceVersion, Body body) {
    Progress progress = null;
    try {
      String tooOld = Transfer.versionRefusal(sourceVersion, targetVersion());
      if (tooOld != null) return new Outcome(account, stream, replicas, Outcome.Result.REFUSED, 0, 0, tooOld + "; nothing was sent.");
      Transfer.Shape there = Transfer.shape(target, stream);
      if (there != null) {
        List<String> d = want.differences(there);
        if (d.isEmpty()) return new Outcome(account, stream, replicas, Outcome.Result.ALREADY_WHOLE, 0, 0, "already in the target, whole");
        if (!replace && !there.empty()) {
          return new Outcome(account, stream, replicas, Outcome.Result.REFUSED, 0, 0, "the target already has a stream " + stream
              + " that differs (" + String.join("; ", d) + "); it was left as it is. Rerun with --replace to delete the "
              + "target's copy and restore this one.");
        }
        Transfer.delete(target, stream);
      }
      progress = new Progress(err, terminal, account + " > " + stream);
      long bytes = body.restore(progress);
      progress.done();
      Outcome restored = new Outcome(account, stream, replicas, Outcome.Result.RESTORED, bytes, progress.seconds(),
          "checked: " + summary(want));
      unchecked.add(new Unchecked(restored, want));
      return restored;
    } catch (Refusal | IOException | IllegalStateException e) { // jnats: IllegalStateException once a connection closed
      if (progress != null) progress.done();
      return new Outcome(account, stream, replicas, Outcome.Result.FAILED, progress == null ? 0 : progress.bytes(),
          progress == null ? 0 : progress.seconds(), e.getMessage());
    }
  }

  /**
   * The outcomes, with every stream restored so far checked against what the source held. Checked at the end, not
   * one by one, so that the new streams' and consumers' leader elections (seconds each) overlap.
   */
  List<Outcome> checked(List<Outcome> outcomes) {
    List<Outcome> result = new ArrayList<>(outcomes);
    for (Unchecked u : unchecked) {
      Outcome o = u.outcome();
      List<String> d;
      try {
        d = Transfer.awaitSameShape(target, o.stream(), u.want());
      } catch (Refusal e) {
        d = List.of(e.getMessage());
      }
      if (!d.isEmpty()) {
        result.set(result.indexOf(o), new Outcome(o.account(), o.stream(), o.replicas(), Outcome.Result.FAILED, o.bytes(),
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

  /** The folder for a stream; stream names are folder names in the server's own store too. */
  static Path of(Path backupDir, String stream) throws Refusal {
    if (stream.isEmpty() || stream.equals(".") || stream.equals("..") || stream.contains("/") || stream.contains("\\")) {
      throw new Refusal("stream name " + stream + " cannot be a folder name");
    }
    return backupDir.resolve(stream);
  }

  /** backup.json is written last: a folder that has it is complete. */
  static boolean complete(Path folder) { return Files.isRegularFile(folder.resolve(REQUEST)); }

  static Outcome write(io.nats.client.Connection source, RecoveryPlan.OriginalReplicas s, Path backupDir, PrintWriter err,
      boolean terminal) {
    Progress progress = null;
    try {
      Path folder = of(backupDir, s.stream());
      if (complete(folder)) {
        return new Outcome(s.account(), s.stream(), s.replicas(), Outcome.Result.KEPT, Files.size(folder.resolve(ARCHIVE)), 0,
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
      return new Outcome(s.account(), s.stream(), s.replicas(), Outcome.Result.WRITTEN, progress.bytes(), progress.seconds(),
          "in " + folder + ": " + Delivery.summary(want));
    } catch (Refusal | IOException e) {
      if (progress != null) progress.done();
      return new Outcome(s.account(), s.stream(), s.replicas(), Outcome.Result.FAILED, 0, 0, e.getMessage());
    }
  }

  /** The stream folders to restore: backupDir itself when it is one, else the folders in it. */
  static List<Path> list(Path backupDir) throws Refusal {
    if (complete(backupDir)) return List.of(backupDir);
    if (Files.isRegularFile(backupDir.resolve(ARCHIVE))) {
      throw new Refusal(backupDir + " has no " + REQUEST + ": an interrupted backup. Run js-recover backup again to complete it.");
    }
    List<Path> folders = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(backupDir, Files::isDirectory)) {
      dirs.forEach(folders::add);
    } catch (IOException e) {
      throw new Refusal("cannot read the backup folder " + backupDir + ": " + e);
    }
    if (folders.isEmpty()) throw new Refusal("no stream backup in " + backupDir + ": name a folder holding " + REQUEST + ", or one of such folders.");
    Collections.sort(folders);
    return folders;
  }

  /** Restores every stream folder; one that is incomplete fails, the others go on. */
  static List<Outcome> restore(List<Path> folders, Delivery delivery, Integer replicas, String cluster, List<String> tags) {
    List<Outcome> outcomes = new ArrayList<>();
    for (Path folder : folders) {
      String name = folder.getFileName().toString();
      if (!complete(folder)) {
        outcomes.add(new Outcome("?", name, 0, Outcome.Result.FAILED, 0, 0, folder + " has no " + REQUEST
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
        outcomes.add(new Outcome("?", name, 0, Outcome.Result.FAILED, 0, 0, "cannot read " + folder + ": " + e.getMessage()));
      }
    }
    return outcomes;
  }
}

// =================================================================================================
// 8. Reports: the inspect table and JSON, what prepare did, next steps
// =================================================================================================

final class Reports {
  static void inspectTable(Store store, PrintWriter out) {
    out.printf("Store %s: %d account(s), %d stream(s), %d consumer(s)%s%n%n", store.storeDir, store.accounts.size(),
        store.streams.size(), store.consumerCount(), store.encrypted() ? ", encrypted" : "");
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ACCOUNT", "STREAM", "REPLICAS", "PLACEMENT", "RETENTION", "STORAGE", "CONSUMERS",
        "CONS. R>1", "ENCRYPTED", "CHECKSUMS"});
    for (StoredStream s : store.streams) {
      MetaAsset m = s.meta();
      rows.add(new String[] {m.account, m.stream, orUnknown(m.replicas()), placement(m), orUnknown(m.text("retention")),
          orUnknown(m.text("storage")), String.valueOf(s.consumers().size()), String.valueOf(s.consumersAboveOneReplica()),
          encryption(m), checksums(s)});
    }
    table(rows, out);
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

  static ObjectNode inspectJson(Store store) {
    ObjectNode doc = Json.NODES.objectNode();
    doc.put("store_dir", store.storeDir.toString());
    doc.put("jetstream_dir", store.jetstreamDir.toString());
    ArrayNode accounts = doc.putArray("accounts");
    store.accounts.forEach(accounts::add);
    ArrayNode streams = doc.putArray("streams");
    for (StoredStream s : store.streams) {
      MetaAsset m = s.meta();
      ObjectNode o = streams.addObject();
      o.put("account", m.account);
      o.put("name", m.stream);
      o.put("replicas", m.replicas());
      o.set("placement", m.config == null || m.config.get("placement") == null ? Json.NODES.nullNode() : m.config.get("placement"));
      o.put("retention", m.text("retention"));
      o.put("storage", m.text("storage"));
      o.put("encrypted", m.sealed());
      o.put("cipher", m.opened == null ? null : m.opened.cipher().name().toLowerCase());
      o.put("readable", m.config != null);
      o.put("sum_ok", m.sumOk());
      ArrayNode consumers = o.putArray("consumers");
      for (MetaAsset c : s.consumers()) {
        consumers.addObject().put("name", c.consumer).put("replicas", c.replicas()).put("encrypted", c.sealed())
            .put("readable", c.config != null).put("sum_ok", c.sumOk());
      }
    }
    ArrayNode raft = doc.putArray("raft_dirs");
    store.raftDirs.forEach(r -> raft.add(store.rel(r)));
    ArrayNode problems = doc.putArray("problems");
    for (Problem p : store.problems) {
      problems.addObject().put("path", store.rel(p.path())).put("problem", p.what()).put("todo", p.todo())
          .put("with_force", p.ifForced());
    }
    ArrayNode warnings = doc.putArray("warnings");
    for (Warning w : store.warnings) warnings.addObject().put("path", store.rel(w.path())).put("warning", w.what());
    return doc;
  }

  static void plan(RecoveryPlan plan, boolean dryRun, PrintWriter out) {
    Store store = plan.store;
    String moved = dryRun ? "would be moved" : "moved";
    out.printf("Store %s: %d stream(s), %d consumer(s) in %d account(s)%n%n", store.storeDir, store.streams.size(),
        store.consumerCount(), store.accounts.size());
    for (AssetChange c : plan.changes) {
      out.printf("  %s %s: %s%s%n", c.asset().kind == AssetKind.STREAM ? "stream  " : "consumer", c.asset().label(),
          c.describe(), c.asset().sealed() && c.newMetaInf() != null ? " (resealed)" : "");
    }
    for (Path r : store.raftDirs) out.printf("  raft     %s: %s to %s/<run>/%s/%n", store.rel(r), moved, Backups.DIR, Backups.RAFT);
    for (Path t : store.leftoverTemps) {
      out.printf("  leftover %s (temp file of an interrupted run): %s to %s/<run>/%s/%n", store.rel(t), moved,
          Backups.DIR, Backups.LEFTOVERS);
    }
    out.printf("%nTotals: %d of %d stream(s) and %d of %d consumer(s) %s, %d Raft folder(s) %s.%n",
        plan.streamsChanged(), store.streams.size(), plan.consumersChanged(), store.consumerCount(),
        dryRun ? "would change" : "changed", store.raftDirs.size(), dryRun ? "would move" : "moved");
    warnings(store, out);
  }

  static void nextSteps(RecoveryPlan plan, RecoveryConfig.Settings conf, PrintWriter out) {
    Store store = plan.store;
    String backup = shellQuote(store.storeDir + "-backup");
    String server = "nats://127.0.0.1:" + conf.port();
    out.println();
    out.println("Next steps:");
    out.println("  1. Start the recovery server on this store (loopback only, no cluster):");
    if (conf.cipher() != null) {
      out.println("       " + KeyRing.EXPORT_LINE + "   # the cluster's key, quoted for the config");
    }
    out.println("       nats-server -c " + shellQuote(RecoveryConfig.path(store).toString()));
    out.println("     or have js-recover check that everything loads and keep it running for the backup:");
    out.println("       js-recover verify --keep-running " + shellQuote(store.storeDir.toString()));
    out.printf("  2. Check that all %d stream(s) and %d consumer(s) loaded:%n", store.streams.size(), store.consumerCount());
    out.println("       curl -s 'http://127.0.0.1:" + conf.httpPort() + "/jsz?accounts=true&streams=true&consumers=true'");
    out.println("  3. Back up every stream with its consumers" + (conf.logins().isEmpty() ? ":" : ", account by account:"));
    if (conf.logins().isEmpty()) {
      out.println("       nats --server " + server + " account backup " + backup + " -f");
    }
    for (RecoveryConfig.Login l : conf.logins()) {
      out.println("       nats --server " + server + " --user " + shellQuote(l.user()) + " --password " + shellQuote(l.password())
          + " account backup " + shellQuote(store.storeDir + "-backup/" + l.account()) + " -f");
    }
    if (store.accounts.contains("$G") && !conf.logins().isEmpty()) {
      out.println("     $G holds streams too, and nats-server serves $G's JetStream only without configured accounts:");
      out.println("     after this backup, stop the server and back $G up from a second one:");
      out.println("       nats-server --jetstream --store_dir " + shellQuote(store.storeDir.toString()) + " --addr 127.0.0.1 --port " + conf.port());
      out.println("       nats --server " + server + " account backup " + shellQuote(store.storeDir + "-backup/$G") + " -f");
    }
    out.println("  4. Restore each stream into the new cluster with its original replica count"
        + (conf.logins().isEmpty() ? ":" : ", as a user of its account there:"));
    for (RecoveryPlan.OriginalReplicas r : plan.originalReplicas) {
      String dir = store.storeDir + "-backup/" + (conf.logins().isEmpty() ? "" : r.account() + "/") + r.stream();
      out.printf("       nats --server <new-cluster> stream restore %s --replicas %d%s%n", shellQuote(dir), r.replicas(),
          conf.logins().isEmpty() ? "" : "   # account " + r.account());
    }
  }

  /** verify's table per account and stream; true when everything on disk loaded. */
  static boolean loadTable(Store s, LoadCheck check, PrintWriter out) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ACCOUNT", "STREAM", "LOADED", "MESSAGES", "CONSUMERS LOADED/ON DISK", "NOT LOADED"});
    int streamsMissing = 0, consumersMissing = 0;
    for (StoredStream st : s.streams) {
      LoadCheck.Loaded loaded = check.streams.get(st.meta().label());
      List<String> missing = st.consumers().stream().map(c -> c.consumer)
          .filter(c -> loaded == null || !loaded.consumers().contains(c)).toList();
      if (loaded == null) streamsMissing++;
      consumersMissing += missing.size();
      rows.add(new String[] {st.meta().account, st.meta().stream, loaded == null ? "NO" : "yes",
          loaded == null ? "-" : String.valueOf(loaded.messages()),
          (st.consumers().size() - missing.size()) + "/" + st.consumers().size(), String.join(", ", missing)});
    }
    out.println();
    Reports.table(rows, out);
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

  private static void warnings(Store store, PrintWriter out) {
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

  private static String placement(MetaAsset m) {
    JsonNode p = m.config == null ? null : m.config.get("placement");
    if (p == null || p.isNull()) return m.config == null ? "?" : "-";
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

  static void table(List<String[]> rows, PrintWriter out) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) for (int i = 0; i < r.length; i++) width[i] = Math.max(width[i], r[i].length());
    StringBuilder line = new StringBuilder();
    for (String[] r : rows) {
      line.setLength(0);
      for (int i = 0; i < r.length; i++) {
        line.append(r[i]);
        if (i < r.length - 1) line.append(" ".repeat(width[i] - r[i].length() + 2));
      }
      out.println(line);
    }
  }

  /** What became of each stream in a restore or backup; true when every one arrived whole (or was kept). */
  static boolean transfers(List<Outcome> outcomes, PrintWriter out) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ACCOUNT", "STREAM", "REPLICAS", "OUTCOME", "SIZE", "SECONDS"});
    for (Outcome o : outcomes) {
      rows.add(new String[] {o.account(), o.stream(), String.valueOf(o.replicas()), o.result().word, Progress.size(o.bytes()),
          String.format("%.1f", o.seconds())});
    }
    out.println();
    table(rows, out);
    out.println();
    for (Outcome o : outcomes) out.println((o.ok() ? "  " : "  NOT DONE ") + o.label() + ": " + o.detail());
    long ok = outcomes.stream().filter(Outcome::ok).count();
    out.printf("%n%d of %d stream(s) done%s.%n", ok, outcomes.size(), ok == outcomes.size() ? "" : "; fix what is said above "
        + "and run the same command again: streams already done are skipped");
    return ok == outcomes.size();
  }

  static ObjectNode transfersJson(List<Outcome> outcomes) {
    ObjectNode doc = Json.NODES.objectNode();
    doc.put("done", outcomes.stream().allMatch(Outcome::ok));
    ArrayNode streams = doc.putArray("streams");
    for (Outcome o : outcomes) {
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
// 9. Commands
// =================================================================================================

@Command(name = "js-recover", mixinStandardHelpOptions = true, versionProvider = JsRecover.VersionProvider.class,
    description = {"Makes the store of a JetStream node whose cluster lost Raft quorum loadable by a standalone "
        + "nats-server, so every stream and consumer can be backed up and restored into a new cluster.",
        "", "Work on a copy of the survivor's store_dir, never on the only copy."},
    subcommands = {InspectCommand.class, PrepareCommand.class, VerifyCommand.class, RestoreCommand.class,
        BackupCommand.class, VersionCommand.class,
        CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:done", "1:refused or failed (nothing changed unless the message says so)", "2:usage error"})
class JsRecover implements Callable<Integer> {
  static final String VERSION = "js-recover 0.1.0";

  @Spec CommandSpec spec;

  /** Called with no subcommand: that is a usage error. */
  @Override public Integer call() {
    spec.commandLine().getErr().println("js-recover: name a command: inspect, prepare, verify, restore, backup, version or help");
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
      } else {
        cmd.getErr().println("js-recover: failed: " + e);
        e.printStackTrace(cmd.getErr());
      }
      return 1;
    });
    return cli;
  }

  public static void main(String[] args) { System.exit(commandLine().execute(args)); }
}

/** The store-dir argument and the key options, shared by every command that reads a store. */
final class StoreOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec command;

  @Parameters(index = "0", paramLabel = "<store-dir>",
      description = "the copied nats-server store_dir (the folder holding jetstream/), or its jetstream/ folder")
  Path storeDir;

  @Option(names = "--key-file", paramLabel = "FILE", description = "for an encrypted store: a file holding the "
      + "cluster's JetStream key exactly as configured in jetstream { key } (one trailing newline is ignored)")
  Path keyFile;

  @Option(names = "--key", paramLabel = "KEY", description = "the JetStream key itself; other users can see it in "
      + "the process list, so prefer --key-file or the environment variable " + KeyRing.ENV)
  String key;

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
      value = value.endsWith("\r\n") ? value.substring(0, value.length() - 2)
          : value.endsWith("\n") ? value.substring(0, value.length() - 1) : value;
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

@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Shows what the store holds and what is wrong with it. Reads only; changes nothing.")
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @CommandLine.Mixin StoreOptions store;

  @Option(names = "--json", description = "print one JSON document (schema in the README) instead of the table")
  boolean json;

  @Override public Integer call() throws Exception {
    Store s = StoreWalker.walk(store.storeDir, store.keys());
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(Json.MAPPER.writeValueAsString(Reports.inspectJson(s)));
    } else {
      Reports.inspectTable(s, out);
      out.println();
      out.println("Next: js-recover prepare --dry-run " + Reports.shellQuote(s.storeDir.toString()));
    }
    out.flush();
    return 0;
  }
}

@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = {"Makes the store loadable by a standalone nats-server: streams to 1 replica without placement, "
        + "consumers with more than 1 replica to 0 (inherit), meta.sum recomputed, <account>/_js_ Raft state moved "
        + "aside. Every original file is kept in <store-dir>/" + Backups.DIR + "/<run>/ with a manifest.json.",
        "Refuses, changing nothing, when any meta file is missing, torn, unreadable or fails its checksum, or when "
            + "the store changes while it is read. A second run changes nothing."})
final class PrepareCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @CommandLine.Mixin StoreOptions store;

  @Option(names = "--dry-run", description = "print the exact plan and write nothing")
  boolean dryRun;

  @Option(names = "--force", description = "go ahead despite problems: a meta.inf that reads right but fails its "
      + "checksum or has no meta.sum gets a recomputed meta.sum; anything unreadable is left as it is (the server "
      + "will not load it). Each problem is listed with what --force does with it.")
  boolean force;

  @Override public Integer call() throws Exception {
    long started = System.nanoTime();
    Store s = StoreWalker.walk(store.storeDir, store.keys());
    PrintWriter out = spec.commandLine().getOut();
    if (!s.problems.isEmpty() && !force) {
      Reports.problems(s, out, false);
      out.flush();
      throw new Refusal(s.problems.size() + " problem(s) found in " + s.storeDir + "; nothing was changed. Fix them "
          + "(see above), or rerun with --force to go ahead as described for each.");
    }
    List<Path> changed = SettleCheck.changedSince(s, started);
    if (!changed.isEmpty()) {
      throw new Refusal("the store is changing while js-recover reads it (" + changed.size() + " file(s), e.g. "
          + changed.get(0) + "); nothing was changed. A nats-server is still writing it: stop that server, or copy the "
          + "store from a stopped one, and run prepare again.");
    }
    RecoveryPlan plan = new RecoveryPlan(s);
    if (force) Reports.problems(s, out, true);
    if (plan.nothingToDo()) {
      out.printf("Store %s is already prepared: %d stream(s), %d consumer(s), nothing to change.%n", s.storeDir,
          s.streams.size(), s.consumerCount());
      if (dryRun) return 0;
      Reports.nextSteps(plan, writeRecoveryConfig(s, out), out);
      return 0;
    }
    List<String> blockers = plan.writeBlockers();
    if (!blockers.isEmpty()) {
      throw new Refusal("prepare cannot write what it must; nothing was changed:\n  " + String.join("\n  ", blockers)
          + "\nRun js-recover as the store's owner (the nats user) or root.");
    }
    if (dryRun) {
      out.println("Dry run: nothing is written.");
      Reports.plan(plan, true, out);
      out.printf("%nOriginals and the manifest would be kept in %s/<run>/.%n", Backups.root(s));
      out.printf("%s would be written: a standalone server config for account(s) %s.%n", RecoveryConfig.path(s),
          String.join(", ", s.accounts));
      return 0;
    }
    Path run = PrepareRun.apply(plan);
    Reports.plan(plan, false, out);
    out.printf("%nOriginals, Raft state and manifest.json are in %s%n", run);
    Reports.nextSteps(plan, writeRecoveryConfig(s, out), out);
    return 0;
  }

  private static RecoveryConfig.Settings writeRecoveryConfig(Store s, PrintWriter out) throws IOException {
    RecoveryConfig.Settings conf = RecoveryConfig.settingsFor(s);
    boolean written = RecoveryConfig.write(s, conf);
    out.printf("%s %s (mode 0600): client port %d, monitoring port %d%s.%n", written ? "Wrote" : "Kept",
        RecoveryConfig.path(s), conf.port(), conf.httpPort(), conf.logins().isEmpty() ? ""
            : ", one user per account (passwords below and in the file only)");
    return conf;
  }
}

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Proves a prepared store loads: starts nats-server with <store-dir>/recovery.conf on free loopback "
        + "ports, reads what it serves (/jsz), compares it with what is on disk, shows the server's own warnings, and "
        + "stops it. Exit 0 only when every stream and consumer on disk loaded.",
        "It changes nothing itself; the server, as on any start, rewrites meta files as it loads them."})
final class VerifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @CommandLine.Mixin StoreOptions store;

  @Option(names = "--nats-server", paramLabel = "BIN", description = "the nats-server to run (default: nats-server on PATH)")
  Path natsServer;

  @Option(names = "--keep-running", description = "leave the server running on recovery.conf's ports for the backup")
  boolean keepRunning;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
      description = "how long the server may take to load the store (default: ${DEFAULT-VALUE})")
  int timeoutSeconds;

  @Override public Integer call() throws Exception {
    KeyRing keys = store.keys();
    Store s = StoreWalker.walk(store.storeDir, keys);
    PrintWriter out = spec.commandLine().getOut();
    RecoveryConfig.Settings conf = RecoveryConfig.read(RecoveryConfig.path(s));
    if (conf == null) {
      throw new Refusal("no recovery.conf in " + s.storeDir + ": run js-recover prepare " + Reports.shellQuote(s.storeDir.toString())
          + " first.");
    }
    if (conf.cipher() != null && keys == null) {
      throw new Refusal("the store is encrypted: the server needs the cluster's key. Pass --key-file FILE (or set "
          + KeyRing.ENV + ").");
    }
    Path bin = LoadCheck.findServer(natsServer);
    int port = keepRunning ? conf.port() : RecoveryConfig.freePort();
    int httpPort = keepRunning ? conf.httpPort() : RecoveryConfig.freePort();
    Path log = Files.createTempFile("js-recover-verify-", ".log");
    ProcessBuilder pb = new ProcessBuilder(bin.toString(), "-c", RecoveryConfig.path(s).toString(), "-a", "127.0.0.1",
        "-p", String.valueOf(port), "-m", String.valueOf(httpPort))
        .redirectErrorStream(true).redirectOutput(log.toFile());
    if (keys != null) pb.environment().put(KeyRing.ENV, keys.forServerEnvironment());
    out.printf("Starting %s on %s (ports %d, %d; log %s)...%n", bin, RecoveryConfig.path(s), port, httpPort, log);
    out.flush();
    Process server = pb.start();
    LoadCheck check = new LoadCheck();
    try {
      check.readJsz(LoadCheck.awaitJetStream(server, httpPort, log, timeoutSeconds));
      check.readLog(log);
    } finally {
      if (!keepRunning || !server.isAlive()) LoadCheck.stop(server);
    }
    boolean allLoaded = Reports.loadTable(s, check, out);
    if (keepRunning && server.isAlive()) {
      out.printf("%nThe server is left running (pid %d) on nats://127.0.0.1:%d, logging to %s; stop it with: kill %d%n",
          server.pid(), port, log, server.pid());
    } else if (allLoaded) {
      Files.delete(log); // nothing in it the table did not say
      out.println("\nThe server was stopped.");
    } else {
      out.println("\nThe server was stopped; its full log is " + log);
    }
    return allLoaded ? 0 : 1;
  }
}

/** The recovery server serving a prepared store, and which of its streams go. */
final class SourceOptions {
  @Option(names = "--from", paramLabel = "URL", description = "the recovery server serving the store "
      + "(js-recover verify --keep-running prints it)")
  String from;

  @Option(names = "--account", paramLabel = "A", description = "the account whose streams go (needed when the store has several)")
  String account;

  @Option(names = "--stream", paramLabel = "S", description = "only stream S (repeatable; default: every stream of the account)")
  List<String> streams = new ArrayList<>();

  StoreSource open(Path storeDir) throws IOException, Refusal { return new StoreSource(storeDir, account, streams); }
}

/** The new cluster, reached as the nats CLI reaches it. Its credentials are never printed or written. */
final class TargetOptions {
  @Option(names = "--to", required = true, paramLabel = "URL",
      description = "the new cluster: nats://[USER:PASSWORD@]HOST:PORT (several URLs: comma-separated)")
  String url;

  @Option(names = "--creds", paramLabel = "FILE", description = "the target user's credentials file (JWT and seed)")
  Path creds;

  @Option(names = "--nkey", paramLabel = "FILE", description = "the target user's nkey seed file")
  Path nkey;

  @Option(names = "--tlscert", paramLabel = "FILE", description = "client certificate (PEM) for the target")
  Path tlsCert;

  @Option(names = "--tlskey", paramLabel = "FILE", description = "its private key (PKCS#8 PEM)")
  Path tlsKey;

  @Option(names = "--tlsca", paramLabel = "FILE", description = "CA certificate(s) (PEM) the target's must chain to")
  Path tlsCa;

  io.nats.client.Connection connect() throws Refusal {
    return NatsLogin.connect(url, null, null, creds, nkey, tlsCert, tlsKey, tlsCa);
  }
}

@Command(name = "restore", mixinStandardHelpOptions = true,
    description = {"Carries every stream of a prepared store, with its consumers, into a new cluster with the JetStream "
        + "API's own snapshot and restore, each with its original replica count, and checks each arrived whole: its "
        + "messages, first and last sequence, deleted count, and every consumer's position equal the source's.",
        "A stream already in the target is skipped when it holds the same, refused when it differs (--replace deletes "
            + "the target's copy first). One stream failing does not stop the others. Exit 0 only when every stream "
            + "arrived whole; a rerun skips what already did."})
final class RestoreCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", arity = "0..1", paramLabel = "<store-dir>",
      description = "the prepared store (names the streams and their original replica counts; recovery.conf its users)")
  Path storeDir;

  @CommandLine.Mixin SourceOptions source;

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
      throw new CommandLine.ParameterException(spec.commandLine(), "give a prepared <store-dir> (with --from URL) or --from-backup DIR");
    }
    if (replicas != null && (replicas < 1 || replicas > 5)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--replicas must be 1 to 5");
    }
    PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
    boolean terminal = System.console() != null;
    List<Outcome> outcomes;
    if (fromBackup != null) {
      List<Path> folders = BackupFolder.list(fromBackup);
      try (io.nats.client.Connection to = target.connect()) {
        Delivery delivery = new Delivery(to, replace, err, terminal);
        outcomes = delivery.checked(BackupFolder.restore(folders, delivery, replicas, cluster, tags));
      }
    } else {
      StoreSource store = source.open(storeDir);
      String url = store.serverUrl(source.from);
      outcomes = new ArrayList<>();
      io.nats.client.Connection to = null;
      try {
        to = target.connect();
      } catch (Refusal r) {
        for (var s : store.streams) outcomes.add(new Outcome(s.account(), s.stream(), n(s), Outcome.Result.FAILED, 0, 0, r.getMessage()));
      }
      if (to != null) {
        try (io.nats.client.Connection target = to) {
          Delivery delivery = new Delivery(target, replace, err, terminal);
          for (String acc : store.accounts()) {
            List<RecoveryPlan.OriginalReplicas> streams = store.streams(acc);
            io.nats.client.Connection from;
            try {
              from = store.connect(url, acc);
            } catch (Refusal r) {
              for (var s : streams) outcomes.add(new Outcome(acc, s.stream(), n(s), Outcome.Result.FAILED, 0, 0, "source: " + r.getMessage()));
              continue;
            }
            try (from) {
              for (var s : streams) outcomes.add(restore(delivery, from, s));
            }
          }
          outcomes = delivery.checked(outcomes);
        }
      }
    }
    return report(outcomes, out, json) ? 0 : 1;
  }

  private int n(RecoveryPlan.OriginalReplicas s) { return replicas != null ? replicas : s.replicas(); }

  private Outcome restore(Delivery delivery, io.nats.client.Connection from, RecoveryPlan.OriginalReplicas s) {
    try {
      Transfer.Shape want = Transfer.shape(from, s.stream());
      if (want == null) throw new Refusal("the recovery server does not serve this stream: did verify show it loaded?");
      return delivery.deliver(s.account(), s.stream(), n(s), want, from.getServerInfo().getVersion(),
          delivery.relay(from, s.stream(), n(s), cluster, tags));
    } catch (Refusal r) {
      return new Outcome(s.account(), s.stream(), n(s), Outcome.Result.FAILED, 0, 0, "source: " + r.getMessage());
    }
  }

  static boolean report(List<Outcome> outcomes, PrintWriter out, boolean json) throws IOException {
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
        + "plus js-recover.json with the consumers' positions, for js-recover restore --from-backup or nats stream restore.",
        "A stream folder already complete is kept; exit 0 only when every stream was written."})
final class BackupCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "<store-dir>", description = "the prepared store")
  Path storeDir;

  @Parameters(index = "1", paramLabel = "<backup-dir>", description = "where the stream folders go (created if missing)")
  Path backupDir;

  @CommandLine.Mixin SourceOptions source;

  @Option(names = "--json", description = "print one JSON document of the outcomes instead of the table")
  boolean json;

  @Override public Integer call() throws Exception {
    StoreSource store = source.open(storeDir);
    String url = store.serverUrl(source.from);
    PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
    List<Outcome> outcomes = new ArrayList<>();
    for (String acc : store.accounts()) {
      io.nats.client.Connection from;
      try {
        from = store.connect(url, acc);
      } catch (Refusal r) {
        for (var s : store.streams(acc)) outcomes.add(new Outcome(acc, s.stream(), s.replicas(), Outcome.Result.FAILED, 0, 0, r.getMessage()));
        continue;
      }
      try (from) {
        for (var s : store.streams(acc)) outcomes.add(BackupFolder.write(from, s, backupDir, err, System.console() != null));
      }
    }
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
