import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** restore and backup refuse, before connecting anywhere and changing nothing, what they cannot do right. */
class TransferRefusalTest {
  @TempDir Path tmp;

  private Path preparedStore(StoreBuilder built) {
    Path store = tmp.resolve("store");
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    return store;
  }

  @Test void restoreNeedsAStoreOrABackupButNotBoth() {
    Cli.Result neither = Cli.run("restore", "--to", "nats://127.0.0.1:1");
    Cli.Result both = Cli.run("restore", "--to", "nats://127.0.0.1:1", "--from-backup", tmp.toString(), tmp.toString());

    assertEquals(2, neither.exit(), neither.all());
    assertTrue(neither.err().contains("give a prepared <store-dir> or --from-backup DIR"), neither.all());
    assertEquals(2, both.exit(), both.all());
  }

  @Test void aBackupFolderWithoutStreamsOrInterruptedIsRefusedBeforeConnecting() throws Exception {
    Path empty = java.nio.file.Files.createDirectories(tmp.resolve("empty"));
    Path interrupted = java.nio.file.Files.createDirectories(tmp.resolve("backup/ORDERS"));
    java.nio.file.Files.write(interrupted.resolve("stream.tar.s2"), new byte[] {(byte) 0xff, 6, 0, 0});

    Cli.Result none = Cli.run("restore", "--from-backup", empty.toString(), "--to", "nats://127.0.0.1:1");
    Cli.Result half = Cli.run("restore", "--from-backup", interrupted.toString(), "--to", "nats://127.0.0.1:1");

    assertEquals(1, none.exit(), none.all());
    assertTrue(none.err().contains("no stream backup in " + empty + ": name a folder holding backup.json"), none.all());
    assertEquals(1, half.exit(), half.all());
    assertTrue(half.err().contains(interrupted + " has no backup.json: an interrupted backup. Run js-recover backup again"), half.all());
    assertEquals(4, java.nio.file.Files.size(interrupted.resolve("stream.tar.s2")), "the backup was changed");
  }

  @Test void anUnpreparedStoreIsRefused() {
    Path store = tmp.resolve("store");
    new StoreBuilder(store).stream("$G", "ORDERS", 3);
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = Cli.run("restore", "--from", "nats://127.0.0.1:1", "--to", "nats://127.0.0.1:1", store.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("no recovery.conf in " + store + ": run js-recover prepare"), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
  }

  @Test void withoutFromAStoreNotPreparedIsRefusedBeforeAServerStarts() throws Exception {
    // A consumer the server wrote after prepare, at 3 replicas: a standalone server would change what it cannot load.
    StoreBuilder built = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3);
    Path store = preparedStore(built);
    built.consumer("$G", "ORDERS", "LATE", 3);
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = Cli.run("restore", "--nats-server", recordingServer().toString(), "--to", "nats://127.0.0.1:1", store.toString());
    Cli.Result b = Cli.run("backup", "--nats-server", recordingServer().toString(), store.toString(), tmp.resolve("backup").toString());

    for (Cli.Result each : java.util.List.of(r, b)) {
      assertEquals(1, each.exit(), each.all());
      assertTrue(each.err().contains(store.toRealPath() + " is not prepared for a standalone server, so "), each.err());
      assertTrue(each.err().contains("\n  consumer $G > ORDERS > LATE: num_replicas 3 -> 0\n"), each.err());
      assertTrue(each.err().contains("Run js-recover prepare first; nothing was started or changed."), each.err());
    }
    assertTrue(r.err().contains("so restore starts none on it"), r.err());
    assertFalse(Files.exists(tmp.resolve("server-started")), "a server was started");
    assertFalse(Files.exists(tmp.resolve("backup")), "the backup folder was made");
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
  }

  @Test void withoutFromASecondRunIsRefusedByTheLockButWithFromTheStoreIsOnlyRead() throws Exception {
    Path store = preparedStore(new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3));
    String before = StoreBuilder.treeDigest(store);

