import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

  @Test void aBackupOfAccountFoldersBesideStreamFoldersOrOneAccountsWithAccountLoginsIsRefusedBeforeConnecting() throws Exception {
    Path backup = tmp.resolve("backup");
    for (String folder : List.of("A/ORDERS", "SINGLE")) {
      Files.writeString(Files.createDirectories(backup.resolve(folder)).resolve("backup.json"), "{\"config\":{},\"state\":{}}");
    }
    String before = StoreBuilder.treeDigest(backup);

    Cli.Result mixed = Cli.run("restore", "--from-backup", backup.toString(), "--to", "nats://127.0.0.1:1");
    Cli.Result perAccount = Cli.run("restore", "--from-backup", backup.resolve("SINGLE").toString(), "--to", "A=nats://127.0.0.1:1");

    assertEquals(1, mixed.exit(), mixed.all());
    assertTrue(mixed.err().contains(backup + " holds both account folders (A) and stream folders: name one account's folder "
        + "with --from-backup."), mixed.all());
    assertEquals(1, perAccount.exit(), perAccount.all());
    assertTrue(perAccount.err().contains("--from-backup restores with one login: give --to URL, --creds FILE or --nkey FILE "
        + "without ACCOUNT=. Nothing was sent."), perAccount.all());
    assertEquals(before, StoreBuilder.treeDigest(backup), "the backup changed");
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

  @Test void severalAccountsWithoutALoginEachAreRefusedBeforeAnythingIsSent() throws Exception {
    Path store = preparedStore(new StoreBuilder(tmp.resolve("store")).stream("A", "ORDERS", 3).stream("B", "EVENTS", 3));
    Path creds = Files.writeString(tmp.resolve("a.creds"), "not read: refused before");
    String before = StoreBuilder.treeDigest(store);

    Cli.Result shared = restore(store, "--to", "nats://new:pw@127.0.0.1:1");
    Cli.Result oneOwn = restore(store, "--to", "nats://new:pw@127.0.0.1:1", "--creds", "A=" + creds);
    Cli.Result noUrl = restore(store, "--to", "A=nats://a:pw@127.0.0.1:1");
    Cli.Result typo = restore(store, "--to", "nats://127.0.0.1:1", "--nkey", "C=" + creds);
    Cli.Result twice = restore(store, "--to", "A=nats://a:pw@127.0.0.1:1", "--to", "A=nats://a2:pw@127.0.0.1:1", "--to", "B=nats://b:pw@127.0.0.1:1");
    Cli.Result unknown = restore(store, "--to", "nats://127.0.0.1:1", "--account", "A", "--stream", "NOPE");

    assertRefused(shared, "accounts A and B would log in to the new cluster as the same user, and one login reaches one "
        + "account: their streams would land in one account there. Give each account its own login (--to "
        + "ACCOUNT=nats://USER:PASSWORD@HOST:PORT, --creds ACCOUNT=FILE or --nkey ACCOUNT=FILE), or run once per account "
        + "with --account A. Nothing was sent.");
    // A login of its own for A and the plain one for B: two users, so both are tried (and fail: nothing listens there).
    assertEquals(1, oneOwn.exit(), oneOwn.all());
    assertTrue(oneOwn.out().contains("NOT DONE B > EVENTS: cannot connect to nats://127.0.0.1:1"), oneOwn.all());
    assertTrue(oneOwn.out().contains("NOT DONE A > ORDERS: "), oneOwn.all());
    assertRefused(noUrl, "no target URL for account B: give --to URL, or --to ACCOUNT=URL for each account. Nothing was sent.");
    assertRefused(typo, "--nkey names account C, whose streams are not among those that go (accounts: A, B). Nothing was sent.");
    assertRefused(twice, "--to is given twice for account A. Nothing was sent.");
    assertRefused(unknown, "no stream NOPE in the store in account A");
    for (Cli.Result r : List.of(shared, oneOwn, noUrl, typo, twice)) assertFalse(r.all().contains("pw@"), "a password was printed: " + r.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
  }

  @Test void anAccountWithCredentialsOfItsOwnLogsInWithThemAloneAndOthersWithThePlainOnes() throws Exception {
    TargetOptions target = new TargetOptions();
    target.urls = List.of("nats://plain:pw@new-cluster:4222", "C=nats://c:c-pw@other:4222");
    target.creds = List.of("A=" + tmp.resolve("a.creds"), tmp.resolve("plain.creds").toString());
    target.nkeys = List.of("B=" + tmp.resolve("b.nk"));

    var logins = target.logins(List.of("A", "B", "C", "D"));

    assertEquals(new TargetOptions.Login("nats://new-cluster:4222", tmp.resolve("a.creds"), null), logins.get("A"));
    assertEquals(new TargetOptions.Login("nats://new-cluster:4222", null, tmp.resolve("b.nk")), logins.get("B"));
    assertEquals(new TargetOptions.Login("nats://c:c-pw@other:4222", null, null), logins.get("C"));
    assertEquals(new TargetOptions.Login("nats://plain:pw@new-cluster:4222", tmp.resolve("plain.creds"), null), logins.get("D"));
  }

  @Test void fromOneServerCannotServeGlobalBesideNamedAccounts() throws Exception {
    Path store = preparedStore(new StoreBuilder(tmp.resolve("store")).stream("$G", "G_S", 1).stream("A", "ORDERS", 3));
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = restore(store, "--to", "nats://127.0.0.1:1", "--to", "A=nats://a:pw@127.0.0.1:1");

    assertRefused(r, "with --from, one server serves either $G's streams (recovery-global.conf) or the named accounts' "
        + "(recovery.conf), not both: add --account '$G' or --account A to say which that server serves, or leave --from out "
        + "and restore starts each in turn. Nothing was sent.");
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
  }

  private static Cli.Result restore(Path store, String... args) {
    List<String> all = new ArrayList<>(List.of("restore", "--from", "nats://127.0.0.1:1"));
    all.addAll(List.of(args));
    all.add(store.toString());
    return Cli.run(all.toArray(String[]::new));
  }

  private static void assertRefused(Cli.Result r, String message) {
    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(message), r.all());
    assertEquals("", r.out(), "something was attempted: " + r.out());
  }
}
