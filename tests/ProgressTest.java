import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long inspect or prepare says how far it is on stderr (logged as plain lines when stderr is not a terminal),
 * never on stdout, and --no-progress silences it. The 2-second threshold is set to 0 so a small store shows it.
 */
class ProgressTest {
  @TempDir Path tmp;

  record Run(int exit, String out, String err) {}

  static Run run(String... args) throws Exception {
    ProcessBuilder pb = JsRecoverProcess.builder(args).redirectErrorStream(false);
    pb.environment().put(StepProgress.AFTER_ENV, "0");
    Path err = Files.createTempFile("progress", ".err");
    Process p = pb.redirectError(err.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes());
    int exit = p.waitFor();
    return new Run(exit, out, Files.readString(err));
  }

  @Test
  void inspectAndPrepareLogProgressOnStderrAndKeepStdoutClean() throws Exception {
    StoreBuilder store = ClusterStoreGenerator.generate(tmp.resolve("store"), 40, 2);

    Run inspect = run("inspect", "--json", store.storeDir.toString());
    assertEquals(0, inspect.exit(), inspect.err());
    assertFalse(inspect.err().contains("Raft state"), "only prepare's settle check stamps the Raft files:\n" + inspect.err());
    assertTrue(inspect.err().contains("js-recover: reading: 40 of 40 streams"), inspect.err());
    assertFalse(inspect.err().contains("\r"), "not a terminal: plain lines, nothing redrawn");
    assertEquals(40, Json.MAPPER.readTree(inspect.out()).path("streams").size(), "stdout is the JSON document alone");

    Run prepare = run("prepare", store.storeDir.toString());
    assertEquals(0, prepare.exit(), prepare.err());
    assertTrue(prepare.err().contains("js-recover: reading Raft state: 121 of 121 groups"), prepare.err());
    // every stream and the half of the consumers with num_replicas 3
    assertTrue(prepare.err().contains("js-recover: rewriting: 80 of 80 configs"), prepare.err());
    assertFalse(prepare.out().contains("js-recover: r"), prepare.out());
  }

  @Test
  void noProgressSilencesIt() throws Exception {
    StoreBuilder store = ClusterStoreGenerator.generate(tmp.resolve("store"), 40, 2);

    Run inspect = run("inspect", "--no-progress", store.storeDir.toString());
    Run prepare = run("prepare", "--no-progress", store.storeDir.toString());

    assertEquals(0, inspect.exit(), inspect.err());
    assertEquals(0, prepare.exit(), prepare.err());
    assertEquals("", inspect.err());
    assertFalse(prepare.err().contains("js-recover: r"), prepare.err());
  }
}
