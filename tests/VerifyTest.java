import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * verify starts a server on the only copy of the data: it must never start one on a store that is not ready for it,
 * never wait for ever, and never leave one behind when it ends.
 */
class VerifyTest {
  @TempDir Path tmp;

  /** A survivor's store after prepare: what verify is meant for. */
  StoreBuilder prepared() {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3).raft("$SYS");
    Cli.Result r = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, r.exit(), r.all());
    return store;
  }

  @Test
  void aMonitoringPortThatAcceptsButNeverAnswersEndsAtTheTimeout() throws Exception {
    StoreBuilder store = prepared();
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
        () -> Cli.run("verify", "--nats-server", silentServer().toString(), "--timeout", "8", store.storeDir.toString()));

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains("nats-server did not finish loading the store within 8 s (--timeout): its monitoring port "
        + "127.0.0.1:"), r.err());
    assertTrue(r.err().contains(" accepts connections but never answers; see "), r.err());
    assertEquals(List.of(), children(), "verify left its server running");
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void sigtermToVerifyStopsItsServer() throws Exception {
    StoreBuilder store = prepared();
    Process verify = JsRecoverProcess.builder("verify", "--nats-server", silentServer().toString(), "--timeout", "300",
        store.storeDir.toString()).redirectOutput(tmp.resolve("verify.out").toFile()).start();
    List<ProcessHandle> server = List.of();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (server.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
        server = verify.descendants().toList();
      }
      assertFalse(server.isEmpty(), "verify started no server: " + Files.readString(tmp.resolve("verify.out")));

      verify.destroy(); // SIGTERM, as systemd, a container stop or kill(1) sends it
      assertTrue(verify.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "verify did not exit on SIGTERM");
      Thread.sleep(500);
      assertEquals(List.of(), server.stream().filter(ProcessHandle::isAlive).map(VerifyTest::describe).toList(),
          "the server verify started outlived it");
    } finally {
      verify.destroyForcibly();
      server.forEach(ProcessHandle::destroyForcibly);
    }
  }

  // ---- fake servers ----

  /** A "nats-server" that opens the monitoring port it is given (-m) and answers nothing, as a wedged server does. */
  Path silentServer() throws Exception {
    Path source = Files.writeString(tmp.resolve("SilentListener.java"), """
        public class SilentListener {
          public static void main(String[] args) throws Exception {
            int port = 0;
            for (int i = 0; i + 1 < args.length; i++) if (args[i].equals("-m")) port = Integer.parseInt(args[i + 1]);
            var socket = new java.net.ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress());
            var held = new java.util.ArrayList<java.net.Socket>();
            while (true) held.add(socket.accept());
          }
        }
        """);
    return script("silent-server", "exec '" + JsRecoverProcess.javaBin() + "' '" + source + "' \"$@\"");
  }

  Path script(String name, String body) throws Exception {
    Path p = Files.writeString(tmp.resolve(name), "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  /** Processes this test JVM started that are still running (an in-process verify's servers are among them). */
  static List<String> children() {
    return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).map(VerifyTest::describe).toList();
  }

  static String describe(ProcessHandle p) {
    return p.pid() + " " + p.info().commandLine().orElse("?");
  }
}
