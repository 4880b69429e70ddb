import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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
      Path manifest = awaitManifest(store, run);
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
      Path manifest = awaitManifest(store, run);
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

  /** The manifest is the first thing prepare writes: its appearance opens the write phase. */
  static Path awaitManifest(StoreBuilder store, Process run) throws Exception {
    Path backups = store.storeDir.resolve("js-recover-backup");
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
