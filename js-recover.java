///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//DEPS net.openhft:zero-allocation-hashing:2026.0

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
 *   7. nats account backup, then nats stream restore ... --replicas N into a new cluster
 *      (prepare prints every command, with ports, users and original replica counts).
 *   To go back: js-recover undo /recovery/store puts jetstream/ back as it was before the first prepare.
 *
 * Sections, in the order data flows:
 *   1. Model of a store     accounts, streams, consumers, their meta files, Raft folders
 *   2. Walker               reads a store from disk into the model and finds every problem
 *   3. Checksum             HighwayHash-64, what meta.sum holds
 *   4. Crypto               opening and resealing encrypted meta.inf
 *   5. Rewriter             the byte-exact edit of one meta.inf
 *   6. Prepare              the plan, the backup, atomic replacement, the manifest, undo,
 *                           recovery.conf, and the load check behind verify
 *   7. Reports              inspect table and JSON, next steps
 *   8. Commands             picocli: inspect, prepare, verify, undo, version, help
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
  JsonNode config;           // json as nats-server decodes it (see GoJson); null when it could not be read, parsed or opened

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

  static Store locate(Path given) throws Refusal, IOException {
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
    GoJson.Decoded decoded = GoJson.decode(a.json);
    if (decoded.unreadable() != null) {
      a.json = null;
      store.problems.add(new Problem(a.metaInfPath(), "meta.inf of " + what + " " + a.label() + " " + decoded.unreadable(),
          fromSurvivor, "left as is: " + lost));
      return a;
    }
    String refused = GoJson.whyRefused(a.json, a.kind);
    if (refused == null) {
      a.config = decoded.config();
    } else { // what the server cannot decode is neither read nor rewritten
      store.problems.add(new Problem(a.metaInfPath(), "meta.inf of " + what + " " + a.label() + ": " + refused
          + ", so nats-server refuses to load it", fromSurvivor + ", or correct that member by hand and run prepare "
          + "--force (it recomputes meta.sum)", "left as is: " + lost));
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

  private static boolean isInt64(String v) {
    if (!v.matches("-?(0|[1-9][0-9]*)")) return false;
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
    // The member the server keeps: the last one matching, in any case, that is not null (GoJson).
    Member replicas = GoJson.kept(json, members, "num_replicas");
    if (replicas != null) {
      String value = replicas.value(json);
      if (isInteger(value) && new BigInteger(value).compareTo(ONE) > 0) {
        String to = asset.kind == AssetKind.STREAM ? "1" : "0"; // a consumer at 0 inherits its stream's 1
        cuts.add(new Cut(replicas.valueStart(), replicas.valueEnd(), to.getBytes(StandardCharsets.US_ASCII)));
        changes.add(new FieldChange(replicas.name(), Json.NODES.numberNode(new BigInteger(value)),
            Json.NODES.numberNode(Integer.parseInt(to))));
      }
    }
    // Every placement goes: Go decodes duplicates of an object member into the same value, merging them.
    List<Member> placements = asset.kind == AssetKind.STREAM ? members.stream()
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
// 6. Prepare: the plan, the backup, atomic replacement, the manifest, undo, recovery.conf, verify
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
  /**
   * A stream and the replica count it had before any prepare: what the new cluster restores it with.
   * Null while no run could read its config (unreadable, sealed without a key): unknown, never guessed.
   */
  record OriginalReplicas(String account, String stream, Integer replicas) {}

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
      // Unknown while the config cannot be read; without a count (or 0) the server runs it with 1. An earlier run
      // that could not read the config did not change it either: what is read now is the original.
      Integer now = m.config == null ? null : m.replicas() == null ? 1 : Math.max(m.replicas(), 1);
      originalReplicas.add(new OriginalReplicas(m.account, m.stream, earlier.getOrDefault(m.label(), now)));
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

  /** An earlier prepare run: its folder and its manifest. */
  record Run(Path dir, JsonNode manifest) {
    String name() { return dir.getFileName().toString(); }
  }

  /** The manifests of earlier runs not undone, oldest first; a damaged one is a refusal, never skipped. */
  static List<JsonNode> manifests(Store store) throws Refusal {
    try {
      return runs(store).stream().map(Run::manifest).toList();
    } catch (IOException e) {
      throw new Refusal("cannot read the manifests in " + root(store) + ": " + e.getMessage()
          + ". Move that folder aside (do not delete it: it holds the originals) and run again.");
    }
  }

  /**
   * The earlier runs, oldest first, leaving out those an undo marked undone (in its undo.json): a
   * prepare after an undo starts afresh.
   */
  static List<Run> runs(Store store) throws IOException {
    Path root = root(store);
    List<Run> runs = new ArrayList<>();
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
          runs.add(new Run(dir, Json.MAPPER.readTree(manifest.toFile())));
        }
      }
    }
    return runs;
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

  /**
   * Stream label -> replicas it had before the first prepare, from the oldest manifest that knew it
   * (a run that could not read a config recorded null).
   */
  static Map<String, Integer> originalReplicas(List<JsonNode> runs) {
    Map<String, Integer> replicas = new HashMap<>();
    for (JsonNode m : runs) {
      for (JsonNode s : m.path("streams")) {
        JsonNode n = s.path("replicas");
        if (n.isIntegralNumber()) replicas.putIfAbsent(s.path("account").asText() + " > " + s.path("stream").asText(), n.intValue());
      }
    }
    return replicas;
  }

  static Path newRun(Store store) throws IOException, Refusal {
    if (Files.isSymbolicLink(root(store))) {
      throw new Refusal(root(store) + " is a symbolic link; js-recover keeps its backup inside the store only. Replace it "
          + "with a folder (move the link aside) and run again; nothing was changed.");
    }
    return newFolder(store, "");
  }

  /** A new folder in the backup folder, named by the time (then -2, -3... when taken). */
  static Path newFolder(Store store, String prefix) throws IOException {
    String stamp = prefix + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now());
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
    move(from, under.resolve(store.rel(from)));
  }

  /** Moves a folder or file, creating the folders above its new place. */
  static void move(Path from, Path to) throws IOException {
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
    temps.forEach(t -> out.printf("  aside    %s (temp file of a killed run)%n", store.rel(t)));
    raftMoves.forEach(mv -> out.printf("  raft     %s back from %s%n", store.rel(mv.to()), store.rel(mv.from())));
    if (recoveryConf != null) out.printf("  aside    %s%n", store.rel(recoveryConf));
    out.printf("%nTotals: %d file(s) %s, %d Raft folder(s) %s, %d file(s) %s%s.%n", restores.size(),
        dryRun ? "to restore" : "restored", raftMoves.size(), dryRun ? "to move back" : "moved back",
        createdByPrepare.size() + temps.size() + (recoveryConf == null ? 0 : 1), dryRun ? "to move aside" : "moved aside",
        aside.isEmpty() ? "" : " into " + aside);
  }

  /** Carries the plan out; returns the undo folder. */
  Path carryOut() throws IOException {
    Path undo = Backups.newFolder(store, PREFIX);
    for (Path f : temps) PrepareRun.move(f, undo.resolve(Backups.LEFTOVERS).resolve(store.rel(f)));
    for (Path f : createdByPrepare) PrepareRun.move(f, undo.resolve(CREATED).resolve(store.rel(f)));
    for (Map.Entry<Path, Original> e : restores.entrySet()) {
      Path file = e.getKey();
      boolean present = Files.exists(file, LinkOption.NOFOLLOW_LINKS);
      Path like = present ? file : file.resolveSibling(MetaAsset.META_INF);
      if (present) {
        Path kept = undo.resolve(REPLACED).resolve(store.rel(file));
        Files.createDirectories(kept.getParent());
        Files.copy(file, kept, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      }
      PrepareRun.writeAtomically(file, e.getValue().bytes(),
          Files.exists(like, LinkOption.NOFOLLOW_LINKS) ? FileOwnership.of(like) : null);
      if (e.getValue().modified() != null) Files.setLastModifiedTime(file, e.getValue().modified());
    }
    for (RaftMove mv : raftMoves) PrepareRun.move(mv.from(), mv.to());
    if (recoveryConf != null) PrepareRun.move(recoveryConf, undo.resolve(RecoveryConfig.FILE));
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
// 7. Reports: the inspect table and JSON, what prepare did, next steps
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

  static String shellQuote(String s) {
    return s.matches("[A-Za-z0-9_./:=@%+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
  }
}

// =================================================================================================
// 8. Commands
// =================================================================================================

@Command(name = "js-recover", mixinStandardHelpOptions = true, versionProvider = JsRecover.VersionProvider.class,
    description = {"Makes the store of a JetStream node whose cluster lost Raft quorum loadable by a standalone "
        + "nats-server, so every stream and consumer can be backed up and restored into a new cluster.",
        "", "Work on a copy of the survivor's store_dir, never on the only copy."},
    subcommands = {InspectCommand.class, PrepareCommand.class, VerifyCommand.class, UndoCommand.class, VersionCommand.class,
        CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:done", "1:refused or failed (nothing changed unless the message says so)", "2:usage error"})
class JsRecover implements Callable<Integer> {
  static final String VERSION = "js-recover 0.1.0";

  @Spec CommandSpec spec;

  /** Called with no subcommand: that is a usage error. */
  @Override public Integer call() {
    spec.commandLine().getErr().println("js-recover: name a command: inspect, prepare, verify, undo, version or help");
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
    Store s = StoreWalker.locate(storeDir);
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

@Command(name = "version", mixinStandardHelpOptions = true, description = "Prints the version.")
final class VersionCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override public Integer call() {
    spec.commandLine().getOut().println(JsRecover.VERSION);
    return 0;
  }
}
