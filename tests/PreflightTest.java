import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What inspect and prepare must find before anything is written: stores copied or left in a way
 * that a standalone server would load differently from what the operator expects.
 */
class PreflightTest {
  @TempDir Path tmp;

  StoreBuilder survivor() {
    return new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3).raft("$SYS");
  }

  @Test
  void aConsumerFolderNamedOtherThanItsConsumerIsAProblem() throws Exception {
    // nats-server 2.9.10 loads obs/RENAMED/ (config AUDIT) as AUDIT, in a new obs/AUDIT/ with an empty state.
    StoreBuilder store = survivor().consumer("$G", "ORDERS", "RENAMED", StoreBuilder.consumerJson("AUDIT", 3));
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.out().contains("jetstream/$G/streams/ORDERS/obs/RENAMED: consumer folder RENAMED holds the config of "
        + "consumer AUDIT: the server loads it as AUDIT with a new, empty state in obs/AUDIT/ (its position is lost)"), r.out());
    assertTrue(r.out().contains("to fix: give the folder its consumer's name (mv obs/RENAMED obs/AUDIT"), r.out());
    assertTrue(r.err().contains("nothing was changed"), r.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void anEmptyStreamFolderIsAWarningNotAStream() throws Exception {
    StoreBuilder store = survivor();
    Files.createDirectories(store.streamDir("$G", "EMPTY").resolve("msgs"));
    Files.createDirectories(store.jetstream().resolve("ACC/streams/GONE"));
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result inspect = Cli.run("inspect", store.storeDir.toString());

    assertEquals(0, inspect.exit(), inspect.all());
    assertTrue(inspect.out().contains("jetstream/$G/streams/EMPTY: an empty stream folder (no meta.inf, no message): "
        + "nothing to recover"), inspect.out());
    assertTrue(inspect.out().contains("1 account(s), 1 stream(s)"), "ACC holds no stream to serve:\n" + inspect.out());
    assertFalse(inspect.out().contains("Problems"), inspect.out());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    assertTrue(Files.isDirectory(store.streamDir("$G", "EMPTY").resolve("msgs")), "left as is");
  }

  @Test
  void aHardLinkedCopyIsRefusedAndForceLeavesTheOtherCopyAsItWas() throws Exception {
    StoreBuilder original = survivor();
    Path copy = tmp.resolve("copy");
    try (Stream<Path> all = Files.walk(original.storeDir)) { // cp -al
      for (Path p : all.toList()) {
        Path to = copy.resolve(original.storeDir.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(to);
        else Files.createLink(to, p);
      }
    }
    String originalBefore = StoreBuilder.treeDigest(original.storeDir), copyBefore = StoreBuilder.treeDigest(copy);

    Cli.Result refused = Cli.run("prepare", copy.toString());

    assertEquals(1, refused.exit(), refused.all());
    assertTrue(refused.out().matches("(?s).*jetstream/\\$G/streams/ORDERS/\\S+: \\d+ file\\(s\\) of this store have other "
        + "hard links, e\\.g\\. this one \\(a copy made with cp -al\\): a nats-server started on this store.*"), refused.out());
    assertTrue(refused.out().contains("to fix: make a real copy of the survivor's store_dir (cp -a, without -l)"), refused.out());
    assertEquals(copyBefore, StoreBuilder.treeDigest(copy));
    assertEquals(originalBefore, StoreBuilder.treeDigest(original.storeDir));

    assertEquals(0, Cli.run("prepare", "--force", copy.toString()).exit());
    assertEquals(originalBefore, StoreBuilder.treeDigest(original.storeDir), "prepare breaks the links it rewrites");
  }

  @Test
  void aHardLinkedRaftFileIsNoProblemBecausePrepareMovesItOutOfTheStore() throws Exception {
    StoreBuilder store = survivor();
    Path raftFile = store.jetstream().resolve("$SYS/_js_/S-R3F-abc123/tav.idx"), other = tmp.resolve("tav.idx");
    Files.createLink(other, raftFile);
    byte[] otherBefore = Files.readAllBytes(other);

    Cli.Result inspect = Cli.run("inspect", store.storeDir.toString());
    Cli.Result prepare = Cli.run("prepare", store.storeDir.toString());

    assertFalse(inspect.out().contains("hard links"), inspect.out());
    assertEquals(0, prepare.exit(), prepare.all());
    assertFalse(Files.exists(raftFile), "_js_ moved out of jetstream/, where no server writes it");
    assertTrue(java.util.Arrays.equals(otherBefore, Files.readAllBytes(other)), "the other link kept its bytes");
  }

  @Test
  void aFolderNameThatIsNotUtf8IsListedAsItsBytes() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("msgs"));
    // Java cannot name such a file: the shell does (the bytes 0xff 0xfe, then .blk)
    Process touch = new ProcessBuilder("sh", "-c", "touch \"$(printf '\\377\\376.blk')\" 1.blk", "sh").directory(dir.toFile()).start();
    assertEquals(0, touch.waitFor());

    java.util.List<Path> entries = Folder.entries(dir);

    assertEquals(2, entries.size(), entries.toString());
    for (Path p : entries) assertTrue(Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS), "listed as on disk: " + p);
  }

  @Test
  void aConsumerInAStreamFolderNamedNotInUtf8IsReadFromThatFolder() throws Exception {
    StoreBuilder store = survivor();
    Path streams = store.streamDir("$G", "ORDERS").getParent();
    // Java cannot name such a folder: the shell does (ORDERS, then the bytes 0xff 0xfe)
    Process mv = new ProcessBuilder("sh", "-c", "mv ORDERS \"ORDERS$(printf '\\377\\376')\"").directory(streams.toFile()).start();
    assertEquals(0, mv.waitFor());

    Cli.Result r = Cli.run("inspect", "--json", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertFalse(r.out().contains("has no meta.inf"), "its meta files are read where they are:\n" + r.out());
    assertTrue(r.out().contains("\"name\" : \"C\",\n      \"replicas\" : 3"), r.out());
    assertTrue(r.out().contains("\"replicas\" : 3"), "the config was read:\n" + r.out());
  }

  @Test
  void maxAgeThatTheFirstStartWillEnforceIsSaidBeforeAnyServerStarts() throws Exception {
    long hour = Duration.ofHours(1).toNanos();
    StoreBuilder store = survivor()
        .stream("$G", "OLD", StoreBuilder.streamJson("OLD", 3, "limits", "").replace("\"max_age\":0", "\"max_age\":" + hour))
        .stream("$G", "FRESH", StoreBuilder.streamJson("FRESH", 3, "limits", "").replace("\"max_age\":0", "\"max_age\":" + 2 * hour));
    Files.setLastModifiedTime(store.streamDir("$G", "OLD").resolve("msgs/1.blk"),
        FileTime.from(Instant.now().minus(Duration.ofHours(3)).minusSeconds(5)));
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result inspect = Cli.run("inspect", store.storeDir.toString());

    assertEquals(0, inspect.exit(), inspect.all());
    assertTrue(inspect.out().contains("jetstream/$G/streams/OLD: max_age 1h: a server started on this store removes every "
        + "message older than that, at start and while it runs, and ALL of its messages are older (its newest message "
        + "block was last written 3h"), inspect.out());
    assertTrue(inspect.out().contains("jetstream/$G/streams/FRESH: max_age 2h: a server started on this store removes "
        + "every message older than that, at start and while it runs, and none is older yet"), inspect.out());
    assertTrue(inspect.out().contains("keep the untouched copy of this stream's folder from the survivor"), inspect.out());
    assertFalse(inspect.out().contains("streams/ORDERS: max_age"), "no max_age, no warning:\n" + inspect.out());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));

    Cli.Result prepare = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, prepare.exit(), prepare.all());
    assertTrue(prepare.out().contains("jetstream/$G/streams/OLD: max_age 1h"), prepare.out());
    Cli.Result again = Cli.run("prepare", store.storeDir.toString());
    assertTrue(again.out().contains("already prepared") && again.out().contains("streams/OLD: max_age 1h"), again.out());

    Path server = Files.writeString(tmp.resolve("server"), "#!/bin/sh\nexit 3\n"); // verify says it before any server starts
    Files.setPosixFilePermissions(server, PosixFilePermissions.fromString("rwxr-xr-x"));
    Cli.Result verify = Cli.run("verify", "--nats-server", server.toString(), store.storeDir.toString());
    int warned = verify.out().indexOf("jetstream/$G/streams/OLD: max_age 1h"), started = verify.out().indexOf("Starting ");
    assertTrue(warned >= 0 && warned < started, verify.all());
  }

  @Test
  void aRaftFolderThatCannotBeMovedIsFoundBeforeAnythingIsWritten() throws Exception {
    StoreBuilder store = survivor();
    Path raft = store.jetstream().resolve("$SYS/_js_");
    String before = StoreBuilder.treeDigest(store.storeDir);
    Cli.Result r;
    try (AutoCloseable locked = Privileged.immutable(raft)) {
      r = Cli.run("prepare", store.storeDir.toString());
    }

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("prepare cannot write what it must; nothing was changed:\n  " + raft + ": not writable; "
        + "run js-recover as the store's owner (the nats user) or root"), r.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
    assertFalse(Files.exists(store.storeDir.resolve("js-recover-backup")), "no manifest written");
  }

  @Test
  void aBackupFolderThatCannotBeWrittenIsFoundBeforeAnythingIsWritten() throws Exception {
    StoreBuilder store = survivor();
    Path backups = Files.createDirectories(store.storeDir.resolve("js-recover-backup"));
    String before = StoreBuilder.treeDigest(store.storeDir);
    Cli.Result r;
    try (AutoCloseable locked = Privileged.immutable(backups)) {
      r = Cli.run("prepare", store.storeDir.toString());
    }

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(backups + ": not writable (this run's backup goes here)"), r.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void aGroupTheUserIsNotInIsFoundBeforeAnythingIsWritten() throws Exception {
    assumeTrue(Privileged.root(), "needs root to give the store to nobody with group root");
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    StoreBuilder store = survivor();
    Privileged.run("chown", "-R", "nobody:root", store.storeDir.toString()); // nobody owns it, but is not in group root
    String before = StoreBuilder.treeDigest(store.storeDir);

    JsRecoverProcess.Result r = JsRecoverProcess.run(JsRecoverProcess.asNobody(tmp, "prepare", store.storeDir.toString()));

    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains(store.streamDir("$G", "ORDERS").resolve("meta.inf") + ": group root; nobody is not in "
        + "it, so what it writes in its place could not keep that group (run as a member of root, or root)"), r.output());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void tooLittleFreeSpaceIsFoundBeforeAnythingIsWritten() throws Exception {
    try (Privileged.Tmpfs fs = new Privileged.Tmpfs(tmp.resolve("small"), "1m")) {
      StoreBuilder store = new StoreBuilder(fs.dir.resolve("store")).raft("$SYS");
      for (int i = 0; i < 20; i++) store.stream("$G", "S" + i, 3);
      fs.fillLeaving(16 * 1024);
      String before = StoreBuilder.treeDigest(store.storeDir);

      Cli.Result r = Cli.run("prepare", store.storeDir.toString());

      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().matches("(?s).*prepare cannot write what it must; nothing was changed:\n  .*: \\d+ bytes free, "
          + "prepare needs about \\d+ \\(originals\\.zip, manifest\\.json, one temp file per rewritten meta file\\); free "
          + "space there, or copy the store to a larger file system.*"), r.err());
      assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
    }
  }

  @Test
  void aBackupFolderOnASmallFileSystemOfItsOwnIsCounted() throws Exception {
    StoreBuilder store = survivor();
    for (int i = 0; i < 50; i++) store.stream("$G", "S" + i, 3);
    try (Privileged.Tmpfs backups = new Privileged.Tmpfs(store.storeDir.resolve("js-recover-backup"), "8k")) {
      String before = StoreBuilder.treeDigest(store.storeDir);

      Cli.Result r = Cli.run("prepare", store.storeDir.toString());

      assertEquals(1, r.exit(), r.all());
      // The Raft state is copied there too: a rename does not cross into the backup folder's own file system.
      assertTrue(r.err().matches("(?s).*prepare cannot write what it must; nothing was changed:\n  moving jetstream/\\$SYS/_js_ "
          + "into js-recover-backup/ crosses file systems \\(the backup folder is on its own mount\\), so it is copied: that "
          + "needs .* with the backup, on the file system of " + java.util.regex.Pattern.quote(backups.dir.toString())
          + " \\(.*tmpfs\\)\\), which has .* free\\..*"), r.err());
      assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
    }
  }

  @Test
  void aReadOnlyFileSystemSaysSoAndDryRunStillPrintsThePlan() throws Exception {
    try (Privileged.Tmpfs fs = new Privileged.Tmpfs(tmp.resolve("ro"), "4m")) {
      StoreBuilder store = survivor();
      StoreBuilder.copyTree(store.storeDir, fs.dir.resolve("store"));
      fs.readOnly();
      Path ro = fs.dir.resolve("store");
      String before = StoreBuilder.treeDigest(ro);

      Cli.Result real = Cli.run("prepare", ro.toString());
      Cli.Result dry = Cli.run("prepare", "--dry-run", ro.toString());

      assertEquals(1, real.exit(), real.all());
      assertTrue(real.err().contains(ro + ": on a read-only file system"), real.err());
      assertTrue(real.err().contains("no user can write it: copy the store to a writable file system (cp -a) and prepare "
          + "the copy"), real.err());
      assertFalse(real.err().contains("or root"), "the owner or root cannot write it either:\n" + real.err());
      assertEquals(1, dry.exit(), dry.all());
      assertTrue(dry.out().contains("stream   $G > ORDERS: num_replicas 3 -> 1"), dry.out());
      assertTrue(dry.out().contains("raft     jetstream/$SYS/_js_: would be moved"), dry.out());
      assertTrue(dry.err().contains("dry run, nothing was written; a real run would be refused for:\n  " + ro
          + ": on a read-only file system"), dry.err());
      assertEquals(before, StoreBuilder.treeDigest(ro));
    }
  }

  @Test
  void dryRunPrintsThePlanAndTheProblemsARealRunWouldBeRefusedFor() throws Exception {
    StoreBuilder store = survivor().stream("$G", "TORN", "{\"name\":\"TORN\",\"num_repl");
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result dry = Cli.run("prepare", "--dry-run", store.storeDir.toString());

    assertEquals(1, dry.exit(), dry.all());
    assertTrue(dry.out().contains("jetstream/$G/streams/TORN/meta.inf: meta.inf of stream $G > TORN is torn"), dry.out());
    assertTrue(dry.out().contains("stream   $G > ORDERS: num_replicas 3 -> 1"), dry.out());
    assertTrue(dry.err().contains("a real run would be refused for:\n  1 problem(s) (see above; or --force)"), dry.err());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }
}
