import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way an incident hands prepare a bad store: each refusal names the path, says what to do,
 * exits 1 and writes nothing.
 */
class RefusalTest {
  @TempDir Path tmp;

  StoreBuilder healthy() {
    return new StoreBuilder(tmp.resolve("store"))
        .stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "R3EXPL", 3)
        .stream("$G", "EVENTS", 3).raft("$SYS");
  }

  /** Runs prepare and checks the refusal contract: exit 1, the message, nothing written. */
  Cli.Result refused(Path storeDir, String... expected) {
    String before = Files.exists(storeDir) ? StoreBuilder.treeDigest(storeDir) : "";
    Cli.Result r = Cli.run("prepare", storeDir.toString());
    assertEquals(1, r.exit(), r.all());
    for (String e : expected) assertTrue(r.all().contains(e), "expected «" + e + "» in:\n" + r.all());
    if (Files.exists(storeDir)) assertEquals(before, StoreBuilder.treeDigest(storeDir), "a refused prepare wrote something");
    return r;
  }

  @Test
  void aMissingFolder() {
    refused(tmp.resolve("nope"), "store dir " + tmp.resolve("nope") + " does not exist", "the folder holding jetstream/");
  }

  @Test
  void aFileInsteadOfAFolder() throws Exception {
    Path file = Files.writeString(tmp.resolve("store.tar"), "x");
    refused(file, file + " is a file, not a store dir");
  }

  @Test
  void aFolderThatIsNotAStore() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("home"));
    refused(dir, dir + " is not a JetStream store: it has no jetstream/ folder");
  }

  @Test
  void anEmptyStore() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("store/jetstream/$G/streams"));
    refused(tmp.resolve("store"), "no streams found under " + tmp.resolve("store/jetstream"), "right node's store_dir");
  }

  @Test
  void theJetstreamFolderItselfIsAccepted() {
    StoreBuilder store = healthy();
    Cli.Result r = Cli.run("prepare", "--dry-run", store.jetstream().toString());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("Store " + store.storeDir + ":"), r.out());
  }

  @Test
  void aTornMetaInf() throws Exception {
    StoreBuilder store = healthy();
    Path meta = store.streamDir("$G", "ORDERS").resolve("meta.inf");
    byte[] full = Files.readAllBytes(meta);
    Files.write(meta, java.util.Arrays.copyOf(full, full.length / 2)); // torn mid-write
    refused(store.storeDir, "jetstream/$G/streams/ORDERS/meta.inf: meta.inf of stream $G > ORDERS is torn or not JSON",
        "does not match meta.inf", "2 problem(s) found", "nothing was changed",
        "to fix: copy this stream's folder again from the survivor's disk");
  }

  @Test
  void aChecksumThatDoesNotMatchIsNotSilentlyReplaced() throws Exception {
    StoreBuilder store = healthy();
    Files.writeString(store.consumerDir("$G", "ORDERS", "R3EXPL").resolve("meta.sum"), "0123456789abcdef");
    refused(store.storeDir, "meta.sum of consumer $G > ORDERS > R3EXPL does not match meta.inf (stored \"0123456789abcdef\"",
        "--force recomputes meta.sum");
  }

  @Test
  void missingMetaFiles() throws Exception {
    StoreBuilder store = healthy();
    Files.delete(store.streamDir("$G", "EVENTS").resolve("meta.sum"));
    Files.delete(store.consumerDir("$G", "ORDERS", "R3EXPL").resolve("meta.inf"));
    refused(store.storeDir, "2 problem(s) found", "stream $G > EVENTS has no meta.sum",
        "consumer $G > ORDERS > R3EXPL has no meta.inf");
  }

  @Test
  void encryptedAssetsWithoutAKeySayWhichAndThatAKeyIsNeeded() throws Exception {
    StoreBuilder store = healthy();
    Path dir = store.streamDir("$G", "EVENTS");
    Files.write(dir.resolve("meta.key"), new byte[72]);
    byte[] sealed = new byte[120];
    new java.util.Random(1).nextBytes(sealed);
    Files.write(dir.resolve("meta.inf"), sealed);
    Files.writeString(dir.resolve("meta.sum"), StoreBuilder.sum("EVENTS", sealed));
    refused(store.storeDir, "stream $G > EVENTS is encrypted (meta.key present)", "without the JetStream key", "--key-file");
  }

  @Test
  void aSymlinkOutOfTheStoreIsNotFollowed() throws Exception {
    StoreBuilder store = healthy();
    StoreBuilder elsewhere = new StoreBuilder(tmp.resolve("elsewhere")).stream("$G", "LINKED", 3);
    Files.createSymbolicLink(store.streamDir("$G", "LINKED"), elsewhere.streamDir("$G", "LINKED"));
    String outside = StoreBuilder.treeDigest(elsewhere.storeDir);
    refused(store.storeDir, "jetstream/$G/streams/LINKED: a symbolic link: js-recover never follows links out of the store",
        "cp -aL");
    assertEquals(outside, StoreBuilder.treeDigest(elsewhere.storeDir));
  }

  @Test
  void aSymlinkedMetaInf() throws Exception {
    StoreBuilder store = healthy();
    Path meta = store.streamDir("$G", "EVENTS").resolve("meta.inf");
    Path real = Files.write(tmp.resolve("meta.inf.real"), Files.readAllBytes(meta));
    Files.delete(meta);
    Files.createSymbolicLink(meta, real);
    refused(store.storeDir, "jetstream/$G/streams/EVENTS/meta.inf: a symbolic link");
  }

  @Test
  void aBackupFolderLinkedOutOfTheStoreIsNotWrittenThrough() throws Exception {
    StoreBuilder store = healthy();
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    Files.createSymbolicLink(store.storeDir.resolve("js-recover-backup"), elsewhere);
    refused(store.storeDir, "js-recover-backup is a symbolic link; js-recover keeps its backup inside the store only");
    assertEquals(0, elsewhere.toFile().list().length, "nothing written behind the link");
  }

  @Test
  void aFileNamedLikeTheBackupFolderIsRefusedNotLoopedOn() throws Exception {
    StoreBuilder store = healthy();
    Files.writeString(store.storeDir.resolve("js-recover-backup"), "someone's notes");
    java.util.concurrent.Future<Cli.Result> run = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r);
      t.setDaemon(true); // before the fix prepare spins for ever: let the test JVM exit anyway
      return t;
    }).submit(() -> refused(store.storeDir, "js-recover-backup is a file, not a folder", "Move the file aside",
        "nothing was changed"));
    run.get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals("someone's notes", Files.readString(store.storeDir.resolve("js-recover-backup")));
  }

  @Test
  void aStoreStillBeingWrittenIsRefused() throws Exception {
    StoreBuilder store = healthy();
    Path block = store.streamDir("$G", "ORDERS").resolve("msgs/1.blk");
    AtomicBoolean stop = new AtomicBoolean();
    Thread server = new Thread(() -> { // what a live nats-server does to its newest block
      try (RandomAccessFile f = new RandomAccessFile(block.toFile(), "rw")) {
        while (!stop.get()) {
          f.seek(f.length());
          f.write("msg".getBytes(StandardCharsets.UTF_8));
          Thread.sleep(20);
        }
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    server.start();
    try {
      Cli.Result r = Cli.run("prepare", store.storeDir.toString());
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("the store is changing while js-recover reads it"), r.err());
      assertTrue(r.err().contains("stop that server"), r.err());
    } finally {
      stop.set(true);
      server.join();
    }
    assertFalse(Files.exists(store.storeDir.resolve("js-recover-backup")), "nothing written");
    assertTrue(Files.exists(store.jetstream().resolve("$SYS/_js_")), "Raft state not moved");
  }

  @Test
  void forceGoesAheadAndSaysWhatItDidWithEachProblem() throws Exception {
    StoreBuilder store = healthy().stream("$G", "TORN", 3);
    Files.writeString(store.streamDir("$G", "EVENTS").resolve("meta.sum"), "0123456789abcdef");
    Path torn = store.streamDir("$G", "TORN").resolve("meta.inf");
    Files.writeString(torn, "{\"name\":\"TORN\",\"num_rep");
    byte[] tornBytes = Files.readAllBytes(torn);

    Cli.Result r = Cli.run("prepare", "--force", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("Problems (going ahead because of --force):"), r.out());
    assertTrue(r.out().contains("with --force: meta.sum recomputed over meta.inf as found"), r.out());
    assertTrue(r.out().contains("with --force: left as is: the standalone server will not load this stream"), r.out());
    Path events = store.streamDir("$G", "EVENTS");
    assertEquals(StoreBuilder.sum("EVENTS", Files.readAllBytes(events.resolve("meta.inf"))), StoreBuilder.read(events.resolve("meta.sum")));
    assertEquals(new String(tornBytes), StoreBuilder.read(torn), "the torn meta.inf is left as it is");
  }

  // --- meta.inf that Jackson would read but nats-server's Go decoder refuses ---------------------

  /** The stream ORDERS of a healthy store with these bytes as meta.inf and a meta.sum that matches them. */
  StoreBuilder withOrdersMetaInf(byte[] metaInf) {
    StoreBuilder store = healthy();
    Path dir = store.streamDir("$G", "ORDERS");
    StoreBuilder.write(dir.resolve("meta.inf"), metaInf);
    StoreBuilder.write(dir.resolve("meta.sum"), StoreBuilder.sum("ORDERS", metaInf).getBytes(StandardCharsets.US_ASCII));
    return store;
  }

  void refusedAsTheServerRefusesIt(byte[] metaInf, String why) {
    StoreBuilder store = withOrdersMetaInf(metaInf);
    Cli.Result r = refused(store.storeDir, "jetstream/$G/streams/ORDERS/meta.inf: meta.inf of stream $G > ORDERS" + why,
        "1 problem(s) found", "nothing was changed");
    assertFalse(r.all().contains("Exception"), r.all());
  }

  @Test
  void aByteOrderMarkIsAProblemNotACrash() {
    byte[] json = StoreBuilder.streamJson("ORDERS", 3, "limits", "").getBytes(StandardCharsets.UTF_8);
    byte[] bom = new byte[json.length + 3];
    bom[0] = (byte) 0xef;
    bom[1] = (byte) 0xbb;
    bom[2] = (byte) 0xbf;
    System.arraycopy(json, 0, bom, 3, json.length);
    refusedAsTheServerRefusesIt(bom, " starts with a UTF-8 byte order mark, which nats-server's JSON decoder refuses");
  }

  @Test
  void dataAfterTheObjectIsRefusedAsGoRefusesIt() {
    refusedAsTheServerRefusesIt((StoreBuilder.streamJson("ORDERS", 3, "limits", "") + "{}").getBytes(StandardCharsets.UTF_8),
        " has data after the end of its JSON object, which nats-server before 2.11.9 refuses");
  }

  @Test
  void aFloatReplicaCountIsRefusedAsGoCannotDecodeIt() {
    refusedAsTheServerRefusesIt(StoreBuilder.streamJson("ORDERS", 3, "limits", "").replace("\"num_replicas\":3", "\"num_replicas\":3.0")
        .getBytes(StandardCharsets.UTF_8), ": \"num_replicas\" is 3.0, not a whole number the server reads as an int, so "
        + "nats-server refuses to load it");
  }

  @Test
  void aPlacementThatIsNotAnObjectIsRefused() {
    refusedAsTheServerRefusesIt(StoreBuilder.streamJson("ORDERS", 3, "limits", ",\"Placement\":\"C1\"").getBytes(StandardCharsets.UTF_8),
        ": \"Placement\" is \"C1\", not an object, so nats-server refuses to load it");
  }

  @Test
  void aFloatInAnOverwrittenDuplicateIsRefusedToo() {
    // Go stops at the first member it cannot decode, even one a later duplicate would overwrite.
    refusedAsTheServerRefusesIt(StoreBuilder.streamJson("ORDERS", 3, "limits", ",\"Num_Replicas\":1")
        .replace("\"num_replicas\":3", "\"num_replicas\":3e0").getBytes(StandardCharsets.UTF_8),
        ": \"num_replicas\" is 3e0, not a whole number");
  }

  @Test
  void aReplicaCountForceCouldNotReadStaysUnknownUntilARunReadsIt() throws Exception {
    StoreBuilder store = healthy();
    Path meta = store.streamDir("$G", "EVENTS").resolve("meta.inf");
    byte[] whole = Files.readAllBytes(meta);
    Files.write(meta, java.util.Arrays.copyOf(whole, whole.length / 2)); // torn: the R3 config cannot be read

    Cli.Result forced = Cli.run("prepare", "--force", store.storeDir.toString());

    assertEquals(0, forced.exit(), forced.all());
    String restore = "stream restore " + store.storeDir + "-backup/EVENTS --replicas ";
    assertFalse(forced.out().contains(restore + "1"), "an unread replica count printed as 1:\n" + forced.out());
    assertTrue(forced.out().contains(restore + "N   # N unknown"), forced.out());
    assertTrue(forced.out().contains("its config could not be read, so its replica count is unknown"), forced.out());
    JsonNode manifest = Json.MAPPER.readTree(PrepareTest.onlyRun(store).resolve("manifest.json").toFile());
    JsonNode events = null;
    for (JsonNode s : manifest.get("streams")) if (s.get("stream").asText().equals("EVENTS")) events = s;
    assertTrue(events.get("replicas").isNull(), "the manifest records unknown as null: " + events);

    Files.write(meta, whole); // copied again from the survivor, as the problem said
    Cli.Result rerun = Cli.run("prepare", "--force", store.storeDir.toString());

    assertEquals(0, rerun.exit(), rerun.all());
    assertTrue(rerun.out().contains(restore + "3"), "the run that reads it prints what it reads:\n" + rerun.out());
  }

  @Test
  void usageErrorsExitTwo() {
    Cli.Result noDir = Cli.run("prepare");
    assertEquals(2, noDir.exit());
    assertTrue(noDir.err().contains("Missing required parameter: '<store-dir>'"), noDir.err());
    Cli.Result badOption = Cli.run("prepare", "--bogus", tmp.toString());
    assertEquals(2, badOption.exit());
    assertTrue(badOption.err().contains("Unknown option: '--bogus'"), badOption.err());
    Cli.Result noCommand = Cli.run();
    assertEquals(2, noCommand.exit());
    assertTrue(noCommand.err().contains("name a command: inspect, prepare"), noCommand.err());
  }
}
