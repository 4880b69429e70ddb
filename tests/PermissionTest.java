import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store copied by root and prepared by someone else, or the other way round: permission problems
 * are named with their path and nothing is written. Runs js-recover as the user nobody when the
 * suite runs as root (root reads and writes everything), in-process otherwise.
 */
class PermissionTest {
  @TempDir Path tmp;

  JsRecoverProcess.Result unprivileged(String... args) {
    if ("root".equals(System.getProperty("user.name"))) {
      return JsRecoverProcess.run(JsRecoverProcess.asNobody(tmp, args));
    }
    Cli.Result r = Cli.run(args);
    return new JsRecoverProcess.Result(r.exit(), r.all());
  }

  StoreBuilder store() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    return new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3).raft("$SYS");
  }

  @Test
  void anUnreadableMetaInfIsNamedAndNothingIsWritten() throws Exception {
    StoreBuilder store = store();
    Files.setPosixFilePermissions(store.consumerDir("$G", "ORDERS", "C").resolve("meta.inf"), PosixFilePermissions.fromString("rw-------"));
    String before = StoreBuilder.treeDigest(store.storeDir);

    JsRecoverProcess.Result r = unprivileged("prepare", store.storeDir.toString());

    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("jetstream/$G/streams/ORDERS/obs/C/meta.inf: permission denied reading meta.inf"), r.output());
    assertTrue(r.output().contains("run js-recover as a user who can read the whole store"), r.output());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void anUnreadableStoreDir() throws Exception {
    StoreBuilder store = store();
    Files.setPosixFilePermissions(store.storeDir, PosixFilePermissions.fromString("rwx------"));

    JsRecoverProcess.Result r = unprivileged("inspect", store.storeDir.toString());

    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("permission denied reading " + store.storeDir), r.output());
  }

  @Test
  void aReadableButUnwritableStoreIsRefusedBeforeAnyWrite() throws Exception {
    StoreBuilder store = store(); // owned by root (or by us, made read-only): readable, not writable
    if (!"root".equals(System.getProperty("user.name"))) {
      try (var all = Files.walk(store.storeDir)) {
        for (Path p : all.toList()) {
          if (Files.isDirectory(p)) Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r-xr-xr-x"));
        }
      }
    }
    String before = StoreBuilder.treeDigest(store.storeDir);

    JsRecoverProcess.Result r = unprivileged("prepare", store.storeDir.toString());

    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("prepare cannot write what it must; nothing was changed"), r.output());
    assertTrue(r.output().contains(store.storeDir + ": not writable (the backup folder and recovery.conf go here)"), r.output());
    assertTrue(r.output().contains(store.streamDir("$G", "ORDERS") + ": not writable"), r.output());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }
}
