import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** recovery.conf: sized for what the streams may hold, and never written over the operator's own. */
class RecoveryConfTest {
  @TempDir Path tmp;

  static List<ServerGeneration> generations() { return ServerGeneration.all(); }

  static StoreBuilder withMaxBytes(StoreBuilder store, String account, String stream, long maxBytes) {
    return store.stream(account, stream, StoreBuilder.streamJson(stream, 3, "limits", "")
        .replace("\"max_bytes\":-1", "\"max_bytes\":" + maxBytes));
  }

  @ParameterizedTest(name = "{0}: streams allowed more than the file system holds load")
  @MethodSource("generations")
  void streamsAllowedMoreThanTheFileSystemHoldsLoad(ServerGeneration server) throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"));
    long disk = Files.getFileStore(tmp).getTotalSpace();
    withMaxBytes(store, "$G", "HUGE", 4 * disk);           // one stream larger than the disk
    withMaxBytes(store, "$G", "HALF1", disk / 2 + 1);      // two that fit alone, not together
    withMaxBytes(store, "$G", "HALF2", disk / 2 + 1);
    withMaxBytes(store, "$G", "MOST", Long.MAX_VALUE);     // the sum passes what an int64 holds
    store.stream("$G", "UNLIMITED", 3).raft("$SYS");
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    Cli.Result r = Cli.run("verify", "--nats-server", server.binary().toString(), "--timeout", "30", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("All 5 stream(s) and 0 consumer(s) on disk loaded."), r.out());
  }

  @Test
  void aHandFixedRecoveryConfIsKeptByARerun() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).raft("$SYS");
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    Path conf = store.storeDir.resolve("recovery.conf");
    String fixed = Files.readString(conf).replaceFirst("max_file_store: \\d+", "max_file_store: 1T");
    Files.writeString(conf, fixed);
    store.stream("$G", "LATER", 3); // something for the rerun to do

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("Kept " + conf + " as it is: it was changed by hand or not written by js-recover, and "
        + "js-recover never writes over such a file."), r.out());
    assertEquals(fixed, Files.readString(conf));
    int port = RecoveryConfig.read(conf).port();
    assertTrue(r.out().contains("nats --server nats://127.0.0.1:" + port + " account backup"), "the steps use its port: " + r.out());
  }

  @Test
  void aRecoveryConfJsRecoverDidNotWriteIsRefused() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).raft("$SYS");
    Path conf = Files.writeString(store.storeDir.resolve("recovery.conf"), "# the operator's own\nport: 4222\njetstream: enabled\n");
    String before = StoreBuilder.treeDigest(store.storeDir);

    for (String dryRun : List.of("--dry-run", "--force")) {
      Cli.Result r = Cli.run("prepare", dryRun, store.storeDir.toString());

      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains(conf + " was not written by js-recover, and js-recover never writes over a file it did "
          + "not write. Move it aside (mv " + conf + " " + conf + ".mine) and run prepare again"), r.err());
      assertTrue(r.err().contains(dryRun.equals("--dry-run") ? "dry run, nothing was written; a real run would be refused for:"
          : "prepare cannot write what it must; nothing was changed:"), r.err());
      assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
    }
  }
}
