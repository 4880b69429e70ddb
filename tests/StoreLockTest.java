import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.api.StreamConfiguration;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runbook step 1, enforced: a store a nats-server still holds, or another js-recover is working on, is
 * refused by every command that writes or starts a server, naming who holds it, with nothing changed.
 */
class StoreLockTest {
  @TempDir Path tmp;

  static List<ServerGeneration> generations() {
    return ServerGeneration.all();
  }

  StoreBuilder survivor() {
    return new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3)
        .stream("$G", "EVENTS", 3).raft("$SYS");
  }

  /** The meta files and Raft folders: what prepare would change. */
  static Map<String, String> prepareWouldChange(Path storeDir) {
    Map<String, String> files = new TreeMap<>();
    StoreBuilder.files(storeDir).forEach((path, bytes) -> {
      if (path.matches(".*/meta\\.(inf|sum|key)|.*/_js_/.*")) files.put(path, StoreBuilder.sha256(bytes));
    });
    return files;
  }

  static void assertUntouched(Path storeDir, Map<String, String> before) {
    assertEquals(before, prepareWouldChange(storeDir), "meta files or Raft state changed");
    for (String written : List.of("js-recover-backup", "recovery.conf", StoreLock.FILE)) {
      assertFalse(Files.exists(storeDir.resolve(written)), written + " was left in the store");
    }
  }

  @ParameterizedTest(name = "{displayName}: {0}")
  @MethodSource("generations")
  void aStoreALiveServerHoldsIsRefusedNamingItsPid(ServerGeneration generation) throws Exception {
    Path store = tmp.resolve("store");
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, tmp.resolve("server"))) {
      try (Connection nc = server.connect("$G")) {
        Workload w = new Workload(nc);
        w.stream(StreamConfiguration.builder().name("ORDERS").subjects("orders.>"));
        w.durable("ORDERS", "C", null, 0);
        w.publish("orders.new", 20);
      }
      new StoreBuilder(store).raft("$SYS"); // what a survivor that lost quorum also has: prepare must not move it
      Map<String, String> before = prepareWouldChange(store);

      for (String[] command : List.of(new String[] {"prepare"}, new String[] {"prepare", "--dry-run"},
          new String[] {"verify", "--nats-server", generation.binary().toString()})) {
        List<String> args = new java.util.ArrayList<>(List.of(command));
        args.add(store.toString());
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().contains("is in use by another process:\n  pid " + server.pid() + " ("), r.err());
        assertTrue(r.err().contains(generation.binary().toString()), "names the server's command line: " + r.err());
        assertTrue(r.err().contains("A nats-server must be stopped"), r.err());
        assertTrue(r.err().contains("nothing was changed"), r.err());
        assertUntouched(store, before);
      }
      assertTrue(server.isAlive(), "verify started a second server, or stopped the first");
    }
  }

  @ParameterizedTest(name = "{displayName}: {0}")
  @MethodSource("generations")
  void aSurvivorThatLostQuorumIsRefusedWithItsRaftStateLeftInPlace(ServerGeneration generation) throws Exception {
    try (NatsCluster cluster = NatsCluster.start(generation, NatsConfig.defaults())) {
      try (Connection nc = cluster.connect("$G")) {
        Workload w = new Workload(nc);
        w.stream(StreamConfiguration.builder().name("ORDERS").subjects("orders.>").replicas(3));
        w.durable("ORDERS", "C", null, 3);
        w.publish("orders.new", 20);
      }
      cluster.awaitReplicasCurrent();
      NatsServerProcess survivor = cluster.nodes().get(0);
      cluster.nodes().stream().skip(1).forEach(NatsServerProcess::kill); // it takes no writes from now on
      Path store = survivor.storeDir();
      Map<String, String> metaBefore = new TreeMap<>(prepareWouldChange(store));
      metaBefore.keySet().removeIf(path -> path.startsWith("jetstream/$SYS/_js_/")); // its elections rewrite these

      for (String[] command : List.of(new String[] {"prepare", store.toString()},
          new String[] {"verify", "--nats-server", generation.binary().toString(), store.toString()})) {
        Cli.Result r = Cli.run(command);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().contains("pid " + survivor.pid() + " ("), r.err());
        Map<String, String> metaAfter = new TreeMap<>(prepareWouldChange(store));
        metaAfter.keySet().removeIf(path -> path.startsWith("jetstream/$SYS/_js_/"));
        assertEquals(metaBefore, metaAfter);
        assertTrue(Files.isDirectory(store.resolve("jetstream/$SYS/_js_")), "the Raft state was moved from under the survivor");
        for (String written : List.of("js-recover-backup", "recovery.conf", StoreLock.FILE)) {
          assertFalse(Files.exists(store.resolve(written)), written + " was left in the store");
        }
      }
      assertTrue(survivor.isAlive());
    }
  }

  @Test
  void anIdleServerThatHoldsNoFileIsFoundByItsConfigsStoreDir() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(Path.of("tests/fixtures/cluster-2.9.10/store"), store);
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Files.delete(store.resolve("recovery.conf"));
    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.installed(), NatsConfig.defaults(), store,
        tmp.resolve("server"))) {
      Map<String, String> before = prepareWouldChange(store);
      Cli.Result r = Cli.run("verify", store.toString());
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("pid " + server.pid() + " ("), r.err());
      assertTrue(r.err().matches("(?s).*(serves it \\(store_dir " + java.util.regex.Pattern.quote(store.toString())
          + " in " + java.util.regex.Pattern.quote(tmp.resolve("server/server.conf").toString()) + "\\)|has .* open).*"), r.err());
      assertEquals(before, prepareWouldChange(store));
    }
  }

  @Test
  void theServerVerifyKeptRunningIsNamedByTheNextVerifyAndPrepare() throws Exception {
    Path store = tmp.resolve("store");
    StoreBuilder.copyTree(Path.of("tests/fixtures/cluster-2.9.10/store"), store);
    String server = ServerGeneration.installed().binary().toString();
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    Cli.Result kept = Cli.run("verify", "--keep-running", "--nats-server", server, store.toString());
    assertEquals(0, kept.exit(), kept.all());
    long pid = Long.parseLong(kept.out().replaceAll("(?s).*left running \\(pid (\\d+)\\).*", "$1"));
    try {
      Map<String, String> before = prepareWouldChange(store);
      for (String[] command : List.of(new String[] {"verify", "--nats-server", server, store.toString()},
          new String[] {"prepare", store.toString()})) {
        Cli.Result again = Cli.run(command);
        assertEquals(1, again.exit(), again.all());
        assertTrue(again.err().contains("pid " + pid + " (" + server + " -c " + store.resolve("recovery.conf")), again.err());
        assertEquals(before, prepareWouldChange(store));
      }
      assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the kept server was stopped");
    } finally {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
      ProcessHandle.of(pid).ifPresent(p -> p.onExit().join());
    }
  }

  @Test
  void aProcessWorkingInTheStoreIsRefusedButTheOperatorsOwnShellIsNot() throws Exception {
    StoreBuilder store = survivor();
    Map<String, String> before = prepareWouldChange(store.storeDir);
    Process sleeper = new ProcessBuilder("sleep", "60").directory(store.jetstream().toFile()).start();
    try {
      Cli.Result r = Cli.run("prepare", store.storeDir.toString());
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("pid " + sleeper.pid() + " (sleep 60) works in " + store.jetstream()), r.err());
      assertUntouched(store.storeDir, before);
    } finally {
      sleeper.destroyForcibly().waitFor();
    }
    // cd /recovery/store && js-recover prepare .   : the shell waiting for js-recover is no other user
    List<String> java = JsRecoverProcess.builder("prepare", ".").command();
    ProcessBuilder shell = new ProcessBuilder("sh", "-c", "cd \"$0\" && exec \"$@\" < /dev/null; echo", store.storeDir.toString());
    shell.command().addAll(java);
    JsRecoverProcess.Result r = JsRecoverProcess.run(shell.redirectErrorStream(true));
    assertTrue(r.output().contains("Originals, Raft state and manifest.json are in"), r.output());
  }

  @Test
  void anotherRunHoldingTheStoreIsNamedAndWaitedFor() throws Exception {
    StoreBuilder store = survivor();
    Map<String, String> before = prepareWouldChange(store.storeDir);
    long me = ProcessHandle.current().pid();
    try (StoreLock held = StoreLock.acquire(store.storeDir, "prepare")) {
      for (String command : List.of("prepare", "verify")) {
        JsRecoverProcess.Result other = JsRecoverProcess.run(JsRecoverProcess.builder(command, store.storeDir.toString()));
        assertEquals(1, other.exit(), other.output());
        assertTrue(other.output().contains("another js-recover prepare (pid " + me + ", started "), other.output());
        assertTrue(other.output().contains("holds the store " + store.storeDir + "; wait for it to finish"), other.output());
      }
      Cli.Result dryRun = Cli.run("prepare", "--dry-run", store.storeDir.toString());
      assertEquals(1, dryRun.exit(), dryRun.all());
      assertTrue(dryRun.err().contains("another js-recover prepare (pid " + me + ", started "), dryRun.err());
      assertEquals(before, prepareWouldChange(store.storeDir));
    }
    assertUntouched(store.storeDir, before);
    Cli.Result after = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, after.exit(), "once the holder is done, prepare runs:\n" + after.all());
  }

  @Test
  void aHolderCaughtBeforeItWroteItsNameIsStillNamed() throws Exception {
    StoreBuilder store = survivor();
    Map<String, String> before = prepareWouldChange(store.storeDir);
    Path lockFile = store.storeDir.resolve(StoreLock.FILE);
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.lock()) {
      Thread namesItselfLate = new Thread(() -> { // a run that has the lock and is about to write its name
        try {
          Thread.sleep(300);
          ch.write(ByteBuffer.wrap("{\"pid\":4242,\"command\":\"prepare\",\"started\":\"2026-11-28T03:00:00Z\"}".getBytes()));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      namesItselfLate.start();
      Cli.Result r = Cli.run("prepare", store.storeDir.toString());
      namesItselfLate.join();

      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("another js-recover prepare (pid 4242, started 2026-11-28T03:00:00Z) holds the store "
          + store.storeDir + "; wait for it to finish and run again. Nothing was changed."), r.err());
      assertEquals(before, prepareWouldChange(store.storeDir));
    }
  }

  @Test
  void twoPreparesAtOnceOneRefusesNamingTheOtherAndTheStoreEndsPrepared() throws Exception {
    StoreBuilder store = survivor();
    Process first = JsRecoverProcess.builder("prepare", store.storeDir.toString()).start();
    Process second = JsRecoverProcess.builder("prepare", store.storeDir.toString()).start();
    String firstOut = new String(first.getInputStream().readAllBytes()), secondOut = new String(second.getInputStream().readAllBytes());
    assertTrue(first.waitFor(60, TimeUnit.SECONDS) && second.waitFor(60, TimeUnit.SECONDS));
    boolean firstWon = first.exitValue() == 0;
    Process winner = firstWon ? first : second, loser = firstWon ? second : first;
    String loserOut = firstWon ? secondOut : firstOut;
    assertEquals(0, winner.exitValue(), firstOut + "\n----\n" + secondOut);
    assertEquals(1, loser.exitValue(), firstOut + "\n----\n" + secondOut);
    assertTrue(loserOut.contains("another js-recover prepare (pid " + winner.pid() + ", started "), loserOut);
    assertFalse(loserOut.contains("still writing"), loserOut);

    Cli.Result inspect = Cli.run("inspect", "--json", store.storeDir.toString());
    assertTrue(inspect.out().contains("\"problems\" : [ ]"), inspect.out());
    assertFalse(inspect.out().contains("\"replicas\" : 3"), inspect.out());
    try (var files = Files.walk(store.storeDir)) {
      assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".js-recover-tmp")).toList(), "temp files left");
    }
    assertFalse(Files.exists(store.storeDir.resolve(StoreLock.FILE)));
  }

  @Test
  void tempFilesAreNamedByTheirRunAndAKilledRunsAreCleared() throws Exception {
    StoreBuilder store = survivor();
    Path stale = Files.writeString(store.storeDir.resolve("recovery.conf.4242.js-recover-tmp"), "password: \"half\"");
    Cli.Result r = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, r.exit(), r.all());
    assertFalse(Files.exists(stale), "a killed run's recovery.conf temp file (it holds passwords) was left");
    try (var files = Files.walk(store.storeDir)) {
      assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".js-recover-tmp")).toList());
    }
  }

  /**
   * The rewrite does not list a meta file's folder for stale temps before each write: it relies on the walker having
   * found every temp file in stream and consumer folders and on prepare moving each aside first. Named with this
   * process's pid (a killed run whose pid came back), a temp file left in place would make the rewrite fail.
   */
  @Test
  void aKilledRunsTempFilesBesideMetaFilesAreMovedAsideBeforeTheRewrite() throws Exception {
    StoreBuilder store = survivor();
    String pid = String.valueOf(ProcessHandle.current().pid());
    Path stream = store.jetstream().resolve("$G/streams/ORDERS"), consumer = stream.resolve("obs/C");
    List<Path> stale = List.of(Files.writeString(stream.resolve("meta.inf." + pid + ".js-recover-tmp"), "{\"half"),
        Files.writeString(consumer.resolve("meta.sum." + pid + ".js-recover-tmp"), "half"));
    Cli.Result r = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, r.exit(), r.all());
    for (Path p : stale) assertTrue(r.out().contains(store.storeDir.relativize(p).toString()), r.out());
    try (var files = Files.walk(store.jetstream())) {
      assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".js-recover-tmp")).toList());
    }
    Cli.Result inspect = Cli.run("inspect", "--json", store.storeDir.toString());
    assertTrue(inspect.out().contains("\"problems\" : [ ]"), inspect.out());
    assertFalse(inspect.out().contains("\"replicas\" : 3"), inspect.out());
  }

  @Test
  void raftStateALiveNodeKeepsTouchingIsSeenByTheSettleCheck() throws Exception {
    StoreBuilder store = survivor();
    Path termAndVote = store.jetstream().resolve("$SYS/_js_/_meta_/peers.idx");
    String before = StoreBuilder.treeDigest(store.storeDir);
    Thread candidate = new Thread(() -> { // a leaderless node starting election after election
      try {
        for (long t = System.currentTimeMillis(); !Thread.interrupted(); t += 1000) {
          Files.setLastModifiedTime(termAndVote, FileTime.fromMillis(t));
          Thread.sleep(100);
        }
      } catch (Exception stopped) {
        // interrupted: the test is over
      }
    });
    candidate.start();
    try {
      Cli.Result r = Cli.run("prepare", store.storeDir.toString());
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("the store is changing while js-recover reads it (1 file(s) or folder(s), e.g. " + store.jetstream().resolve("$SYS/_js_") + ")"), r.err());
    } finally {
      candidate.interrupt();
      candidate.join();
    }
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "a refused prepare wrote something");
  }
}
