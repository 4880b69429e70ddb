import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * prepare killed with SIGKILL at points inside its write phase (a pager goes off, the SSH session
 * drops): a rerun completes the job, the result is what an uninterrupted run gives, and every
 * original byte still exists under the store dir.
 */
class InterruptedPrepareTest {
  static final int STREAMS = 500;

  @TempDir Path tmp;

  StoreBuilder survivor(String name) {
    StoreBuilder store = new StoreBuilder(tmp.resolve(name)).raft("$SYS");
    for (int i = 0; i < STREAMS; i++) {
      store.stream("$G", "S" + i, StoreBuilder.streamJson("S" + i, 3, "limits", ",\"placement\":{\"cluster\":\"C1\"}"))
          .consumer("$G", "S" + i, "C", 3);
    }
    return store;
  }

  @Test
  void aRerunAfterSigkillCompletesTheJobWithNothingLost() throws Exception {
    StoreBuilder reference = survivor("reference");
    assertEquals(0, Cli.run("prepare", reference.storeDir.toString()).exit());
    Map<String, byte[]> expected = StoreBuilder.files(reference.jetstream());

    int interrupted = 0;
    for (long delayMillis : new long[] {0, 2, 10, 40, 150}) {
      StoreBuilder store = survivor("store-" + delayMillis);
      Map<String, Integer> originals = StoreBuilder.contents(store.storeDir);

      Process run = JsRecoverProcess.builder("prepare", store.storeDir.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      Path manifest = awaitManifest(store.storeDir, run);
      Thread.sleep(delayMillis);
      run.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, no cleanup
      if (manifest != null && Files.readString(manifest).contains("\"in-progress\"")) interrupted++;

      Cli.Result rerun = Cli.run("prepare", store.storeDir.toString());

      assertEquals(0, rerun.exit(), "rerun after a kill " + delayMillis + " ms into the write phase:\n" + rerun.all());
      Map<String, byte[]> actual = StoreBuilder.files(store.jetstream());
      assertEquals(expected.keySet(), actual.keySet(), "files after kill at +" + delayMillis + " ms and rerun");
      expected.forEach((path, bytes) -> assertEquals(new String(bytes), new String(actual.get(path)), path));
      Map<String, Integer> after = StoreBuilder.contents(store.storeDir);
      originals.forEach((sha, n) -> assertTrue(after.getOrDefault(sha, 0) >= n, "an original file's bytes were lost"));
      assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit(), "a third run is a no-op");
    }
    System.out.println("kills that landed inside the write phase: " + interrupted + " of 5");
    assertTrue(interrupted >= 1, "no kill landed inside the write phase: the test proved nothing");
  }

