import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * js-recover undo: jetstream/ back byte for byte, modes included, as it was before the first
 * prepare, whatever runs happened (interrupted, rerun, --force); recovery.conf moved aside, nothing
 * deleted; a refusal when it cannot be done, changing nothing.
 */
class UndoTest {
  @TempDir Path tmp;

  StoreBuilder survivor(String name, int streams) throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve(name)).raft("$SYS")
        .stream("$G", "_js_", 3).consumer("$G", "_js_", "_js_", 3)
        .stream("$G", "R1", 1).consumer("$G", "R1", "C", 0);
    for (int i = 0; i < streams; i++) {
      store.stream("$G", "S" + i, StoreBuilder.streamJson("S" + i, 3, "limits", ",\"placement\":{\"cluster\":\"C1\"}"))
          .consumer("$G", "S" + i, "C", 3);
    }
    // modes as a server leaves them, which a restore must keep
    Files.setPosixFilePermissions(store.streamDir("$G", "S0").resolve("meta.inf"), PosixFilePermissions.fromString("rw-r-----"));
    return store;
  }

  /** Every path under root with its type, mode and content digest: equal snapshots, identical trees. */
  static Map<String, String> snapshot(Path root) throws Exception {
    Map<String, String> all = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.toList()) {
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
        all.put(root.relativize(p).toString(), Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "dir " + mode
            : "file " + mode + " " + StoreBuilder.sha256(Files.readAllBytes(p)));
      }
    }
    return all;
  }

  /** The paths whose type, mode or bytes differ: a short message instead of two whole trees. */
  static void assertSameTree(Map<String, String> expected, Map<String, String> actual, String what) {
    java.util.Set<String> paths = new java.util.TreeSet<>(expected.keySet());
    paths.addAll(actual.keySet());
    java.util.List<String> differ = paths.stream().filter(p -> !java.util.Objects.equals(expected.get(p), actual.get(p)))
        .map(p -> p + ": " + expected.get(p) + " -> " + actual.get(p)).limit(10).toList();
    assertEquals(java.util.List.of(), differ, what);
  }

  static Cli.Result undone(StoreBuilder store) {
    Cli.Result r = Cli.run("undo", store.storeDir.toString());
    assertEquals(0, r.exit(), r.all());
    return r;
  }

  @Test
  void prepareThenUndoGivesTheStoreBackByteForByteAndALaterPrepareStartsAfresh() throws Exception {
    StoreBuilder store = survivor("store", 3);
    Map<String, String> before = snapshot(store.jetstream());
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    assertFalse(before.equals(snapshot(store.jetstream())), "prepare changed nothing: the test proves nothing");

    Cli.Result r = undone(store);

    assertSameTree(before, snapshot(store.jetstream()), "undone");
    assertTrue(r.out().contains("Undoing 1 prepare run(s)"), r.out());
    assertTrue(r.out().contains("raft     jetstream/$SYS/_js_ back from js-recover-backup/"), r.out());
    assertTrue(r.out().contains("restore  jetstream/$G/streams/S0/meta.inf from js-recover-backup/"), r.out());
    assertFalse(Files.exists(store.storeDir.resolve("recovery.conf")), "recovery.conf moved aside");
    Path undoFolder = undoFolder(store);
    assertTrue(Files.exists(undoFolder.resolve("recovery.conf")), "recovery.conf kept in " + undoFolder);
    assertTrue(Files.exists(undoFolder.resolve("replaced/jetstream/$G/streams/S0/meta.inf")), "the prepared bytes are kept");
    String undoneStore = StoreBuilder.treeDigest(store.storeDir);
    Cli.Result verify = Cli.run("verify", store.storeDir.toString());
    assertEquals(1, verify.exit(), verify.all());
    assertTrue(verify.err().contains("no recovery.conf in " + store.storeDir), "verify refuses the undone store:\n" + verify.all());
    assertEquals(undoneStore, StoreBuilder.treeDigest(store.storeDir), "no server started on the undone store");

    Cli.Result again = Cli.run("prepare", store.storeDir.toString());
    assertTrue(again.out().contains("stream   $G > S0: num_replicas 3 -> 1"), "a later prepare starts afresh:\n" + again.out());
    assertTrue(again.out().contains("stream restore " + store.storeDir + "-backup/S0 --replicas 3"), again.out());
    undone(store);
    assertSameTree(before, snapshot(store.jetstream()), "prepare, undo, prepare, undo");
    assertTrue(Cli.run("undo", store.storeDir.toString()).out().contains("Nothing to undo"));
  }

  @Test
  void undoneTheServerRefusesTheReplicatedStreamsOfACapturedSurvivorExactlyAsOnTheOriginal() throws Exception {
    Path fixture = Path.of("tests/fixtures/cluster-2.9.10/store"); // what a real 2.9.10 cluster left on its survivor
    Path original = tmp.resolve("original"), undone = tmp.resolve("undone");
    StoreBuilder.copyTree(fixture, original);
    StoreBuilder.copyTree(fixture, undone);
    assertEquals(0, Cli.run("prepare", undone.toString()).exit());

    Cli.Result r = Cli.run("undo", undone.toString());

    assertEquals(0, r.exit(), r.all());
    assertSameTree(snapshot(original.resolve("jetstream")), snapshot(undone.resolve("jetstream")), "undone");
    assertEquals(whatAServerMakesOf(original, "server-original"), whatAServerMakesOf(undone, "server-undone"));
  }

  /** The streams a standalone server serves from a store, and what it refuses (log lines without time and pid). */
  List<String> whatAServerMakesOf(Path store, String dir) throws Exception {
    // started without waiting for /healthz: 2.10+ never reports healthy while a stream on disk is not loaded
    try (NatsServerProcess server = NatsServerProcess.start(ServerGeneration.installed(), "recovery", NatsConfig.defaults(),
        store, "", tmp.resolve(dir))) {
      Await.until(java.time.Duration.ofSeconds(30), "the server to finish loading the store",
          () -> server.log().contains("Server is ready") ? null : "not ready yet");
      List<String> seen = new ArrayList<>();
      server.loadErrors().forEach(line -> seen.add(line.replaceFirst("^.*?\\[(WRN|ERR|INF)\\]", "")));
      assertTrue(seen.stream().anyMatch(l -> l.contains("replicas > 1 not supported in non-clustered mode")), seen.toString());
      for (var a : server.jsz().map.get("account_details").array) {
        var details = a.map.get("stream_detail");
        if (details != null) details.array.forEach(st -> seen.add("served " + st.map.get("name").string));
      }
      Collections.sort(seen);
      return seen;
    }
  }

  @Test
  void aDryRunPrintsThePlanAndWritesNothing() throws Exception {
    StoreBuilder store = survivor("store", 1);
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("undo", "--dry-run", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("Dry run: nothing is written. Would undo 1 prepare run(s)"), r.out());
    assertTrue(r.out().contains("file(s) to restore, 1 Raft folder(s) to move back"), r.out());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "a dry run wrote something");
  }

  @Test
  void interruptedPreparesAndRerunsAreUndoneToTheBytesBeforeTheFirst() throws Exception {
    int halfPreparedZips = 0;
    for (long delayMillis : new long[] {0, 0, 2}) {
      StoreBuilder store = survivor("store-" + halfPreparedZips + "-" + delayMillis + "-" + System.nanoTime(), 300);
      Map<String, String> before = snapshot(store.jetstream());
      Path first = store.streamDir("$G", "S0").resolve("meta.inf"); // the first change of the plan
      long size = Files.size(first);
      Process run = JsRecoverProcess.builder("prepare", store.storeDir.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      while (run.isAlive() && Files.size(first) == size) Thread.onSpinWait(); // rewrites have begun
      Thread.sleep(delayMillis);
      run.destroyForcibly().waitFor();
      assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit(), "the rerun completes the job");
      if (rerunKeptHalfPreparedBytes(store)) halfPreparedZips++;

      Cli.Result r = undone(store);

      assertSameTree(before, snapshot(store.jetstream()), "undo after a kill at +" + delayMillis + " ms and a rerun");
    }
    System.out.println("reruns whose originals.zip held half-prepared bytes: " + halfPreparedZips + " of 3");
    assertTrue(halfPreparedZips >= 1, "no kill left half-prepared files for the rerun to keep: the test proved nothing");
  }

  /** The case the README's old undo got wrong: the newest run's originals.zip holds a prepared meta.inf. */
  static boolean rerunKeptHalfPreparedBytes(StoreBuilder store) throws Exception {
    try (Stream<Path> runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      Path newest = runs.sorted().reduce((a, b) -> b).orElseThrow();
      return StoreBuilder.zipEntries(Files.readAllBytes(newest.resolve("originals.zip"))).values().stream()
          .anyMatch(b -> new String(b).contains("\"num_replicas\":1,") && new String(b).contains("\"name\":\"S"));
    }
  }

  @Test
  void anUndoKilledMidwayIsCompletedByRunningItAgain() throws Exception {
    int halfUndone = 0;
    for (long delayMillis : new long[] {0, 5, 20}) {
      StoreBuilder store = survivor("store-" + delayMillis, 300);
      Map<String, String> before = snapshot(store.jetstream());
      assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
      Process run = JsRecoverProcess.builder("undo", store.storeDir.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      Path backups = store.storeDir.resolve("js-recover-backup");
      while (run.isAlive() && !hasUndoFolder(backups)) Thread.onSpinWait(); // undo starts writing
      Thread.sleep(delayMillis);
      run.destroyForcibly().waitFor();
      if (!before.equals(snapshot(store.jetstream()))) halfUndone++;

      undone(store);

      assertSameTree(before, snapshot(store.jetstream()), "undo killed at +" + delayMillis + " ms, then run again");
    }
    System.out.println("undo kills that left the store half undone: " + halfUndone + " of 3");
    assertTrue(halfUndone >= 1, "no kill landed while undo was writing: the test proved nothing");
  }

  static boolean hasUndoFolder(Path backups) throws Exception {
    try (Stream<Path> all = Files.list(backups)) {
      return all.anyMatch(p -> p.getFileName().toString().startsWith("undo-"));
    }
  }

  @Test
  void forcedRunsAreUndoneAndAMetaSumTheyCreatedIsMovedAside() throws Exception {
    StoreBuilder store = survivor("store", 2);
    Files.delete(store.streamDir("$G", "S0").resolve("meta.sum"));
    Files.writeString(store.consumerDir("$G", "S1", "C").resolve("meta.sum"), "0123456789abcdef");
    Map<String, String> before = snapshot(store.jetstream());
    assertEquals(0, Cli.run("prepare", "--force", store.storeDir.toString()).exit());
    assertEquals(0, Cli.run("prepare", "--force", store.storeDir.toString()).exit());

    undone(store);

    assertSameTree(before, snapshot(store.jetstream()), "undone");
    assertTrue(Files.exists(undoFolder(store).resolve("created/jetstream/$G/streams/S0/meta.sum")), "moved aside, not deleted");
  }

  @Test
  void anEncryptedStoreGetsItsMetaKeysBackEvenAfterA29ServerDeletedThem() throws Exception {
    EncryptedStoreTest encrypted = new EncryptedStoreTest();
    encrypted.tmp = tmp;
    StoreBuilder store = encrypted.survivor(EncryptedStoreTest.CHACHA);
    Path metaKey = store.streamDir("$G", EncryptedStoreTest.CHACHA.stream()).resolve("meta.key");
    Map<String, String> before = snapshot(store.jetstream());
    assertEquals(0, Cli.run("prepare", "--key", EncryptedStoreTest.CHACHA.key(), store.storeDir.toString()).exit());
    Files.delete(metaKey); // what nats-server 2.9.10 does to a stream it loads

    undone(store);

    assertSameTree(before, snapshot(store.jetstream()), "meta.key and the sealed originals are back");
  }

  // --- refusals: each says why, exits 1 and changes nothing --------------------------------------

  static Cli.Result refused(StoreBuilder store, String... expected) {
    String before = StoreBuilder.treeDigest(store.storeDir);
    Cli.Result r = Cli.run("undo", store.storeDir.toString());
    assertEquals(1, r.exit(), r.all());
    for (String e : expected) assertTrue(r.all().contains(e), "expected «" + e + "» in:\n" + r.all());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "a refused undo wrote something");
    return r;
  }

  @Test
  void aStorePrepareNeverTouchedIsRefused() throws Exception {
    StoreBuilder store = survivor("store", 1);
    refused(store, "nothing to undo: " + store.storeDir + " has no js-recover-backup/");
  }

  @Test
  void aDamagedManifestIsRefused() throws Exception {
    StoreBuilder store = survivor("store", 1);
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    Files.writeString(PrepareTest.onlyRun(store).resolve("manifest.json"), "{\"status\":\"comp");
    refused(store, "undo cannot read the manifests in " + store.storeDir.resolve("js-recover-backup"), "nothing was changed",
        "It needs every run's manifest", "Keep that folder as it is: it holds the originals.");
  }

  @Test
  void aDamagedOriginalsZipIsRefused() throws Exception {
    StoreBuilder store = survivor("store", 1);
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    Path zip = PrepareTest.onlyRun(store).resolve("originals.zip");
    byte[] bytes = Files.readAllBytes(zip);
    Files.write(zip, java.util.Arrays.copyOf(bytes, bytes.length - 30)); // torn: no end of central directory
    refused(store, "undo cannot put the store back as it was; nothing was changed", "originals.zip is damaged",
        "Keep " + store.storeDir.resolve("js-recover-backup") + " as it is");
  }

  @Test
  void aRaftFolderWhoseOriginIsTakenIsRefused() throws Exception {
    StoreBuilder store = survivor("store", 1);
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    Files.createDirectories(store.jetstream().resolve("$SYS/_js_/_meta_")); // a clustered server started on it since
    refused(store, "jetstream/$SYS/_js_: the Raft folder kept in js-recover-backup/",
        "cannot go back, something else is in its place; move that aside and run undo again");
  }

  /** A prepared store whose backup or jetstream/ is then broken by {@code breakIt} (given the run folder). */
  StoreBuilder preparedThenBroken(Breaker breakIt) throws Exception {
    StoreBuilder store = survivor("store", 1);
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    breakIt.apply(store, PrepareTest.onlyRun(store));
    return store;
  }

  interface Breaker {
    void apply(StoreBuilder store, Path run) throws Exception;
  }

  static void editManifest(Path run, java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> edit) throws Exception {
    var manifest = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(run.resolve("manifest.json").toFile());
    edit.accept(manifest);
    Files.write(run.resolve("manifest.json"), Json.MAPPER.writeValueAsBytes(manifest));
  }

  @Test
  void aManifestOfAnotherShapeIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> Files.writeString(run.resolve("manifest.json"), "[]")),
        "manifest.json is damaged (not a js-recover manifest)", "nothing was changed");
  }

  @Test
  void aManifestNamingAFileOutsideTheStoreIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> editManifest(run, m ->
            ((com.fasterxml.jackson.databind.node.ObjectNode) m.get("changes").get(0)).put("meta_inf", "../../etc/passwd"))),
        "manifest.json is damaged: a change names no meta.inf inside jetstream/");
  }

  @Test
  void anOriginalsZipLackingAnOriginalIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> {
      try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(run.resolve("originals.zip")))) {
        zip.finish(); // a valid zip holding nothing
      }
    }), "originals.zip lacks the original of jetstream/$G/streams/S0/meta.inf");
  }

  @Test
  void aMissingOriginalsZipOfARunThatChangedTheStoreIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> Files.delete(run.resolve("originals.zip"))),
        "originals.zip is missing, but that run changed the store");
  }

  @Test
  void aRaftFolderNeitherInTheBackupNorInTheStoreIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> {
      Path kept = run.resolve("raft/jetstream/$SYS/_js_");
      Files.move(kept, store.storeDir.resolveSibling("elsewhere")); // lost from where the manifest says it is
    }), "raft/jetstream/$SYS/_js_ is gone, and jetstream/$SYS/_js_ is not in the store either: that Raft folder is lost");
  }

  @Test
  void aStreamFolderThatIsGoneIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> Files.move(store.streamDir("$G", "S0"), store.storeDir.resolveSibling("S0"))),
        "jetstream/$G/streams/S0: the folder is gone or reached through a link");
  }

  @Test
  void aFolderWhereAMetaFileWasIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> {
      Path meta = store.streamDir("$G", "S0").resolve("meta.inf");
      Files.delete(meta);
      Files.createDirectory(meta);
    }), "jetstream/$G/streams/S0/meta.inf: not a plain file (a link or a folder); move it aside and run undo again");
  }

  @Test
  void aBackupFolderThatIsALinkIsRefused() throws Exception {
    refused(preparedThenBroken((store, run) -> {
      Path backups = store.storeDir.resolve("js-recover-backup");
      Files.move(backups, store.storeDir.resolveSibling("backups-elsewhere"));
      Files.createSymbolicLink(backups, store.storeDir.resolveSibling("backups-elsewhere"));
    }), "js-recover-backup is a symbolic link; js-recover does not follow links out of the store");
  }

  @Test
  void anUndoWhileAnotherRunHoldsTheStoreIsRefused() throws Exception {
    StoreBuilder store = survivor("store", 1);
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    try (StoreLock held = StoreLock.acquire(store.storeDir, "prepare")) {
      String before = StoreBuilder.treeDigest(store.jetstream());
      Cli.Result r = Cli.run("undo", store.storeDir.toString());
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("another js-recover prepare (pid " + ProcessHandle.current().pid()), r.err());
      assertTrue(r.err().contains("holds the store " + store.storeDir), r.err());
      assertEquals(before, StoreBuilder.treeDigest(store.jetstream()), "a refused undo wrote something");
    }
  }

  static Path undoFolder(StoreBuilder store) throws Exception {
    try (Stream<Path> all = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      return all.filter(p -> p.getFileName().toString().startsWith("undo-")).sorted().reduce((a, b) -> b).orElseThrow();
    }
  }
}
