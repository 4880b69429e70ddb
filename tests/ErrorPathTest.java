import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rarer refusals: a damaged backup folder, key mistakes, a server that will not start, a store written mid-run. */
class ErrorPathTest {
  @TempDir Path tmp;

  StoreBuilder store() {
    return new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3).raft("$SYS");
  }

  @Test
  void aDamagedManifestOfAnEarlierRunIsNamedNotIgnored() throws Exception {
    StoreBuilder store = store();
    Path manifest = Files.createDirectories(store.storeDir.resolve("js-recover-backup/20260101T000000Z")).resolve("manifest.json");
    Files.writeString(manifest, "{\"status\":\"in-progr");

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("cannot read the manifests in " + store.storeDir.resolve("js-recover-backup")), r.err());
    assertTrue(r.err().contains("Move that folder aside (do not delete it: it holds the originals)"), r.err());
  }

  @Test
  void keyMistakesBeyondTheObviousOnes() throws Exception {
    StoreBuilder store = store();
    Path dir = Files.createDirectories(tmp.resolve("a-folder"));
    Cli.Result folder = Cli.run("inspect", "--key-file", dir.toString(), store.storeDir.toString());
    assertEquals(1, folder.exit());
    assertTrue(folder.err().contains("cannot read key file " + dir), folder.err());

    Path empty = Files.writeString(tmp.resolve("empty.key"), "\n");
    Cli.Result blank = Cli.run("inspect", "--key-file", empty.toString(), store.storeDir.toString());
    assertEquals(1, blank.exit());
    assertTrue(blank.err().contains("the JetStream key given is empty (" + empty + ")"), blank.err());

    ProcessBuilder noKey = JsRecoverProcess.builder("inspect", "--cipher", "aes", store.storeDir.toString());
    noKey.environment().remove("JS_RECOVER_KEY");
    JsRecoverProcess.Result cipherAlone = JsRecoverProcess.run(noKey);
    assertEquals(2, cipherAlone.exit(), cipherAlone.output());
    assertTrue(cipherAlone.output().contains("--cipher needs a key: --key-file, --key or JS_RECOVER_KEY"), cipherAlone.output());
  }

  @Test
  void verifyWhenTheServerExitsOrNeverFinishesLoading() throws Exception {
    StoreBuilder store = store();
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    Path crashing = script("crashing-server", "echo 'nats-server: config error on line 3' >&2; exit 3");
    Path hanging = script("hanging-server", "exec sleep 60");

    Cli.Result exited = Cli.run("verify", "--nats-server", crashing.toString(), store.storeDir.toString());
    Cli.Result slow = Cli.run("verify", "--nats-server", hanging.toString(), "--timeout", "1", store.storeDir.toString());

    assertEquals(1, exited.exit());
    assertTrue(exited.err().contains("nats-server exited with code 3 before loading the store:\nnats-server: config error on line 3"),
        exited.err());
    assertEquals(1, slow.exit());
    assertTrue(slow.err().contains("nats-server did not finish loading the store within 1 s (--timeout); see "), slow.err());
  }

  @Test
  void verifyOfAnEncryptedStoreNeedsTheKey() throws Exception {
    StoreBuilder store = store();
    Files.writeString(store.storeDir.resolve("recovery.conf"),
        "listen: 127.0.0.1:4222\nhttp: 127.0.0.1:8222\njetstream {\n  key: $JS_RECOVER_KEY\n  cipher: aes\n}\n");
    ProcessBuilder pb = JsRecoverProcess.builder("verify", store.storeDir.toString());
    pb.environment().remove("JS_RECOVER_KEY");

    JsRecoverProcess.Result r = JsRecoverProcess.run(pb);

    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("the store is encrypted: the server needs the cluster's key. Pass --key-file FILE"), r.output());
  }

  @Test
  void aMetaInfChangedWhilePrepareWritesIsLeftAsItIsAndNamed() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"));
    for (int i = 0; i < 2000; i++) store.stream("$G", "S" + i, 3);
    Path victim = store.streamDir("$G", "S999").resolve("meta.inf");
    String written = StoreBuilder.streamJson("S999", 5, "limits", "");
    Thread server = new Thread(() -> { // a server still running, rewriting a stream's config once prepare writes
      try {
        Path backups = store.storeDir.resolve("js-recover-backup");
        while (!Files.isDirectory(backups) || isEmpty(backups) || !hasOriginals(backups)) Thread.onSpinWait();
        Files.writeString(victim, written);
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    server.start();

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());
    server.join();

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("these files changed while prepare ran, so they were left as they are:\n  " + victim), r.err());
    assertTrue(r.err().contains("A nats-server is still writing this store"), r.err());
    assertEquals(written, Files.readString(victim), "what the server wrote is kept");
  }

  @Test
  void aMetaInfChangedAfterThePlanWasMadeStopsPrepareBeforeItChangesAnything() throws Exception {
    StoreBuilder store = store();
    Store read = StoreWalker.walk(store.storeDir, null);
    RecoveryPlan plan = new RecoveryPlan(read);
    Path victim = store.streamDir("$G", "ORDERS").resolve("meta.inf");
    String written = StoreBuilder.streamJson("ORDERS", 5, "limits", ""); // a server still running rewrites the config
    Files.writeString(victim, written);
    Path consumerMetaInf = store.consumerDir("$G", "ORDERS", "C").resolve("meta.inf");
    byte[] consumerBefore = Files.readAllBytes(consumerMetaInf);

    Refusal r = assertThrows(Refusal.class, () -> PrepareRun.apply(plan));

    assertTrue(r.getMessage().startsWith("prepare stopped before changing the store: " + victim + " changed since "
        + "js-recover read it (other bytes than were read). Nothing was changed (this run's backup folder was removed "
        + "again). A nats-server (or another process) is still writing this store: stop it, or copy the store again "
        + "from a stopped one, then run js-recover prepare"), r.getMessage());
    assertEquals(written, Files.readString(victim), "what the server wrote is kept");
    assertArrayEquals(consumerBefore, Files.readAllBytes(consumerMetaInf));
    assertTrue(Files.isDirectory(store.storeDir.resolve("jetstream/$SYS/_js_")), "Raft state not moved");
    assertFalse(Files.exists(store.storeDir.resolve("js-recover-backup")), "no backup folder left");
  }

  @Test
  void aMetaInfChangedBetweenTheWalkAndTheReportIsNamedNotReportedAsRead() throws Exception {
    StoreBuilder store = store();
    Store read = StoreWalker.walk(store.storeDir, null);
    Path victim = store.streamDir("$G", "ORDERS").resolve("meta.inf");
    Files.writeString(victim, StoreBuilder.streamJson("ORDERS", 5, "limits", ""));

    java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> read.streams.get(0).meta().config());

    assertEquals(victim + " changed since js-recover read it (other bytes than were read)", e.getCause().getMessage());
  }

  @Test
  void aFileChangedSinceItWasReadIsSaidAsSuchNotAsAnUnforeseenFailure() throws Exception {
    picocli.CommandLine cli = JsRecover.commandLine();
    java.io.StringWriter err = new java.io.StringWriter();
    cli.setErr(new java.io.PrintWriter(err, true));
    Path victim = tmp.resolve("store/jetstream/$G/streams/ORDERS/meta.inf");

    int exit = cli.getExecutionExceptionHandler().handleExecutionException(new java.io.UncheckedIOException(
        new ChangedWhileRead(victim, "other bytes than were read")), cli, cli.parseArgs("inspect", tmp.resolve("store").toString()));

    assertEquals(1, exit);
    assertEquals("js-recover: " + victim + " changed since js-recover read it (other bytes than were read); nothing was "
        + "changed. A nats-server (or another process) is still writing this store: stop it, or copy the store again from "
        + "a stopped one, and run it again.", err.toString().strip());
  }

  Path script(String name, String body) throws Exception {
    Path p = Files.writeString(tmp.resolve(name), "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  static boolean hasOriginals(Path backups) throws Exception {
    try (Stream<Path> s = Files.list(backups)) {
      return s.anyMatch(run -> Files.exists(run.resolve("originals.zip")));
    }
  }

  static boolean isEmpty(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }
}
