import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    assertTrue(neither.err().contains("give a prepared <store-dir> (with --from URL) or --from-backup DIR"), neither.all());
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

  @Test void withoutFromTheRecoveryServerMustBeNamed() {
    Path store = preparedStore(new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3));
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = Cli.run("backup", store.toString(), tmp.resolve("backup").toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("--from URL is required: start the recovery server with js-recover verify --keep-running"), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "the store changed");
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