  @Test
  void aGeneratedClusterStoreKilledAtSeveralPointsEndsStandaloneWithEveryOriginalKept() throws Exception {
    int interrupted = 0;
    for (long delayMillis : new long[] {0, 5, 30, 120}) {
      StoreBuilder store = ClusterStoreGenerator.generate(tmp.resolve("cluster-" + delayMillis), 200, 3);
      Map<String, Integer> originals = StoreBuilder.contents(store.storeDir);

      Process run = JsRecoverProcess.builder("prepare", "--no-progress", store.storeDir.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      Path manifest = awaitManifest(store.storeDir, run);
      Thread.sleep(delayMillis);
      run.destroyForcibly().waitFor();
      if (manifest != null && Files.readString(manifest).contains("\"in-progress\"")) interrupted++;

      Cli.Result rerun = Cli.run("prepare", store.storeDir.toString());
      assertEquals(0, rerun.exit(), "rerun after a kill " + delayMillis + " ms into the write phase:\n" + rerun.all());

      Cli.Result inspect = Cli.run("inspect", "--json", store.storeDir.toString());
      com.fasterxml.jackson.databind.JsonNode report = Json.MAPPER.readTree(inspect.out());
      assertEquals(0, report.path("problems").size(), "every meta.sum valid: " + report.path("problems"));
      assertEquals(200, report.path("streams").size());
      for (com.fasterxml.jackson.databind.JsonNode s : report.path("streams")) {
        assertEquals(1, s.path("replicas").asInt(), s.toString());
        assertTrue(s.path("sum_ok").asBoolean(), s.toString());
        for (com.fasterxml.jackson.databind.JsonNode c : s.path("consumers")) {
          assertTrue(c.path("replicas").asInt() <= 1 && c.path("sum_ok").asBoolean(), s.path("name") + " " + c);
        }
      }
      try (Stream<Path> all = Files.walk(store.jetstream())) {
        assertTrue(all.noneMatch(p -> p.getFileName().toString().equals("_js_")), "no Raft folder left in jetstream/");
      }
      Map<String, Integer> after = StoreBuilder.contents(store.storeDir);
      originals.forEach((sha, n) -> assertTrue(after.getOrDefault(sha, 0) >= n, "an original file's bytes were lost"));
    }
    System.out.println("kills of a generated cluster store inside the write phase: " + interrupted + " of 4");
    assertTrue(interrupted >= 1, "no kill landed inside the write phase: the test proved nothing");
  }

  static final int REPLAYED = 5_000; // 8 KiB each: five 8 MiB blocks to write

  /**
   * The survivor of the captured 2.10.27 cluster whose ORDERS blocks lost their last 5 messages and whose Raft log
   * holds {@code REPLAYED} more after them, with acks of NEW's in its consumer log: the replay writes five new blocks
   * and NEW's o.dat.
   */
  Path replaySurvivor(String name) throws Exception {
    Path store = tmp.resolve(name);
    StoreBuilder.copyTree(RaftReplayTest.FIXTURE.resolve("store"), store);
    List<MsgBlock.Record> seen = new ArrayList<>();
    RaftReplayTest.records(RaftReplayTest.ordersBlock(store), "ORDERS", 1, seen);
    byte[] block = Files.readAllBytes(RaftReplayTest.ordersBlock(store));
    Files.write(RaftReplayTest.ordersBlock(store), Arrays.copyOf(block, (int) seen.get(RaftReplayTest.KEPT).offset()));
    List<byte[]> entries = new ArrayList<>();
    long ts = seen.get(seen.size() - 1).ts();
    for (int i = 0; i < REPLAYED; i++) entries.add(RaftReplayTest.streamMsg(20 + i, ts + i + 1, "orders.paid", null, "p".repeat(8192)));
    RaftReplayTest.appendToLog(store, ClusterInventory.key("$G", "ORDERS"), entries);
    String nw = ClusterInventory.key(ClusterInventory.key("$G", "ORDERS"), "NEW");
    RaftReplayTest.appendToLog(store, nw, List.of(RaftReplayTest.ackUpdate(7, 7), RaftReplayTest.ackUpdate(9, 9)));
    return store;
  }

  /** What the replay writes first shows in ORDERS' msgs: its temp file, or block 2. */
  static boolean replayWriting(Path store) throws Exception {
    try (Stream<Path> files = Files.list(store.resolve("jetstream/$G/streams/ORDERS/msgs"))) {
      return files.anyMatch(f -> !f.getFileName().toString().equals("1.blk") && !f.getFileName().toString().equals("index.db"));
    }
  }

  /**
   * prepare killed while it writes what it replays from the Raft logs (new blocks, a consumer's o.dat): the rerun
   * finishes the replay. Every replayed message is there once with a valid checksum, NEW's o.dat is what an
   * uninterrupted run writes, and every original byte still exists under the store dir.
   */
  @Test
  void aKillWhileTheReplayWritesIsFinishedByTheRerun() throws Exception {
    Path reference = replaySurvivor("replay-reference");
    assertEquals(0, Cli.run("prepare", reference.toString()).exit());
    Path odat = Path.of("jetstream/$G/streams/ORDERS/obs/NEW/o.dat");
    ConsumerState expected = ConsumerState.decode(Files.readAllBytes(reference.resolve(odat)), null).value();

    int landed = 0;
    for (long delayMillis : new long[] {0, 10, 40, 120}) {
      Path store = replaySurvivor("replay-" + delayMillis);
      Map<String, Integer> originals = StoreBuilder.contents(store);
      Process run = JsRecoverProcess.builder("prepare", "--no-progress", store.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      while (run.isAlive() && !replayWriting(store)) Thread.onSpinWait();
      Thread.sleep(delayMillis);
      run.destroyForcibly().waitFor(); // SIGKILL while the replayed blocks are written
      if (RaftReplayTest.manifest(store).path("status").asText().equals("in-progress")) landed++;

      Cli.Result rerun = Cli.run("prepare", store.toString());
      assertEquals(0, rerun.exit(), "rerun after a kill " + delayMillis + " ms into the replay:\n" + rerun.all());
      List<Long> seqs = new ArrayList<>();
      try (Stream<Path> blocks = Files.list(store.resolve("jetstream/$G/streams/ORDERS/msgs"))) {
        for (Path b : blocks.filter(f -> f.toString().endsWith(".blk")).sorted().toList()) {
          int index = Integer.parseInt(b.getFileName().toString().replace(".blk", ""));
          List<MsgBlock.Record> records = new ArrayList<>();
          RaftReplayTest.records(b, "ORDERS", index, records);
          for (MsgBlock.Record r : records) {
            assertEquals(MsgBlock.Hash.OK, r.hash(), b + " seq " + r.seq());
            seqs.add(r.seq());
          }
        }
      }
      java.util.Collections.sort(seqs);
      assertEquals(LongStream.rangeClosed(1, 20 + REPLAYED).boxed().toList(), seqs,
          "every message once after a kill at +" + delayMillis + " ms and the rerun");
      ConsumerState now = ConsumerState.decode(Files.readAllBytes(store.resolve(odat)), null).value();
      assertEquals(expected.ackFloor(), now.ackFloor());
      assertEquals(expected.delivered(), now.delivered());
      Map<String, Integer> after = StoreBuilder.contents(store);
      originals.forEach((sha, n) -> assertTrue(after.getOrDefault(sha, 0) >= n, "an original file's bytes were lost"));
    }
    System.out.println("kills that landed while the replay wrote: " + landed + " of 4");
    assertTrue(landed >= 1, "no kill landed while the replay wrote: the test proved nothing");
  }

  /** The manifest is the first thing prepare writes: its appearance opens the write phase. */
  static Path awaitManifest(Path storeDir, Process run) throws Exception {
    Path backups = storeDir.resolve("js-recover-backup");
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline && run.isAlive()) {
      if (Files.isDirectory(backups)) {
        try (Stream<Path> runs = Files.list(backups)) {
          for (Path r : runs.toList()) {
            Path m = r.resolve("manifest.json");
            if (Files.exists(m)) return m;
          }
        }
      }
      Thread.onSpinWait();
    }
    return null;
  }
}