    try (StoreLock first = StoreLock.acquire(store.toRealPath(), "restore")) {
      Cli.Result second = Cli.run("restore", "--nats-server", recordingServer().toString(), "--to", "nats://127.0.0.1:1", store.toString());
      Cli.Result backup = Cli.run("backup", "--nats-server", recordingServer().toString(), store.toString(), tmp.resolve("backup").toString());
      // With --from the store is someone else's server's: restore reads it and takes no lock.
      Cli.Result from = Cli.run("restore", "--from", "nats://127.0.0.1:1", "--to", "nats://127.0.0.1:1", store.toString());

      for (var r : java.util.Map.of("restore", second, "backup", backup).entrySet()) {
        assertEquals(1, r.getValue().exit(), r.getValue().all());
        assertTrue(r.getValue().err().contains("another js-recover restore (pid " + ProcessHandle.current().pid() + ", started "),
            r.getValue().err());
        assertTrue(r.getValue().err().contains("; wait for it to finish and run again. Nothing was changed. To " + r.getKey()
            + " from a recovery server already serving this store, name it with --from URL."), r.getValue().err());
      }
      assertEquals(1, from.exit(), from.all());
      assertFalse(from.all().contains("holds the store"), from.all());
      assertTrue(from.out().contains("NOT DONE $G > ORDERS: cannot connect to nats://127.0.0.1:1"), from.out());
    }
    assertFalse(Files.exists(tmp.resolve("server-started")), "a server was started");
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
  }

  @Test void sigtermToRestoreStopsTheServerItStarted() throws Exception {
    Path store = preparedStore(new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3));
    VerifyTest fakes = new VerifyTest();
    fakes.tmp = tmp;
    Process restore = JsRecoverProcess.builder("restore", "--nats-server", fakes.silentServer().toString(), "--timeout", "300",
        "--to", "nats://127.0.0.1:1", store.toString()).redirectOutput(tmp.resolve("restore.out").toFile()).start();
    java.util.List<ProcessHandle> server = java.util.List.of();
    try {
      long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
      while (server.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
        server = restore.descendants().filter(p -> p.info().commandLine().orElse("").contains("SilentListener")).toList();
      }
      assertFalse(server.isEmpty(), "restore started no server: " + Files.readString(tmp.resolve("restore.out")));

      restore.destroy(); // SIGTERM, as systemd, a container stop or kill(1) sends it
      assertTrue(restore.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "restore did not exit on SIGTERM");
      java.util.List<ProcessHandle> started = server;
      try { // a process being stopped may take a moment to go; one still there 10 s on was left behind
        Await.until(java.time.Duration.ofSeconds(10), "what restore started to stop", () -> {
          java.util.List<String> alive = started.stream().filter(ProcessHandle::isAlive).map(VerifyTest::describe).toList();
          return alive.isEmpty() ? null : alive.toString();
        });
      } catch (IllegalStateException e) {
        throw new AssertionError("the server restore started outlived it: " + e.getMessage());
      }
    } finally {
      restore.destroyForcibly();
      server.forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** A "nats-server" that only leaves a mark that it was started. */
  private Path recordingServer() throws Exception {
    Path p = Files.writeString(tmp.resolve("recording-server"), "#!/bin/sh\ntouch '" + tmp.resolve("server-started") + "'; exit 1\n");
    Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  @Test void severalAccountsNeedAccountBecauseOneTargetLoginReachesOne() {
    Path store = preparedStore(new StoreBuilder(tmp.resolve("store")).stream("A", "ORDERS", 3).stream("B", "EVENTS", 3));
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = Cli.run("restore", "--from", "nats://127.0.0.1:1", "--to", "nats://127.0.0.1:1", store.toString());
    Cli.Result unknown = Cli.run("restore", "--from", "nats://127.0.0.1:1", "--to", "nats://127.0.0.1:1", "--account", "A",
        "--stream", "NOPE", store.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("the store holds streams in 2 accounts (A, B), and one target login reaches one account: run "
        + "once per account with --account A"), r.all());
    assertEquals(1, unknown.exit(), unknown.all());
    assertTrue(unknown.err().contains("no stream NOPE in the store in account A"), unknown.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
  }
}
