import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write that fails once prepare has started (disk full, a file nobody may replace): no stack trace,
 * but what was done, what state the store is in, and how to finish; a rerun then completes the job.
 */
class WriteFailureTest {
  @TempDir Path tmp;

  @Test
  void aDiskThatFillsUpOnceTheRunStartedIsReportedTruthfullyAndARerunFinishes() throws Exception {
    try (Privileged.Tmpfs fs = new Privileged.Tmpfs(tmp.resolve("small"), "8m")) {
      StoreBuilder store = new StoreBuilder(fs.dir.resolve("store")).raft("$SYS");
      for (int i = 0; i < 300; i++) store.stream("$G", "S" + i, 3);
      String before = StoreBuilder.treeDigest(store.storeDir);
      Path backups = store.storeDir.resolve("js-recover-backup");
      Thread other = new Thread(() -> { // another process fills the disk once the pre-flight has passed
        while (!Files.isDirectory(backups)) Thread.onSpinWait();
        fs.fill();
      });
      other.start();

      Cli.Result r = Cli.run("prepare", store.storeDir.toString());
      other.join();

      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("No space left on device"), r.err());
      assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace, no raw exception:\n" + r.err());
      assertTrue(r.err().contains("Free space on that file system (df -h), or copy the store to a larger one"), r.err());
      if (r.err().contains("Nothing was changed")) { // the usual case: the manifest is the first write
        assertTrue(r.err().contains("prepare stopped before changing the store"), r.err());
        assertFalse(Files.exists(backups), "this run's backup folder is taken away again");
        assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
      } else {
        assertTrue(r.err().contains("prepare stopped half-way") && r.err().contains("it completes this run"), r.err());
      }

      fs.unfill();
      Cli.Result rerun = Cli.run("prepare", store.storeDir.toString());
      assertEquals(0, rerun.exit(), rerun.all());
      assertTrue(StoreBuilder.read(store.streamDir("$G", "S299").resolve("meta.inf")).contains("\"num_replicas\":1"));
    }
  }

  @Test
  void aFileThatCannotBeReplacedStopsTheRunHalfWaySaysWhatWasDoneAndARerunFinishes() throws Exception {
    assumeTrue(Privileged.root(), "chattr +i needs root (root ignores permission bits)");
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "A", 3).stream("$G", "B", 3).raft("$SYS");
    Path stuck = store.streamDir("$G", "B").resolve("meta.sum");
    Cli.Result r;
    try (AutoCloseable locked = Privileged.immutable(stuck)) {
      r = Cli.run("prepare", store.storeDir.toString());
    }

    assertEquals(1, r.exit(), r.all());
    String err = r.err();
    assertTrue(err.contains("prepare stopped half-way: Operation not permitted (" + stuck.getParent()), err);
    assertTrue(err.contains("Done before it stopped: the plan ("), err);
    assertTrue(err.contains("1 of 1 Raft folder(s) and leftover temp file(s) were moved"), err);
    assertTrue(err.contains("1 of 2 stream and consumer config(s) were rewritten"), err);
    assertTrue(err.contains("Left to do: 1 config(s) to rewrite (a standalone server would not load those), the manifest "
        + "to mark complete, recovery.conf to (re)write. Nothing is lost."), err);
    assertTrue(err.contains("To finish: Make that file writable (run as the store's owner or root; lsattr shows an "
        + "immutable flag, chattr -i clears it), then run js-recover prepare " + store.storeDir + " again: it completes this run."), err);
    assertFalse(err.contains("nothing was changed") || err.contains("\tat "), err);
    try (var temps = Files.walk(store.storeDir)) {
      assertEquals(0, temps.filter(p -> p.toString().endsWith(".js-recover-tmp")).count(), "no temp file left behind");
    }

    Cli.Result rerun = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, rerun.exit(), rerun.all());
    Cli.Result inspect = Cli.run("inspect", store.storeDir.toString());
    assertFalse(inspect.out().contains("Problems"), inspect.out());
    assertTrue(inspect.out().matches("(?s).*\\$G +B +1 .*"), inspect.out());
  }

  @Test
  void aRecoveryConfThatCannotBeWrittenSaysTheStoreIsPrepared() throws Exception {
    assumeTrue(Privileged.root(), "chattr +i needs root (root ignores permission bits)");
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "A", 3).raft("$SYS");
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    store.stream("ACC", "NEW", 3); // a stream found later, in an account recovery.conf does not serve yet
    Path conf = store.storeDir.resolve("recovery.conf");
    Cli.Result r;
    try (AutoCloseable locked = Privileged.immutable(conf)) {
      r = Cli.run("prepare", store.storeDir.toString());
    }

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("The store is prepared (every change above is done; "), r.err());
    assertTrue(r.err().contains("but " + conf + " could not be written: Operation not permitted"), r.err());
    assertTrue(r.err().contains("it finds the store prepared and writes only recovery.conf."), r.err());
    assertFalse(r.err().contains("nothing was changed") || r.err().contains("\tat "), r.err());
    assertTrue(StoreBuilder.read(store.streamDir("ACC", "NEW").resolve("meta.inf")).contains("\"num_replicas\":1"));

    Cli.Result rerun = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, rerun.exit(), rerun.all());
    assertTrue(StoreBuilder.read(conf).contains("\"ACC\""), StoreBuilder.read(conf));
  }

  @Test
  void aMetaInfReplacedBeforeItsMetaSumFailedKeepsTheBackup() throws Exception {
    assumeTrue(Privileged.root(), "chattr +i needs root (root ignores permission bits)");
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "A", 3); // no Raft folder to move first
    Path sum = store.streamDir("$G", "A").resolve("meta.sum");
    byte[] original = Files.readAllBytes(store.streamDir("$G", "A").resolve("meta.inf"));
    Cli.Result r;
    try (AutoCloseable locked = Privileged.immutable(sum)) {
      r = Cli.run("prepare", store.storeDir.toString());
    }

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("prepare stopped half-way") && r.err().contains("0 of 1 stream and consumer config(s) were "
        + "rewritten"), r.err());
    assertTrue(StoreBuilder.read(store.streamDir("$G", "A").resolve("meta.inf")).contains("\"num_replicas\":1"), "meta.inf was replaced");
    try (var runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      Path run = runs.findFirst().orElseThrow();
      assertArrayEquals(original, StoreBuilder.zipEntries(Files.readAllBytes(run.resolve("originals.zip")))
          .get("jetstream/$G/streams/A/meta.inf"), "the original of what was replaced is kept");
    }
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
  }
}
