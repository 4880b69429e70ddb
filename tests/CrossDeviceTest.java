import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A survivor whose jetstream/ is its own mount: the Raft state cannot be renamed into the backup folder, it is
 * copied onto the store dir's file system. Here both are small tmpfs mounts (needs root; skipped otherwise).
 */
class CrossDeviceTest {
  @TempDir Path tmp;
  final List<Path> mounts = new ArrayList<>();

  /** store/ is a tmpfs of {@code options}; store/jetstream/ another tmpfs holding the survivor's store. */
  StoreBuilder survivorOnTwoMounts(String options) throws Exception {
    Path store = Files.createDirectories(tmp.resolve("store"));
    mount(store, options);
    mount(Files.createDirectories(store.resolve("jetstream")), "size=16m");
    return new StoreBuilder(store).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3).raft("$SYS");
  }

  void mount(Path dir, String options) throws Exception {
    boolean root = "root".equals(System.getProperty("user.name"));
    Process p = root ? new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString())
        .redirectErrorStream(true).start() : null;
    String why = p == null ? "not root" : new String(p.getInputStream().readAllBytes());
    if (p == null || p.waitFor() != 0) {
      if ("true".equals(System.getenv("CI"))) throw new AssertionError("cannot mount tmpfs: " + why);
      Assumptions.abort("cross-device moves need two mounts; cannot mount tmpfs here: " + why);
    }
    mounts.add(0, dir);
  }

  @AfterEach
  void unmount() throws Exception {
    for (Path dir : mounts) new ProcessBuilder("umount", dir.toString()).inheritIO().start().waitFor();
  }

  static void raftFiles(StoreBuilder store, int count, int size) {
    for (int i = 0; i < count; i++) {
      StoreBuilder.write(store.jetstream().resolve("$SYS/_js_/S-R3F-abc123/msgs/" + (i + 1) + ".blk"), new byte[size]);
    }
  }

  static void noStackTrace(String output) {
    assertFalse(output.contains("\tat ") || output.contains("Exception"), "a stack trace or raw exception:\n" + output);
  }

  @Test
  void raftStateTooBigForTheStoreDirsFileSystemIsRefusedWithNumbers() throws Exception {
    StoreBuilder store = survivorOnTwoMounts("size=1m");
    raftFiles(store, 2, 1024 * 1024);
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("moving jetstream/$SYS/_js_ into js-recover-backup/ crosses file systems (jetstream/ is "
        + "on its own mount), so it is copied: that needs 2.0 MiB ("), r.err());
    assertTrue(r.err().matches("(?s).*on the file system of " + java.util.regex.Pattern.quote(store.storeDir.toString())
        + " \\(.*\\), which has 1\\.0 MiB \\(10\\d{5} bytes\\) free\\. Free at least .* there and run prepare again; "
        + "nothing was changed\\..*"), r.err());
    noStackTrace(r.all());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "a refused prepare wrote something");
  }

  @Test
  void aCopyThatFailsHalfwayIsRemovedAndTheStateIsSaidAndARerunCompletesIt() throws Exception {
    StoreBuilder store = survivorOnTwoMounts("size=8m,nr_inodes=16"); // room enough, but files run out mid-copy
    raftFiles(store, 40, 100);
    String jetstreamBefore = StoreBuilder.treeDigest(store.jetstream());

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    Path raft = store.jetstream().resolve("$SYS/_js_");
    assertTrue(r.err().contains("prepare stopped: copying " + raft + " to "), r.err());
    assertTrue(r.err().contains("(another file system) failed ("), r.err());
    assertTrue(r.err().contains("No space left on device); what this run"), r.err());
    assertTrue(r.err().contains("what this run had copied of it was removed, and " + raft + " is untouched"), r.err());
    assertTrue(r.err().contains("Where the store stands: no meta file was rewritten; this run wrote "), r.err());
    assertTrue(r.err().contains("run prepare again: it completes the job"), r.err());
    noStackTrace(r.all());
    assertEquals(jetstreamBefore, StoreBuilder.treeDigest(store.jetstream()), "the store itself changed");
    try (Stream<Path> backup = Files.walk(store.storeDir.resolve("js-recover-backup"))) {
      assertEquals(List.of(), backup.filter(p -> p.toString().contains("/raft/")).toList(), "a half copy was left");
    }

    new ProcessBuilder("mount", "-o", "remount,nr_inodes=1000", store.storeDir.toString()).inheritIO().start().waitFor();
    Cli.Result rerun = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, rerun.exit(), rerun.all());
    assertFalse(Files.exists(raft));
    try (Stream<Path> runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      Path copied = runs.map(run -> run.resolve("raft/jetstream/$SYS/_js_")).filter(Files::isDirectory).findFirst().orElseThrow();
      assertEquals(40, copied.resolve("S-R3F-abc123/msgs").toFile().list().length, "every Raft file copied");
    }
  }
}
